"""Checks: what makes an answer a finding — the recording (``compare``), the documentation (``invariants``),
and cassette lint (``lint``). Each check is registered in ``exchange.CHECKS``; the rules they name are in
``conformance.rules``.
"""

from conformance.checks import response  # noqa: F401  (registers the checks)
from conformance.checks.compare import CompareRules
from conformance.checks.exchange import CHECKS, CheckState, Exchange, run_checks

__all__ = ["CHECKS", "CheckState", "CompareRules", "Exchange", "run_checks"]
