"""A generated OpenAPI description of Stripe's size around the tests' card description, for the large-spec
test and the contract benchmark (Stripe's spec3 has ~800 schemas and ~400 paths, 3–8 MB)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance.contract.spec import read_spec

CARDS_SPEC = Path(__file__).resolve().parent / "schemas" / "cards-openapi.yaml"


def generated_spec(schemas: int, fields: int) -> dict[str, Any]:
    """The card description plus ``schemas`` objects of ``fields`` nullable text fields each, a path each,
    an expandable ``owner`` and a ``next`` reference that chains them all."""
    document = read_spec(CARDS_SPEC, CARDS_SPEC.read_bytes())
    for n in range(schemas):
        document["components"]["schemas"][f"thing_{n}"] = {
            "type": "object", "required": ["id", "object"], "x-expandableFields": ["owner"],
            "description": "A generated object. " * 20,
            "properties": {
                "id": {"type": "string", "maxLength": 5000}, "object": {"type": "string", "enum": [f"thing_{n}"]},
                "owner": {"nullable": True, "anyOf": [{"type": "string"}, {"$ref": "#/components/schemas/customer"}]},
                "next": {"nullable": True, "anyOf": [{"$ref": f"#/components/schemas/thing_{(n + 1) % schemas}"}]},
                **{f"field_{k}": {"type": "string", "nullable": True, "description": "text " * 10}
                   for k in range(fields)},
            },
        }
        document["paths"][f"/v1/things_{n}/{{id}}"] = {"get": {"operationId": f"GetThing{n}", "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": {
                "$ref": f"#/components/schemas/thing_{n}"}}}}}}}
    return document
