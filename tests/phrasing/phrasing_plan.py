"""The examiner's view of the plan, read over the simulator's HTTP API with plain aiohttp.

The phrasing set is scored against what the engine serves, never against Resync's own client
or models: this module talks to `/twsd/api/v2/...` and `/_sim/truth` directly, so a bug in
Resync's reading of the plan cannot hide itself by also being in the scorer.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

API = "/twsd/api/v2"
FAILED = frozenset({"ABEND", "ABENP", "FAIL", "ERROR"})
DONE = frozenset({"SUCC", "SUCCP", "CANCL"})


@dataclass(frozen=True)
class PlanJob:
    """One job of tonight's plan as the engine serves it."""

    id: str
    name: str
    stream: str
    workstation: str
    status: str
    common: str
    return_code: int | None
    late: bool
    deadline: str | None
    at_time: str | None
    actual_end: str | None
    run_id: str | None

    @property
    def held_by_operator(self) -> bool:
        """HOLD because someone held it (console group HELD), not waiting for predecessors."""
        return self.status == "HOLD" and self.common == "HELD"


@dataclass
class PlanView:
    """A snapshot of the plan (jobs, streams, workstations, truth) plus lazy dependency reads.

    Build one with `PlanView.read`; the simulator's clock is frozen in the phrasing runs, so
    one snapshot per scenario stays true for every question asked of that scenario.
    """

    url: str
    session: aiohttp.ClientSession
    now: datetime
    jobs: list[PlanJob]
    streams: dict[str, dict[str, Any]]
    workstations: dict[str, dict[str, Any]]
    truth: dict[str, Any]
    _preds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _stream_preds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _log_text: str | None = None

    @classmethod
    async def read(cls, session: aiohttp.ClientSession, url: str) -> PlanView:
        """Read the whole plan from the simulator at ``url`` with ``session``."""
        jobs_raw, now = await _paged(session, f"{url}{API}/plan/job")
        streams_raw, _ = await _paged(session, f"{url}{API}/plan/jobstream")
        ws_raw, _ = await _paged(session, f"{url}{API}/plan/workstation")
        async with session.get(f"{url}/_sim/truth") as response:
            response.raise_for_status()
            truth = await response.json()
        return cls(
            url=url,
            session=session,
            now=now,
            jobs=[_job(raw) for raw in jobs_raw],
            streams={raw["name"]: raw for raw in streams_raw},
            workstations={raw["name"]: raw for raw in ws_raw},
            truth=truth,
        )

    @property
    def names(self) -> frozenset[str]:
        """Every job, job stream and workstation name in the plan."""
        return frozenset(
            [job.name for job in self.jobs] + list(self.streams) + list(self.workstations)
        )

    def job(self, name: str) -> PlanJob:
        """The job called ``name`` (names are unique in the simulator's plans)."""
        for job in self.jobs:
            if job.name == name:
                return job
        raise KeyError(f"no job {name} in the plan")

    def select(
        self,
        *,
        status: list[str] | None = None,
        workstation: str | None = None,
        stream: str | None = None,
    ) -> list[PlanJob]:
        """Jobs matching every given filter."""
        return [
            job
            for job in self.jobs
            if (status is None or job.status in status)
            and (workstation is None or job.workstation == workstation)
            and (stream is None or job.stream == stream)
        ]

    def linked(self, workstation: str) -> bool:
        """Whether the workstation is linked (up)."""
        return bool(self.workstations[workstation].get("linked"))

    async def predecessors(self, job: PlanJob) -> list[dict[str, Any]]:
        """The job's direct predecessors (Dependency objects), read once."""
        if job.id not in self._preds:
            rows, _ = await _paged(self.session, f"{self.url}{API}/plan/job/{job.id}/predecessors")
            self._preds[job.id] = rows
        return self._preds[job.id]

    async def successors(self, job: PlanJob) -> list[dict[str, Any]]:
        """The job's direct successors (Dependency objects)."""
        rows, _ = await _paged(self.session, f"{self.url}{API}/plan/job/{job.id}/successors")
        return rows

    async def served_log_text(self) -> str:
        """The job logs the engine serves for tonight's failed jobs (answers may quote them)."""
        if self._log_text is None:
            logs = []
            for job in self.select(status=sorted(FAILED)):
                if job.run_id is None:
                    continue
                url = f"{self.url}{API}/plan/job/run/{job.run_id}/joblog"
                async with self.session.get(url) as response:
                    if response.status == 200:
                        logs.append(await response.text())
            self._log_text = "\n".join(logs)
        return self._log_text

    async def stream_predecessors(self, stream: str) -> list[dict[str, Any]]:
        """The job stream's direct predecessor streams."""
        if stream not in self._stream_preds:
            sid = self.streams[stream]["id"]
            rows, _ = await _paged(
                self.session, f"{self.url}{API}/plan/jobstream/{sid}/predecessors"
            )
            self._stream_preds[stream] = rows
        return self._stream_preds[stream]


def basic_auth(user: str, password: str) -> dict[str, str]:
    """The Authorization header for HTTP Basic (the simulator's default user)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


async def _paged(session: aiohttp.ClientSession, url: str) -> tuple[list[dict[str, Any]], datetime]:
    rows: list[dict[str, Any]] = []
    offset = 0
    while True:
        params = {"limit": "500", "offset": str(offset)}
        async with session.get(url, params=params) as response:
            response.raise_for_status()
            now = parsedate_to_datetime(response.headers["Date"])
            page = await response.json()
        results = page["results"] if isinstance(page, dict) else page
        rows.extend(results)
        if not isinstance(page, dict) or not page.get("next") or not results:
            return rows, now
        offset += len(results)


def _job(raw: dict[str, Any]) -> PlanJob:
    status = raw["status"]
    return PlanJob(
        id=raw["id"],
        name=raw["name"],
        stream=raw["jobStreamInPlan"]["name"],
        workstation=raw["workstationKey"]["name"],
        status=status["internalStatus"],
        common=status.get("commonStatus", ""),
        return_code=raw.get("returnCode"),
        late=bool(raw.get("late")),
        deadline=raw.get("deadline"),
        at_time=raw.get("atTime"),
        actual_end=raw.get("actualEnd"),
        run_id=raw.get("runId"),
    )
