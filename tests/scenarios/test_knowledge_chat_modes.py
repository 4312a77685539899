"""Knowledge answers without the embedding model, and documents another process adds.

The assistant answers through its public `ask`; the knowledge base is real chromadb in the
test's temp dir.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from langgraph.checkpoint.memory import InMemorySaver
from qa_support import API_KEY, NOW

from agents.assistant import Assistant
from agents.knowledge_memory import KnowledgeDesk
from agents.messages import Actor, ChatEvent, Platform, Reply
from integrations.tws.client import TWSClient
from integrations.tws.simulator import SimulatorServer
from knowledge.retrieval import KnowledgeBase

ANA = Actor(platform=Platform.SLACK, user_id="U0ANA", display_name="ana", email="ana@example.com")


async def _ask(assistant: Assistant, text: str, number: int) -> Reply:
    event = ChatEvent(event_id=f"Ev{number}", actor=ANA, channel_id="C", thread_id=None, text=text)
    return await assistant.ask(event)


async def test_keyword_only_quotes_the_code_and_invents_nothing(tmp_path: Path) -> None:
    desk = KnowledgeDesk(lambda: KnowledgeBase.open(directory=tmp_path / "kb", use_model=False))
    async with (
        SimulatorServer(scenario="normal", speed=0, now=NOW, api_keys=[API_KEY]) as sim,
        TWSClient(base_url=sim.url, api_key=API_KEY) as client,
    ):
        assistant = Assistant(
            knowledge=desk, scheduler=client, checkpointer=InMemorySaver(), zone=ZoneInfo("UTC")
        )
        fix = await _ask(assistant, "how do I fix ORA-01555?", 1)
        nothing = await _ask(assistant, "how do I fix my bicycle chain?", 2)
    assert "ORA-01555" in fix.headline
    assert "Source: Job log error patterns > Oracle snapshot too old (ORA-01555)" in (
        fix.plain_text()
    )
    assert "from keyword search" in fix.plain_text()
    assert nothing.headline == "I found nothing reliable on that in the knowledge base."
    assert "Source:" not in nothing.plain_text()


async def test_a_document_added_elsewhere_is_found_after_the_refresh(tmp_path: Path) -> None:
    desk = KnowledgeDesk(
        lambda: KnowledgeBase.open(directory=tmp_path / "kb", use_model=False), refresh_seconds=0
    )
    question = "what does our runbook say about the quarterly tape vault rotation?"
    async with (
        SimulatorServer(scenario="normal", speed=0, now=NOW, api_keys=[API_KEY]) as sim,
        TWSClient(base_url=sim.url, api_key=API_KEY) as client,
    ):
        assistant = Assistant(
            knowledge=desk, scheduler=client, checkpointer=InMemorySaver(), zone=ZoneInfo("UTC")
        )
        before = await _ask(assistant, question, 1)
        # Another process (`resync knowledge add`) writes to the same store.
        runbook = tmp_path / "vault.md"
        runbook.write_text(
            "# Tape vault runbook\n\n## Quarterly tape vault rotation\n\n"
            "Ship the oldest tape set to the vault with courier Ironbox on the first Monday.\n",
            encoding="utf-8",
        )
        KnowledgeBase.open(directory=tmp_path / "kb", use_model=False).add_document(runbook)
        after = await _ask(assistant, question, 2)
    assert "courier Ironbox" not in before.plain_text()
    assert "courier Ironbox" in after.plain_text()
    assert "Source: Tape vault runbook > Quarterly tape vault rotation" in after.plain_text()


async def test_a_passage_with_a_secret_is_quoted_masked(tmp_path: Path) -> None:
    """Operators' documents may hold credentials: a knowledge answer never quotes them."""
    runbook = tmp_path / "db.md"
    runbook.write_text(
        "# Database runbook\n\n## Reconnect the warehouse loader\n\n"
        "Reconnect the warehouse loader with DB_PASSWORD=Hunter2-secret and the token\n"
        "sk-abcdefghijklmnopqrstuvwx from the vault, then restart the loader job.\n",
        encoding="utf-8",
    )
    base = KnowledgeBase.open(directory=tmp_path / "kb", use_model=False)
    base.add_document(runbook)
    desk = KnowledgeDesk(lambda: KnowledgeBase.open(directory=tmp_path / "kb", use_model=False))
    async with (
        SimulatorServer(scenario="normal", speed=0, now=NOW, api_keys=[API_KEY]) as sim,
        TWSClient(base_url=sim.url, api_key=API_KEY) as client,
    ):
        assistant = Assistant(
            knowledge=desk, scheduler=client, checkpointer=InMemorySaver(), zone=ZoneInfo("UTC")
        )
        reply = await _ask(
            assistant, "what does our runbook say about reconnecting the warehouse loader?", 1
        )
    text = reply.plain_text()
    assert "warehouse loader" in text
    assert "Hunter2-secret" not in text
    assert "sk-abcdefghijklmnopqrstuvwx" not in text
    assert "[redacted]" in text
