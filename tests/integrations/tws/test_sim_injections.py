"""Injected anomalies and their ground truth (`GET /_sim/truth`), driven over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from integrations.tws import paths
from integrations.tws.simulator import SimulatorServer
from integrations.tws.simulator.month_end import is_month_end
from integrations.tws.simulator.scenario import eval_scenarios, load_scenario
from integrations.tws.wire import parse_time

AUTH = aiohttp.BasicAuth("twsuser", "twspass")
EVAL_DIR = Path(__file__).parents[3] / "integrations/tws/simulator/scenarios/eval"


@asynccontextmanager
async def night(scenario: str) -> AsyncIterator[aiohttp.ClientSession]:
    """A control-mode simulator for ``scenario`` (its own start and seed) and a session on it."""
    async with (
        SimulatorServer(scenario=scenario, speed=0, control=True) as sim,
        aiohttp.ClientSession(base_url=sim.url, auth=AUTH) as http,
    ):
        yield http


async def get(http: aiohttp.ClientSession, path: str, **params: Any) -> Any:
    async with http.get(path, params=params or None) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def advance(http: aiohttp.ClientSession, hours: float) -> None:
    async with http.post("/_sim/clock/advance", json={"seconds": hours * 3600}) as resp:
        assert resp.status == 200, await resp.text()


async def find_job(http: aiohttp.ClientSession, key: str) -> dict[str, Any]:
    stream, name = key.split(".")
    page = await get(http, paths.JOBS, oql=f"jobStreamName = '{stream}' AND name = '{name}'")
    assert page["count"] == 1, key
    return dict(page["results"][0])


def seconds(job: dict[str, Any]) -> float:
    start, end = parse_time(job["actualStart"]), parse_time(job["actualEnd"])
    assert start is not None
    assert end is not None
    return (end - start).total_seconds()


def without(tmp_path: Path, scenario: str, key: str) -> str:
    """The path of a copy of an evaluation night without one of its keys (the control night)."""
    raw = yaml.safe_load((EVAL_DIR / f"{scenario}.yaml").read_text("utf-8"))
    raw.pop(key)
    path = tmp_path / f"{scenario}-control.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return str(path)


# ------------------------------------------------------------------- the truth endpoint


async def test_truth_lists_exactly_what_was_injected() -> None:
    async with night("eval/slow-two-jobs") as http:
        truth = await get(http, "/_sim/truth")
        assert set(truth) == {"injected", "failures", "deadlines"}
        got = {(i["kind"], i["object"], i["detail"]["factor"]) for i in truth["injected"]}
        assert got == {
            ("slow", "CRM_SYNC.CRM_STAGE_LOAD", 2.5),
            ("slow", "BACKUP_FS.BACKUP_FS_SNAPSHOT", 3.0),
        }
        for item in truth["injected"]:
            assert item["job_id"] == (await find_job(http, item["object"]))["id"]
    async with night("eval/abend-streak") as http:
        injected = (await get(http, "/_sim/truth"))["injected"]
        assert {(i["kind"], i["object"], i["detail"]["nights"]) for i in injected} == {
            ("abend_streak", "SAP_MRP.SAP_MRP_RUN", 4),
            ("abend_streak", "AR_CASH_APPLY.AR_CASH_MATCH", 3),
        }
    async with night("eval/agent-outage-deadline") as http:
        (outage,) = (await get(http, "/_sim/truth"))["injected"]
        assert outage["kind"] == "workstation_down"
        assert outage["object"] == "AGT_LNX01"
        assert outage["job_id"] is None
        assert outage["detail"] == {"at": "2026-11-24T18:50:00Z", "for_minutes": 120.0}
    async with night("eval/normal-wed") as http:
        assert (await get(http, "/_sim/truth"))["injected"] == []


async def test_truth_names_forced_failures_and_control_outages() -> None:
    async with night("normal") as http:
        await advance(http, 0)
        async with http.post("/_sim/workstation/AGT_WIN01/down") as resp:
            assert resp.status == 200
        injected = (await get(http, "/_sim/truth"))["injected"]
    kinds = {(i["kind"], i["object"]) for i in injected}
    assert kinds == {
        ("force_abend", "PAYROLL_DAILY.PAYROLL_EXTRACT"),
        ("force_abend", "BILLING_USAGE.BILLING_CDR_DEDUP"),
        ("force_fail", "TRE_BANK_STMT.TRE_BANK_PARSE"),
        ("workstation_down", "AGT_WIN01"),
    }
    payroll = next(i for i in injected if i["object"] == "PAYROLL_DAILY.PAYROLL_EXTRACT")
    assert payroll["detail"] == {"rc": 12, "error": "ora_snapshot"}


async def test_failures_are_the_failed_runs_as_of_the_clock() -> None:
    async with night("eval/abend-streak") as http:
        before = (await get(http, "/_sim/truth"))["failures"]
        await advance(http, 20)
        truth = await get(http, "/_sim/truth")
        page = await get(http, paths.JOBS, oql="status IN ('ABEND', 'FAIL')", limit=500)
    assert len(before) < len(truth["failures"])
    by_job = {f["job_id"]: f for f in truth["failures"]}
    assert set(by_job) == {j["id"] for j in page["results"]}
    for job in page["results"]:
        failure = by_job[job["id"]]
        assert failure["run_id"] == job["runId"]
        assert failure["status"] == job["status"]["internalStatus"]
        assert failure["at"] == job["actualEnd"]
    names = {f["name"] for f in truth["failures"]}
    assert {"SAP_MRP.SAP_MRP_RUN", "AR_CASH_APPLY.AR_CASH_MATCH"} <= names


async def test_a_slow_job_on_a_deadline_chain_misses_its_deadline() -> None:
    key = "ETL_CRM_LOAD.ETL_CRM_LOAD_TRANSFORM"
    async with night("eval/slow-two-jobs") as http:
        early = {d["name"]: d for d in (await get(http, "/_sim/truth"))["deadlines"]}
        assert early[key]["missed"] is None
        assert early[key]["ended"] is None
        await advance(http, 20)
        late = {d["name"]: d for d in (await get(http, "/_sim/truth"))["deadlines"]}
        job = await find_job(http, key)
    assert late[key]["missed"] is True
    assert late[key]["ended"] == job["actualEnd"]
    assert late[key]["deadline"] == job["deadline"]
    assert job["late"] is True
    on_time = [d for d in late.values() if d["missed"] is False]
    assert on_time
    assert all(d["ended"] <= d["deadline"] for d in on_time)


async def test_an_agent_outage_makes_the_payroll_deadline_miss() -> None:
    async with night("eval/agent-outage-deadline") as http:
        await advance(http, 20)
        deadlines = (await get(http, "/_sim/truth"))["deadlines"]
    missed = {d["name"] for d in deadlines if d["missed"]}
    assert "PAYROLL_DAILY.PAYROLL_VALIDATE" in missed


async def test_truth_needs_control_mode_and_credentials() -> None:
    async with (
        SimulatorServer(scenario="eval/normal-wed", speed=0) as sim,
        aiohttp.ClientSession(base_url=sim.url, auth=AUTH) as http,
        http.get("/_sim/truth") as resp,
    ):
        assert resp.status == 404
    async with (
        SimulatorServer(scenario="eval/normal-wed", speed=0, control=True) as sim,
        aiohttp.ClientSession(base_url=sim.url) as anon,
        anon.get("/_sim/truth") as resp,
    ):
        assert resp.status == 401


# --------------------------------------------------------------- injected run lengths


async def test_a_slow_job_runs_factor_times_longer(tmp_path: Path) -> None:
    key = "PAYROLL_DAILY.PAYROLL_EXTRACT"
    async with night("eval/slow-payroll-deadline") as http:
        await advance(http, 20)
        slow = await find_job(http, key)
    async with night(without(tmp_path, "slow-payroll-deadline", "slow_jobs")) as http:
        await advance(http, 20)
        usual = await find_job(http, key)
    assert slow["status"]["internalStatus"] == usual["status"]["internalStatus"] == "SUCC"
    assert seconds(slow) == pytest.approx(3 * seconds(usual), abs=2)
    assert seconds(slow) > 2.5 * slow["estimatedDuration"]


async def test_a_short_job_ends_succ_a_tenth_as_long(tmp_path: Path) -> None:
    key = "BILLING_RUN.BILLING_RUN_POST"
    async with night("eval/short-billing") as http:
        await advance(http, 20)
        short = await find_job(http, key)
    async with night(without(tmp_path, "short-billing", "short_jobs")) as http:
        await advance(http, 20)
        usual = await find_job(http, key)
    assert short["status"]["internalStatus"] == "SUCC"
    assert short["returnCode"] == 0
    assert seconds(short) == pytest.approx(0.1 * seconds(usual), abs=2)


# ---------------------------------------------------------------------------- history


def by_night(runs: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Statuses per night, oldest run first, keyed by the night's date."""
    out: dict[str, list[str]] = {}
    for run in sorted(runs, key=lambda r: r["actualStart"]):
        out.setdefault(run["actualStart"][:10], []).append(run["status"])
    return out


async def test_an_abend_streak_shows_n_abend_nights_then_abends_tonight() -> None:
    async with night("eval/abend-streak") as http:
        await advance(http, 20)
        job = await find_job(http, "SAP_MRP.SAP_MRP_RUN")
        page = await get(http, paths.job_history(job["id"]), days=10, limit=500)
    assert job["status"]["internalStatus"] == "ABEND"
    past = [r for r in page["results"] if r["runId"] != job["runId"]]
    nights = by_night(past)
    dates = sorted(nights, reverse=True)
    assert len(dates) == 10
    for day in dates[:4]:
        assert nights[day] == ["ABEND", "SUCC"], day
    assert nights[dates[4]][0] == "SUCC"


def night_date(run: dict[str, Any], plan_start_hour: int = 18) -> str:
    start = parse_time(run["actualStart"])
    assert start is not None
    return (start - timedelta(hours=plan_start_hour)).date().isoformat()


async def month_end_ratios(http: aiohttp.ClientSession, stream: str) -> list[tuple[float, float]]:
    """Per job that ran tonight: its month-end nights and tonight, each over its other nights."""
    jobs = (await get(http, paths.JOBS, oql=f"jobStreamName = '{stream}'", limit=500))["results"]
    out: list[tuple[float, float]] = []
    for job in jobs:
        if job["status"]["internalStatus"] != "SUCC":
            continue
        page = await get(http, paths.job_history(job["id"]), days=90, limit=500)
        past = [r for r in page["results"] if r["runId"] != job["runId"] and r["status"] == "SUCC"]
        usual: list[float] = []
        month_end: list[float] = []
        for run in past:
            day = datetime.fromisoformat(night_date(run)).date()
            (month_end if is_month_end(day) else usual).append(seconds(run))
        base = sum(usual) / len(usual)
        out.append((sum(month_end) / len(month_end) / base, seconds(job) / base))
    return out


async def test_month_end_nights_are_slower_for_finance_streams_only() -> None:
    # (stream, its month-end factor): finance streams by month_end.MONTH_END_FACTORS
    streams = [
        ("GL_DAILY_POST", 1.8),
        ("AP_PAYMENTS", 1.5),
        ("AR_CASH_APPLY", 1.5),
        ("TRE_BANK_STMT", 1.4),
        ("TRE_FX_RATES", 1.4),
        ("ETL_WEB_CLICKS", 1.0),
        ("HR_SYNC", 1.0),
        ("BILLING_USAGE", 1.0),
    ]
    history: dict[float, list[float]] = {}
    tonight: dict[float, list[float]] = {}
    async with night("eval/month-end") as http:
        await advance(http, 20)
        for stream, factor in streams:
            for past, now in await month_end_ratios(http, stream):
                history.setdefault(factor, []).append(past / factor)
                tonight.setdefault(factor, []).append(now / factor)
    assert set(tonight) == {1.8, 1.5, 1.4, 1.0}
    for factor in history:
        # month-end nights in the archive: slower by exactly the factor, up to the draw's noise
        assert sum(history[factor]) / len(history[factor]) == pytest.approx(1.0, abs=0.1)
        # tonight: as slow as those nights (one draw per job, so a wider margin)
        assert sum(tonight[factor]) / len(tonight[factor]) == pytest.approx(1.0, abs=0.2)


# ------------------------------------------------------------------------ the files


def test_every_evaluation_night_is_dated_described_and_loads() -> None:
    names = eval_scenarios()
    assert len(names) >= 9
    for name in names:
        scenario = load_scenario(name)
        assert scenario.start is not None, name
        assert scenario.description.startswith("Eval "), name
    month_end = load_scenario("eval/month-end")
    assert month_end.start is not None
    assert month_end.is_month_end_night(month_end.start.date())
    for name in ("eval/normal-tue", "eval/normal-thu", "eval/normal-wed"):
        scenario = load_scenario(name)
        assert scenario.start is not None
        assert not scenario.is_month_end_night(scenario.start.date())
        injections = (scenario.slow_jobs, scenario.short_jobs, scenario.abend_streak)
        assert not any(injections), name
        assert not any((scenario.forced, scenario.outages, scenario.stable)), name


async def test_the_scenario_start_is_the_clock() -> None:
    async with night("eval/month-end") as http, http.get(paths.ENGINE_INFO) as resp:
        assert parsedate_to_datetime(resp.headers["Date"]).isoformat() == (
            "2026-11-30T19:00:00+00:00"
        )


async def test_two_simulators_tell_the_same_night() -> None:
    answers: list[list[Any]] = []
    for _ in range(2):
        async with night("eval/slow-two-jobs") as http:
            seen: list[Any] = []
            for hours in (0, 2, 5, 20):
                await advance(http, hours)
                seen.append(await get(http, "/_sim/truth"))
                seen.append(await get(http, paths.JOBS, limit=500))
            answers.append(seen)
    # compare answer by answer: a failing == on whole plans makes pytest diff megabytes
    differing = [i for i, (a, b) in enumerate(zip(*answers, strict=True)) if a != b]
    assert not differing


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("slow_jobs: {PAYROLL_DAILY.PAYROLL_EXTRACT: 0.5}\n", "slow_jobs: .*between 1 and 100"),
        ("slow_jobs: [PAYROLL_EXTRACT]\n", "slow_jobs: expected a mapping"),
        ("slow_jobs: {PAYROLL_EXTRACT: 2}\n", "slow_jobs: 'PAYROLL_EXTRACT' is not a STREAM.JOB"),
        ("short_jobs: {A.B: 1.5}\n", "short_jobs: A.B: expected a number between 0 and 1"),
        ("short_jobs: {A.B: fast}\n", "short_jobs: A.B: expected a number"),
        ("abend_streak: {A.B: 0}\n", "abend_streak: A.B: expected a whole number of nights"),
        ("history_days: 5\nabend_streak: {A.B: 6}\n", "abend_streak: A.B: .*from 1 to 5"),
        ("month_end: sometimes\n", "month_end: expected true, false or auto"),
        ("start: yesterday\n", "start: expected an ISO 8601 time"),
        (
            "start: 2026-11-30T20:00:00Z\nnow: 2026-11-30T20:00:00Z\n",
            "start and now: give one of them",
        ),
        ("seed: abc\n", "seed: expected a whole number"),
        ("slow_job: {A.B: 2}\n", "unknown key.*slow_job;"),
    ],
)
def test_a_bad_injection_key_says_what_is_expected(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "bad-night.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=f"scenario bad-night: {error}"):
        load_scenario(str(path))
