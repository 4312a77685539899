"""Button clicks: Action.Execute invokes update the card in place; Action.Submit falls back."""

from __future__ import annotations

from typing import Any

from teams_support import (
    CARD_TYPE,
    RecordingDecisions,
    actions,
    assert_valid_card,
    card_of,
    eventually,
    execute,
    message,
    running_bot,
    texts,
)

from agents.messages import Actions, Button, ChatEvent, Reply
from bot.teams.cards import MORE_VERB
from bot.teams.escape import escape_markdown
from bot.teams.surface import APPROVALS_NEED_AUTH


def _button(card: dict[str, Any], verb: str) -> dict[str, Any]:
    return next(a for a in actions(card) if a["verb"] == verb)


async def test_execute_updates_the_card_in_place_and_shows_who_decided() -> None:
    decisions = RecordingDecisions()
    async with running_bot(decisions=decisions) as bot:
        url = bot.connector.url
        await bot.post(message("approve?", service_url=url, activity_id="q1"))
        (posted,) = await bot.connector.wait_for(1)
        card = card_of(posted.body)
        approve = _button(card, "approval.approve")
        assert approve["style"] == "positive"
        assert approve["fallback"]["type"] == "Action.Submit"
        card_message_id = "act-1000"  # what the fake connector answered for the post

        response = await bot.post(
            execute(
                action=approve, service_url=url, card_message_id=card_message_id, activity_id="i1"
            )
        )
        assert response.status == 200
        body = await response.json()
        assert body["statusCode"] == 200
        assert body["type"] == CARD_TYPE
        updated = body["value"]
        assert_valid_card(updated)
        assert not actions(updated)  # decided: the buttons are gone
        footer = " ".join(texts(updated))
        assert "Approve" in footer
        assert "Bob Jones" in footer
        assert "bob@contoso.com" in footer

        (put,) = await bot.connector.wait_for(1, method="PUT")  # everyone's copy changes too
        assert put.activity_id == card_message_id
        assert card_of(put.body) == updated

        (reply,) = [c for c in await bot.connector.wait_for(2) if c is not posted]
        assert card_of(reply.body)["body"][0]["text"].startswith("Approve by Bob Jones")
        (decision,) = decisions.decisions
        assert (decision.action_id, decision.value) == ("approval.approve", "rb-1")
        assert decision.actor.email == "Bob@Contoso.com"
        await eventually(lambda: bool(bot.audit.of("teams.click")))
        await bot.surface.drain()  # and no second record follows
        (click,) = bot.audit.of("teams.click")
        assert click["outcome"] == "decided"
        assert click["actor_identity"] == "bob@contoso.com"
        assert click["correlation"] == {"activity_id": "i1"}


async def test_second_click_and_redelivery_have_no_second_effect() -> None:
    decisions = RecordingDecisions()
    async with running_bot(decisions=decisions) as bot:
        url = bot.connector.url
        await bot.post(message("approve?", service_url=url))
        card = card_of((await bot.connector.wait_for(1))[0].body)
        approve, reject = _button(card, "approval.approve"), _button(card, "approval.reject")
        first = execute(
            action=approve, service_url=url, card_message_id="act-1000", activity_id="i1"
        )
        await bot.post(first)
        again = await bot.post(first)  # Teams re-delivers the same invoke
        other = await bot.post(
            execute(
                action=reject,
                service_url=url,
                card_message_id="act-1000",
                user_id="29:alice",
                aad="aad-alice",
                name="Alice",
            )
        )
        for response in (again, other):
            shown = (await response.json())["value"]
            assert_valid_card(shown)
            assert not actions(shown)
            assert "decided by Bob Jones" in " ".join(texts(shown))
        await eventually(lambda: len(bot.audit.of("teams.click")) >= 3)
        await bot.surface.drain()  # the handler ran for the first click only, and is done
        assert len(decisions.decisions) == 1
        outcomes = [r["outcome"] for r in bot.audit.of("teams.click")]
        assert outcomes == ["decided", "duplicate", "already_decided"]


async def test_forged_button_is_rejected() -> None:
    decisions = RecordingDecisions()
    async with running_bot(decisions=decisions) as bot:
        url = bot.connector.url
        await bot.post(message("approve?", service_url=url))
        card = card_of((await bot.connector.wait_for(1))[0].body)
        forged = dict(_button(card, "approval.approve"))
        forged["verb"] = "runbook.delete_everything"
        forged["data"] = {**forged["data"], "action_id": "runbook.delete_everything"}
        response = await bot.post(
            execute(action=forged, service_url=url, card_message_id="act-1000")
        )
        shown = (await response.json())["value"]
        assert_valid_card(shown)
        assert actions(shown)  # still undecided
        assert decisions.decisions == []
        assert [r["outcome"] for r in bot.audit.of("teams.click")] == ["rejected"]


async def test_submit_fallback_for_older_clients_updates_the_card() -> None:
    decisions = RecordingDecisions()
    async with running_bot(decisions=decisions) as bot:
        url = bot.connector.url
        await bot.post(message("approve?", service_url=url))
        card = card_of((await bot.connector.wait_for(1))[0].body)
        submit = _button(card, "approval.reject")["fallback"]
        await bot.post(
            message(
                "",
                service_url=url,
                value=submit["data"],
                reply_to="act-1000",
                user_id="29:bob",
                aad="aad-bob",
            )
        )
        (put,) = await bot.connector.wait_for(1, method="PUT")
        updated = card_of(put.body)
        assert put.activity_id == "act-1000"
        assert not actions(updated)
        assert "Reject: decided by Bob Jones" in " ".join(texts(updated))
        await bot.connector.wait_for(2)
        assert [d.action_id for d in decisions.decisions] == ["approval.reject"]
        assert bot.asker.events[0].text == "approve?"  # the click was not taken for a question
        assert len(bot.asker.events) == 1


async def test_more_pages_a_long_table_in_place() -> None:
    async with running_bot(card_budget_bytes=6000) as bot:
        url = bot.connector.url
        await bot.post(message("rows 120", service_url=url))
        card = card_of((await bot.connector.wait_for(1))[0].body)
        seen: list[str] = []
        pages = 0
        while True:
            table = next(e for e in card["body"] if e["type"] == "Table")
            seen.extend(r["cells"][0]["items"][0]["text"] for r in table["rows"][1:])
            pages += 1
            more = [a for a in actions(card) if a["verb"] == MORE_VERB]
            if not more:
                break
            response = await bot.post(
                execute(action=more[0], service_url=url, card_message_id="act-1000")
            )
            card = (await response.json())["value"]
            assert_valid_card(card)
        assert pages > 2
        assert len(seen) == 120
        assert seen[0] == "JOB\\_00000"
        assert seen[-1] == "JOB\\_00119"


async def test_expired_card_says_so() -> None:
    async with running_bot() as bot:
        action = {
            "verb": "approval.approve",
            "data": {"resync": 1, "card": "gone", "action_id": "approval.approve"},
        }
        response = await bot.post(
            execute(action=action, service_url=bot.connector.url, card_message_id="x")
        )
        shown = (await response.json())["value"]
        assert_valid_card(shown)
        assert "expired" in shown["body"][0]["text"]


class _RunbookAsker:
    async def ask(self, event: ChatEvent) -> Reply:
        return Reply(
            headline="Rerun PAYROLL_EXTRACT?",
            blocks=(
                Actions(
                    buttons=(
                        Button(action_id="runbook.approve", label="Approve", value="req-1"),
                        Button(action_id="approval.approve", label="Ack", value="x"),
                    )
                ),
            ),
        )


async def test_unauthenticated_clicks_never_reach_the_decision_handler() -> None:
    decisions = RecordingDecisions()
    async with running_bot(unauthenticated=True, decisions=decisions, asker=_RunbookAsker()) as bot:
        url = bot.connector.url
        await bot.post(message("rerun?", service_url=url))
        card = card_of((await bot.connector.wait_for(1))[0].body)
        runbook = await bot.post(
            execute(
                action=_button(card, "runbook.approve"),
                service_url=url,
                card_message_id="act-1000",
                activity_id="u1",
            )
        )
        shown = (await runbook.json())["value"]
        assert escape_markdown(APPROVALS_NEED_AUTH) in texts(shown)
        await bot.post(
            execute(
                action=_button(card, "approval.approve"),
                service_url=url,
                card_message_id="act-1000",
                activity_id="u2",
            )
        )
        await eventually(lambda: len(bot.audit.of("teams.click")) == 2)
        await bot.surface.drain()
        assert decisions.decisions == []
        outcomes = [(r["outcome"], r["actor_identity"]) for r in bot.audit.of("teams.click")]
        assert outcomes == [("unauthenticated", "teams:29:bob")] * 2
        assert bot.connector.activities("PUT") == []  # nobody's card changed
