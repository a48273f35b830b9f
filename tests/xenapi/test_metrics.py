"""The monitor in process on the simulated host: VM, guest, device and host metrics written by
one loop through the store, only when they change, and the time series it feeds."""
from __future__ import annotations

import asyncio
import struct
from typing import Any

import pytest
from test_vm_lifecycle import VmHarness, new_vm, run
from xenapi_impl.store import NULL_REF
from xenapi_impl.xen.monitor import Monitor


async def running_vm(h: VmHarness, s: str, vcpus: int = 2) -> tuple[str, str, str, int]:
    """A started VM with one disk (xvda) and one NIC (device 0): (vm, vbd, vif, domid)."""
    vm = await new_vm(h, s, VCPUs_at_startup=str(vcpus))
    sr = await h.call("pool.get_default_SR", s, (await h.call("pool.get_all", s))[0])
    vdi = await h.call("VDI.create", s, {
        "SR": sr, "virtual_size": str(1 << 24), "type": "user", "sharable": False,
        "read_only": False, "other_config": {}, "name_label": "d", "name_description": ""})
    vbd = await h.call("VBD.create", s, {
        "VM": vm, "VDI": vdi, "userdevice": "0", "bootable": True, "mode": "RW",
        "type": "Disk", "empty": False, "other_config": {}, "qos_algorithm_type": "",
        "qos_algorithm_params": {}})
    net = await h.call("network.create", s, {"name_label": "n", "name_description": "",
                                              "MTU": "1500", "other_config": {}})
    vif = await h.call("VIF.create", s, {
        "device": "0", "network": net, "VM": vm, "MAC": "", "MTU": "1500",
        "other_config": {}, "qos_algorithm_type": "", "qos_algorithm_params": {}})
    await h.call("VM.start", s, vm, False, False)
    return vm, vbd, vif, await h.call("VM.get_domid", s, vm)


async def ticks(m: Monitor, n: int, gap: float = 0.05) -> None:
    for _ in range(n):
        await asyncio.sleep(gap)
        await m.tick()


def test_vm_device_guest_and_host_metrics(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        vm, vbd, vif, domid = await running_vm(h, s)
        assert await h.call("VM.get_guest_metrics", s, vm) == NULL_REF
        m = Monitor(h.services, 0.1)
        h.sim.set_load(domid, 0.6)
        await ticks(m, 3)
        vmm = await h.call("VM_metrics.get_record", s, await h.call("VM.get_metrics", s, vm))
        assert set(vmm["VCPUs_utilisation"]) == {0, 1}
        for u in vmm["VCPUs_utilisation"].values():
            assert u == pytest.approx(0.6, abs=0.02)
        assert vmm["VCPUs_number"] == 2
        assert set(vmm["VCPUs_CPU"]) == {0, 1}
        assert vmm["VCPUs_flags"] == {0: ["running"], 1: ["running"]}
        assert int(vmm["memory_actual"]) == h.xl.domain_info(domid).current_memkb * 1024

        # the guest reported: its metrics exist and the VM points at them
        gm = await h.call("VM.get_guest_metrics", s, vm)
        assert gm != NULL_REF
        g = await h.call("VM_guest_metrics.get_record", s, gm)
        info = h.sim.guest_info(domid)
        assert g["os_version"]["name"] == info.os_name
        assert g["os_version"]["uname"] == info.os_kernel
        assert g["memory"]["free"] == str(info.mem_free_kb)
        assert int(g["memory"]["used"]) == info.mem_total_kb - info.mem_free_kb
        assert g["networks"]["0/ip"] == info.ipv4 != ""
        assert g["live"] and g["PV_drivers_detected"]

        # device rates from the counters' deltas: the simulator moves 8 MB/s read and 2 MB/s
        # written per busy vCPU-second on a disk, 4 MB/s in and 1 MB/s out on a NIC
        vbdm = await h.call("VBD_metrics.get_record", s, await h.call("VBD.get_metrics", s, vbd))
        vifm = await h.call("VIF_metrics.get_record", s, await h.call("VIF.get_metrics", s, vif))
        busy = 2 * 0.6
        assert vbdm["io_read_kbs"] == pytest.approx(busy * 8e6 / 1024, rel=0.05)
        assert vbdm["io_write_kbs"] == pytest.approx(busy * 2e6 / 1024, rel=0.05)
        assert vifm["io_read_kbs"] == pytest.approx(busy * 4e6 / 1024, rel=0.05)
        assert vifm["io_write_kbs"] == pytest.approx(busy * 1e6 / 1024, rel=0.05)

        # host: memory from physinfo, pCPU utilisation from the vCPUs placed on them
        host = h.services.host_ref
        hm = await h.call("host_metrics.get_record", s, await h.call("host.get_metrics", s, host))
        phys = h.xl.physinfo()
        assert int(hm["memory_total"]) == phys.total_pages * 4096
        assert int(hm["memory_free"]) == phys.free_pages * 4096
        assert hm["live"]
        cpus = await h.call("host_cpu.get_all_records", s)
        # every domain's vCPUs count (dom0's too); a pCPU is as busy as the vCPUs on it
        all_vcpus = sum(sum(r["VCPUs_utilisation"].values())
                        for r in (await h.call("VM_metrics.get_all_records", s)).values())
        assert all_vcpus >= busy - 0.05
        assert sum(c["utilisation"] for c in cpus.values()) == pytest.approx(all_vcpus, abs=0.02)

        # the load changes: utilisation converges to it
        h.sim.set_load(domid, 0.2)
        await ticks(m, 2)
        vmm = await h.call("VM_metrics.get_record", s, await h.call("VM.get_metrics", s, vm))
        for u in vmm["VCPUs_utilisation"].values():
            assert u == pytest.approx(0.2, abs=0.02)
    run(tmp_path, body)


def test_memory_actual_follows_balloon(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        vm, _vbd, _vif, domid = await running_vm(h, s)
        m = Monitor(h.services, 0.1)
        await m.tick()
        metrics = await h.call("VM.get_metrics", s, vm)
        assert int(await h.call("VM_metrics.get_memory_actual", s, metrics)) == 256 << 20
        h.xl.set_memory_target(domid, 160 * 1024)
        for _ in range(100):
            await ticks(m, 1)
            if int(await h.call("VM_metrics.get_memory_actual", s, metrics)) == 160 << 20:
                break
        assert int(await h.call("VM_metrics.get_memory_actual", s, metrics)) == 160 << 20
        gm = await h.call("VM.get_guest_metrics", s, vm)
        assert (await h.call("VM_guest_metrics.get_memory", s, gm))["total"] == str(160 * 1024)
    run(tmp_path, body)


def test_nothing_written_when_nothing_changes(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        vm, _vbd, _vif, domid = await running_vm(h, s)
        m = Monitor(h.services, 0.1)
        h.sim.set_load(domid, 0.0)          # idle guest: every figure is steady
        await ticks(m, 3)
        commits, generation = m.commits, h.store.generation
        await ticks(m, 5)
        assert m.ticks == 8
        assert (m.commits, h.store.generation) == (commits, generation)

        # a change is one commit, and event.from sees the metrics objects modified
        token = (await h.call("event.from", s, ["VM_metrics", "VM_guest_metrics", "VBD_metrics",
                                                "VIF_metrics", "host_cpu"], "", 0.1))["token"]
        h.sim.set_load(domid, 0.5)
        await ticks(m, 2)
        assert m.commits in (commits + 1, commits + 2)
        got = await h.call("event.from", s, ["VM_metrics", "VM_guest_metrics", "VBD_metrics",
                                              "VIF_metrics", "host_cpu"], token, 1.0)
        mods = {(e["class"], e["operation"]) for e in got["events"]}   # xapi's lower case
        assert {("vm_metrics", "mod"), ("vm_guest_metrics", "mod"), ("vbd_metrics", "mod"),
                ("vif_metrics", "mod"), ("host_cpu", "mod")} <= mods
        metrics = await h.call("VM.get_metrics", s, vm)
        ev = [e for e in got["events"] if e["class"] == "vm_metrics" and e["ref"] == metrics]
        assert ev and ev[-1]["snapshot"]["VCPUs_utilisation"][0] == pytest.approx(0.5, abs=0.02)
    run(tmp_path, body)


def test_halted_vm_is_left_alone(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        vm, _vbd, _vif, domid = await running_vm(h, s)
        m = Monitor(h.services, 0.1)
        h.sim.set_load(domid, 0.5)
        await ticks(m, 2)
        uuid = await h.call("VM.get_uuid", s, vm)
        assert ("vm", uuid, "memory") in m.rrd.archives[0].acc
        gm = await h.call("VM.get_guest_metrics", s, vm)
        assert gm != NULL_REF
        await h.call("VM.hard_shutdown", s, vm)
        # the guest agent's report belonged to the run that ended
        assert await h.call("VM.get_guest_metrics", s, vm) == NULL_REF
        assert gm not in await h.call("VM_guest_metrics.get_all", s)
        metrics = await h.call("VM.get_metrics", s, vm)
        before = await h.call("VM_metrics.get_record", s, metrics)
        await ticks(m, 2)
        assert await h.call("VM_metrics.get_record", s, metrics) == before
        assert before["memory_actual"] == 0
        assert before["install_time"].year >= 2024    # set by VM.create, kept
        # its time series are dropped (rrd_updates reports the VMs running here)
        assert not [k for a in m.rrd.archives for k in (*a.cols, *a.acc) if k[1] == uuid]
    run(tmp_path, body)


def test_loop_runs_at_its_interval_and_feeds_the_time_series(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        vm, _vbd, _vif, domid = await running_vm(h, s, vcpus=1)
        uuid = await h.call("VM.get_uuid", s, vm)
        h.sim.set_load(domid, 0.4)
        m = Monitor(h.services, 0.05)
        m.start()
        try:
            while m.ticks < 5:
                await asyncio.wait_for(m.ticked.wait(), 5)
        finally:
            await m.stop()
        done = m.ticks
        await asyncio.sleep(0.2)
        assert m.ticks == done                       # stopped means stopped
        a = m.rrd.archives[0]
        cols = {k for k in a.acc} | set(a.cols)
        for name in ("cpu0", "memory", "memory_internal_free", "vbd_xvda_read",
                     "vbd_xvda_write", "vif_0_rx", "vif_0_tx"):
            assert ("vm", uuid, name) in cols
        host_uuid = await h.call("host.get_uuid", s, h.services.host_ref)
        for name in ("cpu0", "memory_total_kib", "memory_free_kib", "loadavg"):
            assert ("host", host_uuid, name) in cols
        s0, n0 = a.acc[("vm", uuid, "cpu0")] if ("vm", uuid, "cpu0") in a.acc else (0.4, 1)
        assert s0 / n0 == pytest.approx(0.4, abs=0.05)
    run(tmp_path, body)


def test_bad_interval_refused(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        for bad in (0, -1, float("nan")):
            with pytest.raises(ValueError, match="must be positive"):
                Monitor(h.services, bad)
    run(tmp_path, body)


def test_stop_waits_for_a_read_in_progress(tmp_path):
    """The server closes the binding's context after stop(): no read may still be running."""
    async def body(h: VmHarness, s: str) -> None:
        import threading
        import time
        await running_vm(h, s)
        m = Monitor(h.services, 0.05)
        started, finished = threading.Event(), threading.Event()
        real = m._read

        def slow_read(*args: Any) -> Any:
            started.set()
            time.sleep(0.3)
            try:
                return real(*args)
            finally:
                finished.set()

        m._read = slow_read         # type: ignore[method-assign]
        m.start()
        while not started.is_set():
            await asyncio.sleep(0.01)
        await m.stop()
        assert finished.is_set()
        assert m.ticks == 0          # the round was abandoned, its records not written
    run(tmp_path, body)


def test_xen_disk_device_numbers():
    """blkback's sysfs names (vbd-DOMID-DEVNUM), which the xen target's sample reads: xvd
    major 202, 16 minors per disk, the extended scheme from the 17th disk on."""
    from xenlight_py._ffi import load
    devnum = load("sim").lib.xlpy_xvd_devnum
    assert [devnum(d) for d in (b"xvda", b"xvdb", b"xvdp")] == [51712, 51728, 51952]
    assert devnum(b"xvdq") == (1 << 28) | (16 << 8)
    assert devnum(b"xvdaa") == (1 << 28) | (26 << 8)
    assert [devnum(d) for d in (b"hda", b"xvd", b"xvd1", b"sda", b"xvdA")] == [-1] * 5


@pytest.mark.parametrize("bad", ["0", "-1", "nan", "inf", "soon"])
def test_cli_monitor_interval_refused(bad, capsys):
    from xenapi_impl import cli
    with pytest.raises(SystemExit) as ei:
        cli.main(["serve", "--backend", "sim", "--db", "/nonexistent/x.db",
                  "--http", "127.0.0.1:0", "--monitor-interval", bad])
    assert ei.value.code == 2
    assert f"expected a positive number of seconds, got {bad!r}" in capsys.readouterr().err


def test_read_path_asks_the_guest_agent_only_on_the_simulator(tmp_path):
    """The round's read: one sample of every domain with the counters of the VMs' devices
    (the target's own source: the simulator here, blkback/netback sysfs on a real host); the
    guest agent is the simulator's, and the load average is the real host's."""
    async def body(h: VmHarness, s: str) -> None:
        _vm, _vbd, _vif, domid = await running_vm(h, s)
        m = Monitor(h.services, 0.1)
        vms = m._running_vms()
        read = Monitor._read(h.xl, "xen", Monitor._request(vms, "xen"))
        r = read.domains[domid]
        assert len(r.vcpus) == 2 and r.guest is None
        assert [d[:1] + d[3:] for d in r.disks] == [(True, b"xvda".ljust(32, b"\0"))]
        assert [n[:1] + n[3:] for n in r.nics] == [(True, b"0".ljust(32, b"\0"))]
        assert read.loadavg is not None and read.loadavg >= 0.0
        sim_read = Monitor._read(h.xl, "sim", Monitor._request(vms, "sim"))
        assert sim_read.domains[domid].guest[0] and sim_read.loadavg is None
        assert sim_read.domains[0].guest is None        # dom0 has no guest agent
    run(tmp_path, body)


def test_settled_vms_feed_the_same_series_without_the_store(tmp_path):
    """A VM whose records already show its derived values (the same rounded figures as the
    round before, nobody else wrote them) skips the store: its series come straight from
    the derivation, and they are the series the full comparison makes, key for key and in
    the same order; a record written by someone else unsettles its VM."""
    def same(a: dict, b: dict) -> bool:
        return list(a) == list(b) and all(
            x == y or (x != x and y != y) for x, y in zip(a.values(), b.values()))

    async def body(h: VmHarness, s: str) -> None:
        vm, _vbd, _vif, domid = await running_vm(h, s)
        h.sim.set_load(domid, 0.0)        # still figures: the rounded values stay put
        m = Monitor(h.services, 0.1)
        await ticks(m, 4)
        vms = m._running_vms()
        assert vms[domid].settled and vms[0].settled
        hv = h.services.backend.hypervisor
        read = Monitor._read(hv.context, hv.kind, m._vms[2], m._prev)
        fast: dict = {}
        await m._write(read, vms, fast)
        assert vms[domid].settled
        for v in vms.values():
            v.settled = False
        slow: dict = {}
        await m._write(read, vms, slow)
        assert same(fast, slow) and ("vm", vms[domid].uuid, "vif_0_rx") in fast
        assert fast[("vm", vms[domid].uuid, "vif_0_rx")] == 0.0
        assert ("vm", vms[domid].uuid, "memory_internal_free") in fast
        # someone else writes its VM_metrics: compared with the store again, and fixed
        metrics = await h.call("VM.get_metrics", s, vm)
        async with h.services.transaction() as t:
            t.inner.update("VM_metrics", metrics, {"VCPUs_number": 7})
        await ticks(m, 1)
        assert await h.call("VM_metrics.get_VCPUs_number", s, metrics) == 2
    run(tmp_path, body)


def test_derived_rates_are_pythons_arithmetic(tmp_path):
    """The C derivation's utilisations, device rates and pCPU sums are, bit for bit, what
    the monitor's Python formulas give from the same two samples (stats.utilisation capped
    at 1, int deltas over the stamps' seconds, sums in domain then vCPU order)."""
    from xenlight_py.sample import DERIVED_HEAD
    from xenlight_py.stats import utilisation

    async def body(h: VmHarness, s: str) -> None:
        _vm, _vbd, _vif, domid = await running_vm(h, s)
        h.sim.set_load(domid, 0.37)
        m = Monitor(h.services, 0.1)
        vms = m._running_vms()
        hv = h.services.backend.hypervisor
        first = Monitor._read(hv.context, hv.kind, m._vms[2])
        await asyncio.sleep(0.05)
        second = Monitor._read(hv.context, hv.kind, m._vms[2],
                               (first.sample, first.derived))
        prev, cur = first.domains, second.domains
        pcpu = [0.0] * second.phys.nr_cpus
        load, nload = 0, 0
        for d, r in cur.items():
            p = prev[d]
            off = second.index[d]
            head = DERIVED_HEAD.unpack_from(second.derived.data, off)
            nraw = head[5]
            raw = struct.unpack_from(f"<{nraw}d", second.derived.data,
                                     off + DERIVED_HEAD.size + head[3] + 8 * head[4])
            ptimes = {v[0]: v[5] for v in p.vcpus if v[2]}
            per = []
            for v, x in zip(r.vcpus, raw):
                want = min(1.0, utilisation(ptimes[v[0]], v[5], r.cpu_stamp - p.cpu_stamp))
                assert x == want            # exactly
                pcpu[v[1]] += want
                per.append(want)
            load, nload = load + sum(per), nload + len(per)     # the monitor's sum
            devices = r.disks + r.nics
            for j, (ok, a, b, _name) in enumerate(devices):
                pa, pb = (p.disks + p.nics)[j][1:3]
                dt = (r.stamp - p.stamp) / 1e9
                assert raw[len(r.vcpus) + 2 * j:len(r.vcpus) + 2 * j + 2] == \
                    ((a - pa) / dt, (b - pb) / dt)
        assert second.derived.pcpu == pcpu and second.derived.load == load
        assert second.derived.nload == nload and domid in vms and nload >= 3
    run(tmp_path, body)


def test_a_domain_whose_vcpus_cannot_be_read_is_written_without_rates(tmp_path):
    """libxl_list_vcpu failing for a domain (it was dying) leaves it out of the rates and
    its devices unread: the round still writes what it knows (memory) and fails nothing."""
    async def body(h: VmHarness, s: str) -> None:
        vm, _vbd, _vif, domid = await running_vm(h, s)
        m = Monitor(h.services, 0.1)
        await ticks(m, 2)
        h.sim.fail_next("libxl_list_vcpu", -3, count=2)     # dom0's and the VM's
        before = m.ticks
        await ticks(m, 1)
        assert m.ticks == before + 1
        uuid = await h.call("VM.get_uuid", s, vm)
        assert m.rrd.latest[("vm", uuid, "memory")] > 0
        metrics = await h.call("VM.get_metrics", s, vm)
        assert await h.call("VM_metrics.get_VCPUs_utilisation", s, metrics) == {}
        await ticks(m, 2)       # back: two readings, rates again
        assert set(await h.call("VM_metrics.get_VCPUs_utilisation", s, metrics)) == {0, 1}
    run(tmp_path, body)


def test_c_rounding_matches_pythons():
    """The derivation tells a VM's records unchanged by comparing values rounded in C
    (snprintf "%.3f" / "%.3g", then strtod); the monitor writes Python's round(x, 3) and
    float(f"{x:.3g}"). Both round correctly, so they agree: checked on this libc, on random
    utilisations and rates and on exact binary ties."""
    import ctypes
    import random
    libc = ctypes.CDLL(None)
    libc.strtod.restype = ctypes.c_double
    libc.strtod.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    buf = ctypes.create_string_buffer(64)

    def c_round(x: float, fmt: bytes) -> float:
        libc.snprintf(buf, 64, fmt, ctypes.c_double(x))
        return libc.strtod(buf.value, None)

    rng = random.Random(13)
    utils = [rng.random() for _ in range(20000)] + [i / 2048 for i in range(2049)]
    rates = [rng.uniform(0, 1e7) for _ in range(20000)] + \
        [i / 1024 for i in range(0, 1 << 16, 7)] + [1.125, 2.5e3 + 0.5, 99.95, 0.0625]
    for x in utils:
        assert c_round(x, b"%.3f") == round(x, 3), x
    for x in rates:
        assert c_round(x, b"%.3g") == float(f"{x:.3g}"), x


def test_a_vm_started_during_a_read_keeps_its_declared_sources(tmp_path):
    """A VM started while a round reads the hypervisor is declared (listed by /rrd_updates at
    once); the end of that round, whose VMs were taken before the start, must not drop it."""
    async def body(h: VmHarness, s: str) -> None:
        import threading
        import time
        m = Monitor(h.services, 0.05)
        started = threading.Event()
        real = m._read

        def slow_read(*args: Any) -> Any:
            started.set()
            time.sleep(0.3)
            return real(*args)

        m._read = slow_read         # type: ignore[method-assign]
        m.start()
        try:
            while not started.is_set():
                await asyncio.sleep(0.01)
            vm, _vbd, _vif, _domid = await running_vm(h, s, vcpus=1)
            uuid = await h.call("VM.get_uuid", s, vm)
            m.declare_vm(vm)
            ticked = m.ticked
            await asyncio.wait_for(ticked.wait(), 5)     # the round that read before the start
            assert [k for k in m.rrd.archives[0].cols if k[:2] == ("vm", uuid)]
        finally:
            await m.stop()
    run(tmp_path, body)
