"""Options of `run` and `matrix` beyond those every command shares: the size cap on a target's answers."""

from __future__ import annotations

import re
from typing import Any

import click

from conformance.net import DEFAULT_MAX_BODY, size_text

__all__ = ["max_body_option", "Size"]

_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "m": 10**6, "mb": 10**6, "mib": 2**20,
          "g": 10**9, "gb": 10**9, "gib": 2**30}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", re.IGNORECASE)


class Size(click.ParamType):
    """A number of bytes: ``10MB``, ``512KiB``, ``2000000``."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        found = _SIZE.fullmatch(str(value))
        unit = found.group(2).lower() if found else ""
        if found is None or unit not in _UNITS:
            self.fail(f"{value!r} is no size: give bytes, or a number with KB, MB, GB (KiB, MiB…), such as 10MB",
                      param, ctx)
        size = int(float(found.group(1)) * _UNITS[unit])
        if size < 1:
            self.fail(f"{value!r}: the cap must be at least 1 byte", param, ctx)
        return size


max_body_option = click.option(
    "--max-body", type=Size(), default=DEFAULT_MAX_BODY, metavar="SIZE",
    help=f"The most an answer's body may hold, as sent and as decoded (gzip, zstd, brotli); a larger one is a "
         f"finding of its exchange and the run goes on (default {size_text(DEFAULT_MAX_BODY)}; e.g. 50MB).")
