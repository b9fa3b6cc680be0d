"""A file that is not a cassette is named for what it is: the tool's own outputs, another tool's recording, or
neither — never "a VCR.py cassette" for any JSON with an `interactions` key."""

from __future__ import annotations

import json

import pytest

from conformance.cassette import load
from conformance.errors import CassetteError


@pytest.mark.parametrize(("document", "said"), [
    ({"schema": "card-conformance/report/3", "cassettes": [], "interactions": 3}, "a card-conformance run report"),
    ({"schema": "card-conformance/matrix/2", "targets": []}, "a card-conformance matrix"),
    ({"interactions": [], "other": 1}, "not a cassette: the first document must be a header"),
    ({"version": 1, "interactions": [{"request": {}, "response": {}}]}, "a VCR.py cassette"),
])
def test_a_json_file_is_named_for_what_it_is(tmp_path, document, said):
    path = tmp_path / "thing.json"
    path.write_text(json.dumps(document))
    with pytest.raises(CassetteError) as caught:
        load(path)
    assert said in str(caught.value)
    assert ("VCR.py" in str(caught.value)) == (said == "a VCR.py cassette")


@pytest.mark.parametrize("version", ["1.0", "true", "'1'"])
def test_only_the_integer_version_is_read(tmp_path, version):
    path = tmp_path / "v.yaml"
    path.write_text(f"version: {version}\nname: v\n")
    with pytest.raises(CassetteError) as caught:
        load(path)
    assert "unsupported cassette version" in str(caught.value)
