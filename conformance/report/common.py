"""What every report format says alike: one line per finding, the counts, the verdict."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from conformance.errors import ReportError
from conformance.findings import MISSING, Finding, RunResult, Verdict
from conformance.text import plural, printable, shorten, value_text

__all__ = ["finding_line", "value", "md_text", "md_code", "md_cell", "md_block", "read_document", "plural",
           "verdict_text"]


def verdict_text(result: RunResult) -> str:
    """The verdict as every summary ends: a run stopped early says so, never "conforms" (what did not run was
    not judged)."""
    if result.interrupted_by is not None:
        return "interrupted" + (f", {result.verdict.text} so far" if result.verdict is not Verdict.CONFORMS else "")
    return result.verdict.text


def value(data: Any) -> str:
    """A finding's expected or actual value as text (``<missing>`` for an absent key)."""
    return value_text(data, MISSING)


def finding_line(finding: Finding, limit: int = 0) -> str:
    """One line per finding; ``limit`` shortens long values (terminal), 0 keeps them whole (reports).

    A finding about the whole exchange (status, route, a fault of the target) says it in its
    message — with the target's own words, such as its error message or why TLS failed.
    """
    accepted = " (accepted by the baseline)" if finding.accepted else ""
    if not finding.path or finding.rule.startswith("schema."):  # the contract's findings say it in a sentence
        message = shorten(finding.message, limit * 3) if limit else finding.message
        return f"[{finding.rule}] {message}{accepted}"
    expected, actual = value(finding.expected), value(finding.actual)
    if limit:
        expected, actual = shorten(expected, limit), shorten(actual, limit)
    return f"[{finding.rule}] {finding.path}: expected {expected}, got {actual}{accepted}"


# Markdown a target's words cannot break out of: no raw HTML (<img>, </details>), no link or image
# ([x](…)), no code span or table cell ended early. Everything else is left readable (``has_more``).
_MD_SPECIAL = re.compile(r"([\\`<>\[\]])")


def md_text(text: str) -> str:
    """Text for a Markdown line: on one line, control characters shown, markup characters escaped."""
    return _MD_SPECIAL.sub(r"\\\1", printable(" ".join(text.splitlines())))


def md_code(text: str) -> str:
    """A Markdown code span holding ``text`` whatever backticks it has (a longer fence, CommonMark)."""
    text = printable(" ".join(text.splitlines()))
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{fence}{padded}{fence}"


def md_block(text: str, language: str = "") -> list[str]:
    """A fenced code block holding ``text`` whatever fences it has (a longer one, CommonMark); its lines."""
    text = "\n".join(printable(line) for line in text.splitlines())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + language, *text.splitlines(), fence]


def md_cell(text: str) -> str:
    """A table cell built of :func:`md_text` and :func:`md_code` pieces: its pipes escaped."""
    return text.replace("|", "\\|")


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def read_document(path: Path, what: str, schemas: Collection[str],
                  shape: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A JSON document card-conformance wrote (a report, a matrix): one ReportError saying what is wrong — not
    JSON, nested past any report's depth, text no Unicode file holds, another schema, or (``shape``, a JSON
    Schema of the parts the reader uses) a field of the wrong type, named by its place."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
        if _SURROGATE_ESCAPE.search(text):  # a pair is one character once read; a lone one no file can hold
            json.dumps(data, ensure_ascii=False).encode("utf-8")
    except OSError as error:
        raise ReportError(f"cannot read {what} {path}: {error.strerror or error}") from None
    except UnicodeError:
        raise ReportError(f"{path}: not a JSON {what}: it holds text no UTF-8 file can (bytes that are not UTF-8, "
                          "or a lone surrogate such as \\ud800)") from None
    except RecursionError:
        raise ReportError(f"{path}: not a card-conformance {what}: nested deeper than any {what} is") from None
    except ValueError as error:
        raise ReportError(f"{path}: not a JSON {what} ({error})") from None
    if not isinstance(data, dict) or data.get("schema") not in schemas:
        newest = list(schemas)[-1]
        raise ReportError(f"{path}: not a card-conformance {what} (expected schema {newest!r})")
    if shape is not None:
        wrong = next(iter(_validator(json.dumps(shape, sort_keys=True)).iter_errors(data)), None)
        if wrong is not None:
            where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in wrong.instance_path)
            raise ReportError(printable(f"{path}: not a card-conformance {what}: at {where.lstrip('.') or 'the top'}: "
                                        f"{shorten(wrong.message, 200)}"))
    return data


@functools.lru_cache(maxsize=4)
def _validator(shape: str) -> Any:
    import jsonschema_rs  # only when a written report is read back: a run never needs it

    return jsonschema_rs.Draft202012Validator(json.loads(shape))
