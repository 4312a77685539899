"""A Resync process for the kill -9 test (`test_incident_kill.py`); not a test module.

``declare``: declare one incident (key ``kill-test``) with Slack rooms against the mock at
``--slack-url``; the test holds a Web API call there and SIGKILLs this process meanwhile.
``recover``: a fresh process on the same database and store runs ``recover()`` (what
``resync serve`` does at start-up) and prints the incident's place as JSON.

Only production code runs here: the crash point is chosen by the mock Slack in the test
process, not by a flag in Resync.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from agents.incidents import IncidentPolicy, IncidentService, Location
from agents.messages import Actor, Platform
from bot.incidents.rooms import RoomsRouter
from bot.incidents.rooms_slack import SlackRooms
from bot.incidents.slack_api import SlackApi
from integrations.db import open_database
from integrations.store import MemoryStore, RedisStore, Store

KEY = "kill-test"
LEASE_SECONDS = 2.0
ANA = Actor(platform=Platform.SLACK, user_id="UANA", display_name="Ana", email="ana@example.com")


class FileAudit:
    """An audit sink appending JSON lines (the test reads what each process recorded)."""

    def __init__(self, path: Path) -> None:
        self._path = path

    async def record(self, **fields: Any) -> object:
        with self._path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(fields, default=str) + "\n")
        return None


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["declare", "recover"])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--slack-url", required=True)
    parser.add_argument("--redis-url")
    parser.add_argument("--prefix", default="inc-kill:")
    args = parser.parse_args()
    store: Store = (
        RedisStore(url=args.redis_url, prefix=args.prefix) if args.redis_url else MemoryStore()
    )
    db = await open_database(None, data_dir=args.data_dir)
    client = AsyncWebClient(token="xoxb-test-token", base_url=args.slack_url + "/api/")
    try:
        router = RoomsRouter()
        service = IncidentService(
            db=db,
            rooms=router,
            audit=FileAudit(args.data_dir / "audit.jsonl"),
            store=store,
            # A short drive lease: the killed process's lease lapses soon (Redis keeps it).
            policy=IncidentPolicy(retry_seconds=0, lease_seconds=LEASE_SECONDS),
        )
        router.register(SlackRooms(api=SlackApi(client), store=store, lookup=service.get))
        if args.mode == "declare":
            print("declaring", flush=True)
            await service.declare(
                key=KEY,
                actor=ANA,
                title="payroll extract failing",
                severity="SEV3",
                origin=Location(platform="slack", channel="COPS"),
            )
            print("declared (the test should have killed this process)", flush=True)
            return 3
        # What `run_upkeep` does every minute, here every 0.2 s until the incident converged
        # (the dead process's drive lease must lapse first).
        driven: list[str] = []
        for _ in range(150):
            driven += (await service.recover()).driven
            [incident] = await service.list_open()
            full = await service.get(incident.id)
            if full.places and all(p.pinned and p.announcement_message_id for p in full.places):
                break
            await asyncio.sleep(0.2)
        out = {
            "driven": driven,
            "incident": full.id,
            "places": [
                {
                    "channel": p.room.channel,
                    "state": p.state_message_id,
                    "pinned": p.pinned,
                    "announced": p.announcement_message_id,
                }
                for p in full.places
            ],
        }
        print(json.dumps(out), flush=True)
        return 0
    finally:
        if client.session is not None:
            await client.session.close()
        await db.close()
        await store.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
