"""A bundled TWS simulator: an aiohttp server speaking the engine's v2 REST API.

It plays a generated, deterministic production night (see ``docs/simulator.md``)::

    async with SimulatorServer(scenario="normal", speed=0) as sim:
        ...  # point the TWS client at sim.url with twsuser/twspass
"""

from integrations.tws.simulator.engine import SimState
from integrations.tws.simulator.scenario import available_scenarios, eval_scenarios
from integrations.tws.simulator.server import SimulatorServer, run_simulator

__all__ = ["SimState", "SimulatorServer", "available_scenarios", "eval_scenarios", "run_simulator"]
