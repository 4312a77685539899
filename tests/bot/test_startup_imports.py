"""What the runtime's parts import when they start: only what the configuration uses.

The Slack SDK (incident rooms, mention lookup) comes with a Slack bot token, the Redis
client with ``RESYNC_REDIS_URL``. Each check starts the real part in a fresh interpreter,
where ``sys.modules`` shows exactly what was imported.
"""

from __future__ import annotations

from probe_support import clean_env, run_probe

# Opens the incidents (database, rooms, service) on a fresh data dir with the given Slack
# bot token ("" for none), then opens the store, and prints what they brought in.
_PROBE = """
import asyncio, json, sys, tempfile
from pathlib import Path
from bot.incidents.wiring import open_incidents
from config.settings import load_settings
from integrations.audit import open_audit_log
from integrations.store import open_store

async def main(token):
    with tempfile.TemporaryDirectory() as tmp:
        extra = {"slack_bot_token": token} if token else {}
        settings = load_settings(data_dir=Path(tmp), **extra)
        audit = await open_audit_log(settings)
        store = await open_store(settings)
        async with open_incidents(settings=settings, store=store, audit=audit,
                                  scheduler=None, groups=None, directory=None) as parts:
            rooms = list(parts.rooms.platforms)
            people = parts.people is not None
        await store.close()
        await audit.close()
    heavy = [m for m in ("slack_sdk", "bot.slack", "redis") if m in sys.modules]
    print(json.dumps({"rooms": rooms, "people": people, "imported": heavy}))

asyncio.run(main(sys.argv[1]))
"""


def _started(token: str) -> dict[str, object]:
    result: dict[str, object] = run_probe(_PROBE, token, env=clean_env("RESYNC_", "SLACK_"))
    return result


def test_without_slack_or_redis_the_incidents_and_store_import_neither() -> None:
    assert _started("") == {"rooms": [], "people": False, "imported": []}


def test_a_slack_token_brings_slack_rooms_and_their_sdk() -> None:
    # The probe would see the SDK: it is imported where the rooms are built.
    assert _started("xoxb-1-2-startup") == {
        "rooms": ["slack"],
        "people": True,
        "imported": ["slack_sdk", "bot.slack"],
    }
