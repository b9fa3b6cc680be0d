"""The command line (``conformance``): Click, exit codes, and nothing else of the core's business."""

from conformance.cli import matrix as _matrix  # noqa: F401  (registers `conformance matrix`)
from conformance.cli.main import main

__all__ = ["main"]
