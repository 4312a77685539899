"""Asks the phrasing set of the real assistant and scores every answer.

Path under test: Dispatcher -> LangGraph graph -> TWSClient -> HTTP -> bundled simulator.
One simulator per scenario (clock frozen at `NOW`), one conversation per case. The facts
are read by the examiner over the simulator's HTTP API with plain aiohttp (`PlanView`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import aiohttp
from langgraph.checkpoint.memory import InMemorySaver
from phrasing_cases import Case
from phrasing_plan import API, PlanView, basic_auth
from phrasing_scoring import answer_states_facts, score
from phrasing_text import Answer

from agents.answers.watch_desk import ScannerDesk
from agents.assistant import Assistant
from agents.messages import Actor, ChatEvent, Context, Platform
from bot.core.dispatcher import Dispatcher
from config.settings import Settings
from integrations.tws.client import TWSClient
from integrations.tws.simulator import SimulatorServer

NOW = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
API_KEY = "phrasing-key"
USER, PASSWORD = "twsuser", "twspass"
# What an operator did before the questions: on the normal night someone held a job, so
# "held" has both numbers to give (held by an operator, waiting for predecessors).
OPERATOR_HOLDS: dict[str, tuple[str, ...]] = {"normal": ("BACKUP_FS_VERIFY",)}


@dataclass(frozen=True)
class Result:
    """One case's outcome: the answers, why it is wrong (empty: right), per-turn latency.

    ``states_facts`` says whether the last answer states plan facts (then it needs "as of"
    and a source; the as-of rate is measured over these answers).
    """

    case: Case
    answers: tuple[str, ...]
    reasons: tuple[str, ...]
    latencies_ms: tuple[float, ...]
    states_facts: bool

    @property
    def correct(self) -> bool:
        """Whether every check passed."""
        return not self.reasons


async def _no_sleep(_: float) -> None:
    return None


async def run_cases(cases: Iterable[Case]) -> list[Result]:
    """Ask every case of the assistant, scenario by scenario, and score the answers."""
    by_scenario: dict[str, list[Case]] = {}
    for case in cases:
        by_scenario.setdefault(case.scenario, []).append(case)
    results: list[Result] = []
    for scenario, group in by_scenario.items():
        results.extend(await _run_scenario(scenario, group))
    return results


async def _operator_holds(session: aiohttp.ClientSession, url: str, jobs: tuple[str, ...]) -> None:
    """Hold jobs through the engine API, as an operator would from the console."""
    for name in jobs:
        base = f"{url}{API}/plan/job"
        async with session.get(base, params={"oql": f"name = '{name}'"}) as response:
            response.raise_for_status()
            job_id = (await response.json())["results"][0]["id"]
        async with session.put(f"{base}/{job_id}/action/hold", json={}) as response:
            response.raise_for_status()


async def _run_scenario(scenario: str, cases: list[Case]) -> list[Result]:
    results: list[Result] = []
    async with (
        SimulatorServer(
            scenario=scenario,
            speed=0,
            now=NOW,
            control=True,
            users={USER: PASSWORD},
            api_keys=[API_KEY],
        ) as sim,
        aiohttp.ClientSession(headers=basic_auth(USER, PASSWORD)) as session,
        TWSClient(base_url=sim.url, api_key=API_KEY, sleep=_no_sleep) as client,
    ):
        await _operator_holds(session, sim.url, OPERATOR_HOLDS.get(scenario, ()))
        plan = await PlanView.read(session, sim.url)
        # The watcher's desk, as `resync serve` / `ask` build it: it reads deadline and
        # "unusual" questions before the parser, so the set must meet it too.
        settings = Settings(_env_file=None, timezone="UTC")  # type: ignore[call-arg]
        assistant = Assistant(
            scheduler=client,
            checkpointer=InMemorySaver(),
            zone=ZoneInfo("UTC"),
            watch=ScannerDesk.from_settings(client, settings),
        )
        dispatcher = Dispatcher(assistant=assistant, audit=None)
        actor = Actor(platform=Platform.SLACK, user_id="U-OPS", display_name="Night operator")
        for case in cases:
            texts: list[str] = []
            small: list[str] = []
            latencies: list[float] = []
            for turn, question in enumerate(case.turns):
                event = ChatEvent(
                    event_id=f"{case.id}-{turn}",
                    actor=actor,
                    channel_id=f"C-{case.id}",
                    thread_id="t1",
                    text=question,
                )
                started = time.perf_counter()
                reply = await dispatcher.handle(event)
                latencies.append((time.perf_counter() - started) * 1000)
                texts.append(reply.plain_text())
                small.append(
                    " ".join(i for b in reply.blocks if isinstance(b, Context) for i in b.items)
                )
            answer = Answer(
                text=texts[-1], small_print=small[-1], questions=list(case.turns), all_texts=texts
            )
            try:
                reasons = await score(plan, answer, case.expect)
            except (KeyError, ValueError) as error:  # a case the plan cannot evaluate
                reasons = [f"case error: {error}"]
            results.append(
                Result(
                    case=case,
                    answers=tuple(texts),
                    reasons=tuple(reasons),
                    latencies_ms=tuple(latencies),
                    states_facts=answer_states_facts(plan, answer),
                )
            )
    return results
