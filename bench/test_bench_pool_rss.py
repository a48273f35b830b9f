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

import xmlrpc.client as xc
from typing import Any, Iterator

import pytest

from test_bench_pool import Pool
from test_bench_server import N_BIG, Bench


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
    benchmark.group = f"server RSS, {N_BIG} VMs"
    if where == "sqlite":
        b = request.getfixturevalue("single")
        srv, url, session, vm = b.srv, b.srv.url, b.session, b.vm
    else:
        p = request.getfixturevalue("pool")
        n = 0 if where == "master" else 1
        srv, url, session, vm = p.hosts[n], p.hosts[n].url, p.sessions[n], p.vm
    proxy = xc.ServerProxy(url)
    sub = [f"VM/{vm}"]
    token = getattr(proxy, "event.from")(session, sub, "", 0.0)["Value"]["token"]
    assert proxy.VM.set_name_label(session, vm, "rss")["Status"] == "Success"
    assert getattr(proxy, "event.from")(session, sub, token, 5.0)["Value"]["events"]
    rss = benchmark.pedantic(lambda: srv.status("VmRSS") / 1024, rounds=1, iterations=1)
    info = {"where": where, "vms": N_BIG, "rss_mib": round(rss, 1),
            "hwm_mib": round(srv.status("VmHWM") / 1024, 1)}
    benchmark.extra_info.update(info)
    print(f"\nserver RSS: {info}")
