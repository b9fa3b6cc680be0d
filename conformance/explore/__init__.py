"""``conformance explore``: generated sequences of requests, judged by an API's documented rules as a model.

The engine is generic: :mod:`session` sends a sequence's requests and keeps its steps, :mod:`runner` drives a
profile's Hypothesis state machine (generation, the example database, shrinking) within a budget, and
:mod:`cassette` writes a failing sequence, shrunk, as an ordinary cassette. What the requests are and what the
answers must be comes from the API profile (``ApiProfile.explore``): the engine never imports one.
"""

from conformance.explore.cassette import write_failure
from conformance.explore.runner import ExploreOptions, ExploreResult, Failure, explore
from conformance.explore.session import Deviation, ExploreInputError, Session, Step

__all__ = ["Deviation", "ExploreInputError", "ExploreOptions", "ExploreResult", "Failure", "Session", "Step",
           "explore", "write_failure"]
