"""The cassette: the one model of recorded traffic, shared by the recorder, the replay server and the runner.

``model`` (what an interaction is), ``reader`` (the one strict YAML reader),
``validation`` (documents to the model), ``emitter`` (the model to YAML),
``cache`` (parsed cassettes kept as JSON) and ``files`` (finding, reading and
appending cassette files).
"""

from conformance.cassette.files import (
    RECORD_MODES,
    SUFFIXES,
    CassetteExists,
    CassetteWriter,
    count_interactions,
    find_cassettes,
    foreign_recording,
    is_cassette,
    iter_interactions,
    load,
)
from conformance.cassette.model import VERSION, Body, Cassette, Interaction, Request, Response, body_from_bytes
from conformance.errors import CassetteError

__all__ = [
    "VERSION", "SUFFIXES", "Body", "Request", "Response", "Interaction", "Cassette", "CassetteError",
    "CassetteWriter", "load", "iter_interactions", "find_cassettes", "is_cassette", "count_interactions",
    "body_from_bytes", "CassetteExists", "RECORD_MODES", "foreign_recording",
]
