"""The command line (``conformance``): Click, exit codes, and nothing else of the core's business.

``main.py`` holds the group and what every command shares; each command lives in a module of its own, imported
here so that it registers on the group.
"""

from conformance.cli import (  # noqa: F401  (each registers its commands)
    capture,
    check,
    compare,
    demo,
    diff,
    docs,
    explore,
    importing,
    matrix,
    matrix_history,
    record,
    run,
    serve,
)
from conformance.cli.main import main

__all__ = ["main"]
