"""The engine's v2 plan API as the simulator serves it: jobs, job streams, workstations.

Every handler syncs the simulated plan to the clock first, so an answer shows the plan as
of the engine's now. Paths come from `integrations.tws.paths`, the JSON shapes from
`integrations.tws.simulator.views`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime

from aiohttp import web

from integrations.tws import paths
from integrations.tws.simulator import views
from integrations.tws.simulator.engine import ActionError, NotFoundError, SimState
from integrations.tws.simulator.http_errors import fail
from integrations.tws.simulator.oql import Query
from integrations.tws.simulator.paging import page, page_of
from integrations.tws.simulator.plan import SimJob, SimStream
from integrations.tws.simulator.request_args import (
    check_action_body,
    int_param,
    oql_query,
    plan_id,
)
from integrations.tws.simulator.stdlist import render_joblog

__all__ = ["JOB_ACTIONS", "JOB_FIELDS", "STREAM_ACTIONS", "STREAM_FIELDS", "PlanApi"]

JOB_FIELDS = ("name", "jobStreamName", "workstationName", "status")
STREAM_FIELDS = ("name", "workstationName", "status")
JOB_ACTIONS = frozenset(
    {
        "hold",
        "release",
        "rerun",
        "cancel",
        "kill",
        "confirm-succ",
        "confirm-abend",
        "release-dependencies",
    }
)
STREAM_ACTIONS = frozenset({"hold", "release", "cancel"})

_INVALID_ACTION = "com.ibm.tws.objects.plan.InvalidActionException"

# A read of the whole plan asks the same query once per page (100 pages of 500 on a
# 50,000-job plan); filtering and sorting every job for each page made the read quadratic.
# A result is reused while neither the clock nor the plan moved: the same rows as before.
_MEMO_SIZE = 8


class PlanApi:
    """Request handlers for the current plan, over one simulated state."""

    def __init__(self, state: SimState) -> None:
        """Serve this state.

        Args:
            state: The simulated plan.
        """
        self._state = state
        self._memo: OrderedDict[tuple[Query, int, datetime, int], list[SimJob]] = OrderedDict()

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register the v2 plan paths (fixed paths before ``{id}`` ones, which would match them).

        Args:
            router: The application's router.
        """
        r = router
        r.add_get(paths.JOBS, self._jobs)
        r.add_get(f"{paths.JOBS}/count", self._job_count)
        r.add_get(f"{paths.JOBS}/run/{{run_id}}/joblog", self._joblog)
        r.add_put(f"{paths.JOBS}/run/{{run_id}}/action/rerun", self._run_rerun)
        r.add_get(f"{paths.JOBS}/{{job_id}}", self._job)
        r.add_get(f"{paths.JOBS}/{{job_id}}/predecessors", self._job_preds)
        r.add_get(f"{paths.JOBS}/{{job_id}}/successors", self._job_succs)
        r.add_get(f"{paths.JOBS}/{{job_id}}/history", self._job_history)
        r.add_put(f"{paths.JOBS}/{{job_id}}/action/{{action}}", self._job_action)
        r.add_get(paths.JOBSTREAMS, self._streams)
        r.add_get(f"{paths.JOBSTREAMS}/{{js_id}}", self._stream)
        r.add_get(f"{paths.JOBSTREAMS}/{{js_id}}/predecessors", self._stream_preds)
        r.add_get(f"{paths.JOBSTREAMS}/{{js_id}}/successors", self._stream_succs)
        r.add_put(f"{paths.JOBSTREAMS}/{{js_id}}/action/{{action}}", self._stream_action)
        r.add_get(paths.WORKSTATIONS, self._workstations)
        r.add_get(paths.ENGINE_INFO, self._engine_info)
        assert paths.ENGINE_INFO.startswith(paths.V2)

    # ----------------------------------------------------------- helpers

    def _sync(self) -> SimState:
        self._state.sync()
        return self._state

    def _get_job(self, request: web.Request) -> SimJob:
        job_id = plan_id(request.match_info["job_id"], "job")
        try:
            return self._state.job(job_id)
        except NotFoundError:
            raise fail(
                404, f'AWSJCO005E The job with id "{job_id}" was not found in the plan.'
            ) from None

    def _get_stream(self, request: web.Request) -> SimStream:
        js_id = plan_id(request.match_info["js_id"], "job stream")
        try:
            return self._state.stream(js_id)
        except NotFoundError:
            raise fail(
                404, f'AWSJCO005E The job stream with id "{js_id}" was not found in the plan.'
            ) from None

    # ------------------------------------------------------------- jobs

    def _jobs_for(self, state: SimState, query: Query) -> list[SimJob]:
        """`_matching_jobs`, reused across the pages of one read (see `_MEMO_SIZE`)."""
        key = (query, id(state.plan), state.sim_time, state.version)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self._matching_jobs(state, query)
            if len(self._memo) > _MEMO_SIZE:
                self._memo.popitem(last=False)
        else:
            self._memo.move_to_end(key)
        return found

    @staticmethod
    def _matching_jobs(state: SimState, query: Query) -> list[SimJob]:
        # Start from the smallest index an exact term allows (a 50,000-job plan), then apply
        # every term to it: the same jobs, in the same order, as filtering the whole plan.
        plan = state.plan
        pools: list[Sequence[SimJob]] = []
        for field, index in (
            ("name", plan.jobs_by_name),
            ("jobStreamName", plan.jobs_by_stream_name),
        ):
            values = query.exact_values(field)
            if values is not None:
                found = [j for v in values for j in index.get(v, ())]
                pools.append(sorted(found, key=lambda j: j.index))
        wanted = query.exact_values("status")
        if wanted is not None and not pools:
            pools.append(state.jobs_with_status(wanted))
        pool = min(pools, key=len) if pools else plan.jobs
        return query.apply(pool, lambda j, f: views.job_value(state, j, f))

    async def _jobs(self, request: web.Request) -> web.Response:
        state = self._sync()
        jobs = self._jobs_for(state, oql_query(request, JOB_FIELDS))
        return page_of(request, jobs, lambda j: views.job_json(state, j))

    async def _job_count(self, request: web.Request) -> web.Response:
        state = self._sync()
        jobs = self._jobs_for(state, oql_query(request, JOB_FIELDS))
        return web.json_response({"count": len(jobs)})

    async def _job(self, request: web.Request) -> web.Response:
        state = self._sync()
        return web.json_response(views.job_json(state, self._get_job(request)))

    async def _job_preds(self, request: web.Request) -> web.Response:
        state = self._sync()
        job = self._get_job(request)
        return page(request, [views.job_dependency(state, job, p) for p in job.preds])

    async def _job_succs(self, request: web.Request) -> web.Response:
        state = self._sync()
        job = self._get_job(request)
        return page(request, [views.job_dependency(state, job, s) for s in job.succs])

    async def _job_history(self, request: web.Request) -> web.Response:
        state = self._sync()
        job = self._get_job(request)
        days = int_param(request, "days", 30, 1, 3660)
        runs = list(reversed(job.runs)) + state.history.runs_for(job, days)
        return page_of(request, runs, lambda r: views.run_json(job, r))

    async def _joblog(self, request: web.Request) -> web.Response:
        state = self._sync()
        run_id = request.match_info["run_id"]
        try:
            job, run = state.run(run_id)
        except NotFoundError:
            raise fail(404, f'AWSJCO005E The job run "{run_id}" was not found.') from None
        padding = state.scenario.joblog_padding(stream=job.stream.name, job=job.name)
        text = render_joblog(job, run, state.sim_time, padding_bytes=padding)
        return web.Response(text=text, content_type="text/plain")

    async def _run_rerun(self, request: web.Request) -> web.Response:
        await check_action_body(request)
        state = self._sync()
        run_id = request.match_info["run_id"]
        found = state.runs.get(run_id)
        if found is None:
            raise fail(404, f'AWSJCO005E The job run "{run_id}" was not found in the plan.')
        job = found[0]
        return self._do_job_action(job.id, "rerun")

    def _do_job_action(self, job_id: str, action: str) -> web.Response:
        try:
            status = self._state.job_action(job_id, action)
        except ActionError as exc:
            raise fail(400, str(exc), _INVALID_ACTION) from None
        return web.json_response({"id": job_id, "action": action, "status": status})

    async def _job_action(self, request: web.Request) -> web.Response:
        job = self._get_job(request)
        action = request.match_info["action"]
        if action not in JOB_ACTIONS:
            raise fail(404, f'AWSJCO005E The action "{action}" does not exist for jobs.')
        await check_action_body(request)
        return self._do_job_action(job.id, action)

    # ------------------------------------------------------ job streams

    async def _streams(self, request: web.Request) -> web.Response:
        state = self._sync()
        query = oql_query(request, STREAM_FIELDS)
        streams = query.apply(state.plan.streams, lambda s, f: views.stream_value(state, s, f))
        return page_of(request, streams, lambda s: views.stream_json(state, s))

    async def _stream(self, request: web.Request) -> web.Response:
        state = self._sync()
        return web.json_response(views.stream_json(state, self._get_stream(request)))

    @staticmethod
    def _stream_links(stream: SimStream, *, successors: bool) -> list[SimStream]:
        # A stream depends on another when any of its jobs does; each other stream once.
        seen: dict[str, SimStream] = {}
        for job in stream.jobs:
            for other in job.succs if successors else job.preds:
                if other.stream is not stream:
                    seen.setdefault(other.stream.id, other.stream)
        return list(seen.values())

    async def _stream_preds(self, request: web.Request) -> web.Response:
        state = self._sync()
        stream = self._get_stream(request)
        links = self._stream_links(stream, successors=False)
        return page(request, [views.stream_dependency(state, s) for s in links])

    async def _stream_succs(self, request: web.Request) -> web.Response:
        state = self._sync()
        stream = self._get_stream(request)
        links = self._stream_links(stream, successors=True)
        return page(request, [views.stream_dependency(state, s) for s in links])

    async def _stream_action(self, request: web.Request) -> web.Response:
        stream = self._get_stream(request)
        action = request.match_info["action"]
        if action not in STREAM_ACTIONS:
            raise fail(404, f'AWSJCO005E The action "{action}" does not exist for job streams.')
        await check_action_body(request)
        try:
            status = self._state.stream_action(stream.id, action)
        except ActionError as exc:
            raise fail(400, str(exc), _INVALID_ACTION) from None
        return web.json_response({"id": stream.id, "action": action, "status": status})

    # ------------------------------------------------------------ other

    async def _workstations(self, request: web.Request) -> web.Response:
        state = self._sync()
        items = [views.workstation_json(w) for w in state.plan.workstations.values()]
        return page(request, items)

    async def _engine_info(self, request: web.Request) -> web.Response:
        return web.json_response(views.engine_info(self._sync()))
