"""The terminal chat through a pseudo-terminal: prompt order, "working…", Ctrl-C, paging,
wrapping, tone markers and time zones, as a person at a keyboard sees them."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pexpect
from pty_support import PROMPT, ask, screen_lines, start_demo

SLOW_SCENARIO = """\
description: "Normal night on a slow engine: every request takes 2.5 s."
plan_offset_hours: 4
failure_rate: 1.0
history_days: 30
force_abend:
  - {job: PAYROLL_DAILY.PAYROLL_EXTRACT, rc: 12, error: ora_snapshot}
faults: {latencyMs: 2500}
"""


def _leave_with_ctrl_d(child: pexpect.spawn) -> None:
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "Traceback" not in str(child.before)


def test_the_prompt_comes_only_after_the_answer(tmp_path: Path) -> None:
    transcript = io.StringIO()
    child = start_demo(tmp_path, transcript=transcript)
    questions = ["what failed tonight?", "why did PAYROLL_EXTRACT abend?", "help"]
    shown = [ask(child, question) for question in questions]
    _leave_with_ctrl_d(child)

    # Between a question and the next prompt there is the whole answer.
    assert "failed in the current plan" in shown[0]
    assert "ORA-01555" in shown[1]
    assert "status" in shown[2].lower()
    # Every prompt on screen is followed by what was typed there, never by an answer: the
    # answers start on their own line and nobody types on a line without a prompt.
    prompted = [line for line in screen_lines(transcript.getvalue()) if PROMPT in line]
    assert prompted == [PROMPT + question for question in questions] + [PROMPT]
    assert [line for line in screen_lines(transcript.getvalue()) if line][-2:] == [PROMPT, "bye"]


def test_a_slow_question_says_working_and_ctrl_c_cancels_only_it(tmp_path: Path) -> None:
    scenario = tmp_path / "slow.yaml"
    scenario.write_text(SLOW_SCENARIO, encoding="utf-8")
    child = start_demo(tmp_path, "--scenario", str(scenario))
    child.sendline("status of PAYROLL_EXTRACT")
    asked = time.monotonic()
    child.expect_exact("working…", timeout=10)
    assert time.monotonic() - asked >= 0.8  # not before about a second
    child.sendintr()  # Ctrl-C while the answer is worked on
    child.expect_exact("cancelled", timeout=10)
    child.expect_exact(PROMPT, timeout=10)
    assert "PAYROLL_EXTRACT ABEND" not in str(child.before)
    # The chat goes on: the next question is answered in the same session.
    assert "help" in ask(child, "help").lower()
    child.sendintr()  # Ctrl-C at an empty prompt leaves, cleanly
    child.expect_exact("bye", timeout=10)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "Traceback" not in str(child.before)


def test_long_lists_page_with_more_and_fit_the_width(tmp_path: Path) -> None:
    child = start_demo(tmp_path, columns=80, lines=24)
    first = ask(child, "what is waiting?")
    assert "type more for the next page" in first
    second = ask(child, "more")
    assert "(page 2 of 2)" in second
    nothing = ask(child, "more")
    assert "nothing more to show" in nothing
    child.setwinsize(60, 160)  # the person makes the window bigger
    wide = ask(child, "what is waiting?")
    _leave_with_ctrl_d(child)

    for text in (first, second):
        lines = screen_lines(text)
        table = [line for line in lines if line.startswith("  ") and "not before" in line]
        assert table, text  # the waiting jobs are shown in a table ...
        assert all(len(line) <= 80 for line in lines[1:]), text  # ... within 80 columns
        assert "…" not in text  # no cell cut mid-word
    # In the wide window each job is one line (no cell wrapped) and one page holds them.
    rows = [line for line in screen_lines(wide) if "not before" in line]
    assert len(rows) > 10
    assert not [line for line in screen_lines(wide) if re.match(r"\s{20,}\S", line)]
    assert "type more" not in wide


def test_tone_symbols_and_times_in_the_configured_zone(tmp_path: Path) -> None:
    demo = start_demo(tmp_path, RESYNC_TIMEZONE="Europe/Rome")
    banner = str(demo.before)
    why = ask(demo, "why did PAYROLL_EXTRACT abend?")
    card = ask(demo, "rerun PAYROLL_EXTRACT")
    _leave_with_ctrl_d(demo)

    headline = next(line for line in screen_lines(why) if "PAYROLL_EXTRACT ABEND" in line)
    assert headline.startswith("✖ ")
    assert "XX" not in why
    assert "!!" not in why
    assert "Times are in Europe/Rome; simulated clock" in banner
    assert "frozen" in banner  # RESYNC_SIM_SPEED=0 in the tests
    as_of = next(line for line in screen_lines(why) if "As of" in line)
    assert re.search(r"As of .*\d\d:\d\d CET", as_of), as_of
    expires = next(line for line in screen_lines(card) if "Expires" in line)
    assert re.search(r"\d\d:\d\d (UTC|CET)$", expires.rstrip()), expires  # zone shown


def test_a_terminal_that_is_not_utf8_gets_words(tmp_path: Path) -> None:
    plain = start_demo(tmp_path, PYTHONIOENCODING="ascii")
    why = ask(plain, "why did PAYROLL_EXTRACT abend?")
    _leave_with_ctrl_d(plain)
    headline = next(line for line in screen_lines(why) if "PAYROLL_EXTRACT ABEND" in line)
    assert headline.startswith("ERROR: ")
