"""The forwarder's cursor file: atomic, private, tied to one log."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from integrations.audit.forward import Cursor, CursorFile


def test_round_trip_private_and_no_temporary_left(tmp_path: Path) -> None:
    cursors = CursorFile(tmp_path / "data", "hec")
    assert cursors.load("aa") == Cursor(log_id="aa", seq=0)
    cursors.save(Cursor(log_id="aa", seq=41, ts_us=1_700_000_000_000_000, hash="ff" * 32))
    cursors.save(Cursor(log_id="aa", seq=42, ts_us=1_700_000_000_000_001, hash="ee" * 32))
    assert cursors.load("aa") == Cursor(
        log_id="aa", seq=42, ts_us=1_700_000_000_000_001, hash="ee" * 32
    )
    assert stat.S_IMODE(cursors.path.stat().st_mode) == 0o600
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["siem-hec.cursor"]


def test_destinations_have_separate_cursors(tmp_path: Path) -> None:
    CursorFile(tmp_path, "hec").save(Cursor(log_id="aa", seq=5))
    assert CursorFile(tmp_path, "syslog").load("aa").seq == 0
    assert CursorFile(tmp_path, "hec").load("aa").seq == 5


def test_a_cursor_of_another_log_starts_over(tmp_path: Path) -> None:
    CursorFile(tmp_path, "hec").save(Cursor(log_id="aa", seq=5))
    assert CursorFile(tmp_path, "hec").load("bb") == Cursor(log_id="bb", seq=0)


@pytest.mark.parametrize("text", ["{not json", '{"format":"other"}', "[]"])
def test_a_damaged_cursor_is_an_error_not_a_guess(tmp_path: Path, text: str) -> None:
    cursors = CursorFile(tmp_path, "hec")
    cursors.path.write_text(text)
    with pytest.raises(ValueError, match=r"siem-hec\.cursor"):
        cursors.load("aa")
