"""Error types of the command line: one clear line and a meaningful exit code."""

from __future__ import annotations

import click

__all__ = ["InputError"]


class InputError(click.ClickException):
    """Bad input or environment (a cassette, a URL, a port): exit code 2, no traceback."""

    exit_code = 2

    def format_message(self) -> str:
        return self.message
