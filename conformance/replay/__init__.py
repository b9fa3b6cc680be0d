"""Replay: re-sending a cassette's requests to a target, binding the ids it mints, judging its answers."""

from conformance.replay.engine import ReplayOptions, redact_finding, replay_cassette
from conformance.replay.runner import check_target, run, target_process
from conformance.replay.transport import TargetClient

__all__ = ["ReplayOptions", "TargetClient", "check_target", "redact_finding", "replay_cassette", "run",
           "target_process"]
