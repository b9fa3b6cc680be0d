"""The one Jinja2 environment of every HTML page the reports write (run, matrix, history): autoescaped, strict,
and a target's control characters and bidirectional overrides shown as escapes, never obeyed."""

from __future__ import annotations

import itertools
import re

import jinja2
import markupsafe
from markupsafe import Markup

from conformance.text import plural, printable

__all__ = ["TEMPLATES", "code_spans"]

_CODE_SPAN = re.compile(r"`([^`]+)`")


def code_spans(text: object) -> Markup:
    """Text for the page with its Markdown code spans (`` `error` ``) as code: everything escaped, nothing a
    target wrote obeyed."""
    pieces = _CODE_SPAN.split(printable(str(text)))
    return Markup("").join(Markup("<code>{}</code>").format(piece) if odd else markupsafe.escape(piece)
                           for odd, piece in zip(itertools.cycle((False, True)), pieces))


TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("conformance.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    finalize=lambda value: printable(value) if isinstance(value, str) and not isinstance(value, Markup) else value,
)
TEMPLATES.filters["plural"] = plural
TEMPLATES.filters["code_spans"] = code_spans
