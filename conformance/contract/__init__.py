"""The contract: Stripe's published OpenAPI description as a second oracle, beside the recording.

``spec`` reads a spec (JSON or YAML) and turns its OpenAPI 3.0 schemas into JSON
Schema once (cached across runs); ``operations`` finds the operation of a
request from the spec's paths; ``validate`` judges a response body against the
schema of its operation and status, with findings of the ``schema.*`` rules.
"""

from conformance.contract.validate import Contract, expanded_paths, load_contract

__all__ = ["Contract", "load_contract", "expanded_paths"]
