"""When the Teams surface runs, and that it refuses to run open by accident."""

from __future__ import annotations

import pytest
from teams_support import EchoAsker, RecordingAudit, make_core

from bot.teams import TeamsSurface, teams_enabled
from bot.teams.inbound import message_text
from config.settings import Settings
from integrations.store import MemoryStore


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_enabled_only_with_an_app_id() -> None:
    assert not teams_enabled(_settings())
    assert teams_enabled(_settings(teams_app_id="app"))


def test_no_app_id_needs_explicit_local_mode() -> None:
    store = MemoryStore()
    core = make_core(asker=EchoAsker(), audit=RecordingAudit(), store=store)
    with pytest.raises(ValueError, match="RESYNC_TEAMS_APP_ID"):
        TeamsSurface(
            settings=_settings(),
            core=core,
            store=store,
        )


def test_mentions_of_others_keep_their_names() -> None:
    activity = {
        "text": "<at>Resync</at> tell <at>Bob</at> about&nbsp;PAYROLL &amp; more",
        "recipient": {"id": "28:bot"},
        "entities": [
            {"type": "mention", "text": "<at>Resync</at>", "mentioned": {"id": "28:bot"}},
            {"type": "mention", "text": "<at>Bob</at>", "mentioned": {"id": "29:bob"}},
        ],
    }
    assert message_text(activity) == "tell Bob about PAYROLL & more"
