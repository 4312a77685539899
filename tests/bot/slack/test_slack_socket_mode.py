"""Socket Mode against a local WebSocket server that speaks Slack's socket protocol."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import structlog.testing
from slack_support import BOT_USER, assert_valid_blocks, mention_envelope, slack_harness

from bot.slack.socket_mode import ROUTE_SECONDS
from integrations.store.memory import MemoryStore


async def wait_for(predicate: object, timeout: float = 5.0) -> None:
    assert callable(predicate)
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_socket_mode_acks_envelopes_and_answers() -> None:
    async with slack_harness(app_token="xapp-1-test", signing_secret=None) as h:
        assert h.mock.of("apps.connections.open")
        h.mock.envelopes.append(
            {
                "type": "slash_commands",
                "envelope_id": "env-cmd-1",
                "accepts_response_payload": True,
                "payload": {
                    "command": "/tws",
                    "team_id": "T1",
                    "text": "failed",
                    "user_id": "U1",
                    "user_name": "ada",
                    "channel_id": "C1",
                    "trigger_id": "sock-trig-1",
                    "response_url": h.mock.url + "/response/s1",
                },
            }
        )
        h.mock.envelopes.append(
            {
                "type": "events_api",
                "envelope_id": "env-ev-1",
                "accepts_response_payload": False,
                "retry_attempt": 0,
                "retry_reason": "",
                "payload": mention_envelope(
                    f"<@{BOT_USER}> why PAYROLL_CALC", event_id="EvS1", ts="42.1"
                ),
            }
        )
        await wait_for(lambda: len(h.mock.of("chat.update")) == 2)
        await h.settle()
        assert {"envelope_id": "env-cmd-1"} in h.mock.acks
        assert {"envelope_id": "env-ev-1"} in h.mock.acks
        texts = sorted(u["text"] for u in h.mock.of("chat.update"))
        assert texts == ["You asked: what failed tonight?", "You asked: why PAYROLL_CALC"]
        thread_posts = [p for p in h.mock.of("chat.postMessage") if p.get("thread_ts") == "42.1"]
        assert len(thread_posts) == 1
        for message in h.mock.of("chat.postMessage") + h.mock.of("chat.update"):
            assert_valid_blocks(message["blocks"])


async def test_socket_mode_redelivery_is_deduplicated() -> None:
    async with slack_harness(app_token="xapp-1-test", signing_secret=None) as h:
        envelope = mention_envelope(f"<@{BOT_USER}> late", event_id="EvDup")
        with structlog.testing.capture_logs() as logs:
            for n in range(2):
                h.mock.envelopes.append(
                    {
                        "type": "events_api",
                        "envelope_id": f"env-{n}",
                        "retry_attempt": n,
                        "payload": envelope,
                    }
                )
            # The second envelope is acked, handed over, and dropped as a re-delivery.
            await wait_for(lambda: any(e["event"] == "chat.duplicate" for e in logs))
        await h.settle()
        assert len(h.mock.acks) == 2
        assert len(h.mock.of("chat.postMessage")) == 1


class WatchedStore(MemoryStore):
    """A memory store that notes, as the inbox keeps a message, which acks Slack already has."""

    def __init__(self) -> None:
        super().__init__()
        self.acks: list[dict[str, Any]] | None = None  # the mock's acks, set once it runs
        self.acked_before_kept: dict[str, list[dict[str, Any]]] = {}  # member -> acks then
        self.failures_left = 0  # inbox writes that fail like a broken store
        self.hangs_left = 0  # inbox writes that hang like a black-holed store

    async def queue_add(self, queue: str, member: str, value: str, *, ttl_seconds: float) -> None:
        assert self.acks is not None
        self.acked_before_kept.setdefault(member, list(self.acks))  # the first write
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("the store's disk is on fire")
        if self.hangs_left:
            self.hangs_left -= 1
            await asyncio.sleep(3600)
        await super().queue_add(queue, member, value, ttl_seconds=ttl_seconds)


def command_envelope(envelope_id: str, retry: int = 0) -> dict[str, Any]:
    return {
        "type": "events_api",
        "envelope_id": envelope_id,
        "retry_attempt": retry,
        "payload": mention_envelope(f"<@{BOT_USER}> late", event_id="EvKept"),
    }


async def test_an_envelope_is_acked_only_once_the_inbox_holds_it() -> None:
    store = WatchedStore()
    async with slack_harness(app_token="xapp-1-test", signing_secret=None, store=store) as h:
        store.acks = h.mock.acks
        h.mock.envelopes.append(command_envelope("env-kept"))
        await wait_for(lambda: {"envelope_id": "env-kept"} in h.mock.acks)
        await h.settle()
    # A replica killed between the two now leaves an entry another replica answers.
    assert list(store.acked_before_kept.values()) == [[]]
    assert len(h.mock.of("chat.postMessage")) == 1


@pytest.mark.parametrize("broken", ["fails", "hangs"])
async def test_an_envelope_that_could_not_be_kept_is_not_acked_and_its_resend_is_answered(
    broken: str,
) -> None:
    store = WatchedStore()
    if broken == "fails":
        store.failures_left = 1
    else:  # a black-holed store: routing is given up within Slack's 3 s
        store.hangs_left = 1
    async with slack_harness(app_token="xapp-1-test", signing_secret=None, store=store) as h:
        store.acks = h.mock.acks
        with structlog.testing.capture_logs() as logs:
            h.mock.envelopes.append(command_envelope("env-lost"))
            failed = "slack.socket_mode_delivery_failed"
            await wait_for(lambda: any(e["event"] == failed for e in logs), ROUTE_SECONDS + 3)
        assert h.mock.acks == []  # not acked: Slack sends it again...
        assert h.mock.of("chat.postMessage") == []
        h.mock.envelopes.append(command_envelope("env-resent", retry=1))  # ...as Slack does
        await wait_for(lambda: {"envelope_id": "env-resent"} in h.mock.acks)
        await h.settle()
    assert h.mock.acks == [{"envelope_id": "env-resent"}]
    assert len(h.mock.of("chat.postMessage")) == 1
