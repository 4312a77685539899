"""Button clicks: Action.Execute invokes answer the clicker privately and update the card for
everyone; Action.Submit falls back; only buttons on the stored card count."""

from __future__ import annotations

from typing import Any

from teams_support import (
    CARD_TYPE,
    RecordingDecisions,
    actions,
    assert_valid_card,
    card_of,
    execute,
    message,
    running_bot,
    texts,
)

from agents.messages import Actions, Button, ChatEvent, Reply
from bot.core import texts as core_texts
from bot.core.paging import MORE_ACTION_ID
from bot.teams.escape import escape_markdown


def _button(card: dict[str, Any], verb: str) -> dict[str, Any]:
    return next(a for a in actions(card) if a["verb"] == verb)


def _shown(card: dict[str, Any]) -> str:
    return " ".join(texts(card))


async def test_execute_answers_the_clicker_and_updates_the_card_for_everyone() -> None:
    decisions = RecordingDecisions()
    async with running_bot(decisions=decisions) as bot:
        url = bot.connector.url
        await bot.post(message("approve?", service_url=url, activity_id="q1"))
        (posted,) = await bot.connector.wait_for(1)
        card = card_of(posted.body)
        approve = _button(card, "runbook.approve")
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
        mine = body["value"]  # the clicker's view: the new card and their private note
        assert_valid_card(mine)
        assert not actions(mine)  # decided: the buttons are gone
        assert "Bob Jones" in _shown(mine)
        assert "bob@contoso.com" in _shown(mine)
        assert "You chose Approve." in _shown(mine)

        (put,) = await bot.connector.wait_for(1, method="PUT")  # everyone's copy changes too
        assert put.activity_id == card_message_id
        everyone = card_of(put.body)
        assert "decided by Bob Jones" in _shown(everyone)
        assert "You chose" not in _shown(everyone)  # the note stays private

        (reply,) = [c for c in await bot.connector.wait_for(2) if c is not posted]
        assert card_of(reply.body)["body"][0]["text"].startswith("Approve by Bob Jones")
        (decision,) = decisions.decisions
        assert (decision.action_id, decision.value) == ("runbook.approve", "rb-1")
        assert decision.message_id == card_message_id
        assert decision.actor.email == "Bob@Contoso.com"
        await bot.surface.drain()
        (click,) = bot.audit.of("chat.click")
        assert click["outcome"] == "accepted"
        assert click["platform"] == "teams"
        assert click["actor_identity"] == "bob@contoso.com"
        assert click["correlation"] == {"delivery_id": "i1"}
        assert [r["outcome"] for r in bot.audit.of("click")] == ["decided"]


async def test_redelivery_has_no_second_effect_and_every_distinct_click_is_decided() -> None:
    decisions = RecordingDecisions(replace=False)
    async with running_bot(decisions=decisions) as bot:
        url = bot.connector.url
        await bot.post(message("approve?", service_url=url))
        card = card_of((await bot.connector.wait_for(1))[0].body)
        approve, reject = _button(card, "runbook.approve"), _button(card, "runbook.reject")
        first = execute(
            action=approve, service_url=url, card_message_id="act-1000", activity_id="i1"
        )
        await bot.post(first)
        again = await bot.post(first)  # Teams re-delivers the same invoke
        assert_valid_card((await again.json())["value"])
        await bot.post(
            execute(
                action=reject,
                service_url=url,
                card_message_id="act-1000",
                user_id="29:alice",
                aad="aad-alice",
                name="Alice",
                activity_id="i2",
            )
        )
        await bot.surface.drain()
        # runbook buttons: the handler decides every distinct click (it knows the request
        # is already decided); a re-delivery never reaches it
        assert [d.decision_id for d in decisions.decisions] == ["i1", "i2"]
        deliveries = [r["correlation"]["delivery_id"] for r in bot.audit.of("chat.click")]
        assert deliveries == ["i1", "i2"]


async def test_a_button_no_longer_on_the_replaced_card_is_refused() -> None:
    decisions = RecordingDecisions()
    async with running_bot(decisions=decisions) as bot:
        url = bot.connector.url
        await bot.post(message("approve?", service_url=url))
        card = card_of((await bot.connector.wait_for(1))[0].body)
        approve, reject = _button(card, "runbook.approve"), _button(card, "runbook.reject")
        await bot.post(execute(action=approve, service_url=url, card_message_id="act-1000"))
        await bot.surface.drain()  # the card was replaced: no buttons any more
        stale = await bot.post(execute(action=reject, service_url=url, card_message_id="act-1000"))
        shown = (await stale.json())["value"]
        assert "decided by Bob Jones" in _shown(shown)  # the card as it is now
        assert escape_markdown(core_texts.BUTTON_NOT_HERE.headline) in texts(shown)
        await bot.surface.drain()
        assert [d.action_id for d in decisions.decisions] == ["runbook.approve"]


async def test_button_not_on_the_card_is_refused_and_values_come_from_the_card() -> None:
    decisions = RecordingDecisions()
    async with running_bot(decisions=decisions) as bot:
        url = bot.connector.url
        await bot.post(message("approve?", service_url=url))
        card = card_of((await bot.connector.wait_for(1))[0].body)
        forged = dict(_button(card, "runbook.approve"))
        forged["verb"] = "runbook.delete_everything"
        forged["data"] = {**forged["data"], "action_id": "runbook.delete_everything"}
        response = await bot.post(
            execute(action=forged, service_url=url, card_message_id="act-1000")
        )
        shown = (await response.json())["value"]
        assert_valid_card(shown)
        assert actions(shown)  # the card as it was, with the refusal under it
        assert escape_markdown(core_texts.BUTTON_NOT_HERE.headline) in texts(shown)

        tampered = dict(_button(card, "runbook.approve"))
        tampered["data"] = {**tampered["data"], "value": "someone-elses-request"}
        await bot.post(execute(action=tampered, service_url=url, card_message_id="act-1000"))
        await bot.surface.drain()
        (decision,) = decisions.decisions  # only the real button, with the stored value
        assert (decision.action_id, decision.value) == ("runbook.approve", "rb-1")
        assert len(bot.audit.of("chat.click")) == 1  # the forged click never became a Click


async def test_unknown_or_expired_card_says_the_button_is_not_ours() -> None:
    async with running_bot() as bot:
        action = {
            "verb": "runbook.approve",
            "data": {"resync": 1, "card": "gone", "action_id": "runbook.approve"},
        }
        response = await bot.post(
            execute(action=action, service_url=bot.connector.url, card_message_id="x")
        )
        shown = (await response.json())["value"]
        assert_valid_card(shown)
        assert shown["body"][0]["text"] == escape_markdown(core_texts.BUTTON_NOT_HERE.headline)
        await bot.surface.drain()
        assert bot.audit.of("chat.click") == []


async def test_submit_fallback_for_older_clients_updates_the_card() -> None:
    decisions = RecordingDecisions()
    async with running_bot(decisions=decisions) as bot:
        url = bot.connector.url
        await bot.post(message("approve?", service_url=url))
        card = card_of((await bot.connector.wait_for(1))[0].body)
        submit = _button(card, "runbook.reject")["fallback"]
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
        assert "Reject: decided by Bob Jones" in _shown(updated)
        await bot.surface.drain()
        headlines = [card_of(c.body)["body"][0]["text"] for c in bot.connector.activities()]
        # no invoke to answer: the private note goes into the thread, addressed to Bob
        assert escape_markdown("Bob Jones: You chose Reject.") in headlines
        assert [d.action_id for d in decisions.decisions] == ["runbook.reject"]
        assert [e.text for e in bot.asker.events] == ["approve?"]  # not taken for a question


async def test_slow_click_answers_working_then_updates_the_card() -> None:
    decisions = RecordingDecisions(delay=0.3)
    async with running_bot(decisions=decisions, working_after_seconds=0.05) as bot:
        url = bot.connector.url
        await bot.post(message("approve?", service_url=url))
        card = card_of((await bot.connector.wait_for(1))[0].body)
        response = await bot.post(
            execute(
                action=_button(card, "runbook.approve"), service_url=url, card_message_id="act-1000"
            )
        )
        shown = (await response.json())["value"]
        assert_valid_card(shown)
        assert "Approve by Bob Jones: working…" in _shown(shown)
        assert actions(shown)  # nothing decided yet
        (put,) = await bot.connector.wait_for(1, method="PUT")
        assert not actions(card_of(put.body))
        await bot.surface.drain()
        headlines = [card_of(c.body)["body"][0]["text"] for c in bot.connector.activities()]
        assert escape_markdown("Bob Jones: You chose Approve.") in headlines


async def test_more_posts_the_next_page_in_the_thread() -> None:
    async with running_bot() as bot:
        url = bot.connector.url
        await bot.post(message("rows 120", service_url=url))
        card = card_of((await bot.connector.wait_for(1))[0].body)
        seen: list[str] = []
        pages = 0
        while True:
            table = next(e for e in card["body"] if e["type"] == "Table")
            seen.extend(r["cells"][0]["items"][0]["text"] for r in table["rows"][1:])
            pages += 1
            more = [a for a in actions(card) if a["verb"] == MORE_ACTION_ID]
            if not more:
                break
            sent = len(bot.connector.activities())
            response = await bot.post(
                execute(action=more[0], service_url=url, card_message_id="act-1000")
            )
            assert_valid_card((await response.json())["value"])
            card = card_of((await bot.connector.wait_for(sent + 1))[-1].body)
        assert pages == 3
        assert len(seen) == 120
        assert seen[0] == "JOB\\_00000"
        assert seen[-1] == "JOB\\_00119"


class _RunbookAsker:
    async def ask(self, event: ChatEvent) -> Reply:
        return Reply(
            headline="Rerun PAYROLL_EXTRACT?",
            blocks=(
                Actions(
                    buttons=(Button(action_id="runbook.approve", label="Approve", value="req-1"),)
                ),
            ),
        )


async def test_unauthenticated_runbook_clicks_are_refused() -> None:
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
        assert_valid_card(shown)
        assert escape_markdown(core_texts.APPROVALS_NEED_AUTH.headline) in texts(shown)
        await bot.surface.drain()
        assert decisions.decisions == []
        (record,) = bot.audit.of("chat.click")
        assert record["actor_identity"] == "teams:29:bob"  # unverified: the Teams id only
        assert bot.audit.of("click") == []  # never reached the dispatcher
        assert bot.connector.activities("PUT") == []  # nobody's card changed
