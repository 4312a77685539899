"""`run_forwarder`: the ``resync serve`` task, both destinations at once, independent."""

from __future__ import annotations

import asyncio
from pathlib import Path

from siem_support import TOKEN, HecMock, SiemTestSettings, SyslogReceiver, wait_for, write_records

from config.settings import Settings
from integrations.audit import open_audit_log
from integrations.audit.forward import Forwarder, run_forwarder


async def test_forwards_to_both_while_the_bot_writes_and_stops_on_the_event(
    tmp_path: Path,
) -> None:
    hec, syslog = HecMock(), SyslogReceiver()
    url = await hec.start()
    port = await syslog.start()
    settings = SiemTestSettings(
        data_dir=tmp_path,
        siem_hec_url=url,
        siem_hec_token=TOKEN,
        siem_syslog_address=f"127.0.0.1:{port}",
        siem_batch_size=5,
        siem_poll_seconds=0.02,
        siem_forward_in_serve=True,
        siem_retry_max_seconds=1,
    )
    log = await open_audit_log(settings)
    stop = asyncio.Event()
    started: list[Forwarder] = []
    task = asyncio.create_task(run_forwarder(settings, log, stop=stop, started=started.extend))
    try:
        await write_records(log, 12)
        await wait_for(lambda: len(hec.events) >= 12, what="12 HEC events")
        await wait_for(lambda: len(syslog.messages) >= 12, what="12 syslog messages")
        # Syslog down: HEC keeps up, the syslog backlog grows.
        await syslog.stop()
        await write_records(log, 3, start=12)
        await wait_for(lambda: len(hec.events) >= 15, what="HEC unaffected by syslog")
        by_name = {f.name: f for f in started}
        await wait_for(lambda: by_name["syslog"].backlog == 3, what="a syslog backlog of 3")
        await syslog.start(port)
        await wait_for(lambda: len(set(syslog.seqs)) >= 15, what="syslog caught up")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await log.close()
        await hec.stop()
        await syslog.stop()
    assert sorted({f.name for f in started}) == ["hec", "syslog"]
    assert hec.seqs == list(range(1, 16))
    assert sorted(set(syslog.seqs)) == list(range(1, 16))
    assert (tmp_path / "siem-hec.cursor").is_file()
    assert (tmp_path / "siem-syslog.cursor").is_file()


async def test_nothing_configured_returns_at_once(tmp_path: Path) -> None:
    for settings in (Settings(data_dir=tmp_path), SiemTestSettings(data_dir=tmp_path)):
        log = await open_audit_log(settings)
        try:
            await asyncio.wait_for(run_forwarder(settings, log, stop=asyncio.Event()), 5)
        finally:
            await log.close()
    assert not (tmp_path / "siem-hec.cursor").exists()
