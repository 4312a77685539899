"""`SimulatorServer`: a simulated engine's lifecycle and how its aiohttp app is assembled.

This module owns binding, serving and stopping, and the wiring: the v2 plan API
(`integrations.tws.simulator.plan_api`), the ``/_sim`` control endpoints
(`integrations.tws.simulator.control_api`) and the middlewares for errors, injected faults
and auth (`integrations.tws.simulator.middlewares`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from types import TracebackType

from aiohttp import web

from integrations.tws import paths
from integrations.tws.simulator.clock import SimClock
from integrations.tws.simulator.control_api import SIM, ControlApi
from integrations.tws.simulator.engine import SimState
from integrations.tws.simulator.faults import Faults
from integrations.tws.simulator.middlewares import (
    auth_middleware,
    date_header,
    errors_middleware,
    faults_middleware,
)
from integrations.tws.simulator.plan_api import PlanApi
from integrations.tws.simulator.scenario import load_scenario

__all__ = ["SimulatorServer", "run_simulator"]

log = logging.getLogger(__name__)

_STATE_KEY = web.AppKey("state", SimState)
_FAULTS_KEY = web.AppKey("faults", Faults)


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
        seed: int | None = None,
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
            now: Simulated time at start (default: the scenario's ``start``, else the real
                time, UTC).
            seed: Random seed; the same seed and clock steps give the same night (default:
                the scenario's ``seed``, else 7).

        Raises:
            ValueError: Unknown scenario or negative speed.
        """
        self._scenario = load_scenario(scenario)
        self._host = host
        self._port = port
        self._users = dict(users) if users is not None else {"twsuser": "twspass"}
        self._api_keys = tuple(api_keys)
        self._control = control
        start = (now or self._scenario.start or datetime.now(UTC)).astimezone(UTC)
        if seed is None:
            seed = 7 if self._scenario.seed is None else self._scenario.seed
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
            middlewares=[
                errors_middleware(),
                faults_middleware(self._faults),
                auth_middleware(self._users, self._api_keys),
            ],
        )
        app[_STATE_KEY] = self._state
        app[_FAULTS_KEY] = self._faults
        app.on_response_prepare.append(date_header(self._state))
        PlanApi(self._state).add_routes(app.router)
        if self._control:
            ControlApi(self._state, self._faults).add_routes(app.router)
        return app


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
