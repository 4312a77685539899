"""One person's view of Slack and of Teams, driven through the real adapters.

A `Driver` asks and clicks the way a person does (a signed slash command against a mock Slack
Web API; a signed activity against a fake Bot Connector) and reads back what people saw, so
the scenario suite can demand the same facts, refusals, limits, crash texts and audit records
on both platforms.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from slack_support import Harness as SlackHarness
from slack_support import slack_harness
from teams_support import Harness as TeamsHarness
from teams_support import actions, card_of, execute, message, running_bot

from agents.messages import ChatEvent, Click, ClickOutcome, Reply

Answer = Callable[[ChatEvent], Awaitable[Reply]]
Handler = Callable[[Click], Awaitable[ClickOutcome | None]]

# The same two people on both platforms.
SLACK_USERS = {"alice": "U1", "bob": "U2"}
TEAMS_USERS = {"alice": ("29:alice", "aad-alice", "Alice"), "bob": ("29:bob", "aad-bob", "Bob")}


_NOT_SHOWN = {"type", "value", "data", "url", "action_id", "style", "verb", "id", "version"}
_LOOK_ALIKES = str.maketrans({"∗": "*", "＿": "_", "∼": "~", "ˋ": "`"})


def _words(node: object) -> str:
    """Every text of a JSON tree, markup escapes undone, as one string."""
    if isinstance(node, dict):
        return " ".join(_words(v) for k, v in node.items() if k not in _NOT_SHOWN)
    if isinstance(node, list):
        return " ".join(_words(v) for v in node)
    if isinstance(node, str):
        # What a person reads: Slack's look-alikes of formatting characters and Teams'
        # markdown backslashes are how each platform shows the same letters.
        return html.unescape(re.sub(r"\\(.)", r"\1", node)).translate(_LOOK_ALIKES)
    return ""


class ScenarioAsker:
    """The agent stand-in: answers through ``answer``, records what it was asked."""

    def __init__(self, answer: Answer) -> None:
        self.events: list[ChatEvent] = []
        self._answer = answer

    async def ask(self, event: ChatEvent) -> Reply:
        self.events.append(event)
        return await self._answer(event)


class Driver(Protocol):
    """What a scenario needs from a platform."""

    platform: str
    records: list[dict[str, Any]]

    async def ask(self, text: str, *, user: str = "alice") -> None:
        """Ask as ``user`` and wait until everything is delivered."""
        ...

    def public(self) -> list[str]:
        """Everything posted for everyone, in order (answers, replaced cards, thread posts)."""
        ...

    def private(self) -> list[str]:
        """Everything shown to one person only."""
        ...

    async def click(self, action_id: str, *, user: str) -> None:
        """Click the button ``action_id`` on the latest message that shows it."""
        ...


@dataclass
class SlackDriver:
    """Slack: slash commands and button clicks signed like Slack's."""

    h: SlackHarness
    platform: str = "slack"
    _n: int = 0

    @property
    def records(self) -> list[dict[str, Any]]:
        return self.h.audit.records

    async def ask(self, text: str, *, user: str = "alice") -> None:
        self._n += 1
        await self.h.command(text, user=SLACK_USERS[user], trigger=f"t{self._n}")
        await self.h.settle()

    def _messages(self) -> list[dict[str, Any]]:
        return [
            c.args for c in self.h.mock.calls if c.method in ("chat.postMessage", "chat.update")
        ]

    def public(self) -> list[str]:
        shown = [_words(m.get("blocks") or m.get("text")) for m in self._messages()]
        return [text for text in shown if "Looking up" not in text]

    def private(self) -> list[str]:
        ephemeral = [
            _words(m.get("blocks") or m["text"]) for m in self.h.mock.of("chat.postEphemeral")
        ]
        return ephemeral + [_words(r.get("blocks") or r["text"]) for r in self.h.mock.responses]

    async def click(self, action_id: str, *, user: str) -> None:
        for sent in reversed(self._messages()):
            for block in sent.get("blocks") or ():
                for element in block.get("elements", ()) if block["type"] == "actions" else ():
                    if element["action_id"] == action_id:
                        self._n += 1
                        shown = {
                            "ts": sent.get("ts") or "1700000000.000100",
                            "blocks": sent["blocks"],
                        }
                        await self.h.click(
                            action_id=action_id,
                            value=element["value"],
                            message={**shown, "text": sent["text"]},
                            user=SLACK_USERS[user],
                            trigger=f"c{self._n}",
                            action_ts=f"{self._n}.0",
                        )
                        await self.h.settle()
                        return
        raise AssertionError(f"no {action_id} button was shown on Slack")


@dataclass
class TeamsDriver:
    """Teams: activities and Action.Execute invokes signed like the Bot Framework's."""

    h: TeamsHarness
    platform: str = "teams"
    invoke_answers: list[dict[str, Any]] = field(default_factory=list)
    _ids: dict[int, str] = field(default_factory=dict)

    @property
    def records(self) -> list[dict[str, Any]]:
        return self.h.audit.records

    async def ask(self, text: str, *, user: str = "alice") -> None:
        user_id, aad, name = TEAMS_USERS[user]
        activity = message(
            text, service_url=self.h.connector.url, user_id=user_id, aad=aad, name=name
        )
        response = await self.h.post(activity)
        assert response.status == 200
        await self.h.surface.drain()

    def _sent(self) -> list[tuple[str, dict[str, Any]]]:
        """(activity id, body) of every card sent or updated, in order (the fake numbers them)."""
        out: list[tuple[str, dict[str, Any]]] = []
        number = 1000
        for call in self.h.connector.calls:
            if call.body.get("type") == "typing" or "/activities" not in call.path:
                if call.method == "POST" and call.path.endswith("/conversations"):
                    number += 1
                continue
            if call.method == "POST":
                out.append((f"act-{number}", call.body))
                number += 1
            elif call.method == "PUT":
                out.append((str(call.activity_id), call.body))
        return out

    def public(self) -> list[str]:
        return [_words(card_of(body)) for _, body in self._sent()]

    def private(self) -> list[str]:
        return [_words(answer.get("value")) for answer in self.invoke_answers]

    async def click(self, action_id: str, *, user: str) -> None:
        user_id, aad, name = TEAMS_USERS[user]
        for activity_id, body in reversed(self._sent()):
            for action in actions(card_of(body)):
                if action.get("verb") == action_id:
                    invoke = execute(
                        action=action,
                        service_url=self.h.connector.url,
                        card_message_id=activity_id,
                        user_id=user_id,
                        aad=aad,
                        name=name,
                    )
                    response = await self.h.post(invoke)
                    assert response.status == 200
                    self.invoke_answers.append(json.loads(await response.text()))
                    await self.h.surface.drain()
                    return
        raise AssertionError(f"no {action_id} button was shown on Teams")


@asynccontextmanager
async def driver(
    platform: str, *, answer: Answer, clicks: Handler | None = None, audit: Any | None = None
) -> AsyncIterator[Driver]:
    """A platform behind the real adapter.

    Args:
        platform: ``slack`` or ``teams``.
        answer: The agent stand-in.
        clicks: Decides ``runbook.*`` clicks (None: approvals are not enabled).
        audit: An audit sink instead of the recording one (e.g. one that fails).
    """
    asker = ScenarioAsker(answer)
    if platform == "slack":
        async with slack_harness(asker=asker, on_decision=clicks, audit=audit) as h:  # type: ignore[arg-type]
            yield SlackDriver(h)
    else:
        async with running_bot(asker=asker, decisions=clicks, audit=audit) as bot:
            yield TeamsDriver(bot)
