"""``resync knowledge add|list|search|remove`` through its argument parser, with the audit log."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot import cli_knowledge
from config.knowledge_settings import KnowledgeSettings
from config.settings import Settings
from knowledge.embedding import MiniLM


class _Settings(Settings, KnowledgeSettings):
    """Settings with the knowledge part (also right once `Settings` inherits it)."""


def _run(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="resync")
    cli_knowledge.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["knowledge", *argv])
    code: int = args.handler(args, settings)
    return code


def _audit_actions(settings: Settings) -> list[dict[str, Any]]:
    from integrations.audit import open_audit_log

    async def read() -> list[dict[str, Any]]:
        log = await open_audit_log(settings)
        try:
            return [r.content or {} for r in await log.read() if r.content]
        finally:
            await log.close()

    return [c for c in asyncio.run(read()) if str(c.get("action", "")).startswith("knowledge.")]


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.chdir(tmp_path)  # no stray .env
    return _Settings(data_dir=tmp_path / "data")


def test_add_search_list_remove(
    minilm: MiniLM, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "gateway.md").write_text(
        "# Gateway runbook\n\n## Weekly reboot\n\nThe mainframe gateway reboots every Sunday "
        "at 03:00; jobs on AGT_MVS01 wait until it is back.\n",
        encoding="utf-8",
    )
    (docs / "ignored.bin").write_bytes(b"\x00")
    assert _run(settings, "add", str(docs)) == 0
    out = capsys.readouterr().out
    assert "added:" in out
    assert "gateway.md (1 passages)" in out
    assert _run(settings, "add", str(docs / "gateway.md")) == 0
    assert "unchanged:" in capsys.readouterr().out

    assert _run(settings, "search", "when", "does", "the", "mainframe", "gateway", "reboot") == 0
    out = capsys.readouterr().out
    assert out.startswith("1. Gateway runbook > Weekly reboot")
    assert f"source: {(docs / 'gateway.md').resolve()}" in out

    assert _run(settings, "list") == 0
    out = capsys.readouterr().out
    assert "document    1" in out
    assert "Gateway runbook" in out

    assert _run(settings, "remove", str(docs / "gateway.md")) == 0
    assert _run(settings, "remove", str(docs / "gateway.md")) == 1
    assert "no added document" in capsys.readouterr().err
    actions = [(c["action"], c.get("target")) for c in _audit_actions(settings)]
    doc_id = f"doc:{(docs / 'gateway.md').resolve()}"
    assert actions == [("knowledge.add", doc_id), ("knowledge.remove", str(docs / "gateway.md"))]
    assert (settings.data_dir / "knowledge").is_dir()


def test_bad_file_exits_1(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "slides.pptx"
    bad.write_bytes(b"x")
    assert _run(settings, "add", str(bad)) == 1
    assert "unsupported type .pptx" in capsys.readouterr().err


def test_search_says_when_nothing_is_reliable(
    minilm: MiniLM, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(settings, "search", "--limit", "2", "best", "pizza", "in", "Naples") == 0
    out = capsys.readouterr().out
    assert out.startswith("Nothing reliable found.\nClosest passages:")
