"""Monitor benchmarks, in process on the simulated host, on each store: [sqlite] one host's
own (WAL, synchronous=FULL), [postgres] a new pool's database on a private PostgreSQL (fsync
and synchronous_commit on), the host its master. Each round's metrics are one durable commit.

  tick          one monitor round (hypervisor read in a worker thread, metrics diffed and
                committed in one transaction, time series fed) at 100 and 1,000 running VMs,
                each with 2 vCPUs and a NIC; beside it, in the same run, the baseline: the
                hypervisor read alone (Monitor._read: one Context.sample_domains call for
                every domain's vCPUs, nic and guest counters, and its derivation against
                the previous read: rates, record values, series). Cost per VM per tick in extra_info.
  get_all       VM.get_all_records (dispatch + XML-RPC encoding) with 1,000 running VMs, with
                the monitor running at a 0.2 s interval (25x the default rate, so that rounds
                overlap the calls) and without it.

Reproduce: .venv/bin/python -m pytest bench/test_bench_monitor.py --benchmark-only -s \
           --benchmark-columns=min,median,mean,rounds
"""
from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from typing import Any

import pytest

from benchsize import size

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "xenapi"))
from pgcluster import PgCluster  # noqa: E402
from vm_records import vm_create_record  # noqa: E402

VM = vm_create_record("bench", memory_mib=64, static_min_mib=32, vcpus=2,
                      actions_after_crash="restart")


class Host:
    """An in-process server on the simulator with `n` running VMs; on `db_url` (a new pool's
    PostgreSQL database, whose first host it becomes: the master) or on its own SQLite."""

    def __init__(self, n: int, db_url: str | None = None) -> None:
        self.n = n
        self.db_url = db_url
        self.loop = asyncio.new_event_loop()
        self.tmp = tempfile.TemporaryDirectory()
        self.loop.run_until_complete(self._build())

    async def _build(self) -> None:
        from xenapi_impl import api
        from xenapi_impl.api.caller import Caller
        from xenapi_impl.model import MODEL
        from xenapi_impl.server.app import Services
        from xenapi_impl.server.dispatch import Dispatcher
        from xenapi_impl.server.seed import add_user, seed
        from xenapi_impl.store import open_database, store_specs
        from xenapi_impl.xen.adapter import open_backend

        api.load_all()
        db = os.path.join(self.tmp.name, "x.db")
        self.store = await open_database(self.db_url or db, store_specs(MODEL), exclusive=True)
        self.services = Services(MODEL, self.store, auth_failure_delay=0.01)
        self.services.backend = open_backend("sim")
        sim = self.services.backend.context.sim
        sim.configure(total_memkb=512 * 1024 * 1024, nr_cpus=64)
        await seed(self.services, backend="sim", db_path=db)
        await add_user(self.services, "root", "bench-pw", "pool-admin")
        self.dispatcher = Dispatcher(self.services)
        self.caller = Caller("http", "127.0.0.1:1")
        s = self.session = await self.call("session.login_with_password", "root", "bench-pw")
        net = await self.call("network.create", s, {"name_label": "n", "name_description": "",
                                                    "MTU": "1500", "other_config": {}})
        for i in range(self.n):
            vm = await self.call("VM.create", s, dict(VM, name_label=f"vm-{i}"))
            await self.call("VIF.create", s, {
                "device": "0", "network": net, "VM": vm, "MAC": "", "MTU": "1500",
                "other_config": {}, "qos_algorithm_type": "", "qos_algorithm_params": {}})
            await self.call("VM.start", s, vm, False, False)

    async def call(self, method: str, *params: Any) -> Any:
        return await self.dispatcher.call(method, list(params), self.caller)

    def close(self) -> None:
        self.loop.run_until_complete(self.services.close(grace=1))
        self.loop.close()
        self.tmp.cleanup()


@pytest.fixture(scope="module")
def pg():
    with PgCluster() as cluster:
        yield cluster


@pytest.fixture(scope="module", params=[(n, store) for store in ("sqlite", "postgres")
                                        for n in size([100, 1000], [4])],
                ids=lambda p: f"{p[0]}vms-{p[1]}")
def host(request):
    n, store = request.param
    h = Host(n, request.getfixturevalue("pg").new_database().url if store == "postgres"
             else None)
    yield h
    h.close()


def _per_vm(benchmark: Any, n: int) -> None:
    median = benchmark.stats.stats.median
    benchmark.extra_info["per_vm_per_tick_us"] = round(median / n * 1e6, 2)
    print(f"\n{benchmark.name}: median {median * 1e3:.2f} ms per tick, "
          f"{median / n * 1e6:.1f} us per VM")


def test_tick(benchmark, host):
    from xenapi_impl.xen.monitor import Monitor
    m = Monitor(host.services, 5.0)
    host.loop.run_until_complete(m.tick())          # first round: counters' baselines
    rounds = size(10, 1)
    benchmark.pedantic(lambda: host.loop.run_until_complete(m.tick()), rounds=rounds,
                       iterations=1, warmup_rounds=1)
    assert m.ticks >= rounds + 1
    _per_vm(benchmark, host.n)


def test_tick_baseline_hypervisor_read(benchmark, host):
    from xenapi_impl.xen.monitor import Monitor
    m = Monitor(host.services, 5.0)
    vms = m._running_vms()
    hv = host.services.backend.hypervisor
    assert len(vms) == host.n + 1                   # and dom0
    request = Monitor._request(vms, hv.kind)
    prev: list[Any] = [None]

    def read() -> None:         # derived against the previous read, as a round does
        r = Monitor._read(hv.context, hv.kind, request, prev[0])
        prev[0] = (r.sample, r.derived)

    read()
    benchmark.pedantic(read, rounds=size(10, 1),
                       iterations=1, warmup_rounds=1)
    _per_vm(benchmark, host.n)


@pytest.mark.parametrize("monitor", [False, True], ids=["no-monitor", "monitor-0.2s"])
def test_get_all_records(benchmark, host, monitor):
    if host.n != size(1000, 4):      # the short mode runs it too: else it rots unseen
        pytest.skip("measured at 1,000 VMs")
    from xenapi_impl.wire import xmlrpc
    from xenapi_impl.xen.monitor import Monitor

    async def get_all() -> int:
        return len(xmlrpc.encode_success(await host.call("VM.get_all_records", host.session)))

    m = Monitor(host.services, 0.2)
    async def start() -> None:
        m.start()

    if monitor:
        host.services.monitor = m
        host.loop.run_until_complete(start())
    try:
        # between calls the loop runs 50 ms, so monitor rounds (and their commits) interleave
        nbytes = benchmark.pedantic(
            lambda: host.loop.run_until_complete(get_all()), rounds=size(40, 2), iterations=1,
            setup=lambda: host.loop.run_until_complete(asyncio.sleep(0.05)))
    finally:
        host.loop.run_until_complete(m.stop())
        host.services.monitor = None
    assert nbytes > host.n * 1000
    assert m.ticks >= size(5, 1) if monitor else m.ticks == 0
    benchmark.extra_info["monitor_ticks"] = m.ticks
    print(f"\n{benchmark.name}: median {benchmark.stats.stats.median * 1e3:.2f} ms, "
          f"{m.ticks} monitor rounds during the run")
