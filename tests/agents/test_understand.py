"""The deterministic parser: every question kind the product promises, and follow-ups."""

from __future__ import annotations

import pytest

from agents.intents import IncidentOp, IntentKind, ListFilter
from agents.understand import refers_to_place, understand
from agents.understand_actions import command_problems


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


@pytest.mark.parametrize(
    ("text", "runbook", "arguments"),
    [
        ("rerun PAYROLL_EXTRACT", "rerun-abended-job", {"job": "PAYROLL_EXTRACT"}),
        ("please re-run the job payroll_extract", "rerun-abended-job", {"job": "PAYROLL_EXTRACT"}),
        ("kill GL_CLOSE_INIT", "kill-job", {"job": "GL_CLOSE_INIT"}),
        (
            "cancel PAYROLL_DAILY.PAYROLL_EXTRACT",
            "cancel-job",
            {"job": "PAYROLL_DAILY.PAYROLL_EXTRACT"},
        ),
        ("confirm PAYROLL_EXTRACT as successful", "confirm-succ", {"job": "PAYROLL_EXTRACT"}),
        (
            "release the dependencies of GL_CLOSE_POST",
            "release-dependencies",
            {"job": "GL_CLOSE_POST"},
        ),
        ("hold job stream PAYROLL_DAILY", "hold-job-stream", {"stream": "PAYROLL_DAILY"}),
        (
            "restart the failed chain from PAYROLL_EXTRACT",
            "restart-failed-chain",
            {"job": "PAYROLL_EXTRACT"},
        ),
        ("diagnose AGT_LNX02", "workstation-down", {"workstation": "AGT_LNX02"}),
        (
            "/tws run rerun-abended-job job=PAYROLL_DAILY.PAYROLL_EXTRACT",
            "rerun-abended-job",
            {"job": "PAYROLL_DAILY.PAYROLL_EXTRACT"},
        ),
        ("run kill-job job=X.Y", "kill-job", {"job": "X.Y"}),
    ],
)
def test_requests_to_change_the_plan_name_a_runbook(
    text: str, runbook: str, arguments: dict[str, str]
) -> None:
    intent = understand(text)
    assert intent.kind is IntentKind.RUNBOOK
    assert intent.runbook == runbook
    assert intent.arguments == arguments


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("run kill-job job=A.B job=C.D", ["job is given twice"]),
        ("/tws run kill-job JOB=A.B job=C.D", ["job is given twice"]),
        ("run kill-job job=A.B now", ["'now' is not key=value"]),
        ('run kill-job job="A.B', ["cannot read the command: No closing quotation"]),
    ],
)
def test_a_run_command_that_cannot_be_read_says_why(text: str, problems: list[str]) -> None:
    # The strict parser the runbook service uses: the last value never silently wins.
    intent = understand(text)
    assert intent.kind is IntentKind.RUNBOOK
    assert intent.runbook == "kill-job"
    assert command_problems(intent) == problems


def test_a_readable_run_command_has_no_problems() -> None:
    intent = understand('run kill-job job=A.B note="two words"')
    assert intent.arguments == {"job": "A.B", "note": "two words"}
    assert command_problems(intent) == []


def test_rerun_it_takes_the_conversation_subject() -> None:
    intent = understand("rerun it", focus="PAYROLL_DAILY.PAYROLL_EXTRACT", last_kind=IntentKind.WHY)
    assert intent.kind is IntentKind.RUNBOOK
    assert intent.arguments == {"job": "PAYROLL_DAILY.PAYROLL_EXTRACT"}
    assert intent.follow_up


@pytest.mark.parametrize(
    "text",
    ["which jobs are cancelled?", "why was PAYROLL_EXTRACT killed?", "what did the rerun do"],
)
def test_questions_that_mention_actions_stay_questions(text: str) -> None:
    assert understand(text).kind is not IntentKind.RUNBOOK


@pytest.mark.parametrize(
    "text",
    [
        "rerun it",
        "rerun that",
        "rerun this",
        "rerun the job",
        "rerun that job",
        "rerun this job",
        "rerun the failed job please",
        "please rerun that job.",
    ],
)
def test_rerun_a_reference_takes_the_focus_or_asks_which(text: str) -> None:
    focus = "PAYROLL_DAILY.PAYROLL_EXTRACT"
    intent = understand(text, focus=focus, last_kind=IntentKind.WHY)
    assert intent.kind is IntentKind.RUNBOOK
    assert intent.runbook == "rerun-abended-job"
    assert intent.arguments == {"job": focus}
    assert intent.follow_up
    without = understand(text)
    assert without.kind is IntentKind.RUNBOOK
    assert without.runbook == "rerun-abended-job"
    assert without.arguments == {}  # the runbook answer then asks which one


def test_rerun_the_job_named_still_names_it() -> None:
    intent = understand("rerun the job PAYROLL_CALC", focus="PAYROLL_DAILY.PAYROLL_EXTRACT")
    assert intent.arguments == {"job": "PAYROLL_CALC"}
    assert not intent.follow_up


def test_what_about_after_a_change_request_is_a_status_question() -> None:
    intent = understand(
        "what about PAYROLL_CALC?",
        focus="PAYROLL_DAILY.PAYROLL_EXTRACT",
        last_kind=IntentKind.RUNBOOK,
    )
    assert intent.kind is IntentKind.STATUS
    assert intent.subject == "PAYROLL_CALC"
    assert intent.runbook is None


@pytest.mark.parametrize(
    "text",
    ["what failed on AGT_LNX01 in PAYROLL_DAILY", "what failed in PAYROLL_DAILY on AGT_LNX01"],
)
def test_list_keeps_both_workstation_and_job_stream(text: str) -> None:
    intent = understand(text)
    assert intent.kind is IntentKind.LIST
    assert intent.list_filter is ListFilter.FAILED
    assert intent.subject == "PAYROLL_DAILY"
    assert intent.workstation == "AGT_LNX01"


@pytest.mark.parametrize(
    ("text", "workstation"),
    [("what is in progress?", None), ("what failed on AGT_LNX01", "AGT_LNX01")],
)
def test_list_without_a_job_stream_has_no_subject(text: str, workstation: str | None) -> None:
    intent = understand(text)
    assert intent.kind is IntentKind.LIST
    assert intent.subject is None
    assert intent.workstation == workstation


FOCUS = "PAYROLL_DAILY.PAYROLL_EXTRACT"


@pytest.mark.parametrize(
    ("text", "op", "subject", "arguments"),
    [
        (
            "incident declare SEV1 PAYROLL_EXTRACT abended",
            IncidentOp.DECLARE,
            "PAYROLL_EXTRACT",
            {"severity": "SEV1", "title": "PAYROLL_EXTRACT abended", "link": "mentioned"},
        ),
        (
            "/tws incident declare sev 2 bank file late",
            IncidentOp.DECLARE,
            FOCUS,
            {"severity": "SEV2", "title": "bank file late", "link": "focus"},
        ),
        (
            "raise an incident for PAYROLL_EXTRACT",
            IncidentOp.DECLARE,
            "PAYROLL_EXTRACT",
            {"link": "named"},
        ),
        (
            "please declare a SEV2 incident for it: bank file late",
            IncidentOp.DECLARE,
            FOCUS,
            {"severity": "SEV2", "title": "bank file late", "link": "focus"},
        ),
        (
            "declare an incident: payroll extract failing",
            IncidentOp.DECLARE,
            FOCUS,
            {"title": "payroll extract failing", "link": "focus"},
        ),
        ("incidents", IncidentOp.LIST, None, {}),
        ("what incidents are open?", IncidentOp.LIST, None, {}),
        ("incident stats 30d", IncidentOp.STATS, None, {"days": "30"}),
        ("incident INC-2026-0042", IncidentOp.SHOW, None, {"id": "INC-2026-0042"}),
        ("inc-2026-0042", IncidentOp.SHOW, None, {"id": "INC-2026-0042"}),
        ("incident", IncidentOp.SHOW, None, {}),
        (
            "incident note checked the alert log",
            IncidentOp.NOTE,
            None,
            {"text": "checked the alert log"},
        ),
        (
            "incident INC-2026-0042 update rerun started",
            IncidentOp.UPDATE,
            None,
            {"id": "INC-2026-0042", "text": "rerun started"},
        ),
        (
            "incident note INC-2026-0042 hello",
            IncidentOp.NOTE,
            None,
            {"id": "INC-2026-0042", "text": "hello"},
        ),
        (
            "incident lead <@U123|ana>",
            IncidentOp.ROLE,
            None,
            {"role": "lead", "person": "<@U123|ana>"},
        ),
        (
            "incident comms Ana Smith",
            IncidentOp.ROLE,
            None,
            {"role": "comms", "person": "Ana Smith"},
        ),
        ("incident severity sev1", IncidentOp.SEVERITY, None, {"severity": "SEV1"}),
        ("incident escalate", IncidentOp.ESCALATE, None, {}),
        ("escalate this incident to SEV1", IncidentOp.ESCALATE, None, {"severity": "SEV1"}),
        ("incident status monitoring", IncidentOp.STATUS, None, {"status": "monitoring"}),
        ("incident reopen", IncidentOp.STATUS, None, {"status": "active"}),
        ("incident resolve rerun fixed it", IncidentOp.RESOLVE, None, {"text": "rerun fixed it"}),
        ("close the incident", IncidentOp.CLOSE, None, {}),
        ("incident link PAYROLL_EXTRACT", IncidentOp.LINK, "PAYROLL_EXTRACT", {}),
        ("incident link it", IncidentOp.LINK, FOCUS, {}),
        (
            "incident follow-up add an alert on undo",
            IncidentOp.FOLLOW_UP,
            None,
            {"text": "add an alert on undo"},
        ),
    ],
)
def test_parses_incident_requests(
    text: str, op: IncidentOp, subject: str | None, arguments: dict[str, str]
) -> None:
    intent = understand(text, focus=FOCUS)
    assert intent.kind is IntentKind.INCIDENT
    assert intent.operation is op
    assert intent.subject == subject
    assert intent.arguments == arguments


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("incident resolve", "Resolving needs a summary"),
        ("incident note", "What should the note say?"),
        ("incident lead", "Who? Write: incident lead @someone."),
        ("incident frobnicate", "I do not know 'incident frobnicate'."),
        ("incident INC-42", "INC-42 is not an incident id: ids look like INC-2026-0042."),
    ],
)
def test_unreadable_incident_commands_say_what_is_expected(text: str, problem: str) -> None:
    intent = understand(text)
    assert intent.operation is IncidentOp.USAGE
    assert intent.arguments["problem"].startswith(problem)


@pytest.mark.parametrize(
    "text",
    ["why did PAYROLL_EXTRACT fail?", "what failed tonight?", "rerun PAYROLL_EXTRACT", "status"],
)
def test_questions_are_not_incident_requests(text: str) -> None:
    assert understand(text).kind is not IntentKind.INCIDENT


# -- issue 14: the phrasings operators use --------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "subject"),
    [
        # root cause upstream (answered by the why answer)
        ("what's blocking GL_CLOSE?", IntentKind.WHY, "GL_CLOSE"),
        ("what is holding up GL_CLOSE", IntentKind.WHY, "GL_CLOSE"),
        ("why isn't GL_CLOSE running?", IntentKind.WHY, "GL_CLOSE"),
        ("why is GL_CLOSE stuck?", IntentKind.WHY, "GL_CLOSE"),
        ("why won't GL_CLOSE start?", IntentKind.WHY, "GL_CLOSE"),
        ("why hasn't PAYROLL_EXTRACT started?", IntentKind.WHY, "PAYROLL_EXTRACT"),
        ("why didn't payroll_post run", IntentKind.WHY, "PAYROLL_POST"),
        ("how come GL_CLOSE isn't running", IntentKind.WHY, "GL_CLOSE"),
        ("why did BILLING_USAGE fail?", IntentKind.WHY, "BILLING_USAGE"),
        ("what does GL_CLOSE wait for?", IntentKind.PREDECESSORS, "GL_CLOSE"),
        ("what's GL_CLOSE waiting for?", IntentKind.PREDECESSORS, "GL_CLOSE"),
        # business words: the status answer resolves them to a stream
        ("is payroll done?", IntentKind.STATUS, "PAYROLL"),
        ("how is payroll doing", IntentKind.STATUS, "PAYROLL"),
        ("how's billing doing?", IntentKind.STATUS, "BILLING"),
        # ETA and deadlines of one name
        ("when will GL_CLOSE finish?", IntentKind.ETA, "GL_CLOSE"),
        ("what's the ETA for GL_CLOSE", IntentKind.ETA, "GL_CLOSE"),
        ("ETA of PAYROLL_DAILY?", IntentKind.ETA, "PAYROLL_DAILY"),
        ("when is GL_CLOSE expected to end", IntentKind.ETA, "GL_CLOSE"),
        ("how long until GL_CLOSE is done?", IntentKind.ETA, "GL_CLOSE"),
        ("will GL_CLOSE make its SLA?", IntentKind.ETA, "GL_CLOSE"),
        ("is GL_CLOSE going to be late?", IntentKind.ETA, "GL_CLOSE"),
        # knowledge
        ("what does AWSBIN076E mean?", IntentKind.KNOWLEDGE, "AWSBIN076E"),
        ("awsbht001e", IntentKind.KNOWLEDGE, "AWSBHT001E"),
        ("how do I fix ORA-01555?", IntentKind.KNOWLEDGE, "ORA-01555"),
        ("SQL0911N?", IntentKind.KNOWLEDGE, "SQL0911N"),
    ],
)
def test_operator_phrasings(text: str, kind: IntentKind, subject: str | None) -> None:
    intent = understand(text)
    assert intent.kind is kind, intent
    assert intent.subject == subject


@pytest.mark.parametrize(
    ("text", "list_filter", "subject", "workstation"),
    [
        ("how many jobs are in the plan?", None, None, None),
        ("how many jobs are there", None, None, None),
        ("how many jobs are on AGT_LNX02?", None, None, "AGT_LNX02"),
        ("how many jobs failed?", ListFilter.FAILED, None, None),
        ("number of jobs running on agent AGT_WIN01", ListFilter.RUNNING, None, "AGT_WIN01"),
        ("how many jobs in PAYROLL_DAILY failed", ListFilter.FAILED, "PAYROLL_DAILY", None),
        ("how many are held?", ListFilter.HELD, None, None),
        ("how many jobs are ready but not started", ListFilter.READY, None, None),
    ],
)
def test_counts(
    text: str, list_filter: ListFilter | None, subject: str | None, workstation: str | None
) -> None:
    intent = understand(text)
    assert intent.kind is IntentKind.COUNT, intent
    assert intent.list_filter is list_filter
    assert intent.subject == subject
    assert intent.workstation == workstation


@pytest.mark.parametrize(
    ("text", "list_filter", "workstation"),
    [
        ("what's waiting on AGT_LNX02?", ListFilter.WAITING, "AGT_LNX02"),
        ("what is running on agent AGT_LNX01", ListFilter.RUNNING, "AGT_LNX01"),
        ("which jobs are ready but not started?", ListFilter.READY, None),
        ("ready jobs", ListFilter.READY, None),
        ("what is scheduled?", ListFilter.SCHEDULED, None),
        ("what is held?", ListFilter.HELD, None),
        ("what is not started yet", ListFilter.WAITING, None),
        ("WHAT FAILED TONIGHT?", ListFilter.FAILED, None),
    ],
)
def test_lists_by_group_and_workstation(
    text: str, list_filter: ListFilter, workstation: str | None
) -> None:
    intent = understand(text)
    assert intent.kind is IntentKind.LIST, intent
    assert intent.list_filter is list_filter
    assert intent.workstation == workstation
    assert intent.subject is None


def test_on_it_is_a_place_named_before() -> None:
    # The graph fills in the workstation of the previous answer (tested end to end in
    # tests/scenarios/test_questions_plan_counts.py); the parser says a list points at it.
    intent = understand(
        "what's running on it?", focus="AGT_LNX02", last_kind=IntentKind.WORKSTATIONS
    )
    assert (intent.kind, intent.list_filter) == (IntentKind.LIST, ListFilter.RUNNING)
    assert refers_to_place("what's running on it?")
    assert refers_to_place("anything failed there?")
    assert not refers_to_place("what is running on AGT_LNX01?")
    assert not refers_to_place("what failed tonight?")


@pytest.mark.parametrize(
    ("text", "arguments"),
    [
        ("what changed since 22:00?", {"since": "22:00"}),
        ("what's changed since 10pm", {"since": "22:00"}),
        ("anything happen after 10PM?", {"since": "22:00"}),
        ("what happened since midnight", {"since": "00:00"}),
        ("what changed in the last hour?", {"minutes": "60"}),
        ("anything new in the past 30 minutes", {"minutes": "30"}),
        ("what failed in the last 2 hours", {"minutes": "120"}),
        ("what changed since 2 hours ago", {"minutes": "120"}),
        ("what changed?", {"minutes": "60"}),
    ],
)
def test_what_changed_windows(text: str, arguments: dict[str, str]) -> None:
    intent = understand(text)
    assert intent.kind is IntentKind.CHANGES, intent
    assert intent.arguments == arguments
    assert intent.subject is None


@pytest.mark.parametrize(
    "text",
    ["any SLA breaches?", "did anything breach its SLA?", "deadlines?", "what's overdue", "SLA?"],
)
def test_deadline_words_are_lateness(text: str) -> None:
    intent = understand(text)
    assert intent.kind is IntentKind.LATE, intent
    assert intent.subject is None


@pytest.mark.parametrize(
    ("text", "say"),
    [
        ("hi", "hello"),
        ("Hello there!", "hello"),
        ("good morning", "hello"),
        ("thanks!", "thanks"),
        ("thank you", "thanks"),
        ("ok thanks", "thanks"),
        ("cheers", "thanks"),
        ("ok", "ok"),
        ("bye", "bye"),
    ],
)
def test_greetings_and_thanks(text: str, say: str) -> None:
    intent = understand(text)
    assert intent.kind is IntentKind.SMALLTALK
    assert intent.arguments == {"say": say}


@pytest.mark.parametrize(
    "text",
    [
        "anything after 10PM?",
        "ANOMALIES?",
        "ETA?",
        "SLA?",
        "why isn't it running?",
        "what is the SLA",
        "status at 22:00",
        "ISN'T IT DONE?",
        "any incidents?",
    ],
)
def test_ops_words_and_times_are_never_subjects(text: str) -> None:
    intent = understand(text)
    assert intent.subject is None, intent
    assert intent.workstation is None


def test_what_is_not_understood_says_what_was_recognised() -> None:
    intent = understand("ANOMALIES?")
    assert intent.kind is IntentKind.UNKNOWN
    assert intent.arguments == {"understood": "ANOMALIES"}
    assert understand("tell me a joke").arguments == {}


@pytest.mark.parametrize(
    ("text", "kind", "subjects"),
    [
        (
            "what failed in PAYROLL_DAILY and GL_CLOSE",
            IntentKind.LIST,
            ("PAYROLL_DAILY", "GL_CLOSE"),
        ),
        (
            "status of GL_CLOSE, PAYROLL_DAILY and BILLING_RUN",
            IntentKind.STATUS,
            ("GL_CLOSE", "PAYROLL_DAILY", "BILLING_RUN"),
        ),
        (
            "why did PAYROLL_EXTRACT and GL_CLOSE_INIT fail?",
            IntentKind.WHY,
            ("PAYROLL_EXTRACT", "GL_CLOSE_INIT"),
        ),
        (
            "when will GL_CLOSE and RPT_REGULATORY finish?",
            IntentKind.ETA,
            ("GL_CLOSE", "RPT_REGULATORY"),
        ),
    ],
)
def test_several_subjects(text: str, kind: IntentKind, subjects: tuple[str, ...]) -> None:
    intent = understand(text)
    assert intent.kind is kind
    assert (intent.subject, *intent.more_subjects) == subjects


@pytest.mark.parametrize(
    ("text", "query"),
    [
        (
            "what does our runbook say about agent restarts?",
            "what does our runbook say about agent restarts",
        ),
        ("how do I fix a disk full error?", "how do I fix a disk full error"),
        ("how to troubleshoot jobs stuck in HOLD", "how to troubleshoot jobs stuck in HOLD"),
    ],
)
def test_knowledge_questions_keep_their_words(text: str, query: str) -> None:
    intent = understand(text)
    assert intent.kind is IntentKind.KNOWLEDGE
    assert intent.arguments == {"query": query}


def test_contractions_follow_up_on_the_focus() -> None:
    focus = "PAYROLL_DAILY.PAYROLL_EXTRACT"
    assert understand("isn't it done?", focus=focus).subject == focus
    why = understand("why won't it start?", focus=focus, last_kind=IntentKind.STATUS)
    assert (why.kind, why.subject) == (IntentKind.WHY, focus)
    eta = understand("when will it finish?", focus=focus, last_kind=IntentKind.STATUS)
    assert (eta.kind, eta.subject, eta.follow_up) == (IntentKind.ETA, focus, True)


@pytest.mark.parametrize(
    ("text", "kind", "subject", "list_filter"),
    [
        ("AR_DUNNING is late, what's the cause?", IntentKind.WHY, "AR_DUNNING", None),
        ("what caused PAYROLL_EXTRACT to fail", IntentKind.WHY, "PAYROLL_EXTRACT", None),
        ("which ones bombed?", IntentKind.LIST, None, ListFilter.FAILED),
        ("anything blew up tonight?", IntentKind.LIST, None, ListFilter.FAILED),
    ],
)
def test_cause_words_and_slang_for_failures(
    text: str, kind: IntentKind, subject: str | None, list_filter: ListFilter | None
) -> None:
    intent = understand(text)
    assert (intent.kind, intent.subject, intent.list_filter) == (kind, subject, list_filter)
