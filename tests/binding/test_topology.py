"""cpupools, CPU/NUMA topology and device lists through the binding (sim backend)."""
from __future__ import annotations

import pytest

from xenlight_py import (Context, CpupoolInfo, SchedCreditParams, DiskConfig, DiskFormat, DiskInfo, DomainConfig,
                         DomainNotFound, InvalidArgument, NicConfig, NicInfo, NotFound, XenlightError)


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


def test_device_getinfo(ctx: Context, image) -> None:  # type: ignore[no-untyped-def]
    cfg = DomainConfig(name="info", kernel="/k", disks=(DiskConfig("xvda", image("a.img")),),
                       nics=(NicConfig(mac="00:16:3e:00:00:01", bridge="xenbr0"),))
    domid = ctx.create_domain(cfg)          # unpaused: the guest's frontends connect
    ctx.add_disk(domid, DiskConfig("xvdb", image("b.img")))
    nic1 = ctx.add_nic(domid, NicConfig(bridge="xenbr0"))
    a, b = ctx.disk_info(domid, "xvda"), ctx.disk_info(domid, "xvdb")
    assert isinstance(a, DiskInfo)
    assert (a.backend, a.backend_id, a.frontend, a.frontend_id, a.devid, a.state) == (
        f"/local/domain/0/backend/vbd/{domid}/51712", 0,
        f"/local/domain/{domid}/device/vbd/51712", domid, 51712, 4)
    assert a.evtch > 0 and a.rref > 0 and (b.evtch, b.rref) != (a.evtch, a.rref)
    assert ctx.disk_info(domid, "xvda") == a                   # stable
    assert ctx.disk_info(domid, "51712") == a                  # libxl looks up the number
    n0, n1 = ctx.nic_info(domid, 0), ctx.nic_info(domid, nic1)
    assert isinstance(n0, NicInfo)
    assert (n0.backend, n0.frontend, n0.frontend_id, n0.devid, n0.state) == (
        f"/local/domain/0/backend/vif/{domid}/0", f"/local/domain/{domid}/device/vif/0",
        domid, 0, 4)
    # Real Xen (Linux netfront, split tx/rx channels): no event-channel node, -1.
    assert n0.evtch == -1 and n0.rref_tx > 0 and n0.rref_rx > 0 and n0.rref_tx != n0.rref_rx
    assert n1.devid == nic1 and not {n1.rref_tx, n1.rref_rx} & {n0.rref_tx, n0.rref_rx}

    # libxl answers ERROR_FAIL for all of these; the binding names them.
    with pytest.raises(NotFound, match="has no disk xvdc"):
        ctx.disk_info(domid, "xvdc")
    with pytest.raises(NotFound, match="has no nic 7"):
        ctx.nic_info(domid, 7)
    with pytest.raises(DomainNotFound):
        ctx.disk_info(4000, "xvda")
    with pytest.raises(DomainNotFound):
        ctx.nic_info(4000, 0)
    with pytest.raises(InvalidArgument):
        ctx.nic_info(domid, -1)
    ctx.remove_nic(domid, nic1)
    with pytest.raises(NotFound):
        ctx.nic_info(domid, nic1)
    ctx.sim.fail_next("libxl_device_disk_getinfo", -3)
    with pytest.raises(XenlightError, match="libxl_device_disk_getinfo"):
        ctx.disk_info(domid, "xvda")


def test_device_getinfo_before_first_unpause(ctx: Context, image) -> None:  # type: ignore[no-untyped-def]
    # A guest that never ran has written nothing: libxl's initial state 1 and -1 (unset).
    cfg = DomainConfig(name="fresh", kernel="/k", disks=(DiskConfig("xvda", image("a.img")),),
                       nics=(NicConfig(bridge="xenbr0"),))
    domid = ctx.create_domain(cfg, paused=True)
    d, n = ctx.disk_info(domid, "xvda"), ctx.nic_info(domid, 0)
    assert (d.state, d.evtch, d.rref) == (1, -1, -1)
    assert (n.state, n.evtch, n.rref_tx, n.rref_rx) == (1, -1, -1, -1)
    ctx.unpause(domid)
    assert ctx.disk_info(domid, "xvda").state == 4 and ctx.nic_info(domid, 0).rref_tx > 0


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
