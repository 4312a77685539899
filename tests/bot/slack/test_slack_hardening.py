"""Hardening of the Slack surface, through signed requests against the mock Slack:
malformed bodies are a 400 without a traceback, and only allowed workspaces are answered.
(Control and bidirectional characters: tests/bot/test_hostile_text.py.)"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

import pytest
import structlog.testing
from hostile_support import assert_nothing_crashed
from slack_support import BOT_USER, click_body, command_body, mention_envelope, slack_harness

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
NESTED = b"[" * 5000


async def test_unparseable_and_ill_typed_bodies_are_a_400_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    event = mention_envelope(f"<@{BOT_USER}> late")
    bodies = [
        (NESTED, JSON),
        (b'{"type": "event_callback", "event": ' + NESTED, JSON),
        (urlencode({"payload": NESTED.decode()}).encode(), FORM),
        (b"\xff\xfe", FORM),
        # parseable, but a field Resync reads has another type
        (json.dumps({**event, "authorizations": 5}).encode(), JSON),
        (json.dumps({**event, "event": {**event["event"], "user": ["U1"]}}).encode(), JSON),
        (
            urlencode({"payload": json.dumps({"type": "block_actions", "actions": 5})}).encode(),
            FORM,
        ),
        (
            urlencode({"payload": json.dumps({"type": "block_actions", "user": "U1"})}).encode(),
            FORM,
        ),
    ]
    async with slack_harness() as h:
        with structlog.testing.capture_logs() as logs, caplog.at_level(logging.WARNING):
            for body, content_type in bodies:
                status, text = await h.post(body, content_type=content_type)
                assert (status, text) == (400, "malformed Slack request"), body[:60]
            await h.settle()
        assert len([e for e in logs if e["event"] == "slack.request_malformed"]) == len(bodies)
        assert_nothing_crashed(logs, caplog)
        assert h.asker.events == []
        assert h.audit.records == []


async def test_other_workspaces_and_slack_connect_guests_get_no_answer() -> None:
    guest = mention_envelope(f"<@{BOT_USER}> why PAYROLL_CALC", event_id="EvGuest")
    guest["event"].update(user="U9", user_team="T9OTHER", source_team="T9OTHER")
    guest["is_ext_shared_channel"] = True  # a Slack Connect channel: the host is T1
    async with slack_harness() as h:  # default: the workspace of the bot token (T1)
        with structlog.testing.capture_logs() as logs:
            assert await h.post(command_body("failed", team="T2"), content_type=FORM) == (200, "")
            assert await h.event(guest) == (200, "")
            foreign = click_body(
                action_id="runbook.approve", value="rb-1", message={"ts": "1.1"}, user_team="T9"
            )
            assert await h.post(foreign, content_type=FORM) == (200, "")
            await h.settle()
        refused = [e for e in logs if e["event"] == "slack.workspace_refused"]
        assert [e["kind"] for e in refused] == ["slash_commands", "events_api", "interactive"]
        assert refused[1]["others"] == ["T9OTHER"]
        assert h.asker.events == []
        assert h.audit.records == []  # nothing reached the core
        assert [c.method for c in h.mock.calls] == ["auth.test"]  # no reply of any kind
        await h.command("late", trigger="own")  # the bot token's own workspace is answered
        await h.settle()
        assert [e.text for e in h.asker.events] == ["what is late"]


async def test_allowed_workspaces_setting_lists_workspaces_and_grids() -> None:
    async with slack_harness(allowed_workspaces="T2,E1") as h:
        in_grid = command_body("late", team="T5", trigger="grid") + b"&enterprise_id=E1"
        await h.post(in_grid, content_type=FORM)  # a workspace of grid E1
        await h.post(command_body("failed", team="T2", trigger="t2"), content_type=FORM)
        await h.command("help", trigger="t1")  # T1 is not listed: the list replaces the default
        await h.settle()
        assert sorted(e.text for e in h.asker.events) == ["what failed tonight?", "what is late"]


async def test_workspace_unknown_when_auth_test_fails_is_refused() -> None:
    async with slack_harness(auth_test_fails=True) as h:
        with structlog.testing.capture_logs() as logs:
            assert await h.command("late") == (200, "")
            await h.settle()
        assert h.asker.events == []
        assert any(e["event"] == "slack.workspace_refused" for e in logs)
