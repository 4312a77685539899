"""Socket Mode against a local WebSocket server that speaks Slack's socket protocol."""

from __future__ import annotations

import asyncio

import structlog.testing
from slack_support import BOT_USER, assert_valid_blocks, mention_envelope, slack_harness


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
