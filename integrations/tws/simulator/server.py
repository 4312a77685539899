"""The HTTP server: the engine's v2 paths, auth, fault injection and ``/_sim`` control."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from types import TracebackType
from typing import Any

from aiohttp import web

from integrations.tws import paths
from integrations.tws.simulator import views
from integrations.tws.simulator.clock import SimClock
from integrations.tws.simulator.engine import ActionError, NotFoundError, SimState
from integrations.tws.simulator.faults import Faults
from integrations.tws.simulator.oql import OqlError, Query, parse_oql
from integrations.tws.simulator.scenario import load_scenario
from integrations.tws.simulator.stdlist import render_joblog
from integrations.tws.wire import format_time, parse_time

__all__ = ["SimulatorServer", "run_simulator"]

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

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
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
SIM = "/_sim"

_STATE_KEY = web.AppKey("state", SimState)
_FAULTS_KEY = web.AppKey("faults", Faults)


def _error(status: int, message: str, exception: str | None = None) -> web.Response:
    body: dict[str, Any] = {"messages": [message]}
    if exception:
        body["exceptionName"] = exception
    return web.json_response(body, status=status)


class _FailedError(Exception):
    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def _fail(status: int, message: str, exception: str | None = None) -> _FailedError:
    return _FailedError(_error(status, message, exception))


class SimulatorServer:
    """A simulated HCL Workload Automation master speaking the v2 REST API over HTTP."""

    def __init__(
        self,
        *,
        scenario: str = "normal",
        host: str = "127.0.0.1",
        port: int = 0,
        users: Mapping[str, str] | None = None,
        api_keys: Collection[str] = (),
        control: bool = False,
        speed: float = 60.0,
        now: datetime | None = None,
        seed: int = 7,
    ) -> None:
        """Configure the simulator (nothing runs until `start`).

        Args:
            scenario: Bundled scenario name (see `available_scenarios`).
            host: Interface to bind.
            port: Port to bind; 0 picks a free one.
            users: Basic-auth users and passwords (default ``twsuser``/``twspass``).
            api_keys: Accepted ``Authorization: Bearer`` tokens.
            control: Serve the ``/_sim/*`` control endpoints.
            speed: Simulated seconds per real second; 0 freezes the clock.
            now: Simulated time at start (default: the real time, UTC).
            seed: Random seed; the same seed and clock steps give the same night.

        Raises:
            ValueError: Unknown scenario or negative speed.
        """
        self._scenario = load_scenario(scenario)
        self._host = host
        self._port = port
        self._users = dict(users) if users is not None else {"twsuser": "twspass"}
        self._api_keys = tuple(api_keys)
        self._control = control
        start = (now or datetime.now(UTC)).astimezone(UTC)
        self._state = SimState(self._scenario, SimClock(start, speed), seed)
        self._faults = Faults(seed, self._scenario.faults)
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    # ----------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:40123`` (no trailing slash).

        Raises:
            RuntimeError: The server is not started.
        """
        if self._url is None:
            raise RuntimeError("the simulator is not started")
        return self._url

    @property
    def state(self) -> SimState:
        """In-process access to the simulated plan (CLI and demo only)."""
        return self._state

    async def start(self) -> None:
        """Bind and serve."""
        if self._runner is not None:
            return
        runner = web.AppRunner(self.build_app(), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        await site.start()
        self._runner = runner
        host, port = runner.addresses[0][:2]
        shown = f"[{host}]" if ":" in str(host) else str(host)
        self._url = f"http://{shown}:{port}"

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = None
        self._url = None

    async def __aenter__(self) -> SimulatorServer:
        """Start."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop."""
        await self.stop()

    # ------------------------------------------------------------ the app

    def build_app(self) -> web.Application:
        """The aiohttp application (routes and middlewares)."""
        app = web.Application(
            middlewares=[self._errors_mw, self._faults_mw, self._auth_mw],
        )
        app[_STATE_KEY] = self._state
        app[_FAULTS_KEY] = self._faults
        app.on_response_prepare.append(self._date_header)
        v2 = paths.V2
        r = app.router
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
        assert paths.ENGINE_INFO.startswith(v2)
        if self._control:
            r.add_get(f"{SIM}/state", self._sim_state)
            r.add_get(f"{SIM}/faults", self._sim_faults)
            r.add_put(f"{SIM}/faults", self._sim_set_faults)
            r.add_post(f"{SIM}/clock/advance", self._sim_advance)
            r.add_put(f"{SIM}/clock/speed", self._sim_speed)
            r.add_post(f"{SIM}/workstation/{{name}}/{{updown}}", self._sim_workstation)
            r.add_post(f"{SIM}/reset", self._sim_reset)
        return app

    async def _date_header(self, request: web.Request, response: web.StreamResponse) -> None:
        response.headers["Date"] = format_datetime(self._state.now(), usegmt=True)

    @web.middleware
    async def _errors_mw(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except _FailedError as failed:
            return failed.response
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            text = f"AWSJCO005E {exc.reason}: {request.method} {request.path}"
            return _error(exc.status, text)
        except (asyncio.CancelledError, ConnectionError):
            raise
        except Exception as exc:
            log.exception("simulator error on %s %s", request.method, request.path)
            return _error(500, f"AWSJCO999E Internal error: {exc}", type(exc).__name__)

    @web.middleware
    async def _faults_mw(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/twsd"):
            return await handler(request)
        settings = self._faults.settings
        if settings.latencyMs:
            await asyncio.sleep(settings.latencyMs / 1000)
        fault = self._faults.decide()
        if fault == "burst":
            return _error(503, "AWSJCO503E The service is temporarily unavailable (simulated).")
        if fault == "error":
            return _error(
                500, "AWSJCO999E Internal server error (simulated).", "java.lang.RuntimeException"
            )
        if fault == "drop":
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=599)  # never reaches the client: the socket is gone
        if fault == "malformed":
            return web.Response(
                status=200, text='{"count": 3, "results": [{"id": ', content_type="application/json"
            )
        return await handler(request)

    @web.middleware
    async def _auth_mw(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        user = "?"
        if header.startswith("Bearer "):
            token = header[7:].strip()
            if any(hmac.compare_digest(token, key) for key in self._api_keys):
                return await handler(request)
            user = "api key"
        elif header.startswith("Basic "):
            try:
                decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            name, _, password = decoded.partition(":")
            user = name or "?"
            expected = self._users.get(name)
            if expected is not None and hmac.compare_digest(password, expected):
                return await handler(request)
        response = _error(
            401,
            f'AWSBEH021E The user "{user}" is not authorized to access the server.',
            "com.ibm.tws.conn.exception.NotAuthorizedException",
        )
        response.headers["WWW-Authenticate"] = 'Basic realm="TWS"'
        return response

    # ----------------------------------------------------------- helpers

    def _sync(self) -> SimState:
        self._state.sync()
        return self._state

    @staticmethod
    def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
        raw = request.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise _fail(
                400, f'AWSBHV021E The value "{raw}" of parameter "{name}" is not valid.'
            ) from None
        if not low <= value <= high:
            raise _fail(
                400,
                f'AWSBHV021E The value "{raw}" of parameter "{name}" is out of range ({low}-{high}).',
            )
        return value

    @staticmethod
    def _query(request: web.Request, allowed: tuple[str, ...]) -> Query:
        try:
            return parse_oql(request.query.get("oql"), allowed)
        except OqlError as exc:
            raise _fail(400, f"AWSBHV033E The OQL filter is not valid: {exc}.") from None

    def _page(self, request: web.Request, items: list[dict[str, Any]]) -> web.Response:
        limit = self._int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = self._int_param(request, "offset", 0, 0, 10**9)
        body: dict[str, Any] = {"count": len(items), "results": items[offset : offset + limit]}
        if offset + limit < len(items):
            query = dict(request.query)
            query.update({"limit": str(limit), "offset": str(offset + limit)})
            body["next"] = str(request.url.with_query(query))
        return web.json_response(body)

    @staticmethod
    def _plan_id(raw: str, what: str) -> str:
        if ";" in raw:
            raise _fail(
                400,
                f'AWSBIO006E The {what} identifier "{raw}" is a composite key; '
                "API v2 expects the plan UUID of the object.",
            )
        return raw

    def _get_job(self, request: web.Request) -> Any:
        job_id = self._plan_id(request.match_info["job_id"], "job")
        try:
            return self._state.job(job_id)
        except NotFoundError:
            raise _fail(
                404, f'AWSJCO005E The job with id "{job_id}" was not found in the plan.'
            ) from None

    def _get_stream(self, request: web.Request) -> Any:
        js_id = self._plan_id(request.match_info["js_id"], "job stream")
        try:
            return self._state.stream(js_id)
        except NotFoundError:
            raise _fail(
                404, f'AWSJCO005E The job stream with id "{js_id}" was not found in the plan.'
            ) from None

    @staticmethod
    async def _action_body(request: web.Request) -> None:
        if request.content_type != "application/json":
            raise _fail(
                415, 'AWSJCO415E Unsupported media type: use "Content-Type: application/json".'
            )
        text = await request.text()
        if text.strip():
            try:
                body = json.loads(text)
            except ValueError:
                raise _fail(400, "AWSJCO400E The request body is not valid JSON.") from None
            if not isinstance(body, dict):
                raise _fail(400, "AWSJCO400E The request body must be a JSON object.")

    @staticmethod
    async def _json_body(request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json() if (await request.text()).strip() else {}
        except ValueError:
            raise _fail(400, "request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise _fail(400, "request body must be a JSON object")
        return body

    # ------------------------------------------------------------- jobs

    async def _jobs(self, request: web.Request) -> web.Response:
        state = self._sync()
        query = self._query(request, JOB_FIELDS)
        jobs = query.apply(state.plan.jobs, lambda j: views.job_fields(state, j))
        return self._page(request, [views.job_json(state, j) for j in jobs])

    async def _job_count(self, request: web.Request) -> web.Response:
        state = self._sync()
        query = self._query(request, JOB_FIELDS)
        jobs = query.apply(state.plan.jobs, lambda j: views.job_fields(state, j))
        return web.json_response({"count": len(jobs)})

    async def _job(self, request: web.Request) -> web.Response:
        state = self._sync()
        return web.json_response(views.job_json(state, self._get_job(request)))

    async def _job_preds(self, request: web.Request) -> web.Response:
        state = self._sync()
        job = self._get_job(request)
        return self._page(request, [views.job_dependency(state, job, p) for p in job.preds])

    async def _job_succs(self, request: web.Request) -> web.Response:
        state = self._sync()
        job = self._get_job(request)
        return self._page(request, [views.job_dependency(state, job, s) for s in job.succs])

    async def _job_history(self, request: web.Request) -> web.Response:
        state = self._sync()
        job = self._get_job(request)
        days = self._int_param(request, "days", 30, 1, 3660)
        runs = list(reversed(job.runs)) + state.history.runs_for(job, days)
        return self._page(request, [views.run_json(job, r) for r in runs])

    async def _joblog(self, request: web.Request) -> web.Response:
        state = self._sync()
        run_id = request.match_info["run_id"]
        try:
            job, run = state.run(run_id)
        except NotFoundError:
            raise _fail(404, f'AWSJCO005E The job run "{run_id}" was not found.') from None
        return web.Response(text=render_joblog(job, run, state.sim_time), content_type="text/plain")

    async def _run_rerun(self, request: web.Request) -> web.Response:
        await self._action_body(request)
        state = self._sync()
        run_id = request.match_info["run_id"]
        found = state.runs.get(run_id)
        if found is None:
            raise _fail(404, f'AWSJCO005E The job run "{run_id}" was not found in the plan.')
        job = found[0]
        return self._do_job_action(job.id, "rerun")

    def _do_job_action(self, job_id: str, action: str) -> web.Response:
        try:
            status = self._state.job_action(job_id, action)
        except ActionError as exc:
            raise _fail(400, str(exc), "com.ibm.tws.objects.plan.InvalidActionException") from None
        return web.json_response({"id": job_id, "action": action, "status": status})

    async def _job_action(self, request: web.Request) -> web.Response:
        job = self._get_job(request)
        action = request.match_info["action"]
        if action not in JOB_ACTIONS:
            raise _fail(404, f'AWSJCO005E The action "{action}" does not exist for jobs.')
        await self._action_body(request)
        return self._do_job_action(job.id, action)

    # ------------------------------------------------------ job streams

    async def _streams(self, request: web.Request) -> web.Response:
        state = self._sync()
        query = self._query(request, STREAM_FIELDS)
        streams = query.apply(state.plan.streams, lambda s: views.stream_fields(state, s))
        return self._page(request, [views.stream_json(state, s) for s in streams])

    async def _stream(self, request: web.Request) -> web.Response:
        state = self._sync()
        return web.json_response(views.stream_json(state, self._get_stream(request)))

    def _stream_links(self, stream: Any, *, successors: bool) -> list[Any]:
        seen: dict[str, Any] = {}
        for job in stream.jobs:
            for other in job.succs if successors else job.preds:
                if other.stream is not stream:
                    seen.setdefault(other.stream.id, other.stream)
        return list(seen.values())

    async def _stream_preds(self, request: web.Request) -> web.Response:
        state = self._sync()
        stream = self._get_stream(request)
        links = self._stream_links(stream, successors=False)
        return self._page(request, [views.stream_dependency(state, s) for s in links])

    async def _stream_succs(self, request: web.Request) -> web.Response:
        state = self._sync()
        stream = self._get_stream(request)
        links = self._stream_links(stream, successors=True)
        return self._page(request, [views.stream_dependency(state, s) for s in links])

    async def _stream_action(self, request: web.Request) -> web.Response:
        stream = self._get_stream(request)
        action = request.match_info["action"]
        if action not in STREAM_ACTIONS:
            raise _fail(404, f'AWSJCO005E The action "{action}" does not exist for job streams.')
        await self._action_body(request)
        try:
            status = self._state.stream_action(stream.id, action)
        except ActionError as exc:
            raise _fail(400, str(exc), "com.ibm.tws.objects.plan.InvalidActionException") from None
        return web.json_response({"id": stream.id, "action": action, "status": status})

    # ------------------------------------------------------------ other

    async def _workstations(self, request: web.Request) -> web.Response:
        state = self._sync()
        items = [views.workstation_json(w) for w in state.plan.workstations.values()]
        return self._page(request, items)

    async def _engine_info(self, request: web.Request) -> web.Response:
        return web.json_response(views.engine_info(self._sync()))

    # ---------------------------------------------------------- control

    def _sim_snapshot(self) -> dict[str, Any]:
        state = self._sync()
        return {
            "scenario": state.scenario.name,
            "description": state.scenario.description,
            "clock": format_time(state.sim_time),
            "speed": state.clock.speed,
            "planStart": format_time(state.plan.start),
            "planEnd": format_time(state.plan.end),
            "jobs": len(state.plan.jobs),
            "jobStreams": len(state.plan.streams),
            "counts": state.counts(),
            "late": sum(1 for j in state.plan.jobs if state.is_late(j)),
            "workstationsDown": [
                w.name for w in state.plan.workstations.values() if not w.available
            ],
            "faults": self._faults.settings.as_json(),
        }

    async def _sim_state(self, request: web.Request) -> web.Response:
        return web.json_response(self._sim_snapshot())

    async def _sim_faults(self, request: web.Request) -> web.Response:
        return web.json_response(self._faults.settings.as_json())

    async def _sim_set_faults(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        try:
            settings = self._faults.update(body)
        except (TypeError, ValueError) as exc:
            raise _fail(400, str(exc)) from None
        return web.json_response(settings.as_json())

    async def _sim_advance(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        clock = self._state.clock
        try:
            if "to" in body:
                target = parse_time(body["to"])
                if target is None:
                    raise ValueError("'to' is empty")
                clock.set_to(target)
            else:
                clock.advance(float(body.get("seconds", 0)))
        except (TypeError, ValueError) as exc:
            raise _fail(400, str(exc)) from None
        return web.json_response(self._sim_snapshot())

    async def _sim_speed(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        try:
            self._state.clock.set_speed(float(body["speed"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise _fail(400, f"invalid speed: {exc}") from None
        return web.json_response(self._sim_snapshot())

    async def _sim_workstation(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        updown = request.match_info["updown"]
        if updown not in ("up", "down"):
            raise _fail(404, f"unknown workstation action {updown!r}")
        try:
            self._state.set_workstation(name, up=updown == "up")
        except NotFoundError:
            raise _fail(404, f'AWSJCO032E The workstation "{name}" does not exist.') from None
        return web.json_response(views.workstation_json(self._state.plan.workstations[name]))

    async def _sim_reset(self, request: web.Request) -> web.Response:
        self._state.reset()
        return web.json_response(self._sim_snapshot())


async def run_simulator(
    *, scenario: str, host: str, port: int, control: bool, speed: float
) -> None:
    """Serve the simulator until cancelled.

    Args:
        scenario: Bundled scenario name.
        host: Interface to bind.
        port: Port (0 picks a free one).
        control: Serve ``/_sim/*``.
        speed: Simulated seconds per real second.
    """
    server = SimulatorServer(scenario=scenario, host=host, port=port, control=control, speed=speed)
    await server.start()
    try:
        log.warning(
            "TWS simulator (scenario %s, speed %sx) serving %s%s — Basic auth twsuser/twspass%s",
            scenario,
            speed,
            server.url,
            paths.V2,
            f"; control endpoints at {server.url}{SIM}/" if control else "",
        )
        await asyncio.Event().wait()
    finally:
        await server.stop()
