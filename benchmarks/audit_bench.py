"""Audit log throughput: appends (single writer, 50 concurrent tasks), plain SQLite inserts
of the same payload size under the same durability settings, and verification speed.

Durability for both sides: journal_mode=WAL, synchronous=FULL, one transaction per
acknowledged write (plain inserts commit each row, as an audited append must be durable
before it returns). Run: .venv/bin/python benchmarks/audit_bench.py [--records N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.settings import Settings
from integrations.audit import open_audit_log, verify_store
from integrations.audit.store_sqlite import SqliteStore

PARAMS = {"job": "PAYROLL_DAILY", "stream": "JS_FIN#0800", "note": "x" * 120}


async def _single(settings: Settings, n: int) -> float:
    log = await open_audit_log(settings)
    started = time.perf_counter()
    for i in range(n):
        await log.record(
            action="job.rerun",
            outcome="ok",
            actor_id=f"U{i % 20}",
            actor_identity=None,
            parameters=PARAMS,
        )
    elapsed = time.perf_counter() - started
    await log.close()
    return n / elapsed


async def _concurrent(settings: Settings, n: int, tasks: int) -> float:
    log = await open_audit_log(settings)

    async def worker(w: int) -> None:
        for i in range(n // tasks):
            await log.record(
                action="job.rerun",
                outcome="ok",
                actor_id=f"U{(w + i) % 20}",
                actor_identity=None,
                parameters=PARAMS,
            )

    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(tasks)))
    elapsed = time.perf_counter() - started
    await log.close()
    return (n // tasks * tasks) / elapsed


def _row_bytes(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        (size,) = conn.execute(
            "SELECT avg(8 + 8 + length(key_id) + length(nonce) + length(prev_hash) + "
            "length(ciphertext) + length(hash)) FROM audit_records"
        ).fetchone()
    return int(size)


def _plain(path: Path, n: int, payload: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
    started = time.perf_counter()
    for _ in range(n):
        conn.execute("INSERT INTO t (payload) VALUES (?)", (os.urandom(payload),))
    elapsed = time.perf_counter() - started
    conn.close()
    return n / elapsed


async def _verify(settings: Settings, total: int) -> tuple[float, int]:
    log = await open_audit_log(settings)
    have = (await log.verify()).last_seq
    batch = 2000
    while have < total:
        await asyncio.gather(
            *(
                log.record(
                    action="bulk",
                    outcome="ok",
                    actor_id=f"U{i % 50}",
                    actor_identity=None,
                    parameters=PARAMS,
                )
                for i in range(min(batch, total - have))
            )
        )
        have = min(total, have + batch)
    key = log.public_key
    await log.close()
    store = SqliteStore(settings.data_dir / "audit.db")
    await store.open()
    report = await verify_store(store, trusted_key=key)
    await store.close()
    assert report.fault is None, report.fault
    return report.records / report.seconds, report.records


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=2000, help="appends per write benchmark")
    parser.add_argument("--verify-records", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        single = await _single(Settings(data_dir=root / "single"), args.records)
        concurrent = await _concurrent(Settings(data_dir=root / "conc"), args.records * 5, 50)
        payload = _row_bytes(root / "conc" / "audit.db")
        plain = _plain(root / "plain.db", args.records, payload)
        verified, count = await _verify(Settings(data_dir=root / "conc"), args.verify_records)
    print("durability: WAL + synchronous=FULL on both sides; one commit per plain insert")
    print(f"stored bytes per record:          {payload}")
    print(f"appends/s, single writer:         {single:12,.0f}")
    print(f"appends/s, 50 concurrent tasks:   {concurrent:12,.0f}  (group commit)")
    print(f"plain SQLite inserts/s:           {plain:12,.0f}")
    print(f"ratio concurrent / plain:         {concurrent / plain:12.2f}  (target >= 0.5)")
    print(f"ratio single / plain:             {single / plain:12.2f}")
    print(
        f"verified records/s:               {verified:12,.0f}  ({count:,} records, target > 100,000)"
    )


if __name__ == "__main__":
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    asyncio.run(main())
