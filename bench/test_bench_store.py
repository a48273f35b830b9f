"""The store alone, SQLite vs the pool's PostgreSQL (a private server, tests/pgcluster.py, fsync
on): durable commit latency, concurrent commits through group commit, and for PostgreSQL the
time until a second instance (another server process's view) has a commit in memory.
Reproduce: `.venv/bin/python -m pytest bench/test_bench_store.py --benchmark-only -s`."""
from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time

import pytest

from benchsize import size

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from pgcluster import pg_cluster, pg_db  # noqa: E402,F401 - fixtures
from xenapi_impl.store import ClassSpec, new_ref, new_uuid, open_database  # noqa: E402

SPECS = [ClassSpec("VM", ("uuid", "name_label", "other_config"))]
SEQUENTIAL = size(300, 10)
CONCURRENT = size(2000, 50)


def _vm(i: int) -> dict:
    return {"uuid": new_uuid(), "name_label": str(i), "other_config": {"k": "v"}}


async def _measure(db: str, peers: int) -> dict[str, float]:
    a = await open_database(db, SPECS)
    b = await open_database(db, SPECS) if peers > 1 else None
    latencies, wakes = [], []
    for i in range(SEQUENTIAL):
        t0 = time.perf_counter()
        async with a.transaction() as t:
            t.create("VM", new_ref(), _vm(i))
        latencies.append(time.perf_counter() - t0)
        if b is not None:
            gen = a.generation
            while b.generation < gen:
                await b.wait_for_change(b.generation, 5)
            wakes.append(time.perf_counter() - t0 - latencies[-1])

    async def one(i: int) -> None:
        async with a.transaction() as t:
            t.create("VM", new_ref(), _vm(i))
    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(CONCURRENT)))
    rate = CONCURRENT / (time.perf_counter() - t0)
    for s in (a, b):
        if s is not None:
            await s.close()
    q = statistics.quantiles(latencies, n=100)
    out = {"commit p50 ms": q[49] * 1000, "commit p99 ms": q[98] * 1000,
           "concurrent commits/s": rate}
    if wakes:
        w = statistics.quantiles(wakes, n=100)
        out |= {"other instance has it, p50 ms after the ack": w[49] * 1000,
                "p99 ms": w[98] * 1000}
    return out


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_store_commits(benchmark, backend, tmp_path, request):
    db = (str(tmp_path / "bench.db") if backend == "sqlite"
          else request.getfixturevalue("pg_db").url)
    peers = 2 if backend == "postgres" else 1
    result = benchmark.pedantic(lambda: asyncio.run(_measure(db, peers)), rounds=1,
                                iterations=1)
    print(f"\n{backend}: " + ", ".join(f"{k} {v:.2f}" if v < 100 else f"{k} {v:.0f}"
                                      for k, v in result.items()))
