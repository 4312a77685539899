"""A question cancelled before its answer (Ctrl-C in the terminal, a shutdown past its grace)
is still recorded: one ``question`` audit record with outcome ``cancelled``, then the
cancellation goes on to the caller."""

from __future__ import annotations

import asyncio

import pytest
from slack_support import RecordingAudit

from agents.messages import Actor, ChatEvent, Platform, Reply
from bot.core.dispatcher import Dispatcher


class _Stuck:
    """An agent that never answers (until cancelled)."""

    def __init__(self) -> None:
        self.asked = asyncio.Event()

    async def ask(self, event: ChatEvent) -> Reply:
        self.asked.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


def _event() -> ChatEvent:
    actor = Actor(platform=Platform.SLACK, user_id="U1", display_name="Ana")
    return ChatEvent(
        event_id="Ev-cancel", actor=actor, channel_id="C1", thread_id="1.2", text="what failed?"
    )


async def test_a_cancelled_question_is_recorded_as_cancelled_and_the_cancel_goes_on() -> None:
    audit = RecordingAudit()
    agent = _Stuck()
    dispatcher = Dispatcher(assistant=agent, audit=audit)
    asking = asyncio.create_task(dispatcher.handle(_event()))
    await agent.asked.wait()
    asking.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asking
    [record] = audit.actions("question")
    assert record["outcome"] == "cancelled"
    assert record["parameters"]["text"] == "what failed?"
    assert record["parameters"]["answer"] is None
    assert record["correlation"] == {"event_id": "Ev-cancel"}
    assert record["channel"] == "C1"


async def test_an_answered_question_is_still_recorded_as_answered() -> None:
    class _Quick:
        async def ask(self, event: ChatEvent) -> Reply:
            return Reply(headline="Nothing failed.")

    audit = RecordingAudit()
    reply = await Dispatcher(assistant=_Quick(), audit=audit).handle(_event())
    assert reply.headline == "Nothing failed."
    [record] = audit.actions("question")
    assert (record["outcome"], record["parameters"]["answer"]) == ("answered", "Nothing failed.")
