"""A line for people stays one line: every character but the newline it may hold on purpose that a terminal or an editor breaks a line at is
escaped (U+2028 and U+2029 too: a matrix key holding one made `compare`'s one-line error two lines)."""

from __future__ import annotations

import pytest

from conformance.text import printable


@pytest.mark.parametrize("breaker", ["\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029"])
def test_no_line_breaker_survives(breaker):
    shown = printable(f"key{breaker}value")
    assert len(shown.splitlines()) == 1, repr(shown)
    assert shown.startswith("key") and shown.endswith("value")
