"""The monitor: one loop that samples the hypervisor every `interval` seconds and

- writes VM_metrics, VM_guest_metrics, VBD_metrics, VIF_metrics, host_metrics and host_cpu in
  ONE store transaction per tick, with only the fields that changed (no commit at all when
  nothing did); values are rounded so that sampling noise does not make an event per tick;
- feeds the time series behind /rrd_updates (xen/rrd.py) with xapi's data source names.

The hypervisor is read in a worker thread (the binding releases the GIL) through
`xenlight_py`'s public API only, in one C call for every domain (`Context.sample_domains`); the records are written on the event loop, after checking
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
MiB = 1 << 20
# the classes _vm_of reads: while none changed, the previous round's VMs are still right
_TOPOLOGY = frozenset({"VM", "VBD", "VIF", "VDI", "SR"})
# the records a round writes: a memo of what one was compared with holds until it changes
_METRICS = frozenset({"VM_metrics", "VBD_metrics", "VIF_metrics", "VM_guest_metrics"})
# (series kind, which of the VM's device maps (0: vbds, 1: vifs), record class)
_DEVICE_KINDS = (("vbd", 0, "VBD"), ("vif", 1, "VIF"))
# DomainInfo fields in a sample record's info tuple (xenlight_py.sample.DOMINFO_FORMAT)
_CURRENT_MEMKB = 11
_VCPU_ONLINE = 17


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
    metrics: str = NULL_REF                                 # its VM_metrics ref
    # series keys of its vCPUs (by vCPU id) and devices (kind, dev) -> rate keys
    cpu_keys: dict[int, Key] = field(default_factory=dict)
    dev_keys: dict[tuple[str, Any], tuple[Key, ...]] = field(default_factory=dict)
    dev_metrics: dict[str, str] = field(default_factory=dict)  # VBD/VIF ref -> its metrics

    def cpu_key(self, i: int) -> Key:
        k = self.cpu_keys.get(i)
        if k is None:
            k = self.cpu_keys[i] = ("vm", self.uuid, f"cpu{i}")
        return k


@dataclass
class _Read:
    """One reading of the hypervisor (taken in a worker thread): every domain's record of
    one `Context.sample_domains` call (vCPUs, and the counters of the devices and guest
    agent of the VMs running here; xenlight_py/sample.py)."""
    wall: float
    phys: Any
    domains: dict[int, Any]                             # domid -> its DomainRecord
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
        # store generation, its VMs, their sample request
        self._vms: tuple[int, dict[int, _Vm], bytes] | None = None
        # metrics record ref -> the values it was last compared with, set once that round
        # committed: the same values again need no store access (dropped when the record
        # changes, our own writes included); valid for records unchanged since _memo_since
        self._memo: dict[str, Any] = {}
        self._memo_since = 0
        self._plugged: set[str] = set()     # SRs plugged here at this round
        self._sr_uuids: set[str] = set()    # SRs plugged here at the previous round
        # previous cumulative counters: key -> (domain uuid, monotonic ns, value)
        self._prev_cpu: dict[int, tuple[bytes, int, dict[int, int]]] = {}
        self._prev_io: dict[tuple[str, int, Any], tuple[bytes, int, int, int]] = {}
        #: ticks done and commits made (tests count them; nothing changed -> no commit)
        self.ticks = 0
        self.commits = 0
        self.ticked = asyncio.Event()
        self.failures = FailureLog(log, "monitor round")

    # --- life cycle ------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            restored = rrd_backup.read(self.services, self.rrd)
            if restored:
                log.info("restored the RRDs of %d objects from the last backup", restored)
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        reading, self._reading = self._reading, None
        if reading is not None:
            await asyncio.wait([reading])
        if task is not None:        # graphs survive a restart (xapi backs up at shutdown)
            try:
                await rrd_backup.backup(self.services, self.rrd)
            except OSError as exc:
                log.warning("RRD backup failed: %s", exc)

    async def _run(self) -> None:
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
        vms = self._running_vms()
        request = self._vms[2] if self._vms is not None else b""
        loop = asyncio.get_running_loop()
        # shielded: a stop() mid-read waits for the thread, so the context is never closed
        # under a read still running
        self._reading = loop.run_in_executor(None, self._read, hv.context, hv.kind, request)
        try:
            read = await asyncio.shield(self._reading)
        finally:
            if self._reading is not None and self._reading.done():
                self._reading = None
        series: dict[Key, float] = {}
        await self._write(read, vms, series)
        self.rrd.update(read.wall, series)
        running = {vm.uuid for vm in vms.values()}
        for uuid in self._vm_uuids - running:
            self.rrd.forget("vm", uuid)
        self._vm_uuids = running
        plugged = self._plugged
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
        self._vms = (generation, out, self._request(out, self.services.backend.hypervisor.kind))
        return out

    @staticmethod
    def _request(vms: dict[int, _Vm], kind: str) -> bytes:
        """What the round reads of each VM's domain: its disks', NICs' and guest's counters."""
        from xenlight_py.sample import request
        return request((domid, list(vm.vbds), list(vm.vifs), kind == "sim" and domid != 0)
                       for domid, vm in vms.items())

    def _vm_of(self, ref: str, rec: Any) -> _Vm:
        store = self.services.store
        vm = _Vm(ref, rec["uuid"], rec["domid"], rec["is_control_domain"],
                 vcpus=rec["VCPUs_at_startup"], metrics=rec["metrics"])
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

    @staticmethod
    def _read(ctx: Any, kind: str, request: bytes) -> _Read:
        """Everything the round needs from the hypervisor, read in one go (worker thread):
        one C call samples every domain (stamped as each is read: rates over 5 s must not
        take in the time spent reading the others, tens of ms for 1,000 domains)."""
        phys = ctx.physinfo()
        wall = time.time()
        domains = {r.domid: r for r in ctx.sample_domains(request).records()}
        loadavg = None
        if kind != "sim":
            with contextlib.suppress(OSError):
                loadavg = os.getloadavg()[0]
        return _Read(wall, phys, domains, loadavg)

    # --- rates -----------------------------------------------------------------------------
    def _cpu_util(self, read: _Read) -> dict[int, dict[int, float]]:
        """Per domain, per online vCPU: utilisation 0..1 since the previous round."""
        from xenlight_py.stats import utilisation
        out: dict[int, dict[int, float]] = {}
        # domid -> (domain uuid, monotonic ns, {vcpuid: vcpu_time})
        prev, cur = self._prev_cpu, {}
        for domid, r in read.domains.items():
            vcs = r.vcpus
            if vcs is None:
                continue            # died since the domain list
            uuid = r.info[1]
            now = r.cpu_stamp
            p = prev.get(domid)
            if p is not None and p[0] != uuid:
                p = None            # a new domain reusing the domid
            times: dict[int, int] = {}
            per: dict[int, float] = {}
            for vcpuid, _cpu, online, _blocked, _running, t in vcs:
                if not online:
                    continue
                times[vcpuid] = t
                if p is not None:
                    pt = p[2].get(vcpuid)
                    if pt is not None:
                        per[vcpuid] = min(1.0, utilisation(pt, t, now - p[1]))
            cur[domid] = (uuid, now, times)
            out[domid] = per
        self._prev_cpu = cur
        return out

    def _io_rates(self, read: _Read, vms: dict[int, _Vm]
                  ) -> dict[tuple[str, int, Any], tuple[float, float]]:
        """Per device: (first, second) counter in bytes/s since the previous round."""
        out: dict[tuple[str, int, Any], tuple[float, float]] = {}
        prev, cur = self._prev_io, {}
        for domid, vm in vms.items():
            r = read.domains.get(domid)
            if r is None or r.vcpus is None or not (r.disks or r.nics):
                continue
            uuid = r.info[1]
            now = r.stamp
            for kind, names, counters in (("vbd", vm.vbds, r.disks), ("vif", vm.vifs, r.nics)):
                for dev, (ok, a, b) in zip(names, counters):
                    if not ok:
                        continue
                    key = (kind, domid, dev)
                    cur[key] = (uuid, now, a, b)
                    p = prev.get(key)
                    if p is None or p[0] != uuid or now <= p[1] or a < p[2] or b < p[3]:
                        continue        # first sight, new domain, or counters reset (replug)
                    dt = (now - p[1]) / 1e9
                    out[key] = ((a - p[2]) / dt, (b - p[3]) / dt)
        self._prev_io = cur
        return out

    # --- records ---------------------------------------------------------------------------
    def _memos(self, generation: int) -> None:
        """Forget the memos of the metrics records changed since the last round (our own
        writes among them: a memo is set only once its round committed)."""
        store = self.services.store
        since, self._memo_since = self._memo_since, generation
        if not self._memo:
            return
        if not since or store.horizon > since:
            self._memo.clear()
            return
        for c in store.changes_since(since, _METRICS):
            self._memo.pop(c.ref, None)

    async def _write(self, read: _Read, vms: dict[int, _Vm], series: dict[Key, float]) -> None:
        services = self.services
        store = services.store
        self._memos(store.generation)
        util = self._cpu_util(read)
        rates = self._io_rates(read, vms)
        now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
        busy = self._busy()
        sr_io: dict[str, list[float]] = {}      # SR uuid -> [read, written] B/s
        memos: list[tuple[str, Any]] = []       # this round's, kept once it committed
        get = store.get
        async with services.transaction() as linked:
            # metrics fields hold no references: plain writes; the relation-keeping wrapper
            # (slow to reach through) only where a reference is set (VM.guest_metrics)
            self._linked = linked
            txn = linked.inner
            for domid, vm in vms.items():
                r = read.domains.get(domid)
                rec = get("VM", vm.ref)
                if r is None or rec is None or rec["domid"] != domid or vm.ref in busy \
                        or rec["power_state"] not in ("Running", "Paused") \
                        or (not vm.control and r.info[1].decode() != vm.uuid):
                    continue        # gone, replaced, or an operation owns it: not ours now
                self._vm(txn, r, vm, rec, util.get(domid, {}), rates, now, series, sr_io,
                         memos)
            self._host(txn, read, util, now, series)
            self._srs(sr_io, series)
            if not txn.empty:
                await txn.commit()
                self.commits += 1
        self._memo.update(memos)

    def _vm(self, txn: Any, r: Any, vm: _Vm, rec: Any, util: dict[int, float], rates: dict,
            now: _dt.datetime, series: dict[Key, float], sr_io: dict[str, list[float]],
            memos: list[tuple[str, Any]]) -> None:
        u = vm.uuid
        info = r.info
        online = info[_VCPU_ONLINE]
        memory = info[_CURRENT_MEMKB] * 1024
        # every source is listed even before it has a value (rates need two readings)
        sources = vm.sources
        if sources is None or sources[0] != online:
            sources = vm.sources = (online, dict.fromkeys(self._sources(vm, online), NAN))
        series.update(sources[1])
        series[("vm", u, "memory")] = float(memory)
        cpu_keys = vm.cpu_keys
        rounded = []
        for i, x in util.items():
            k = cpu_keys.get(i)
            series[k if k is not None else vm.cpu_key(i)] = x
            rounded.append((i, round(x, UTIL_DIGITS)))
        # (vcpuid, cpu, online, blocked, running, time): the fields the record shows
        vcs = [v for v in r.vcpus or () if v[2]]
        ref = rec["metrics"]
        memo = (memory, online, rounded, [(v[0], v[1], v[3], v[4]) for v in vcs])
        if self._memo.get(ref) != memo:
            _update(txn, "VM_metrics", ref, {
                "memory_actual": memory,
                "VCPUs_number": online,
                "VCPUs_utilisation": dict(memo[2]),
                "VCPUs_CPU": {v[0]: v[1] for v in vcs},
                "VCPUs_flags": {v[0]: _vcpu_flags(v) for v in vcs},
            }, now)
            memos.append((ref, memo))
        # per device: its rates' series names (xapi's) and its metrics record
        domid = vm.domid
        for kind, devices, cls in _DEVICE_KINDS:
            devices = vm.vifs if devices else vm.vbds
            for dev, dref in devices.items():
                rate = rates.get((kind, domid, dev))
                if rate is None:
                    continue
                keys = vm.dev_keys.get((kind, dev))
                if keys is None:
                    keys = vm.dev_keys[(kind, dev)] = _dev_keys(u, kind, dev)
                series[keys[0]] = rate[0]
                series[keys[1]] = rate[1]
                if kind == "vbd":
                    series[keys[2]] = rate[0] / MiB
                    series[keys[3]] = rate[1] / MiB
                    sr = vm.srs.get(dev)
                    if sr is not None:
                        io = sr_io.setdefault(sr, [0.0, 0.0])
                        io[0] += rate[0]
                        io[1] += rate[1]
                kbs = _kbs(rate)
                mref = vm.dev_metrics.get(dref)
                if mref is None:
                    drec = txn.get(cls, dref)
                    if drec is None:
                        continue
                    mref = vm.dev_metrics[dref] = drec["metrics"]
                memo_kbs = (kbs["io_read_kbs"], kbs["io_write_kbs"])
                if self._memo.get(mref) != memo_kbs:
                    _update(txn, f"{cls}_metrics", mref, kbs, now)
                    memos.append((mref, memo_kbs))
        g = r.guest
        if g is not None and g[0]:
            series[("vm", u, "memory_internal_free")] = float(g[2])
            self._guest(txn, vm, rec, g, now, memos)

    def _guest(self, txn: Any, vm: _Vm, rec: Any, g: tuple, now: _dt.datetime,
               memos: list[tuple[str, Any]]) -> None:
        """VM_guest_metrics from the guest agent; created (and VM.guest_metrics set) when the
        guest first reports, like xapi does when the PV tools first write to xenstore."""
        gm = rec["guest_metrics"]
        dev = min(vm.vifs) if vm.vifs else None
        memo = (g, dev)
        if gm != NULL_REF and self._memo.get(gm) == memo:
            return
        _ok, total, free, name, kernel, ipv4 = g
        os_name = name.decode(errors="replace")
        ip = ipv4.decode(errors="replace")
        networks: dict[str, str] = {}
        if ip and dev is not None:
            networks = {f"{dev}/ip": ip, f"{dev}/ipv4/0": ip}
        used = max(0, total - free)
        vals = {
            "os_version": {"name": os_name, "uname": kernel.decode(errors="replace"),
                           "distro": os_name.split()[0].lower() if os_name else ""},
            "memory": {"total": str(total), "free": str(free), "used": str(used)},
            "networks": networks, "PV_drivers_detected": True, "live": True,
        }
        if gm == NULL_REF or txn.get("VM_guest_metrics", gm) is None:
            gm = new_ref()
            linked = self._linked
            linked.create("VM_guest_metrics", gm, {
                **self.services.default_record("VM_guest_metrics"), "uuid": new_uuid(),
                "other_config": {}, "last_updated": now, **vals})
            linked.update("VM", vm.ref, {"guest_metrics": gm})
        else:
            _update(txn, "VM_guest_metrics", gm, vals, now)
            memos.append((gm, memo))

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
        domains = read.domains
        for domid, per in util.items():
            if not per:
                continue
            placed = {v[0]: v[1] for v in domains[domid].vcpus}
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
        self._plugged = plugged = set()
        for pbd in store.records("PBD").values():
            if pbd["host"] != self.services.host_ref or not pbd["currently_attached"]:
                continue
            sr = store.get("SR", pbd["SR"])
            if sr is None:
                continue
            rd, wr = sr_io.get(sr["uuid"], (0.0, 0.0))
            u = sr["uuid"]
            plugged.add(u)
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


def _vcpu_flags(v: tuple) -> list[str]:
    """(vcpuid, cpu, online, blocked, running, time) -> the vCPU's flags, as xapi names them."""
    return ["running"] if v[4] else ["blocked"] if v[3] else []


def _dev_keys(u: str, kind: str, dev: Any) -> tuple[Key, ...]:
    """A device's rate series: xapi's names (vbd: read, write and their MiB/s throughput)."""
    if kind == "vbd":
        return (("vm", u, f"vbd_{dev}_read"), ("vm", u, f"vbd_{dev}_write"),
                ("vm", u, f"vbd_{dev}_io_throughput_read"),
                ("vm", u, f"vbd_{dev}_io_throughput_write"))
    return ("vm", u, f"vif_{dev}_rx"), ("vm", u, f"vif_{dev}_tx")


__all__ = ["DEFAULT_INTERVAL", "Monitor"]
