"""The watcher's edges: predecessors from the plan's job rows, read one by one only without.

Through a real HTTP proxy in front of the simulator (`engine_proxy_support`): as the
simulator serves it, a cycle reads no ``/predecessors`` (the rows carry ``dependencies``);
as an engine that does not send them, it reads them per job. Both see the same deadline
risks on the bundled night (all its edges fit in one cycle's read budget).
"""

from __future__ import annotations

from engine_proxy_support import proxied
from qa_support import API_KEY, NOW, no_sleep

from agents.watch.model import FindingKind, WatchReport
from agents.watch.scan import Scanner
from integrations.tws.client import TWSClient
from integrations.tws.simulator import SimulatorServer


async def cycle(*, strip: bool) -> tuple[WatchReport, int]:
    async with (
        SimulatorServer(scenario="normal", speed=0, now=NOW, api_keys=[API_KEY]) as sim,
        proxied(sim.url, strip=strip) as proxy,
        TWSClient(base_url=proxy.url, api_key=API_KEY, sleep=no_sleep) as client,
    ):
        report = await Scanner(client, samples=300, seed=7).cycle()
    return report, proxy.predecessor_reads


def risks(report: WatchReport) -> dict[str, tuple[str, float | None]]:
    return {
        f.object_name: (f.explanation, f.probability)
        for f in report.findings
        if f.kind is FindingKind.DEADLINE_RISK
    }


async def test_a_cycle_takes_predecessors_from_the_plan_rows() -> None:
    inline, reads_inline = await cycle(strip=False)
    read, reads_one_by_one = await cycle(strip=True)

    assert reads_inline == 0
    assert reads_one_by_one > 0
    assert risks(inline)  # the bundled night has deadlines at risk at 23:30
    assert risks(inline) == risks(read)
