"""The simulator's own ``/_sim`` control endpoints: state, faults, clock, outages, reset, truth.

Not part of the engine's API; served only when the simulator is started with ``control``,
so demos and tests can steer the night (see ``docs/simulator.md``).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from integrations.tws.simulator import views
from integrations.tws.simulator.engine import NotFoundError, SimState
from integrations.tws.simulator.faults import Faults
from integrations.tws.simulator.http_errors import fail
from integrations.tws.simulator.request_args import read_json_body
from integrations.tws.wire import format_time, parse_time

__all__ = ["SIM", "ControlApi"]

SIM = "/_sim"


class ControlApi:
    """Request handlers that steer one simulated state and its fault injection."""

    def __init__(self, state: SimState, faults: Faults) -> None:
        """Steer this state and these faults.

        Args:
            state: The simulated plan and its clock.
            faults: The fault settings.
        """
        self._state = state
        self._faults = faults

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register the ``/_sim`` paths.

        Args:
            router: The application's router.
        """
        r = router
        r.add_get(f"{SIM}/state", self._sim_state)
        r.add_get(f"{SIM}/faults", self._sim_faults)
        r.add_put(f"{SIM}/faults", self._sim_set_faults)
        r.add_post(f"{SIM}/clock/advance", self._sim_advance)
        r.add_put(f"{SIM}/clock/speed", self._sim_speed)
        r.add_post(f"{SIM}/workstation/{{name}}/{{updown}}", self._sim_workstation)
        r.add_post(f"{SIM}/reset", self._sim_reset)
        r.add_get(f"{SIM}/truth", self._sim_truth)

    def _sim_snapshot(self) -> dict[str, Any]:
        self._state.sync()
        state = self._state
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
        body = await read_json_body(request)
        try:
            settings = self._faults.update(body)
        except (TypeError, ValueError) as exc:
            raise fail(400, str(exc)) from None
        return web.json_response(settings.as_json())

    async def _sim_advance(self, request: web.Request) -> web.Response:
        body = await read_json_body(request)
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
            raise fail(400, str(exc)) from None
        return web.json_response(self._sim_snapshot())

    async def _sim_speed(self, request: web.Request) -> web.Response:
        body = await read_json_body(request)
        try:
            self._state.clock.set_speed(float(body["speed"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise fail(400, f"invalid speed: {exc}") from None
        return web.json_response(self._sim_snapshot())

    async def _sim_workstation(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        updown = request.match_info["updown"]
        if updown not in ("up", "down"):
            raise fail(404, f"unknown workstation action {updown!r}")
        try:
            self._state.set_workstation(name, up=updown == "up")
        except NotFoundError:
            raise fail(404, f'AWSJCO032E The workstation "{name}" does not exist.') from None
        return web.json_response(views.workstation_json(self._state.plan.workstations[name]))

    async def _sim_truth(self, request: web.Request) -> web.Response:
        return web.json_response(self._state.truth())

    async def _sim_reset(self, request: web.Request) -> web.Response:
        self._state.reset()
        return web.json_response(self._sim_snapshot())
