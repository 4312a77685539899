"""The same questions and clicks on Slack and on Teams, through the real adapters.

Each scenario runs once per platform and asserts what a person sees and what the audit log
records; the expectations are written once, so a difference between the platforms fails.
"""

from __future__ import annotations

from typing import Any

import pytest
import structlog.testing
from drivers import driver

from agents.messages import Actions, Button, ChatEvent, Click, ClickOutcome, Reply, Tone
from bot.core import texts
from bot.core.admission import RATE_LIMIT

PLATFORMS = pytest.mark.parametrize("platform", ["slack", "teams"])


async def echo(event: ChatEvent) -> Reply:
    return Reply(headline=f"You asked: {event.text}")


async def card(event: ChatEvent) -> Reply:
    buttons = (
        Button(action_id="runbook.approve", label="Approve", value="req-1", style="primary"),
        Button(action_id="runbook.reject", label="Reject", value="req-1", style="danger"),
    )
    return Reply(headline="Rerun PAYROLL_EXTRACT?", blocks=(Actions(buttons=buttons),))


def trail(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The audit trail as (action, outcome), the platform-specific ids left out."""
    return [(r["action"], r["outcome"]) for r in records]


@PLATFORMS
async def test_a_question_is_answered_and_recorded_the_same_way(platform: str) -> None:
    async with driver(platform, answer=echo) as chat:
        await chat.ask("what failed tonight?")
        assert any("You asked: what failed tonight?" in text for text in chat.public())
        assert chat.private() == []
        assert trail(chat.records) == [("chat.message", "accepted"), ("question", "answered")]
        admitted, question = chat.records
        assert admitted["platform"] == question["platform"] == platform
        assert admitted["parameters"]["text"] == "what failed tonight?"
        assert question["parameters"]["answer"] == "You asked: what failed tonight?"


@PLATFORMS
async def test_the_same_rate_limit_with_the_same_words(platform: str) -> None:
    async with driver(platform, answer=echo) as chat:
        for n in range(RATE_LIMIT + 1):
            await chat.ask(f"question {n}")
        answered = [text for text in chat.public() if "You asked: question " in text]
        assert len(answered) == RATE_LIMIT
        (note,) = chat.private() if platform == "slack" else _teams_notes(chat.public())
        assert f"You asked more than {RATE_LIMIT} questions in a minute" in note
        outcomes = [r["outcome"] for r in chat.records if r["action"] == "chat.message"]
        assert outcomes == ["accepted"] * RATE_LIMIT + ["rate_limited"]


def _teams_notes(public: list[str]) -> list[str]:
    # Teams has no private messages outside a click: the note goes to the person in the chat.
    return [text for text in public if "questions in a minute" in text]


@PLATFORMS
async def test_a_crash_while_answering_gets_the_same_text(platform: str) -> None:
    async def crash(event: ChatEvent) -> Reply:
        raise RuntimeError("bug in an answer")

    async with driver(platform, answer=crash) as chat:
        with structlog.testing.capture_logs() as logs:
            await chat.ask("why did PAYROLL_EXTRACT abend?")
        assert any("Something went wrong on my side while answering." in t for t in chat.public())
        assert not any("bug in an answer" in text for text in chat.public())  # no internals
        assert ("question", "error") in trail(chat.records)
        assert any(e["event"] == "question.crashed" for e in logs)


@PLATFORMS
async def test_a_crash_while_deciding_a_click_gets_the_same_text(platform: str) -> None:
    async def broken(click: Click) -> ClickOutcome | None:
        raise RuntimeError("bug in a click handler")

    async with driver(platform, answer=card, clicks=broken) as chat:
        await chat.ask("rerun PAYROLL_EXTRACT")
        await chat.click("runbook.approve", user="bob")
        seen = chat.private() + chat.public()
        assert any(texts.CLICK_FAILED.headline in text for text in seen)
        assert not any("bug in a click handler" in text for text in seen)
        assert trail(chat.records)[-2:] == [("chat.click", "accepted"), ("click", "error")]


@PLATFORMS
async def test_clicks_without_approvals_are_refused_the_same_way(platform: str) -> None:
    async with driver(platform, answer=card, clicks=None) as chat:
        await chat.ask("rerun PAYROLL_EXTRACT")
        await chat.click("runbook.approve", user="bob")
        assert any(texts.APPROVALS_DISABLED.headline in text for text in chat.private())
        assert trail(chat.records)[-2:] == [("chat.click", "accepted"), ("click", "no_handler")]


@PLATFORMS
async def test_a_decided_click_updates_the_card_for_everyone_and_tells_the_clicker(
    platform: str,
) -> None:
    clicks: list[Click] = []

    async def decide(click: Click) -> ClickOutcome | None:
        clicks.append(click)
        return ClickOutcome(
            reply_for_clicker=Reply(headline="Your approval is recorded.", tone=Tone.SUCCESS),
            updated_message=Reply(headline="Rerun PAYROLL_EXTRACT: approved by 1 of 2"),
        )

    async with driver(platform, answer=card, clicks=decide) as chat:
        await chat.ask("rerun PAYROLL_EXTRACT")
        await chat.click("runbook.approve", user="bob")
        (click,) = clicks
        assert (click.action_id, click.value, click.label) == (
            "runbook.approve",
            "req-1",
            "Approve",
        )
        assert click.actor.platform.value == platform
        assert any("approved by 1 of 2" in text for text in chat.public())
        assert any("Your approval is recorded." in text for text in chat.private())
        assert trail(chat.records) == [
            ("chat.message", "accepted"),
            ("question", "answered"),
            ("chat.click", "accepted"),
            ("click", "decided"),
        ]


class FailingAudit:
    """An audit store that is down."""

    async def record(self, **fields: Any) -> object:
        raise OSError("audit disk full")


@PLATFORMS
async def test_an_audit_store_failure_still_answers_and_raises_the_alarm(platform: str) -> None:
    async with driver(platform, answer=echo, audit=FailingAudit()) as chat:
        with structlog.testing.capture_logs() as logs:
            await chat.ask("what is late?")
        assert any("You asked: what is late?" in text for text in chat.public())
        alarms = [e for e in logs if e["event"] == "audit.write_failed"]
        assert {e["action"] for e in alarms} == {"chat.message", "question"}
        assert all(e["log_level"] == "error" for e in alarms)
