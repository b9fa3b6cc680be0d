"""The command line (``conformance``): Click, exit codes, and nothing else of the core's business."""

from conformance.cli.main import main

__all__ = ["main"]
