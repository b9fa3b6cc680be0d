"""`--openapi` end to end: `check` judges recordings, `run` and the pytest plugin judge answers, by the contract."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cli import main

from ..conftest import API_KEY
from ..stripe_fake import FakeStripe

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "cassettes"
SPEC = ROOT / "tests" / "schemas" / "cards-openapi.yaml"


def cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


def test_the_reference_suite_agrees_with_the_contract():
    code, output = cli("check", "--openapi", SPEC, SUITE)
    assert code == 0, output
    assert output.strip() == "7 cassettes checked against cards-openapi.yaml (API 2023-08-16): 0 problems, 0 unreadable"


def test_check_names_file_line_interaction_and_path_of_a_recording_that_contradicts_the_contract(tmp_path):
    text = (SUITE / "cards-retrieve.yaml").read_text()
    text = text.replace("    livemode: false\n", "", 1)  # the customer created first
    text = re.sub(r"exp_year: (\d+)", r'exp_year: "\1"', text, count=1)  # the card attached
    # a key the contract does not list (wallet would not do: the suite's header leaves it uncompared)
    text = text.replace("    tokenization_method: null\n", "    tokenization_method: null\n    regulated_status: null\n", 1)
    broken = tmp_path / "broken.yaml"
    broken.write_text(text)
    code, output = cli("check", "--openapi", SPEC, broken)
    lines = output.strip().splitlines()
    assert code == 1, output
    assert re.fullmatch(rf"{re.escape(str(broken))}:\d+: interaction 1 \(customers.create\): \[schema.required\] "
                        r"livemode is missing; the contract's `customer` requires it", lines[0]), lines[0]
    assert re.fullmatch(rf"{re.escape(str(broken))}:\d+: interaction 2 \(sources.create\): \[schema.type\] exp_year: "
                        r"the contract's `card` says integer, got string \(\"2030\"\)", lines[1]), lines[1]
    assert lines[2].endswith("warning: interaction 2 (sources.create): [schema.additional] regulated_status: the "
                             "contract's `card` does not list this key")
    assert lines[-1].endswith("2 problems, 1 warning, 0 unreadable")
    # a warning alone passes; --strict makes it a problem
    warning_only = tmp_path / "warning.yaml"
    warning_only.write_text((SUITE / "cards-retrieve.yaml").read_text().replace(
        "    tokenization_method: null\n", "    tokenization_method: null\n    regulated_status: null\n", 1))
    assert cli("check", "--openapi", SPEC, warning_only)[0] == 0
    assert cli("check", "--openapi", SPEC, "--strict", warning_only)[0] == 1


def test_run_flags_a_deviation_the_recording_shares(tmp_path):
    """Recorded from a target that deviates and replayed against it, the diff is clean; the contract is not."""
    out = tmp_path / "recorded"
    with FakeStripe(deviation="customer-without-livemode") as target:
        code, output = cli("capture", "--upstream", target, "--api-key", API_KEY, "--out", out, "--only", "cards-retrieve")
        assert code == 0, output
        clean, output = cli("run", out, "--target", target)
        assert clean == 0 and "conforms" in output, output
        code, output = cli("run", out, "--target", target, "--openapi", SPEC, "--json-report", tmp_path / "r.json")
    assert code == 1, output
    findings = [f for i in json.loads((tmp_path / "r.json").read_text())["cassettes"][0]["interactions"]
                for f in i["findings"]]
    assert [(f["rule"], f["path"]) for f in findings] == [("schema.required", "livemode")]
    assert "livemode is missing; the contract's `customer` requires it" in output
    assert json.loads((tmp_path / "r.json").read_text())["contract"] == "cards-openapi.yaml (API 2023-08-16)"
    assert "judged also by cards-openapi.yaml (API 2023-08-16)" in output


def test_an_unasked_expansion_is_caught_and_keys_the_contract_lists_are_no_warning(tmp_path):
    with FakeStripe(deviation="expanded-customer") as target:
        code, output = cli("run", SUITE / "cards-retrieve.yaml", "--target", target, "--openapi", SPEC,
                           "--json-report", tmp_path / "r.json")
    assert code == 1, output
    report = json.loads((tmp_path / "r.json").read_text())
    rules = {(f["rule"], f["path"]) for i in report["cassettes"][0]["interactions"] for f in i["findings"]}
    # the contract says an id unless expanded; the comparison's type finding at the same path is not repeated
    assert ("schema.expand", "customer") in rules and ("type", "customer") not in rules


def test_the_reference_suite_against_a_faithful_target_has_zero_findings_with_the_contract(tmp_path):
    with FakeStripe() as target:
        for tokens in ("magic", "create"):
            code, output = cli("run", SUITE, "--target", target, "--openapi", SPEC, "--tokens", tokens,
                               "--json-report", tmp_path / f"{tokens}.json")
            assert code == 0, output
            report = json.loads((tmp_path / f"{tokens}.json").read_text())
            assert [f for c in report["cassettes"] for i in c["interactions"] for f in i["findings"]] == []
            assert "0 with warnings" in output


def test_a_spec_that_cannot_be_used_is_exit_2_in_one_line(tmp_path):
    swagger = tmp_path / "swagger.json"
    swagger.write_text('{"swagger": "2.0", "paths": {}}')
    for command in (["check", SUITE], ["run", SUITE, "--target", "http://127.0.0.1:9"]):
        code, output = cli(*command, "--openapi", swagger)
        assert code == 2 and output.strip() == f"Error: {swagger}: not an OpenAPI 3 description (is Swagger 2.0); " \
                                               "give Stripe's spec3.json or spec3.yaml", output
        code, output = cli(*command, "--openapi", tmp_path / "nope.json")
        assert code == 2 and "no such OpenAPI file" in output and "Traceback" not in output


def test_the_pytest_plugin_judges_by_the_contract(tmp_path):
    out = tmp_path / "recorded"
    with FakeStripe(deviation="customer-without-livemode") as target:
        assert cli("capture", "--upstream", target, "--api-key", API_KEY, "--out", out, "--only", "cards-retrieve")[0] == 0
        base = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--conformance-target", target, str(out)]
        plain = subprocess.run(base, capture_output=True, text=True, timeout=120, cwd=tmp_path)
        judged = subprocess.run([*base, "--conformance-openapi", str(SPEC)], capture_output=True, text=True,
                                timeout=120, cwd=tmp_path)
        bad = subprocess.run([*base, "--conformance-openapi", str(tmp_path / "nope.yaml")], capture_output=True,
                             text=True, timeout=120, cwd=tmp_path)
    assert plain.returncode == 0, plain.stdout
    assert judged.returncode == 1 and "[schema.required] livemode is missing" in judged.stdout, judged.stdout
    assert bad.returncode == 4 and "no such OpenAPI file" in bad.stderr, bad.stderr


def test_a_request_beyond_the_card_routes_is_named_by_the_contracts_operation(tmp_path):
    cassette = tmp_path / "health.yaml"
    cassette.write_text("version: 1\n---\nrequest: {method: GET, path: /v1/health, headers: {Authorization: "
                        "'Bearer [REDACTED:sk_test]'}}\nresponse: {status: 204}\n")
    with FakeStripe() as target:  # it has no such route: 404 "Unrecognized request URL"
        plain, _ = cli("run", cassette, "--target", target, "--json-report", tmp_path / "plain.json")
        code, output = cli("run", cassette, "--target", target, "--openapi", SPEC, "--json-report", tmp_path / "r.json")
    assert plain == code == 1
    (without,) = json.loads((tmp_path / "plain.json").read_text())["cassettes"][0]["interactions"]
    (judged,) = json.loads((tmp_path / "r.json").read_text())["cassettes"][0]["interactions"]
    assert without["endpoint"] == "other" and judged["endpoint"] == "GET /v1/health"
    assert [f["rule"] for f in judged["findings"]] == ["route.missing"]
    assert "the target has no route GET /v1/health" in output


def test_with_a_contract_a_key_the_recording_lacks_is_the_contracts_to_judge(tmp_path):
    lacking = tmp_path / "lacking.yaml"  # the recorded card lacks a key the contract lists
    lacking.write_text((SUITE / "cards-retrieve.yaml").read_text().replace("    dynamic_last4: null\n", "", 1))
    with FakeStripe() as target:
        codes = [cli("run", lacking, "--target", target, "--json-report", tmp_path / "plain.json")[0],
                 cli("run", lacking, "--target", target, "--openapi", SPEC, "--json-report", tmp_path / "judged.json")[0]]
    with FakeStripe(deviation="extra-field") as target:  # the target adds a key the contract does not list
        codes.append(cli("run", SUITE / "cards-retrieve.yaml", "--target", target, "--openapi", SPEC,
                         "--json-report", tmp_path / "extra.json")[0])
    assert codes == [0, 0, 0]  # warnings at most

    def rules(name):
        report = json.loads((tmp_path / name).read_text())
        return {(f["rule"], f["path"]) for c in report["cassettes"] for i in c["interactions"] for f in i["findings"]}

    assert rules("plain.json") == {("keys.extra", "dynamic_last4")}
    assert rules("judged.json") == set()  # listed by the contract: no warning
    assert rules("extra.json") == {("schema.additional", "display_brand")}  # unlisted: the contract's warning
