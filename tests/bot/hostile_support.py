"""Hostile text and a no-crash check, shared by the hardening tests of every surface.

Imported by name (``from hostile_support import ...``): pytest puts this folder on the path
(its conftest lives here).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from agents.messages import Actions, Button, Context, Fields, Preformatted, Reply, Table

BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
C0 = "".join(chr(c) for c in range(0x20) if chr(c) not in "\n\t\r") + "\x7f"
C1 = "".join(chr(c) for c in range(0x80, 0xA0))
UNSAFE = frozenset(BIDI + C0 + C1)
"""Characters no surface may show (newline, tab and carriage return are handled apart)."""

SPOOFED = "PAYROLL\u202eLX.TXE"
"""A job name that, shown raw, reads as ``PAYROLLEXT.XL``."""


def hostile_reply(asked: str) -> Reply:
    """An answer whose every kind of block carries control and bidirectional characters."""
    return Reply(
        headline=f"{SPOOFED} abended ({asked})",
        blocks=(
            Fields(items=(("Job", SPOOFED), ("Workstation", "AGT\u2066_1\u2069"))),
            Table(
                columns=("Job", "Status"), rows=((SPOOFED, "ABEND"), ("OTHER", "SUCC\x85\x9b2J"))
            ),
            Preformatted(text=f"line 1\x1b]0;owned\x07\r\nline 2\rline 3\x85{BIDI}{C0}{C1}"),
            Context(items=(f"source \u2066{SPOOFED}\u2069",)),
            Actions(buttons=(Button(action_id="x.ok", label="Ok\u202e", value="v"),)),
        ),
    )


def assert_nothing_crashed(logs: list[dict[str, Any]], caplog: pytest.LogCaptureFixture) -> None:
    """No error line and no traceback, in structlog's lines or the standard logging's."""
    assert not [e for e in logs if e["log_level"] in ("error", "critical")], logs
    assert not [e for e in logs if "exc_info" in e or "exception" in e], logs
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
