"""Runbook approvals in Teams, end to end with the real stack.

Simulator over HTTP + TWSClient + RunbookService (shipped catalog) + the chat core + the
Teams surface against a fake Bot Connector. Clicks are decided by the service: the invoke
response is the clicker's view (private notes stay there), the card is updated in place
for everyone (PUT), and the run's progress is posted in the card's thread.
"""

from __future__ import annotations

import asyncio
from typing import Any

from runbook_stack import JOB, RUNBOOK, Stack, runbook_stack
from teams_support import (
    CHANNEL,
    Harness,
    actions,
    assert_valid_card,
    card_of,
    eventually,
    execute,
    message,
    running_bot,
    texts,
)

from agents.messages import Actor, Platform
from bot.runbook_clicks import RunbookDecisions

THREAD = f"{CHANNEL};messageid=root1"
MEMBERS = {
    "29:alice": {
        "id": "29:alice",
        "name": "Alice Smith",
        "aadObjectId": "aad-alice",
        "userPrincipalName": "alice@contoso.com",
    },
    "29:bob": {
        "id": "29:bob",
        "name": "Bob Jones",
        "aadObjectId": "aad-bob",
        "userPrincipalName": "Approver2@Example.com",
    },
}
REQUESTER = Actor(
    platform=Platform.TEAMS,
    user_id="aad-alice",
    display_name="Alice Smith",
    email="alice@contoso.com",
)


async def _card(stack: Stack, bot: Harness) -> tuple[str, str, dict[str, Any]]:
    """Request a run and post its card in a channel thread: (request id, message id, card)."""
    url = bot.connector.url
    await bot.post(
        message(
            "hello",
            service_url=url,
            conversation_id=THREAD,
            conversation_type="channel",
            activity_id="root1",
        )
    )
    await bot.connector.wait_for(1)  # the greeting's answer; the conversation is known now
    result = await stack.service.request(
        runbook_id=RUNBOOK, values={"job": JOB}, actor=REQUESTER, channel=CHANNEL, thread="root1"
    )
    assert result.accepted
    assert result.request_id is not None
    posted = await bot.surface.post_to_channel(
        conversation_id=CHANNEL, reply=result.reply, thread_id="root1"
    )
    assert posted is not None
    sent = (await bot.connector.wait_for(2))[-1]
    assert sent.conversation_id == THREAD
    return result.request_id, posted.message_id, card_of(sent.body)


def _button(card: dict[str, Any], verb: str) -> dict[str, Any]:
    return next(a for a in actions(card) if a["verb"] == verb)


def _click(
    card: dict[str, Any], verb: str, *, url: str, posted: str, who: str, activity_id: str
) -> dict[str, Any]:
    return execute(
        action=_button(card, verb),
        service_url=url,
        card_message_id=posted,
        conversation_id=THREAD,
        user_id=f"29:{who}",
        aad=f"aad-{who}",
        name=who.title(),
        activity_id=activity_id,
    )


def _thread_headlines(bot: Harness) -> list[str]:
    return [
        card_of(c.body)["body"][0]["text"]
        for c in bot.connector.activities("POST")
        if c.conversation_id == THREAD
    ]


async def test_teams_approval_by_a_second_person_runs_once_and_updates_in_place() -> None:
    async with runbook_stack() as stack:
        decisions = RunbookDecisions(stack.service)
        async with running_bot(
            decisions=decisions, members=MEMBERS, decision_wait_seconds=8
        ) as bot:
            stack.progress.use(bot.core)
            stack.progress.register(bot.surface.port)
            url = bot.connector.url
            request_id, posted, card = await _card(stack, bot)
            before = await stack.rerun_count()

            # The requester's approval is refused privately: the invoke response only.
            response = await bot.post(
                _click(
                    card, "runbook.approve", url=url, posted=posted, who="alice", activity_id="i0"
                )
            )
            shown = (await response.json())["value"]
            assert_valid_card(shown)
            assert "self-approval" in " ".join(texts(shown))
            assert actions(shown)  # still pending: the buttons stay
            await bot.surface.drain()  # nothing of that click is still on its way
            assert bot.connector.activities("PUT") == []

            # Bob (approver2@example.com) approves; a double click and a re-delivery too.
            first = _click(
                card, "runbook.approve", url=url, posted=posted, who="bob", activity_id="i1"
            )
            second = _click(
                card, "runbook.approve", url=url, posted=posted, who="bob", activity_id="i2"
            )
            responses = await asyncio.gather(bot.post(first), bot.post(first), bot.post(second))
            assert all(r.status == 200 for r in responses)
            views = [(await r.json())["value"] for r in responses]
            for view in views:
                assert_valid_card(view)
            await eventually(lambda: bool(bot.connector.activities("PUT")), timeout=10)
            await bot.surface.drain()
            assert await stack.rerun_count() == before + 1
            assert await stack.status(request_id) == "succeeded"

            # Updated in place for everyone: who approved, no buttons any more.
            put = bot.connector.activities("PUT")[-1]
            assert put.activity_id == posted
            updated = card_of(put.body)
            assert not actions(updated)
            assert "Bob Jones" in " ".join(texts(updated))
            joined = " ".join(" ".join(texts(v)) for v in views)
            assert "Run finished: succeeded" in joined
            assert "already" in joined.lower()

            # Progress and the outcome in the card's thread.
            headlines = _thread_headlines(bot)
            assert any("step 2/4: rerun the job: done" in h for h in headlines)
            assert f"Runbook {RUNBOOK}: done" in headlines
            deliveries = sorted(r["correlation"]["delivery_id"] for r in bot.audit.of("chat.click"))
            assert deliveries == ["i0", "i1", "i2"]  # the re-delivery of i1 was dropped


async def test_slow_decision_answers_working_then_updates_the_card() -> None:
    async with runbook_stack() as stack:
        decisions = RunbookDecisions(stack.service)
        async with running_bot(
            decisions=decisions, members=MEMBERS, working_after_seconds=0
        ) as bot:
            stack.progress.use(bot.core)
            stack.progress.register(bot.surface.port)
            url = bot.connector.url
            request_id, posted, card = await _card(stack, bot)
            response = await bot.post(
                _click(card, "runbook.approve", url=url, posted=posted, who="bob", activity_id="s1")
            )
            shown = (await response.json())["value"]
            assert_valid_card(shown)
            assert "working…" in " ".join(texts(shown))
            (put,) = await bot.connector.wait_for(1, method="PUT", timeout=10)
            assert put.activity_id == posted
            assert not actions(card_of(put.body))
            await eventually(
                lambda: any(
                    h.startswith("Bob Jones: Run finished") for h in _thread_headlines(bot)
                ),
                timeout=10,
            )
            assert await stack.status(request_id) == "succeeded"
            assert await stack.rerun_count() == 1
