"""The monitor: one loop that samples the hypervisor every `interval` seconds and

- writes VM_metrics, VM_guest_metrics, VBD_metrics, VIF_metrics, host_metrics and host_cpu in
  ONE store transaction per tick, with only the fields that changed (no commit at all when
  nothing did); values are rounded so that sampling noise does not make an event per tick;
- feeds the time series behind /rrd_updates (xen/rrd.py) with xapi's data source names.

The hypervisor is read in a worker thread (the binding releases the GIL) through
`xenlight_py`'s public API only; the records are written on the event loop, after checking
that each VM still runs the sampled domain and that no VM operation owns it right now, so a
VM being shut down never gets the numbers of its dead domain written back.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import logging
import os
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from ..ratelimit import FailureLog
from ..store import NULL_REF
from ..store.refs import new_ref, new_uuid
from .config import domain_type, vdev
from .. import rrd_backup
from ..rrd import NAN, Key, Rrd

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 5.0
UTIL_DIGITS = 3         # vCPU / pCPU utilisation: 0.1 % steps
KBS_DIGITS = 3          # device rates in KiB/s: 3 significant digits
SECTOR = 512            # Linux block statistics count 512-byte sectors
MiB = 1 << 20
XVD_MAJOR = 202         # blkfront's xvd major: devnum = 202 << 8 | index << 4
# the classes _vm_of reads: while none changed, the previous round's VMs are still right
_TOPOLOGY = frozenset({"VM", "VBD", "VIF", "VDI", "SR"})


@dataclass
class _Vm:
    """A VM running here, as the store knew it when the tick began."""
    ref: str
    uuid: str
    domid: int
    control: bool
    vbds: dict[str, str] = field(default_factory=dict)      # vdev -> VBD ref
    vifs: dict[int, str] = field(default_factory=dict)      # devid -> VIF ref
    srs: dict[str, str] = field(default_factory=dict)       # vdev -> its VDI's SR uuid
    vcpus: int = 0                                          # vCPUs it started with
    # its data sources for a vCPU count, all NaN (kept while the VM is unchanged)
    sources: tuple[int, dict[Key, float]] | None = None


@dataclass
class _Read:
    """One reading of the hypervisor (taken in a worker thread)."""
    wall: float
    phys: Any
    domains: dict[int, Any]
    vcpus: dict[int, list[Any]]
    stamps: dict[int, int]                              # domid -> monotonic ns of its read
    cpu_stamps: dict[int, int]                          # domid -> monotonic ns of its vCPUs
    disks: dict[tuple[int, str], tuple[int, int]]       # (domid, vdev) -> (read, written) B
    nics: dict[tuple[int, int], tuple[int, int]]        # (domid, devid) -> (rx, tx) bytes
    guests: dict[int, Any]
    loadavg: float | None


class Monitor:
    """Samples the host every `interval` seconds; `tick()` does one round (tests call it)."""

    def __init__(self, services: Any, interval: float = DEFAULT_INTERVAL,
                 rrd: Rrd | None = None, busy: Callable[[], Collection[str]] = tuple) -> None:
        if not interval > 0:
            raise ValueError(f"monitor interval {interval!r} must be positive")
        self.services = services
        self.interval = float(interval)
        self.rrd = rrd if rrd is not None else Rrd()
        self._busy = busy               # VMs an operation owns: it writes their records
        self._task: asyncio.Task[None] | None = None
        self._reading: asyncio.Future[_Read] | None = None
        self._linked: Any = None        # this round's transaction, keeping relations
        self._vm_uuids: set[str] = set()    # VMs running here at the previous round
        self._declared: set[str] = set()    # VMs declared since this round took its VMs
        self._vms: tuple[int, dict[int, _Vm]] | None = None  # store generation, its VMs
        self._sr_uuids: set[str] = set()    # SRs plugged here at the previous round
        # previous cumulative counters: key -> (domain uuid, monotonic ns, value)
        self._prev_cpu: dict[tuple[int, int], tuple[str, int, int]] = {}
        self._prev_io: dict[tuple[str, int, Any], tuple[str, int, int, int]] = {}
        #: ticks done and commits made (tests count them; nothing changed -> no commit)
        self.ticks = 0
        self.commits = 0
        self.ticked = asyncio.Event()
        self.failures = FailureLog(log, "monitor round")
        #: set once the last backup is back in `rrd` (or there was none): whoever reads the
        #: series waits for it (`ready`), so a restart that serves before its RRDs are
        #: restored answers the same series as one that waited
        self.restored = asyncio.Event()
        self._restore_ok = False

    # --- life cycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Start the rounds; the backup is restored first, off the start's path (reading and
        parsing ~1,000 files took a quarter of a restart), before the first round."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def ready(self) -> None:
        """Wait until the series hold the last backup (at once after the start's restore)."""
        await self.restored.wait()

    async def _restore(self) -> None:
        if self.restored.is_set():
            return
        try:
            loaded = await asyncio.get_running_loop().run_in_executor(
                None, rrd_backup.load, self.services)
            restored = rrd_backup.apply(self.rrd, loaded)
            self._restore_ok = True
            if restored:
                log.info("restored the RRDs of %d objects from the last backup", restored)
        except OSError as exc:
            log.warning("RRD backup not restored: %s", exc)
        finally:
            self.restored.set()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.restored.set()         # a task cancelled before it ran: nobody waits forever
        reading, self._reading = self._reading, None
        if reading is not None:
            await asyncio.wait([reading])
        # graphs survive a restart (xapi backs up at shutdown); a monitor stopped before its
        # restore finished measured nothing and must not replace the backup with less
        if task is not None and self._restore_ok:
            try:
                await rrd_backup.backup(self.services, self.rrd)
            except OSError as exc:
                log.warning("RRD backup failed: %s", exc)

    async def _run(self) -> None:
        await self._restore()
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:    # noqa: BLE001 - a failed round must not end monitoring
                self.failures.failed(exc)   # a full disk fails every round: not a line each
            else:
                self.failures.passed()
            # keep the cadence; after a round longer than the interval start the next at once
            next_at = max(next_at + self.interval, loop.time())
            await asyncio.sleep(next_at - loop.time())

    # --- one round -------------------------------------------------------------------------
    async def tick(self) -> None:
        hv = getattr(self.services.backend, "hypervisor", None)
        if hv is None:
            return
        self._declared = set()
        vms = self._running_vms()
        loop = asyncio.get_running_loop()
        # shielded: a stop() mid-read waits for the thread, so the context is never closed
        # under a read still running
        self._reading = loop.run_in_executor(None, self._read, hv.context, hv.kind, vms)
        try:
            read = await asyncio.shield(self._reading)
        finally:
            if self._reading is not None and self._reading.done():
                self._reading = None
        series: dict[Key, float] = {}
        await self._write(read, vms, series)
        self.rrd.update(read.wall, series)
        running = {vm.uuid for vm in vms.values()}
        # a VM started during the read was declared after this round took its VMs: it is not
        # gone (forgetting it dropped its sources until the next round, and scanned every
        # key of the archives once per VM of a burst of starts)
        for uuid in self._vm_uuids - running - self._declared:
            self.rrd.forget("vm", uuid)
        self._vm_uuids = running | self._declared
        plugged = {k[1] for k in series if k[0] == "sr"}
        for uuid in self._sr_uuids - plugged:     # unplugged or destroyed: no more series
            self.rrd.forget("sr", uuid)
        self._sr_uuids = plugged
        self.ticks += 1
        self.ticked.set()
        self.ticked = asyncio.Event()

    def _running_vms(self) -> dict[int, _Vm]:
        """The VMs running here (never changed once returned: a later round may reuse it)."""
        store = self.services.store
        generation = store.generation
        if self._vms is not None and not store.changes_since(self._vms[0], _TOPOLOGY):
            return self._vms[1]     # a round writes metrics only: usually nothing to redo
        host = self.services.host_ref
        out: dict[int, _Vm] = {}
        for ref, rec in store.records("VM").items():
            if rec["power_state"] not in ("Running", "Paused") or rec["resident_on"] != host:
                continue
            vm = self._vm_of(ref, rec)
            out[vm.domid] = vm
        self._vms = (generation, out)
        return out

    def _vm_of(self, ref: str, rec: Any) -> _Vm:
        store = self.services.store
        vm = _Vm(ref, rec["uuid"], rec["domid"], rec["is_control_domain"],
                 vcpus=rec["VCPUs_at_startup"])
        for vbd in rec["VBDs"]:
            r = store.get("VBD", vbd)
            if r is not None and r["currently_attached"] and not r["empty"]:
                # the guest's device name, as the domain's config named it
                name = r["device"] or (vdev(r["userdevice"], domain_type(rec) == "hvm")
                                       if r["userdevice"] else "")
                if name:
                    vm.vbds[name] = vbd
                    vdi = store.get("VDI", r["VDI"])
                    sr = store.get("SR", vdi["SR"]) if vdi is not None else None
                    if sr is not None:
                        vm.srs[name] = sr["uuid"]
        for vif in rec["VIFs"]:
            r = store.get("VIF", vif)
            if r is not None and r["currently_attached"] and r["device"].isdigit():
                vm.vifs[int(r["device"])] = vif
        return vm

    @staticmethod
    def _sources(vm: _Vm, vcpus: int) -> list[Key]:
        """Every data source a running VM has (xapi lists them as soon as it runs)."""
        u = vm.uuid
        keys: list[Key] = [("vm", u, "memory")]
        keys += [("vm", u, f"cpu{i}") for i in range(vcpus)]
        for dev in vm.vbds:
            keys += [("vm", u, f"vbd_{dev}_read"), ("vm", u, f"vbd_{dev}_write"),
                     ("vm", u, f"vbd_{dev}_io_throughput_read"),
                     ("vm", u, f"vbd_{dev}_io_throughput_write")]
        for devid in vm.vifs:
            keys += [("vm", u, f"vif_{devid}_rx"), ("vm", u, f"vif_{devid}_tx")]
        return keys

    def declare_vm(self, ref: str) -> None:
        """A VM just started (or resumed) here: its data sources are listed by /rrd_updates
        at once, NaN until the next rounds measure them."""
        rec = self.services.store.get("VM", ref)
        if rec is None or rec["power_state"] not in ("Running", "Paused"):
            return
        vm = self._vm_of(ref, rec)
        self.rrd.declare(self._sources(vm, vm.vcpus))
        self._vm_uuids.add(vm.uuid)         # forgotten like the others once it stops
        self._declared.add(vm.uuid)

    @staticmethod
    def _read(ctx: Any, kind: str, vms: dict[int, _Vm]) -> _Read:
        """Everything the round needs from the hypervisor, read in one go (worker thread)."""
        from xenlight_py import XenlightError
        phys = ctx.physinfo()
        wall = time.time()
        domains = {d.domid: d for d in ctx.list_domains()}
        vcpus: dict[int, list[Any]] = {}
        stamps: dict[int, int] = {}
        cpu_stamps: dict[int, int] = {}
        disks: dict[tuple[int, str], tuple[int, int]] = {}
        nics: dict[tuple[int, int], tuple[int, int]] = {}
        guests: dict[int, Any] = {}
        sim = ctx.sim if kind == "sim" else None
        for domid in domains:
            try:
                vcpus[domid] = ctx.list_vcpus(domid)
            except XenlightError:
                continue            # died since list_domains
            # right after the read: the device and guest reads below take time, more so on a
            # loaded host, and a late stamp skews a steady 0.100 into 0.101 (a write a round)
            cpu_stamps[domid] = time.monotonic_ns()
            vm = vms.get(domid)
            if vm is not None:
                for dev in vm.vbds:
                    got = _disk_counters(sim, domid, dev)
                    if got is not None:
                        disks[(domid, dev)] = got
                for devid in vm.vifs:
                    got = _nic_counters(sim, domid, devid)
                    if got is not None:
                        nics[(domid, devid)] = got
                if sim is not None and domid != 0:
                    try:
                        guests[domid] = sim.guest_info(domid)
                    except XenlightError:
                        pass        # no guest agent answer this round
            # when this domain's counters were read: rates over 5 s must not take in the
            # time spent reading the other domains (1,000 of them take tens of ms)
            stamps[domid] = time.monotonic_ns()
        loadavg = None
        if kind != "sim":
            with contextlib.suppress(OSError):
                loadavg = os.getloadavg()[0]
        return _Read(wall, phys, domains, vcpus, stamps, cpu_stamps, disks, nics, guests, loadavg)

    # --- rates -----------------------------------------------------------------------------
    def _cpu_util(self, read: _Read) -> dict[int, dict[int, float]]:
        """Per domain, per online vCPU: utilisation 0..1 since the previous round."""
        from xenlight_py.stats import utilisation
        out: dict[int, dict[int, float]] = {}
        prev, cur = self._prev_cpu, {}
        for domid, vcs in read.vcpus.items():
            uuid = read.domains[domid].uuid
            now = read.cpu_stamps[domid]
            per: dict[int, float] = {}
            for v in vcs:
                if not v.online:
                    continue
                cur[(domid, v.vcpuid)] = (uuid, now, v.vcpu_time)
                p = prev.get((domid, v.vcpuid))
                if p is not None and p[0] == uuid:
                    per[v.vcpuid] = min(1.0, utilisation(p[2], v.vcpu_time, now - p[1]))
            out[domid] = per
        self._prev_cpu = cur
        return out

    def _io_rates(self, read: _Read) -> dict[tuple[str, int, Any], tuple[float, float]]:
        """Per device: (first, second) counter in bytes/s since the previous round."""
        out: dict[tuple[str, int, Any], tuple[float, float]] = {}
        prev, cur = self._prev_io, {}
        for kind, table in (("vbd", read.disks), ("vif", read.nics)):
            for (domid, dev), (a, b) in table.items():
                key = (kind, domid, dev)
                uuid = read.domains[domid].uuid
                now = read.stamps[domid]
                cur[key] = (uuid, now, a, b)
                p = prev.get(key)
                if p is None or p[0] != uuid or now <= p[1] or a < p[2] or b < p[3]:
                    continue        # first sight, new domain, or counters reset (replug)
                dt = (now - p[1]) / 1e9
                out[key] = ((a - p[2]) / dt, (b - p[3]) / dt)
        self._prev_io = cur
        return out

    # --- records ---------------------------------------------------------------------------
    async def _write(self, read: _Read, vms: dict[int, _Vm], series: dict[Key, float]) -> None:
        services = self.services
        store = services.store
        util = self._cpu_util(read)
        rates = self._io_rates(read)
        now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
        busy = self._busy()
        sr_io: dict[str, list[float]] = {}      # SR uuid -> [read, written] B/s
        async with services.transaction() as linked:
            # metrics fields hold no references: plain writes; the relation-keeping wrapper
            # (slow to reach through) only where a reference is set (VM.guest_metrics)
            self._linked = linked
            txn = linked.inner
            for domid, vm in vms.items():
                info = read.domains.get(domid)
                rec = store.get("VM", vm.ref)
                if info is None or rec is None or rec["domid"] != domid or vm.ref in busy \
                        or rec["power_state"] not in ("Running", "Paused") \
                        or (not vm.control and info.uuid != vm.uuid):
                    continue        # gone, replaced, or an operation owns it: not ours now
                self._vm(txn, read, vm, rec, info, util.get(domid, {}), rates, now, series,
                         sr_io)
            self._host(txn, read, util, now, series)
            self._srs(sr_io, series)
            if not txn.empty:
                await txn.commit()
                self.commits += 1

    def _vm(self, txn: Any, read: _Read, vm: _Vm, rec: Any, info: Any,
            util: dict[int, float], rates: dict, now: _dt.datetime,
            series: dict[Key, float], sr_io: dict[str, list[float]]) -> None:
        u = vm.uuid
        memory = info.current_memkb * 1024
        # every source is listed even before it has a value (rates need two readings)
        sources = vm.sources
        if sources is None or sources[0] != info.vcpu_online:
            sources = vm.sources = (info.vcpu_online,
                                    dict.fromkeys(self._sources(vm, info.vcpu_online), NAN))
        series.update(sources[1])
        series[("vm", u, "memory")] = float(memory)
        for i, x in util.items():
            series[("vm", u, f"cpu{i}")] = x
        vcs = [v for v in read.vcpus.get(vm.domid, []) if v.online]
        _update(txn, "VM_metrics", rec["metrics"], {
            "memory_actual": memory,
            "VCPUs_number": info.vcpu_online,
            "VCPUs_utilisation": {i: round(x, UTIL_DIGITS) for i, x in util.items()},
            "VCPUs_CPU": {v.vcpuid: v.cpu for v in vcs},
            "VCPUs_flags": {v.vcpuid: _vcpu_flags(v) for v in vcs},
        }, now)
        # per device: its rates' series names (xapi's) and its metrics record
        for kind, devices, cls, names in (("vbd", vm.vbds, "VBD", ("read", "write")),
                                          ("vif", vm.vifs, "VIF", ("rx", "tx"))):
            for dev, ref in devices.items():
                r = rates.get((kind, vm.domid, dev))
                if r is None:
                    continue
                series[("vm", u, f"{kind}_{dev}_{names[0]}")] = r[0]
                series[("vm", u, f"{kind}_{dev}_{names[1]}")] = r[1]
                if kind == "vbd":
                    series[("vm", u, f"vbd_{dev}_io_throughput_read")] = r[0] / MiB
                    series[("vm", u, f"vbd_{dev}_io_throughput_write")] = r[1] / MiB
                    sr = vm.srs.get(dev)
                    if sr is not None:
                        io = sr_io.setdefault(sr, [0.0, 0.0])
                        io[0] += r[0]
                        io[1] += r[1]
                drec = txn.get(cls, ref)
                if drec is not None:
                    _update(txn, f"{cls}_metrics", drec["metrics"], _kbs(r), now)
        g = read.guests.get(vm.domid)
        if g is not None:
            series[("vm", u, "memory_internal_free")] = float(g.mem_free_kb)
            self._guest(txn, vm, rec, g, now)

    def _guest(self, txn: Any, vm: _Vm, rec: Any, g: Any, now: _dt.datetime) -> None:
        """VM_guest_metrics from the guest agent; created (and VM.guest_metrics set) when the
        guest first reports, like xapi does when the PV tools first write to xenstore."""
        networks: dict[str, str] = {}
        if g.ipv4 and vm.vifs:
            dev = min(vm.vifs)
            networks = {f"{dev}/ip": g.ipv4, f"{dev}/ipv4/0": g.ipv4}
        used = max(0, g.mem_total_kb - g.mem_free_kb)
        vals = {
            "os_version": {"name": g.os_name, "uname": g.os_kernel,
                           "distro": g.os_name.split()[0].lower() if g.os_name else ""},
            "memory": {"total": str(g.mem_total_kb), "free": str(g.mem_free_kb),
                       "used": str(used)},
            "networks": networks, "PV_drivers_detected": True, "live": True,
        }
        gm = rec["guest_metrics"]
        if gm == NULL_REF or txn.get("VM_guest_metrics", gm) is None:
            gm = new_ref()
            linked = self._linked
            linked.create("VM_guest_metrics", gm, {
                **self.services.default_record("VM_guest_metrics"), "uuid": new_uuid(),
                "other_config": {}, "last_updated": now, **vals})
            linked.update("VM", vm.ref, {"guest_metrics": gm})
        else:
            _update(txn, "VM_guest_metrics", gm, vals, now)

    def _host(self, txn: Any, read: _Read, util: dict[int, dict[int, float]],
              now: _dt.datetime, series: dict[Key, float]) -> None:
        services = self.services
        host = services.host_ref
        hrec = services.store.get("host", host)
        if hrec is None:
            return
        h = hrec["uuid"]
        phys = read.phys
        total, free = phys.total_pages * 4096, phys.free_pages * 4096
        series[("host", h, "memory_total_kib")] = float(total // 1024)
        series[("host", h, "memory_free_kib")] = float(free // 1024)
        # No per-pCPU idle counter in libxl: a pCPU is as busy as the vCPUs placed on it.
        pcpu = [0.0] * phys.nr_cpus
        for domid, per in util.items():
            placed = {v.vcpuid: v.cpu for v in read.vcpus.get(domid, [])}
            for i, x in per.items():
                c = placed.get(i, -1)
                if 0 <= c < len(pcpu):
                    pcpu[c] += x
        pcpu = [min(1.0, x) for x in pcpu]
        for n, x in enumerate(pcpu):
            series[("host", h, f"cpu{n}")] = x
        if pcpu:
            series[("host", h, "cpu_avg")] = sum(pcpu) / len(pcpu)
        load = read.loadavg if read.loadavg is not None else \
            sum(sum(per.values()) for per in util.values())    # sim: runnable vCPUs
        series[("host", h, "loadavg")] = load
        _update(txn, "host_metrics", hrec["metrics"],
                {"memory_total": total, "memory_free": free, "live": True}, now)
        for ref in txn.refs("host_cpu"):
            c = txn.get("host_cpu", ref)
            if c["host"] == host and 0 <= c["number"] < len(pcpu):
                x = round(pcpu[c["number"]], UTIL_DIGITS)
                if c["utilisation"] != x:
                    txn.update("host_cpu", ref, {"utilisation": x})

    def _srs(self, sr_io: dict[str, list[float]], series: dict[Key, float]) -> None:
        """The SRs plugged here: the I/O of the running VMs' disks on them, in MiB/s."""
        store = self.services.store
        for pbd in store.records("PBD").values():
            if pbd["host"] != self.services.host_ref or not pbd["currently_attached"]:
                continue
            sr = store.get("SR", pbd["SR"])
            if sr is None:
                continue
            rd, wr = sr_io.get(sr["uuid"], (0.0, 0.0))
            u = sr["uuid"]
            series[("sr", u, "io_throughput_read")] = rd / MiB
            series[("sr", u, "io_throughput_write")] = wr / MiB
            series[("sr", u, "io_throughput_total")] = (rd + wr) / MiB


def _update(txn: Any, cls: str, ref: str, vals: dict[str, Any], now: _dt.datetime) -> None:
    """Write the fields of `vals` that differ (and last_updated with them); nothing if none."""
    if ref == NULL_REF:
        return
    rec = txn.get(cls, ref)
    if rec is None:
        return
    changed = {k: v for k, v in vals.items() if rec.get(k) != v}
    if changed:
        changed["last_updated"] = now
        txn.update(cls, ref, changed)


def _kbs(rate: tuple[float, float]) -> dict[str, float]:
    return {"io_read_kbs": _significant(rate[0] / 1024),
            "io_write_kbs": _significant(rate[1] / 1024)}


def _significant(x: float) -> float:
    """`KBS_DIGITS` significant digits: a rate's noise must not make an event every round."""
    return float(f"{x:.{KBS_DIGITS}g}")


def _vcpu_flags(v: Any) -> list[str]:
    return ["running"] if v.running else ["blocked"] if v.blocked else []


# --- device counters -----------------------------------------------------------------------
def _disk_counters(sim: Any, domid: int, vdev: str) -> tuple[int, int] | None:
    """(bytes read, bytes written) of a guest disk; None when unknown."""
    if sim is not None:
        from xenlight_py import XenlightError
        try:
            s = sim.disk_stats(domid, vdev)
        except XenlightError:
            return None
        return s.rd_bytes, s.wr_bytes
    devnum = _xvd_devnum(vdev)
    if devnum is None:
        return None
    base = f"/sys/bus/xen-backend/devices/vbd-{domid}-{devnum}/statistics"
    rd, wr = _sysfs_int(f"{base}/rd_sect"), _sysfs_int(f"{base}/wr_sect")
    return None if rd is None or wr is None else (rd * SECTOR, wr * SECTOR)


def _nic_counters(sim: Any, domid: int, devid: int) -> tuple[int, int] | None:
    """(bytes received, bytes sent) by the guest; None when unknown."""
    if sim is not None:
        from xenlight_py import XenlightError
        try:
            s = sim.nic_stats(domid, devid)
        except XenlightError:
            return None
        return s.rd_bytes, s.wr_bytes
    # the backend vif's counters are dom0's view: what it transmits, the guest receives
    base = f"/sys/class/net/vif{domid}.{devid}/statistics"
    tx, rx = _sysfs_int(f"{base}/tx_bytes"), _sysfs_int(f"{base}/rx_bytes")
    return None if tx is None or rx is None else (tx, rx)


def _xvd_devnum(vdev: str) -> int | None:
    """xvdX -> blkback's device number (202 << 8 | index << 4); None for other names."""
    if not vdev.startswith("xvd") or len(vdev) < 4 or not vdev[3:].isalpha():
        return None
    index = 0
    for ch in vdev[3:]:
        index = index * 26 + (ord(ch) - ord("a") + 1)
    index -= 1
    return (XVD_MAJOR << 8) | (index << 4) if index < 16 else (1 << 28) | (index << 8)


def _sysfs_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


__all__ = ["DEFAULT_INTERVAL", "Monitor"]
