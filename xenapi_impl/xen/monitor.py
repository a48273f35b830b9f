"""The monitor: one loop that samples the hypervisor every `interval` seconds and

- writes VM_metrics, VM_guest_metrics, VBD_metrics, VIF_metrics, host_metrics and host_cpu in
  ONE store transaction per tick, with only the fields that changed (no commit at all when
  nothing did); values are rounded so that sampling noise does not make an event per tick;
- feeds the time series behind /rrd_updates (xen/rrd.py) with xapi's data source names.

The hypervisor is read in a worker thread (the binding releases the GIL) through
`xenlight_py`'s public API only: one C call samples every domain (`Context.sample_domains`),
one more derives rates, record values and series from it and the previous sample
(`DomainSample.derive`), so a VM whose records already show its values costs one series
update. The records are written on the event loop, after checking that each VM still runs
the sampled domain and that no VM operation owns it right now, so a VM being shut down never
gets the numbers of its dead domain written back.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import logging
import os
import struct
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import lru_cache
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
# the records a round writes: a VM whose records changed is compared with the store again
_METRICS = frozenset({"VM_metrics", "VBD_metrics", "VIF_metrics", "VM_guest_metrics"})
# (series kind, which of the VM's device maps (0: vbds, 1: vifs), record class)
_DEVICE_KINDS = (("vbd", 0, "VBD"), ("vif", 1, "VIF"))
# DomainInfo fields in a sample record's info tuple (xenlight_py.sample.DOMINFO_FORMAT)
_CURRENT_MEMKB = 11
_VCPU_ONLINE = 17
# a sample record's domain uuid (ASCII): after its head (domid, size, two stamps) and domid
_UUID_AT = 28
_UUID_END = _UUID_AT + 36
# fields of a derived record's head (xenlight_py.sample.DERIVED_HEAD)
_D_SAMPLE_OFF, _D_STORE_SIZE, _D_NSERIES, _D_NRAW, _D_REGULAR, _D_SAME, _D_GUEST_OK = \
    2, 3, 4, 5, 6, 7, 8


@lru_cache(maxsize=1024)
def _doubles(n: int) -> struct.Struct:
    return struct.Struct(f"<{n}d")


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
    uuid_bytes: bytes = b""                                 # its uuid as a sample holds it
    # its data sources for a vCPU count, all NaN (kept while the VM is unchanged)
    sources: tuple[int, dict[Key, float]] | None = None
    # series keys of its vCPUs (by vCPU id) and devices (kind, dev) -> rate keys
    cpu_keys: dict[int, Key] = field(default_factory=dict)
    dev_keys: dict[tuple[str, Any], tuple[Key, ...]] = field(default_factory=dict)
    # its series keys in the derived sample's order (a regular layout): vCPU count, keys
    # without the guest's free memory, keys with it
    series_keys: tuple[int, list[Key], list[Key]] | None = None
    # its records hold what its last derived values show (set once that round committed,
    # cleared when one of them changes): the same values again need no store access
    settled: bool = False

    def cpu_key(self, i: int) -> Key:
        k = self.cpu_keys.get(i)
        if k is None:
            k = self.cpu_keys[i] = ("vm", self.uuid, f"cpu{i}")
        return k


@dataclass
class _Read:
    """One reading of the hypervisor (taken in a worker thread): one
    `Context.sample_domains` call (every domain's vCPUs, and the counters of the devices and
    guest agent of the VMs running here) and its derivation against the previous reading
    (rates, the values the records show, series: xenlight_py/sample.py, decl/shim.h)."""
    wall: float
    phys: Any
    sample: Any                                         # xenlight_py.sample.DomainSample
    derived: Any                                        # xenlight_py.sample.Derived
    index: dict[int, int]                               # domid -> its derived record
    loadavg: float | None

    @property
    def domains(self) -> dict[int, Any]:
        """domid -> DomainRecord (parsed on demand: the round reads the packed records)."""
        return {r.domid: r for r in self.sample.records()}


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
        self._running_of: dict[int, _Vm] | None = None     # the VMs _vm_uuids was made of
        # store generation, its VMs, their sample request
        self._vms: tuple[int, dict[int, _Vm], bytes] | None = None
        # metrics record ref -> the VM whose round wrote it (a change by anyone unsettles
        # it), valid for records unchanged since _settled_since
        self._owner: dict[str, _Vm] = {}
        self._settled_since = 0
        self._plugged: set[str] = set()     # SRs plugged here at this round
        self._declared: set[str] = set()    # VMs declared since this round took its VMs
        self._sr_uuids: set[str] = set()    # SRs plugged here at the previous round
        # the previous reading (its cumulative counters) and its derivation
        self._prev: tuple[Any, Any] | None = None
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
        request = self._vms[2] if self._vms is not None else b""
        loop = asyncio.get_running_loop()
        # shielded: a stop() mid-read waits for the thread, so the context is never closed
        # under a read still running
        self._reading = loop.run_in_executor(None, self._read, hv.context, hv.kind, request,
                                             self._prev)
        try:
            read = await asyncio.shield(self._reading)
        finally:
            if self._reading is not None and self._reading.done():
                self._reading = None
        self._prev = (read.sample, read.derived)
        series: dict[Key, float] = {}
        await self._write(read, vms, series)
        self.rrd.update(read.wall, series)
        if vms is not self._running_of:
            self._running_of = vms
            running = {vm.uuid for vm in vms.values()}
            # a VM started during the read was declared after this round took its VMs: it
            # is not gone (forgetting it dropped its sources until the next round, and
            # scanned every key of the archives once per VM of a burst of starts)
            for uuid in self._vm_uuids - running - self._declared:
                self.rrd.forget("vm", uuid)
            self._vm_uuids = running | self._declared
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
            # a round writes metrics only: usually nothing to redo; the next check starts
            # from here (not from the VMs' making: every metrics write since then would be
            # walked through again each round)
            self._vms = (generation, *self._vms[1:])
            return self._vms[1]
        host = self.services.host_ref
        self._owner = {}            # every VM is new, unsettled: its round fills it again
        out: dict[int, _Vm] = {}
        for ref, rec in store.records("VM").items():
            if rec["power_state"] not in ("Running", "Paused") or rec["resident_on"] != host:
                continue
            vm = self._vm_of(ref, rec)
            out[vm.domid] = vm
        hv = getattr(self.services.backend, "hypervisor", None)
        self._vms = (generation, out, self._request(out, hv.kind if hv is not None else ""))
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
                 vcpus=rec["VCPUs_at_startup"],
                 uuid_bytes=rec["uuid"].encode("ascii", "replace"))
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
        self._running_of = None             # checked again at the next round
        self._declared.add(vm.uuid)

    @staticmethod
    def _read(ctx: Any, kind: str, request: bytes, prev: tuple[Any, Any] | None = None
              ) -> _Read:
        """Everything the round needs from the hypervisor, read in one go (worker thread):
        one C call samples every domain (stamped as each is read: rates over 5 s must not
        take in the time spent reading the others, tens of ms for 1,000 domains), one more
        derives it against the previous reading `prev` (sample, derivation)."""
        phys = ctx.physinfo()
        wall = time.time()
        sample = ctx.sample_domains(request)
        derived = sample.derive(*(prev or (None, None)), phys.nr_cpus)
        loadavg = None
        if kind != "sim":
            with contextlib.suppress(OSError):
                loadavg = os.getloadavg()[0]
        return _Read(wall, phys, sample, derived, derived.index(), loadavg)

    # --- records ---------------------------------------------------------------------------
    def _unsettle(self, vms: dict[int, _Vm], generation: int) -> None:
        """VMs whose metrics records changed since the last round (our own writes among
        them) are compared with the store again."""
        store = self.services.store
        since, self._settled_since = self._settled_since, generation
        if not since or store.horizon > since:
            for vm in vms.values():
                vm.settled = False
            return
        owner = self._owner
        for c in store.changes_since(since, _METRICS):
            vm = owner.get(c.ref)
            if vm is not None:
                vm.settled = False

    async def _write(self, read: _Read, vms: dict[int, _Vm], series: dict[Key, float]) -> None:
        from xenlight_py.sample import DERIVED_HEAD
        services = self.services
        store = services.store
        self._unsettle(vms, store.generation)
        now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
        busy = self._busy()
        sr_io: dict[str, list[float]] = {}      # SR uuid -> [read, written] B/s
        settled: list[_Vm] = []                 # compared with the store this round
        get = store.get
        index = read.index
        data = read.derived.data
        sdata = read.sample.data
        head = DERIVED_HEAD.unpack_from
        hsize = DERIVED_HEAD.size
        try:
            async with services.transaction() as linked:
                # metrics fields hold no references: plain writes; the relation-keeping
                # wrapper (slow to reach through) only where a reference is set
                self._linked = linked
                txn = linked.inner
                for domid, vm in vms.items():
                    off = index.get(domid)
                    rec = get("VM", vm.ref)
                    if off is None or rec is None or rec["domid"] != domid or vm.ref in busy \
                            or rec["power_state"] not in ("Running", "Paused"):
                        vm.settled = False
                        continue    # gone, replaced, or an operation owns it: not ours now
                    h = head(data, off)
                    soff = h[_D_SAMPLE_OFF]
                    if not vm.control and \
                            sdata[soff + _UUID_AT:soff + _UUID_END] != vm.uuid_bytes:
                        vm.settled = False
                        continue
                    at = off + hsize + h[_D_STORE_SIZE]
                    if vm.settled and h[_D_SAME] and h[_D_REGULAR]:
                        # its records already show these values: its series only
                        values = _doubles(h[_D_NSERIES]).unpack_from(data, at)
                        series.update(zip(self._series_keys(vm, values, h[_D_GUEST_OK]),
                                          values))
                        if vm.srs:
                            self._sr_io_of(vm, values, sr_io)
                        continue
                    vm.settled = False
                    self._vm(txn, read.sample.record_at(soff), vm, rec,
                             _doubles(h[_D_NRAW]).unpack_from(
                                 data, at + 8 * h[_D_NSERIES]), now, series, sr_io)
                    settled.append(vm)
                self._host(txn, read, now, series)
                self._srs(sr_io, series)
                if not txn.empty:
                    await txn.commit()
                    self.commits += 1
        except BaseException:
            for vm in vms.values():     # what the store holds is not known now
                vm.settled = False
            raise
        for vm in settled:
            vm.settled = True

    def _series_keys(self, vm: _Vm, values: tuple[float, ...], guest: bool) -> list[Key]:
        """The keys of a regular derived series: its sources, then the guest's free memory."""
        online = len(values) - 1 - 4 * len(vm.vbds) - 2 * len(vm.vifs) - guest
        keys = vm.series_keys
        if keys is None or keys[0] != online:
            sources = list(self._vm_sources(vm, online))
            keys = vm.series_keys = (online, sources,
                                     sources + [("vm", vm.uuid, "memory_internal_free")])
        return keys[2] if guest else keys[1]

    @staticmethod
    def _sr_io_of(vm: _Vm, values: tuple[float, ...], sr_io: dict[str, list[float]]) -> None:
        """A regular series' disk rates added to their SRs' I/O (NaN: no rate this round)."""
        at = 1 + vm.series_keys[0] if vm.series_keys else 1     # memory, cpu0..: disks
        for dev in vm.vbds:
            rd, wr = values[at], values[at + 1]
            at += 4
            if rd == rd:
                sr = vm.srs.get(dev)
                if sr is not None:
                    io = sr_io.setdefault(sr, [0.0, 0.0])
                    io[0] += rd
                    io[1] += wr

    def _vm_sources(self, vm: _Vm, online: int) -> dict[Key, float]:
        sources = vm.sources
        if sources is None or sources[0] != online:
            sources = vm.sources = (online, dict.fromkeys(self._sources(vm, online), NAN))
        return sources[1]

    def _vm(self, txn: Any, r: Any, vm: _Vm, rec: Any, raw: tuple[float, ...],
            now: _dt.datetime, series: dict[Key, float], sr_io: dict[str, list[float]]
            ) -> None:
        """A VM compared with the store: its records and series from its sample record and
        its derived rates `raw` (per vCPU, then two per disk and per NIC; NaN: none)."""
        u = vm.uuid
        info = r.info
        online = info[_VCPU_ONLINE]
        memory = info[_CURRENT_MEMKB] * 1024
        vcpus = r.vcpus or ()
        util = {v[0]: x for v, x in zip(vcpus, raw) if x == x}
        # every source is listed even before it has a value (rates need two readings)
        series.update(self._vm_sources(vm, online))
        series[("vm", u, "memory")] = float(memory)
        for i, x in util.items():
            series[vm.cpu_key(i)] = x
        vcs = [v for v in vcpus if v[2]]
        ref = rec["metrics"]
        self._owner[ref] = vm
        _update(txn, "VM_metrics", ref, {
            "memory_actual": memory,
            "VCPUs_number": online,
            "VCPUs_utilisation": {i: round(x, UTIL_DIGITS) for i, x in util.items()},
            "VCPUs_CPU": {v[0]: v[1] for v in vcs},
            "VCPUs_flags": {v[0]: _vcpu_flags(v) for v in vcs},
        }, now)
        # per device: its rates' series names (xapi's) and its metrics record; none at all
        # when its vCPUs could not be read (the domain was dying: no device was read)
        at = len(vcpus)
        for kind, which, cls in _DEVICE_KINDS:
            for dev, dref in (vm.vifs if which else vm.vbds).items():
                if at + 1 >= len(raw):
                    break
                rate = raw[at], raw[at + 1]
                at += 2
                if rate[0] != rate[0]:
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
                drec = txn.get(cls, dref)
                if drec is not None:
                    self._owner[drec["metrics"]] = vm
                    _update(txn, f"{cls}_metrics", drec["metrics"], _kbs(rate), now)
        g = r.guest
        if g is not None and g[0]:
            series[("vm", u, "memory_internal_free")] = float(g[2])
            self._guest(txn, vm, rec, g, now)

    def _guest(self, txn: Any, vm: _Vm, rec: Any, g: tuple, now: _dt.datetime) -> None:
        """VM_guest_metrics from the guest agent; created (and VM.guest_metrics set) when the
        guest first reports, like xapi does when the PV tools first write to xenstore."""
        _ok, total, free, name, kernel, ipv4 = g
        os_name = name.decode(errors="replace")
        ip = ipv4.decode(errors="replace")
        networks: dict[str, str] = {}
        if ip and vm.vifs:
            dev = min(vm.vifs)
            networks = {f"{dev}/ip": ip, f"{dev}/ipv4/0": ip}
        used = max(0, total - free)
        vals = {
            "os_version": {"name": os_name, "uname": kernel.decode(errors="replace"),
                           "distro": os_name.split()[0].lower() if os_name else ""},
            "memory": {"total": str(total), "free": str(free), "used": str(used)},
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
            self._owner[gm] = vm
            _update(txn, "VM_guest_metrics", gm, vals, now)

    def _host(self, txn: Any, read: _Read, now: _dt.datetime,
              series: dict[Key, float]) -> None:
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
        # No per-pCPU idle counter in libxl: a pCPU is as busy as the vCPUs placed on it
        # (summed by the derivation, domain by domain, vCPU by vCPU).
        pcpu = [min(1.0, x) for x in read.derived.pcpu]
        for n, x in enumerate(pcpu):
            series[("host", h, f"cpu{n}")] = x
        if pcpu:
            series[("host", h, "cpu_avg")] = sum(pcpu) / len(pcpu)
        derived = read.derived      # sim: runnable vCPUs (an int 0 when none was measured)
        load = read.loadavg if read.loadavg is not None else \
            derived.load if derived.nload else 0
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
