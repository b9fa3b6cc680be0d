"""`run` of a cassette explore wrote names the rule its header names: a sequence rule `run` can see from the
answers (a deleted card updated or deleted again, a card reached through another customer) is judged by `run`'s
replay too, and the answer's differences from the recording (its status, its error's code) are that rule's
evidence, never causes of their own. Cassettes as explore writes them, replayed on the test fake with one
deviation and on the faithful fake."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from conformance.cli import main

from ..stripe_fake import FakeStripe

pytestmark = pytest.mark.integration

_CUSTOMER, _OTHER, _CARD = "cus_00000000000001", "cus_00000000000002", "card_000000000000000000000001"
_MISSING = {"error": {"type": "invalid_request_error", "code": "resource_missing",
                      "message": f"No such source: '{_CARD}'"}}


def _customer(customer: str) -> tuple[str, str, dict[str, Any] | None, int, Any]:
    return "POST", "/v1/customers", {"description": "explore"}, 200, {"id": customer, "object": "customer",
                                                                      "default_source": None}


_ATTACH = ("POST", f"/v1/customers/{_CUSTOMER}/sources", {"source": "tok_visa"}, 200,
           {"id": _CARD, "object": "card", "customer": _CUSTOMER})
_DELETE = ("DELETE", f"/v1/customers/{_CUSTOMER}/sources/{_CARD}", None, 200,
           {"id": _CARD, "object": "card", "deleted": True})


def _cassette(path: Path, rule: str, steps: list[tuple[str, str, dict[str, Any] | None, int, Any]]) -> Path:
    """A cassette as explore writes one: its header names the rule, its last answer is the one the rule expects."""
    docs = ["version: 1", f"name: {path.stem}", "meta: " + json.dumps({"made_by": "conformance explore", "rule": rule}),
            "compare: " + json.dumps({"loose": ["error.message", "error.param"]})]
    text = "---\n" + "\n".join(docs) + "\n"
    for number, (method, url, form, status, body) in enumerate(steps, 1):
        request: dict[str, Any] = {"method": method, "path": url,
                                   "headers": {"Authorization": "Bearer [REDACTED:sk_test]"}}
        if form is not None:
            request["headers"]["Content-Type"] = "application/x-www-form-urlencoded"
            request["form"] = form
        interaction = {"interaction": number, "request": request,
                       "response": {"status": status, "headers": {"Content-Type": "application/json"}, "json": body}}
        text += "---\n" + json.dumps(interaction) + "\n"
    path.write_text(text)
    return path


CASES = {
    "deleted-updatable": ("card.deleted_unchangeable", [
        _customer(_CUSTOMER), _ATTACH, _DELETE,
        ("POST", f"/v1/customers/{_CUSTOMER}/sources/{_CARD}", {"name": "Jenny Rosen"}, 404, _MISSING)]),
    "wrong-error-code": ("invariant.deleted_card", [
        _customer(_CUSTOMER), _ATTACH, _DELETE, ("GET", f"/v1/customers/{_CUSTOMER}/sources/{_CARD}", None, 404, _MISSING)]),
    "cards-any-customer": ("card.other_customer", [
        _customer(_CUSTOMER), _ATTACH, _customer(_OTHER),
        ("GET", f"/v1/customers/{_OTHER}/cards/{_CARD}", None, 404, _MISSING)]),
}


def _causes(cassette: Path, target: str, tmp_path: Path) -> tuple[int, list[str], str]:
    report = tmp_path / "run.json"
    result = CliRunner().invoke(main, ["run", str(cassette), "--target", target, "--json-report", str(report)])
    data = json.loads(report.read_text())
    return result.exit_code, [c["rule"] for c in data["root_causes"] if c["severity"] == "failure"], result.output


@pytest.mark.parametrize("deviation", sorted(CASES))
def test_run_names_the_sequence_rule_the_cassette_s_header_names(deviation, tmp_path):
    rule, steps = CASES[deviation]
    cassette = _cassette(tmp_path / f"explore-{deviation}.yaml", rule, steps)
    with FakeStripe(deviation=deviation) as target:
        code, causes, output = _causes(cassette, target, tmp_path)
    # one problem, one cause: the status (or the error's code) that differs is the rule's evidence
    assert code == 1 and causes == [rule], output
    with FakeStripe() as faithful:
        code, causes, output = _causes(cassette, faithful, tmp_path)
    assert code == 0 and causes == [], output
