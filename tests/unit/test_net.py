"""A target or upstream URL the user typed: one clear error, never its password, never a traceback."""

from __future__ import annotations

import pytest

from conformance.errors import TargetError
from conformance.net import check_reachable, parse_http_url


@pytest.mark.parametrize("url", ["http://[::1", "http://user:hunter2@[::1", "https://[not-ip]:x/"])
def test_a_url_the_parser_refuses_is_a_target_error(url):
    with pytest.raises(TargetError) as caught:
        parse_http_url(url, "target")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("url", ["ftp://user:hunter2@127.0.0.1/", "http://user:hunter2@127.0.0.1:99999"])
def test_a_refused_url_never_prints_its_credentials(url):
    with pytest.raises(TargetError) as caught:
        parse_http_url(url, "target")
    assert "hunter2" not in str(caught.value) and "127.0.0.1" in str(caught.value)


def test_an_unreachable_target_is_named_without_its_credentials():
    with pytest.raises(TargetError) as caught:
        check_reachable("http://user:hunter2@127.0.0.1:9", "target", timeout=1.0)
    assert "hunter2" not in str(caught.value) and "cannot reach target http://" in str(caught.value)
