"""cpupools, CPU/NUMA topology and device lists through the binding (sim backend)."""
from __future__ import annotations

import pytest

from xenlight_py import (Context, CpupoolInfo, SchedCreditParams, DiskConfig, DiskFormat, DomainConfig,
                         DomainNotFound, InvalidArgument, NicConfig, NotFound, XenlightError)


def test_cpupools(ctx: Context, pv: DomainConfig) -> None:
    p = ctx.physinfo()
    pools = ctx.cpupools()
    assert pools == [CpupoolInfo(0, "Pool-0", "credit", 1, frozenset(range(p.nr_cpus)))]
    ctx.create_domain(pv)
    assert ctx.cpupool_info(0).n_dom == 2
    with pytest.raises(NotFound, match="cpupool 5 does not exist"):
        ctx.cpupool_info(5)
    with pytest.raises(InvalidArgument):
        ctx.cpupool_info(-1)


def test_topology_matches_physinfo(ctx: Context) -> None:
    p = ctx.physinfo()
    topo = ctx.cpu_topology()
    assert [t.cpu for t in topo] == list(range(p.nr_cpus))
    assert len({(t.socket, t.core) for t in topo}) == p.nr_cpus // p.threads_per_core
    assert {t.node for t in topo} == set(range(p.nr_nodes))
    numa = ctx.numa_info()
    assert [n.node for n in numa] == list(range(p.nr_nodes))
    assert sum(n.size for n in numa) == p.total_pages * 4096
    for n in numa:
        assert 0 < n.free <= n.size
        assert len(n.distances) == p.nr_nodes and n.distances[n.node] == 10


def test_device_lists(ctx: Context, image) -> None:  # type: ignore[no-untyped-def]
    cfg = DomainConfig(name="devs", kernel="/k", disks=(
        DiskConfig("xvda", image("a.img")), DiskConfig("xvdb", image("b.img"), readwrite=False)),
        nics=(NicConfig(mac="00:16:3e:00:00:01", bridge="xenbr0"),))
    domid = ctx.create_domain(cfg)
    disks = ctx.disks(domid)
    assert [(d.vdev, d.target, d.readwrite, d.format) for d in disks] == [
        ("xvda", image("a.img"), True, DiskFormat.UNKNOWN),
        ("xvdb", image("b.img"), False, DiskFormat.UNKNOWN)]
    ctx.add_nic(domid, NicConfig(mac="00:16:3e:00:00:02", bridge="xenbr1"))
    nics = ctx.nics(domid)
    assert [(n.devid, n.mac, n.bridge) for n in nics] == [
        (0, "00:16:3e:00:00:01", "xenbr0"), (1, "00:16:3e:00:00:02", "xenbr1")]
    ctx.remove_disk(domid, "xvda")
    assert [d.vdev for d in ctx.disks(domid)] == ["xvdb"]
    assert ctx.disks(0) == [] and ctx.nics(0) == []       # none: an empty list
    with pytest.raises(DomainNotFound):
        ctx.disks(4000)
    with pytest.raises(DomainNotFound):
        ctx.nics(4000)


def test_failures_are_mapped(ctx: Context) -> None:
    ctx.sim.fail_next("libxl_list_cpupool", -3)
    with pytest.raises(XenlightError, match="libxl_list_cpupool"):
        ctx.cpupools()
    ctx.sim.fail_next("libxl_get_numainfo", -3)
    with pytest.raises(XenlightError, match="libxl_get_numainfo"):
        ctx.numa_info()
    ctx.sim.fail_next("libxl_get_cpu_topology", -3)
    with pytest.raises(XenlightError, match="libxl_get_cpu_topology"):
        ctx.cpu_topology()
    assert ctx.cpupools()[0].name == "Pool-0"


def test_start_time_and_uptime(ctx: Context, pv: DomainConfig) -> None:
    import time
    before = int(time.time())
    domid = ctx.create_domain(pv)
    start = ctx.start_time(domid)
    assert start is not None and before - 1 <= start <= int(time.time())
    assert 0 <= ctx.domain_uptime(domid) <= 5
    assert ctx.start_time(0) is None                 # libxl did not make dom0
    assert ctx.domain_uptime(0) > 0                  # /proc/uptime, as xl
    with pytest.raises(DomainNotFound):
        ctx.start_time(4000)


def test_sched_credit_params(ctx: Context) -> None:
    assert ctx.sched_credit_params() == SchedCreditParams(30, 1000, 0)   # Xen's defaults
    with pytest.raises(NotFound, match="cpupool 2 does not exist"):
        ctx.sched_credit_params(2)
    ctx.sim.fail_next("libxl_sched_credit_params_get", -3)
    with pytest.raises(XenlightError) as e:
        ctx.sched_credit_params()
    assert e.value.rc == -3


def test_credit2_host(ctx: Context, pv: DomainConfig) -> None:
    # Xen 4.17's own default scheduler (the real-Xen run's pool): the pool says so, the
    # credit scheduler's pool parameters are refused as Xen refuses them (EINVAL,
    # ERROR_FAIL: the pool exists, so not NotFound), domains keep weight and cap.
    ctx.sim.configure(scheduler="credit2")
    assert ctx.sim.config().scheduler == "credit2"
    assert [c.sched for c in ctx.cpupools()] == ["credit2"]
    with pytest.raises(XenlightError, match="getting Credit scheduler parameters") as e:
        ctx.sched_credit_params(0)
    assert e.value.rc == -3 and not isinstance(e.value, NotFound)
    with pytest.raises(NotFound):
        ctx.sched_credit_params(2)
    domid = ctx.create_domain(pv)
    ctx.set_sched_params(domid, weight=512, cap=50)
    assert (ctx.sched_params(domid).weight, ctx.sched_params(domid).cap) == (512, 50)
    with pytest.raises(InvalidArgument):
        ctx.sim.configure(scheduler="rtds")
