"""Issue 13's RSS row on a pool, beside one SQLite host in the same run.

  pool_server_rss  the resident memory of a server holding 10,000 VMs (records, the change
                   index, the seeded objects), a session and an event served, before any bulk
                   read: [sqlite] one host on its SQLite database (test_bench_server.py's
                   test_server_rss), [master] and [slave] the hosts of a pool made from the
                   same database with `xenapi-server pool-create` (test_bench_pool.py's Pool,
                   one slave), each measured after the pool settled.

Reproduce: .venv/bin/python -m pytest bench/test_bench_pool_rss.py --benchmark-only -s
"""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from test_bench_pool import Pool
from test_bench_server import N_BIG, Bench, measure_rss, serve_an_event


@pytest.fixture(scope="module")
def pool() -> Iterator[Pool]:
    p = Pool(slaves=1, n_vms=N_BIG)
    yield p
    p.close()


@pytest.fixture(scope="module")
def single() -> Iterator[Bench]:
    b = Bench(N_BIG)
    yield b
    b.close()


@pytest.mark.parametrize("where", ["sqlite", "master", "slave"])
def test_pool_server_rss(benchmark: Any, request: Any, where: str) -> None:
    if where == "sqlite":
        b = request.getfixturevalue("single")
        srv, session, vm = b.srv, b.session, b.vm
    else:
        p = request.getfixturevalue("pool")
        n = 0 if where == "master" else 1
        srv, session, vm = p.hosts[n], p.sessions[n], p.vm
    serve_an_event(srv.url, session, vm, 5.0)
    benchmark.extra_info["where"] = where
    measure_rss(benchmark, srv, where, group=f"server RSS, {N_BIG} VMs")
