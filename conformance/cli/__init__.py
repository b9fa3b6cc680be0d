"""The command line (``conformance``): Click, exit codes, and nothing else of the core's business.

``main.py`` holds the group and what every command shares; each command lives in a module of its own, imported
when that command is looked up (``main.COMMANDS`` names them): a command line pays for the one command it runs.
"""

from conformance.cli.main import main

__all__ = ["main"]
