"""The deterministic parser: every question kind the product promises, and follow-ups."""

from __future__ import annotations

import pytest

from agents.intents import IntentKind, ListFilter
from agents.understand import understand


@pytest.mark.parametrize(
    ("text", "kind", "subject", "list_filter"),
    [
        ("help", IntentKind.HELP, None, None),
        ("", IntentKind.HELP, None, None),
        ("what can you do?", IntentKind.HELP, None, None),
        ("status of PAYROLL_EXTRACT", IntentKind.STATUS, "PAYROLL_EXTRACT", None),
        ("how is payroll_extract doing?", IntentKind.STATUS, "PAYROLL_EXTRACT", None),
        ("PAY*", IntentKind.STATUS, "PAY*", None),
        ("status of PAYROLL_DAILY", IntentKind.STATUS, "PAYROLL_DAILY", None),
        ("what failed tonight?", IntentKind.LIST, None, ListFilter.FAILED),
        ("show abended jobs", IntentKind.LIST, None, ListFilter.ABENDED),
        ("what is running?", IntentKind.LIST, None, ListFilter.RUNNING),
        ("which jobs are held", IntentKind.LIST, None, ListFilter.HELD),
        ("what is waiting?", IntentKind.LIST, None, ListFilter.WAITING),
        ("why did PAYROLL_EXTRACT abend?", IntentKind.WHY, "PAYROLL_EXTRACT", None),
        ("why did payroll_extract fail", IntentKind.WHY, "PAYROLL_EXTRACT", None),
        ("what will be late?", IntentKind.LATE, None, None),
        ("what is late", IntentKind.LATE, None, None),
        ("what is at risk?", IntentKind.LATE, None, None),
        ("what depends on PAYROLL_EXTRACT?", IntentKind.SUCCESSORS, "PAYROLL_EXTRACT", None),
        ("what does PAYROLL_EXTRACT wait for?", IntentKind.PREDECESSORS, "PAYROLL_EXTRACT", None),
        ("workstation status", IntentKind.WORKSTATIONS, None, None),
        ("is AGT_LNX02 up?", IntentKind.WORKSTATIONS, "AGT_LNX02", None),
        ("tell me a joke", IntentKind.UNKNOWN, None, None),
    ],
)
def test_parses_each_question_kind(
    text: str, kind: IntentKind, subject: str | None, list_filter: ListFilter | None
) -> None:
    intent = understand(text)
    assert intent.kind is kind
    if subject is not None:
        assert intent.subject == subject
    if list_filter is not None:
        assert intent.list_filter is list_filter


def test_late_and_at_risk_keep_their_filter() -> None:
    assert understand("what is late").list_filter in (ListFilter.LATE, ListFilter.AT_RISK)
    assert understand("what is at risk?").list_filter is ListFilter.AT_RISK


def test_follow_up_uses_the_conversation_subject() -> None:
    intent = understand(
        "and its predecessors?", focus="PAYROLL_EXTRACT", last_kind=IntentKind.STATUS
    )
    assert intent.kind is IntentKind.PREDECESSORS
    assert intent.subject == "PAYROLL_EXTRACT"
    assert intent.follow_up


def test_follow_up_why_after_status() -> None:
    intent = understand("why?", focus="PAYROLL_EXTRACT", last_kind=IntentKind.STATUS)
    assert intent.kind is IntentKind.WHY
    assert intent.subject == "PAYROLL_EXTRACT"


def test_what_about_repeats_the_last_kind_with_a_new_subject() -> None:
    intent = understand("what about GL_CLOSE?", focus="PAYROLL_EXTRACT", last_kind=IntentKind.WHY)
    assert intent.kind is IntentKind.WHY
    assert intent.subject == "GL_CLOSE"
    assert not intent.follow_up


def test_a_question_without_subject_and_no_focus_asks_nothing_of_the_past() -> None:
    intent = understand("and its predecessors?")
    assert intent.kind is IntentKind.PREDECESSORS
    assert intent.subject is None


def test_slash_command_name_is_ignored() -> None:
    intent = understand("/tws status of PAYROLL_EXTRACT")
    assert intent.kind is IntentKind.STATUS
    assert intent.subject == "PAYROLL_EXTRACT"
