"""The contract oracle: an OpenAPI 3.0 description converted, compiled and used to judge bodies.

The description is the tests' own (tests/schemas/cards-openapi.yaml), in the shape Stripe publishes.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from conformance.contract import expanded_paths, load_contract
from conformance.contract import spec as spec_module
from conformance.contract.spec import CONTRACT_URI, convert, read_spec
from conformance.errors import SpecError
from conformance.rules import Severity
from conformance.stripe import STRIPE

from ..openapi_gen import generated_spec

SPEC = Path(__file__).resolve().parents[1] / "schemas" / "cards-openapi.yaml"
CUSTOMER = "cus_A0000000000001"
CARD_ID = "card_A000000000001"
CARD = {
    "id": CARD_ID, "object": "card", "address_city": None, "address_country": None, "address_line1": None,
    "address_line1_check": None, "address_line2": None, "address_state": None, "address_zip": None,
    "address_zip_check": None, "brand": "Visa", "country": "US", "customer": CUSTOMER, "cvc_check": "pass",
    "dynamic_last4": None, "exp_month": 8, "exp_year": 2030, "fingerprint": "Xt5EWLLDS7FJjR1c", "funding": "credit",
    "last4": "4242", "metadata": {}, "name": None, "tokenization_method": None,
}
CUSTOMER_BODY = {
    "id": CUSTOMER, "object": "customer", "address": None, "balance": 0, "created": 1700000000, "currency": None,
    "default_source": CARD_ID, "delinquent": False, "description": None, "discount": None, "email": None,
    "invoice_prefix": "A1B2C3D4", "invoice_settings": {"custom_fields": None, "default_payment_method": None,
                                                       "footer": None, "rendering_options": None},
    "livemode": False, "metadata": {}, "name": None, "next_invoice_sequence": 1, "phone": None,
    "preferred_locales": [], "shipping": None, "tax_exempt": "none", "test_clock": None,
}
CARD_PATH = f"/v1/customers/{CUSTOMER}/cards/{CARD_ID}"
SOURCE_PATH = f"/v1/customers/{CUSTOMER}/sources/{CARD_ID}"


@pytest.fixture(scope="module")
def contract():
    return load_contract(SPEC, STRIPE)


def found(findings):
    return [(f.rule, f.path, str(f.severity)) for f in findings]


def with_(base, **changes):
    body = copy.deepcopy(base)
    for key, value in changes.items():
        if value is KeyError:
            body.pop(key)
        else:
            body[key] = value
    return body


def test_openapi_words_become_json_schema():
    document = read_spec(SPEC, SPEC.read_bytes())
    assert document["info"]["version"] == "2023-08-16"  # text, not a date (JSON has no dates)
    converted = convert(document)
    schemas = converted["components"]["schemas"]
    card = schemas["card"]
    assert card["properties"]["name"]["type"] == ["string", "null"]  # nullable
    assert schemas["customer"]["properties"]["tax_exempt"]["enum"] == ["exempt", "none", "reverse", None]
    customer_branches = card["properties"]["customer"]["anyOf"]
    assert customer_branches[-1] == {"type": "null"} and len(customer_branches) == 4  # a null branch added
    assert customer_branches[1] == {"$ref": CONTRACT_URI + "#/components/schemas/customer"}
    assert card["additionalProperties"] is False  # an unlisted key is seen
    assert card["properties"]["metadata"]["additionalProperties"] == {"type": "string", "maxLength": 500}  # a map
    # only fields that are an id or the object are expandable; address and test_clock are not
    assert schemas["customer"]["x-expandable"] == ["default_source"] and card["x-expandable"] == ["customer"]
    assert "description" not in schemas["error"] and converted["api_version"] == "2023-08-16"  # a date stays text
    operations = {(m, t): r for m, t, _, r in converted["operations"]}
    assert set(operations[("GET", "/v1/customers/{customer}/cards/{id}")]) == {"200", "default"}
    assert operations[("GET", "/v1/health")]["204"] is None  # no JSON body documented


def test_a_conforming_body_has_no_finding(contract):
    assert contract.validate("GET", CARD_PATH, 200, CARD) == []
    assert contract.validate("GET", f"/v1/customers/{CUSTOMER}", 200, CUSTOMER_BODY) == []
    listing = {"object": "list", "data": [CARD, CARD], "has_more": False, "url": f"/v1/customers/{CUSTOMER}/cards"}
    assert contract.validate("GET", f"/v1/customers/{CUSTOMER}/cards", 200, listing) == []
    error = {"error": {"type": "invalid_request_error", "code": "resource_missing", "message": "No such card",
                       "param": "id"}}
    assert contract.validate("GET", CARD_PATH, 404, error) == []


def test_types_required_keys_and_enums_name_the_json_path_and_the_schema(contract):
    (finding,) = contract.validate("GET", CARD_PATH, 200, with_(CARD, exp_year="2030"))
    assert (finding.rule, finding.path, finding.severity) == ("schema.type", "exp_year", Severity.FAILURE)
    assert finding.message == 'exp_year: the contract\'s `card` says integer, got string ("2030")'
    (finding,) = contract.validate("GET", f"/v1/customers/{CUSTOMER}", 200, with_(CUSTOMER_BODY, livemode=KeyError))
    assert (finding.rule, finding.path) == ("schema.required", "livemode")
    assert "`customer` requires it" in finding.message  # the customer branch, not deleted_customer
    assert found(contract.validate("GET", CARD_PATH, 200, with_(CARD, object="account"))) == [
        ("schema.enum", "object", "failure")]
    error = {"error": {"type": "invalid_request_errr", "message": "x"}}
    assert found(contract.validate("GET", CARD_PATH, 404, error)) == [("schema.enum", "error.type", "failure")]
    listing = {"object": "list", "data": [CARD, with_(CARD, exp_month="8")], "has_more": "false", "url": "/v1/cards"}
    assert found(contract.validate("GET", f"/v1/customers/{CUSTOMER}/cards", 200, listing)) == [
        ("schema.type", "data[1].exp_month", "failure"), ("schema.type", "has_more", "failure"),
        ("schema.constraint", "url", "failure")]
    assert found(contract.validate("GET", CARD_PATH, 200, with_(CARD, last4="42424"))) == [
        ("schema.constraint", "last4", "failure")]


def test_a_key_the_contract_does_not_list_is_a_warning_unless_strict(contract):
    body = with_(CARD, wallet=None, regulated_status=None)
    assert found(contract.validate("GET", CARD_PATH, 200, body)) == [
        ("schema.additional", "regulated_status", "warning"), ("schema.additional", "wallet", "warning")]
    assert {f.severity for f in contract.validate("GET", CARD_PATH, 200, body, strict=True)} == {Severity.FAILURE}
    # in a nested list and inside an anyOf: the closest branch (the card) explains it
    customer = with_(CUSTOMER_BODY, sources={"object": "list", "data": [with_(CARD, wallet=None)], "has_more": False,
                                             "url": f"/v1/customers/{CUSTOMER}/sources"})
    assert found(contract.validate("GET", f"/v1/customers/{CUSTOMER}", 200, customer, frozenset({"sources"}))) == [
        ("schema.additional", "sources.data[0].wallet", "warning")]


def test_anyof_is_explained_by_the_closest_branch(contract):
    # the update answers a card or a bank account: a card with a bad key is a card with a bad key
    assert found(contract.validate("POST", SOURCE_PATH, 200, with_(CARD, funding=None))) == [
        ("schema.type", "funding", "failure")]
    # a deleted card with a string `deleted` is a deleted card (the nested anyOf), not a card lacking keys
    deleted = {"id": CARD_ID, "object": "card", "deleted": "true"}
    assert found(contract.validate("DELETE", SOURCE_PATH, 200, deleted)) == [("schema.type", "deleted", "failure")]
    # a customer lacking livemode whose ten cards carry a key more is still a customer
    cards = [with_(CARD, wallet=None) for _ in range(10)]
    customer = with_(CUSTOMER_BODY, livemode=KeyError, sources={"object": "list", "data": cards, "has_more": True,
                                                                "url": f"/v1/customers/{CUSTOMER}/sources"})
    findings = contract.validate("GET", f"/v1/customers/{CUSTOMER}", 200, customer, frozenset({"sources"}))
    assert ("schema.required", "livemode", "failure") in found(findings) and len(findings) == 11
    # something that is none of the alternatives
    (finding,) = contract.validate("POST", SOURCE_PATH, 200, {"id": "acct_1", "object": "account"})
    assert (finding.rule, finding.path) == ("schema.type", "") and "none of the contract's 2 alternatives" in \
        finding.message


def test_expandable_fields_follow_the_request(contract):
    expanded = with_(CARD, customer=CUSTOMER_BODY)
    (finding,) = contract.validate("GET", CARD_PATH, 200, expanded)
    assert (finding.rule, finding.path) == ("schema.expand", "customer")
    assert "did not ask for expand[]=customer" in finding.message
    assert contract.validate("GET", CARD_PATH, 200, expanded, expanded_paths({"expand": ["customer"]})) == []
    (finding,) = contract.validate("GET", CARD_PATH, 200, CARD, expanded_paths({"expand": ["customer"]}))
    assert (finding.rule, finding.path, finding.actual) == ("schema.expand", "customer", CUSTOMER)
    listing = {"object": "list", "data": [expanded], "has_more": False, "url": f"/v1/customers/{CUSTOMER}/cards"}
    assert contract.validate("GET", f"/v1/customers/{CUSTOMER}/cards", 200, listing,
                             expanded_paths({}, {"expand": ["data.customer"]})) == []
    assert found(contract.validate("GET", f"/v1/customers/{CUSTOMER}/cards", 200, listing)) == [
        ("schema.expand", "data[0].customer", "failure")]
    # a customer's default_source, the object when asked for
    customer = with_(CUSTOMER_BODY, default_source=CARD)
    assert found(contract.validate("GET", f"/v1/customers/{CUSTOMER}", 200, customer)) == [
        ("schema.expand", "default_source", "failure")]
    assert contract.validate("GET", f"/v1/customers/{CUSTOMER}", 200, customer, frozenset({"default_source"})) == []


def test_expanded_paths_hold_every_prefix():
    assert expanded_paths({"expand": ["customer.default_source"]}, {"expand": {"0": "data.customer"}}) == frozenset(
        {"customer", "customer.default_source", "data", "data.customer"})
    assert expanded_paths("expand[]=x&expand[]=x", None, {"expand": "sources"}) == frozenset({"x", "sources"})
    assert expanded_paths("limit=3", None) == frozenset()


def test_operations_come_from_the_spec_paths(contract):
    assert contract.operation("GET", "/v1/customers/search").template == "/v1/customers/search"  # literal first
    assert contract.operation("GET", f"/v1/customers/{CUSTOMER}").template == "/v1/customers/{customer}"
    assert contract.operation("GET", CARD_PATH + "?expand[]=customer").operation_id == "GetCustomersCustomerCardsId"
    assert contract.operation("PUT", CARD_PATH) is None
    (finding,) = contract.validate("GET", "/v1/charges", 200, {})
    assert (finding.rule, finding.severity) == ("schema.operation", Severity.WARNING)
    (finding,) = contract.validate("GET", "/v1/health", 500, {"error": {}})
    assert finding.rule == "schema.status" and "no 500 answer" in finding.message
    assert contract.validate("GET", "/v1/health", 204, None) == []


@pytest.mark.parametrize("text, says", [
    ("{not json", "not JSON or YAML"),
    ("swagger: '2.0'\npaths: {}\n", "Swagger 2.0"),
    ("openapi: 2.5\n", "says openapi: 2.5"),
    ("openapi: 3.0.0\npaths: {}\n", "no paths"),
    ("- a list\n", "no `openapi` key"),
    ("openapi: 3.0.0\npaths:\n  /x: [\n", "not JSON or YAML"),
])
def test_a_file_that_is_no_openapi_3_description_is_one_clear_error(tmp_path, text, says):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    with pytest.raises(SpecError, match=str(path)) as raised:
        load_contract(path, STRIPE)
    assert says in str(raised.value) and "\n" not in str(raised.value)
    with pytest.raises(SpecError, match="no such OpenAPI file"):
        load_contract(tmp_path / "missing.json", STRIPE)
    with pytest.raises(SpecError, match="a directory"):
        load_contract(tmp_path, STRIPE)


def test_the_converted_spec_is_cached_by_content(tmp_path, monkeypatch):
    monkeypatch.setenv("CONFORMANCE_CACHE_DIR", str(tmp_path / "cache"))
    copy_ = tmp_path / "spec.json"
    document = read_spec(SPEC, SPEC.read_bytes())
    copy_.write_text(json.dumps(document))
    first = load_contract(copy_, STRIPE)
    reads = []
    monkeypatch.setattr(spec_module, "read_spec", lambda path, raw: reads.append(path) or json.loads(raw))
    again = load_contract(copy_, STRIPE)
    assert reads == [] and again.validate("GET", CARD_PATH, 200, CARD) == first.validate("GET", CARD_PATH, 200, CARD)
    document["components"]["schemas"]["card"]["properties"]["exp_year"] = {"type": "string"}
    copy_.write_text(json.dumps(document))  # another content: converted again
    changed = load_contract(copy_, STRIPE)
    assert reads == [copy_] and found(changed.validate("GET", CARD_PATH, 200, CARD)) == [
        ("schema.type", "exp_year", "failure")]
    entries = sorted((tmp_path / "cache").glob("contract-*.json"))
    assert len(entries) == 2  # one per content: going back to the first spec converts nothing
    for entry in entries:
        entry.write_bytes(b"garbage")  # a damaged entry is converted again
    assert load_contract(copy_, STRIPE).validate("GET", CARD_PATH, 200, CARD) != []


def test_a_large_generated_spec_loads_and_judges(tmp_path, monkeypatch):
    """Stripe's spec is 3–8 MB with ~800 schemas and ~400 paths; this one is larger (the time it takes is
    measured by bench/run.py, not asserted here)."""
    monkeypatch.setenv("CONFORMANCE_CACHE", "0")
    document = generated_spec(2000, 20)
    path = tmp_path / "large.json"
    path.write_text(json.dumps(document))
    assert path.stat().st_size > 5_000_000
    contract = load_contract(path, STRIPE)
    thing = {"id": "th_1", "object": "thing_1999", "owner": None, "next": {"id": "th_2", "object": "thing_0"}}
    assert contract.validate("GET", "/v1/things_1999/th_1", 200, thing) == []
    assert found(contract.validate("GET", "/v1/things_1999/th_1", 200, with_(thing, field_3=3))) == [
        ("schema.type", "field_3", "failure")]
    assert found(contract.validate("GET", "/v1/things_1999/th_1", 200, with_(thing, owner=CUSTOMER_BODY))) == [
        ("schema.expand", "owner", "failure")]


def test_an_alias_bomb_or_a_bottomless_spec_is_refused_in_one_line(tmp_path):
    bomb = tmp_path / "bomb.yaml"
    levels = "\n".join(f"    l{n}: &l{n} [*l{n - 1}, *l{n - 1}, *l{n - 1}, *l{n - 1}, *l{n - 1}, *l{n - 1}]"
                       for n in range(1, 12))
    bomb.write_text("openapi: 3.0.0\npaths: {/x: {get: {responses: {}}}}\ncomponents:\n  schemas:\n"
                    "    l0: &l0 {type: string}\n" + levels + "\n")
    with pytest.raises(SpecError, match=rf"^{re.escape(str(bomb))}:5: YAML aliases \(\*name\) are not supported"):
        load_contract(bomb, STRIPE)
    # a bomb outside any schema (the version every report prints), and a scalar used again: refused by the reader
    for where in ("info: {version: *l6}", "openapi: *l6", "x-anything: *l6", "paths: {/y: {get: {operationId: *l0}}}"):
        bomb.write_text("openapi: 3.0.0\nx-bombs:\n    l0: &l0 lol\n" + levels + "\n" + where
                        + "\npaths: {/x: {get: {responses: {}}}}\n")
        with pytest.raises(SpecError, match=r":\d+: YAML aliases \(\*name\) are not supported") as raised:
            load_contract(bomb, STRIPE)
        assert len(str(raised.value)) < 300
    deep = tmp_path / "deep.json"
    deep.write_text('{"openapi": "3.0.0", "paths": {"/x": {}}, "components": {"schemas": {"a": '
                    + '{"items": ' * 5000 + "{}" + "}" * 5000 + "}}}")
    with pytest.raises(SpecError, match=r"nested too deeply|not JSON or YAML"):
        load_contract(deep, STRIPE)


def test_a_dangling_reference_is_named_when_the_spec_is_read_not_when_first_used(tmp_path, monkeypatch):
    monkeypatch.setenv("CONFORMANCE_CACHE", "0")
    document = read_spec(SPEC, SPEC.read_bytes())
    document["paths"]["/v1/customers/{customer}/cards/{id}"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"] = {"$ref": "#/components/schemas/carrd"}
    path = tmp_path / "dangling.json"
    path.write_text(json.dumps(document))
    with pytest.raises(SpecError) as raised:
        load_contract(path, STRIPE)
    assert str(raised.value) == (
        f"{path}: #/paths/~1v1~1customers~1{{customer}}~1cards~1{{id}}/get/responses/200/content/application~1json/"
        "schema/$ref: the reference '#/components/schemas/carrd' points at no schema of the document (a schema is "
        "#/components/schemas/NAME)")


def test_a_list_the_schema_requires_is_written_out_without_expand(tmp_path, monkeypatch):
    """Stripe's `invoice` lists `lines` in x-expandableFields (expansion reaches into its items) and requires it:
    an invoice always carries its first page of lines, unlike a customer's optional `sources`."""
    monkeypatch.setenv("CONFORMANCE_CACHE", "0")
    page = {"type": "object", "required": ["object", "data", "has_more", "url"], "properties": {
        "object": {"type": "string", "enum": ["list"]}, "data": {"type": "array", "items": {"type": "object"}},
        "has_more": {"type": "boolean"}, "url": {"type": "string"}}}
    invoice = {"type": "object", "required": ["id", "object", "lines"], "x-expandableFields": ["lines", "notes"],
               "properties": {"id": {"type": "string"}, "object": {"type": "string", "enum": ["invoice"]},
                              "lines": page, "notes": page}}
    document = {"openapi": "3.0.0", "info": {"version": "2023-08-16"}, "components": {"schemas": {"invoice": invoice}},
                "paths": {"/v1/invoices/{invoice}": {"get": {"operationId": "GetInvoicesInvoice", "responses": {
                    "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/invoice"}}}}}}}}}
    path = tmp_path / "invoices.json"
    path.write_text(json.dumps(document))
    contract = load_contract(path, STRIPE)
    lines = {"object": "list", "data": [], "has_more": False, "url": "/v1/invoices/in_1/lines"}
    assert contract.validate("GET", "/v1/invoices/in_1", 200, {"id": "in_1", "object": "invoice", "lines": lines}) == []
    # optional: whether it is written out by default the contract does not say, and Stripe does not document
    with_notes = {"id": "in_1", "object": "invoice", "lines": lines, "notes": lines}
    (finding,) = contract.validate("GET", "/v1/invoices/in_1", 200, with_notes)
    assert (finding.rule, finding.path, finding.severity) == ("schema.expand", "notes", Severity.WARNING)
    assert "does not say whether it is written out by default" in finding.message


def test_a_customers_sources_are_left_out_unless_expanded_as_stripe_documents(contract):
    sources = {"object": "list", "data": [], "has_more": False, "url": f"/v1/customers/{CUSTOMER}/sources"}
    customer = with_(CUSTOMER_BODY, sources=sources)
    (finding,) = contract.validate("GET", f"/v1/customers/{CUSTOMER}", 200, customer)
    assert (finding.rule, finding.path, finding.severity) == ("schema.expand", "sources", Severity.FAILURE)
    assert "the API documents a customer's sources as left out unless expanded" in finding.message
    assert contract.validate("GET", f"/v1/customers/{CUSTOMER}", 200, customer, frozenset({"sources"})) == []
