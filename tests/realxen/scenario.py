"""The binding's shared scenario: one file, run on the real hypervisor (in dom0, by
dom0/run_scenario.py) and on the simulator (tests/binding/test_scenario_sim.py).

It drives a PV guest through xenlight_py's public API only -- host queries (cpupools, CPU
and NUMA topology too), create, list, info, vCPUs, start time, device lists, the console
tty, pause/unpause, a memory target change, an orderly shutdown the guest honours,
destroy, the events of all this, and requests that must fail -- and records what it
observes as a flat {name: JSON value} map. compare.py holds the rules for comparing the
two backends' maps. Things that differ between runs of the same backend (uuids, times,
the exact domid) are recorded in a normalised form here (a relation, not the raw value),
so the map is stable; raw values go to "raw" for humans and are never compared.

`checks` are the requirements of the scenario itself (e.g. "the guest honoured the
shutdown request"), which must hold on both backends.
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from typing import Any, Callable

from xenlight_py import (Context, DiskConfig, DiskInfo, DomainConfig, DomainInfo, DomainType,
                         NicConfig, NicInfo, ShutdownAction, XenlightError)

SCHEMA = 1
GUEST_NAME = "rx-scenario"
GUEST_MEMORY_MIB = 128           # the smallest that boots the Debian kernel (58 MB image)
BALLOON_TARGET_KIB = 96 * 1024
MISSING_DOMID = 31000            # a valid domid no domain has
MAXMEM_KIB = 160 * 1024
RENAMED = "rx-renamed"
REBOOT_NAME = "rx-reboot"
SAVE_NAME = "rx-save"
EVENT_TIMEOUT_S = 300.0          # the guest has to notice and act under TCG emulation
# Xen and dom0 allocate from the same free pool as guests (a page or two for their own
# use between two samples: 4 KiB seen), so "memory came back" allows this much.
FREE_SLACK_KIB = 1024
BRIDGE = "xenbr0"                # dom0's bridge (dom0/init makes it; the simulator takes any)
HOTPLUG_DISK_MIB = 8
HOTPLUG_MAC = "00:16:3e:5a:0b:01"   # the hot-plugged NIC's configured MAC
MISSING_POOL = 7                 # a cpupool id no pool has (only Pool-0 exists)


@dataclass(frozen=True)
class Guest:
    kernel: str
    ramdisk: str | None
    cmdline: str
    scratch: str = "/tmp"        # a directory for the hot-plugged disk's file and the core dump



# Waits until the guest has booted far enough to act on requests (real guest: its console
# banner); returns a description of what it saw, or raises.
ReadyWait = Callable[[str, int], str]


# Called now and then (at most every PROGRESS_EVERY_S) with the observables so far and the
# latest one: the real-Xen run's watchdog ends a run only when nothing progresses.
Progress = Callable[[int, str], None]
PROGRESS_EVERY_S = 10.0


class Recorder:
    def __init__(self, progress: Progress | None = None) -> None:
        self.observed: dict[str, Any] = {}
        self.raw: dict[str, Any] = {}
        self.checks: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.timings: dict[str, float] = {}
        self._progress = progress
        self._reported = time.monotonic()

    def obs(self, key: str, value: Any) -> None:
        if key in self.observed:
            raise KeyError(f"observable {key} recorded twice")
        self.observed[key] = value
        if self._progress is not None and time.monotonic() - self._reported >= PROGRESS_EVERY_S:
            self._reported = time.monotonic()
            self._progress(len(self.observed), key)

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append({"name": name, "ok": bool(ok), "detail": detail})
        return ok


def _info_obs(rec: Recorder, prefix: str, info: DomainInfo, full_state: bool = False) -> None:
    """The comparable fields of a DomainInfo (raw cpu_time and uuid go to raw).
    full_state: the running/blocked letters are deterministic at this moment too (a domain
    that never ran, one that shut down, dom0 while it asks), so compare all of xl's state."""
    # running/blocked are left out: they say what the vCPUs were doing at the instant of
    # the sample (an idle real guest is mostly blocked, dom0 runs while it asks).
    for f in ("paused", "shutdown", "dying", "never_stop",
              "current_memkb", "max_memkb", "outstanding_memkb", "shared_memkb", "paged_memkb",
              "vcpu_max_id", "vcpu_online", "cpupool", "ssidref"):
        rec.obs(f"{prefix}.{f}", getattr(info, f))
    rec.obs(f"{prefix}.shutdown_reason", _name(info.shutdown_reason) if info.shutdown else None)
    rec.obs(f"{prefix}.domain_type", _name(info.domain_type))
    # xl's state without the running/blocked letters, which depend on the moment sampled.
    rec.obs(f"{prefix}.state_flags", info.state[2:])
    if full_state:
        rec.obs(f"{prefix}.state", info.state)
    rec.raw[f"{prefix}.cpu_time"] = info.cpu_time
    rec.raw[f"{prefix}.uuid"] = info.uuid
    rec.obs(f"{prefix}.uuid_is_nil", info.uuid == "00000000-0000-0000-0000-000000000000")
    rec.raw[f"{prefix}.state"] = info.state
    rec.raw[f"{prefix}.running_blocked"] = [info.running, info.blocked]


def _name(v: Any) -> Any:
    return getattr(v, "name", v)


def _error(rec: Recorder, key: str, fn: Callable[[], Any],
           must_fail: bool = True, norm: Callable[[Any], Any] = repr) -> XenlightError | None:
    """Records how a request fails: exception class and libxl code (or that it did not,
    with the result as `norm` makes it comparable; the raw result goes to raw)."""
    try:
        result = fn()
    except XenlightError as e:
        rec.obs(key, {"error": type(e).__name__, "rc": e.rc})
        rec.raw[key] = str(e)
        return e
    rec.obs(key, {"error": None, "result": norm(result)})
    if norm is not repr:
        rec.raw[key] = repr(result)
    if must_fail:
        rec.check(f"{key} fails", False, f"succeeded, returned {result!r}")
    return None


def _event(rec: Recorder, ev: Any, domid: int, uuid: str) -> None:
    rec.events.append({"kind": ev.kind, "domid_is_guest": ev.domid == domid,
                       "uuid_is_guest": ev.uuid == uuid,
                       "reason": _name(ev.reason) if ev.reason is not None else None})
    rec.raw.setdefault("events", []).append({"kind": ev.kind, "domid": ev.domid, "uuid": ev.uuid})


def _expect(rec: Recorder, stream: Any, domid: int, uuid: str, kind: str, reason: str | None,
            name: str) -> bool:
    """Waits for the stream's next event, records it, and checks (as `name`) that it is of
    this kind (and shutdown reason)."""
    ev = stream.get(timeout=EVENT_TIMEOUT_S)
    if ev is not None:
        _event(rec, ev, domid, uuid)
    return rec.check(name, ev is not None and ev.kind == kind
                     and (reason is None or _name(ev.reason) == reason), f"got {ev!r}")


def _wait_for(pred: Callable[[], bool], timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)


def run(ctx: Context, guest: Guest, wait_ready: ReadyWait | None = None,
        progress: Progress | None = None) -> dict[str, Any]:
    rec = Recorder(progress)
    rec.raw["scratch"] = guest.scratch
    t_start = time.monotonic()
    try:
        _scenario(ctx, guest, wait_ready, rec)
    except Exception as e:  # an unexpected failure is a failed check, with the result so far
        rec.check("scenario completed", False, f"{type(e).__name__}: {e}")
    else:
        rec.check("scenario completed", True)
    rec.timings["total_s"] = round(time.monotonic() - t_start, 3)
    return {"schema": SCHEMA, "backend": ctx.backend, "observed": rec.observed,
            "events": rec.events, "checks": rec.checks, "raw": rec.raw, "timings": rec.timings}


def _scenario(ctx: Context, guest: Guest, wait_ready: ReadyWait | None, rec: Recorder) -> None:
    obs, check = rec.obs, rec.check

    # -- host and version --
    v = ctx.version_info()
    obs("version.major", v.xen_version_major)
    obs("version.minor", v.xen_version_minor)
    obs("version.pagesize", v.pagesize)
    rec.raw["version.extra"] = v.xen_version_extra
    rec.raw["version.capabilities"] = v.capabilities
    obs("version.caps_has_pv64", "xen-3.0-x86_64" in v.capabilities.split())
    p = ctx.physinfo()
    for f in ("nr_cpus", "threads_per_core", "cores_per_socket", "max_cpu_id", "nr_nodes",
              "cpu_khz", "total_pages", "cap_pv", "cap_hvm", "scrub_pages", "outstanding_pages"):
        obs(f"host.{f}", getattr(p, f))
    rec.raw["host.free_pages"] = p.free_pages
    free0 = ctx.free_memory()
    obs("host.free_kb.before", free0)
    check("free memory is below total", 0 < free0 < p.total_memkb, f"{free0} of {p.total_memkb}")

    # -- dom0 and the list before --
    before = ctx.list_domains()
    obs("list.before.domids", [d.domid for d in before])
    d0 = ctx.domain_info(0)
    _info_obs(rec, "dom0", d0, full_state=True)
    obs("dom0.name", ctx.domid_to_name(0))
    obs("dom0.name_to_domid", ctx.name_to_domid("Domain-0"))
    obs("dom0.vcpus.count", len(ctx.list_vcpus(0)))
    _host_topology(ctx, rec, p)

    # -- an impossible memory size: nothing may be left behind --
    huge_mib = (p.total_memkb // 1024) * 4
    _error(rec, "error.create_huge_memory", lambda: ctx.create_domain(DomainConfig(
        name="rx-too-big", type=DomainType.PV, memory=huge_mib, kernel=guest.kernel,
        ramdisk=guest.ramdisk, cmdline=guest.cmdline)))
    obs("error.create_huge_memory.domids_after", [d.domid for d in ctx.list_domains()])
    obs("error.create_huge_memory.free_kb_restored", _wait_for(
        lambda: ctx.free_memory() >= free0 - FREE_SLACK_KIB, 30))

    # -- a disk whose file does not exist: refused before anything is built --
    _error(rec, "error.create_missing_disk_file", lambda: ctx.create_domain(DomainConfig(
        name="rx-no-disk", type=DomainType.PV, memory=GUEST_MEMORY_MIB, kernel=guest.kernel,
        ramdisk=guest.ramdisk, cmdline=guest.cmdline,
        disks=(DiskConfig(vdev="xvda", target=os.path.join(guest.scratch, "rx-no-such.img")),))))
    obs("error.create_missing_disk_file.domids_after", [d.domid for d in ctx.list_domains()])

    # -- create the guest (paused, as libxl leaves it), watch its events --
    cfg = DomainConfig(name=GUEST_NAME, type=DomainType.PV, memory=GUEST_MEMORY_MIB, vcpus=1,
                       kernel=guest.kernel, ramdisk=guest.ramdisk, cmdline=guest.cmdline,
                       on_poweroff=ShutdownAction.DESTROY, on_reboot=ShutdownAction.DESTROY,
                       on_crash=ShutdownAction.DESTROY)
    t = time.monotonic()
    wall0 = int(time.time())
    domid = ctx.create_domain(cfg, paused=True)
    rec.raw["guest.create_wall_s"] = [wall0, int(time.time())]
    rec.timings["create_s"] = round(time.monotonic() - t, 3)
    rec.raw["guest.domid"] = domid
    obs("guest.domid_is_new", domid > max(d.domid for d in before))
    stream = ctx.events([domid])
    try:
        _guest_lifecycle(ctx, wait_ready, rec, domid, free0, stream, p.nr_cpus)
    finally:
        stream.close()
        if ctx.domain_exists(domid):  # never leave the guest behind, whatever failed
            ctx.destroy(domid)

    # -- a second guest, created running (the binding's default), asked to reboot --
    cfg2 = DomainConfig(name=REBOOT_NAME, type=DomainType.PV, memory=GUEST_MEMORY_MIB, vcpus=1,
                        kernel=guest.kernel, ramdisk=guest.ramdisk, cmdline=guest.cmdline)
    domid2 = ctx.create_domain(cfg2)
    stream = ctx.events([domid2])
    try:
        _reboot_lifecycle(ctx, wait_ready, rec, domid2, stream)
    finally:
        stream.close()
        if ctx.domain_exists(domid2):
            ctx.destroy(domid2)

    # -- a third guest: suspended to a file and resumed in place, then saved and restored
    #    as a new domain (xl save / xl restore) --
    _save_restore(ctx, wait_ready, rec, guest)


def _reboot_lifecycle(ctx: Context, wait_ready: ReadyWait | None, rec: Recorder, domid: int,
                      stream: Any) -> None:
    obs = rec.obs
    info = ctx.domain_info(domid)
    uuid = info.uuid
    obs("reboot_guest.paused_after_create", info.paused)
    obs("reboot_guest.uuid_differs_from_first", uuid != rec.raw.get("created.uuid"))
    if wait_ready is not None:
        rec.raw["reboot_guest.ready"] = wait_ready(REBOOT_NAME, domid)
    ctx.reboot(domid)
    if not _expect(rec, stream, domid, uuid, "shutdown", "REBOOT",
                   "DOMAIN_SHUTDOWN with reason reboot after the reboot request"):
        return
    # libxl does not restart a domain by itself: it stays shut down until the toolstack acts.
    _info_obs(rec, "rebooted", ctx.domain_info(domid), full_state=True)
    ctx.destroy(domid)
    _expect(rec, stream, domid, uuid, "death", None,
            "DOMAIN_DEATH after destroying the rebooted guest")
    obs("reboot_guest.destroyed_list.domids", [d.domid for d in ctx.list_domains()])


def _guest_lifecycle(ctx: Context, wait_ready: ReadyWait | None, rec: Recorder,
                     domid: int, free0: int, stream: Any, nr_cpus: int) -> None:
    obs, check = rec.obs, rec.check
    info = ctx.domain_info(domid)
    uuid = info.uuid
    _info_obs(rec, "created", info, full_state=True)
    obs("host.free_kb.after_create", ctx.free_memory())
    obs("created.memory_target_kb", ctx.memory_target(domid))
    t0 = info.cpu_time
    time.sleep(0.3)
    obs("created.cpu_time_frozen_while_paused", ctx.domain_info(domid).cpu_time == t0)
    ctx.unpause(domid)

    # -- list, info, name --
    listed = {d.domid: d for d in ctx.list_domains()}
    obs("list.running.count", len(listed))
    obs("list.running.has_guest", domid in listed)
    obs("list.running.has_dom0", 0 in listed)
    obs("guest.name", ctx.domid_to_name(domid))
    obs("guest.name_to_domid_matches", ctx.name_to_domid(GUEST_NAME) == domid)
    if wait_ready is not None:
        t = time.monotonic()
        rec.raw["guest.ready"] = wait_ready(GUEST_NAME, domid)
        rec.timings["guest_ready_s"] = round(time.monotonic() - t, 3)
    info = ctx.domain_info(domid)
    _info_obs(rec, "running", info)
    obs("running.cpu_time_grew", info.cpu_time > t0)
    _guest_queries(ctx, rec, domid)

    # -- vCPUs --
    vcpus = ctx.list_vcpus(domid)
    obs("vcpus.count", len(vcpus))
    obs("vcpus.ids", [x.vcpuid for x in vcpus])
    obs("vcpus.online", [x.online for x in vcpus])
    obs("vcpus.cpu_in_host_range", all(0 <= x.cpu < nr_cpus for x in vcpus))
    obs("vcpus.affinity_covers_host", all(set(range(nr_cpus)) <= set(x.affinity) for x in vcpus))
    rec.raw["vcpus"] = [{"vcpuid": x.vcpuid, "cpu": x.cpu, "time": x.vcpu_time,
                         "affinity": sorted(x.affinity), "soft": sorted(x.soft_affinity)}
                        for x in vcpus]

    # -- pause / unpause --
    ctx.pause(domid)
    _info_obs(rec, "paused", ctx.domain_info(domid))
    ctx.unpause(domid)
    _info_obs(rec, "unpaused", ctx.domain_info(domid))

    _controls(ctx, rec, domid, nr_cpus)
    _devices(ctx, rec, domid, guest_scratch(rec))
    _core_dump(ctx, rec, domid, guest_scratch(rec))

    # -- memory target (the guest's balloon driver follows it) --
    ctx.set_memory_target(domid, BALLOON_TARGET_KIB)
    obs("balloon.target_kb", ctx.memory_target(domid))
    reached = _wait_for(lambda: ctx.domain_info(domid).current_memkb <= BALLOON_TARGET_KIB, 240)
    info = ctx.domain_info(domid)
    obs("balloon.reached", reached)
    obs("balloon.current_memkb", info.current_memkb)
    obs("balloon.max_memkb", info.max_memkb)
    check("the guest ballooned down to its new target", reached,
          f"current {info.current_memkb} KiB, target {BALLOON_TARGET_KIB}")

    # -- maximum memory: raise it, and a maximum below the current target --
    ctx.set_max_memory(domid, MAXMEM_KIB)
    info = ctx.domain_info(domid)
    obs("maxmem.max_memkb", info.max_memkb)
    obs("maxmem.target_kb", ctx.memory_target(domid))
    _error(rec, "error.maxmem_below_target",
           lambda: ctx.set_max_memory(domid, BALLOON_TARGET_KIB // 2), must_fail=False)
    obs("error.maxmem_below_target.max_memkb_after", ctx.domain_info(domid).max_memkb)

    # -- rename, and a rename onto a name in use --
    ctx.rename(domid, RENAMED)
    obs("rename.new_name", ctx.domid_to_name(domid))
    obs("rename.new_name_to_domid_matches", ctx.name_to_domid(RENAMED) == domid)
    _error(rec, "rename.old_name_lookup", lambda: ctx.name_to_domid(GUEST_NAME))
    _error(rec, "error.rename_to_name_in_use", lambda: ctx.rename(domid, "Domain-0"))
    _error(rec, "error.rename_wrong_old_name",
           lambda: ctx.rename(domid, GUEST_NAME, old_name="rx-not-its-name"))
    obs("rename.name_after_errors", ctx.domid_to_name(domid))
    ctx.rename(domid, GUEST_NAME, old_name=RENAMED)
    obs("rename.back", ctx.domid_to_name(domid))

    # -- requests about a domain that does not exist --
    m = MISSING_DOMID
    for key, fn in (("domain_info", lambda: ctx.domain_info(m)),
                    ("pause", lambda: ctx.pause(m)),
                    ("unpause", lambda: ctx.unpause(m)),
                    ("shutdown", lambda: ctx.shutdown(m)),
                    ("destroy", lambda: ctx.destroy(m)),
                    ("set_memory_target", lambda: ctx.set_memory_target(m, 65536)),
                    ("memory_target", lambda: ctx.memory_target(m)),
                    ("list_vcpus", lambda: ctx.list_vcpus(m)),
                    ("domid_to_name", lambda: ctx.domid_to_name(m)),
                    ("rename", lambda: ctx.rename(m, "rx-ghost")),
                    ("set_max_memory", lambda: ctx.set_max_memory(m, 65536)),
                    ("name_to_domid", lambda: ctx.name_to_domid("rx-no-such-domain")),
                    ("start_time", lambda: ctx.start_time(m)),
                    ("disks", lambda: ctx.disks(m)),
                    ("nics", lambda: ctx.nics(m)),
                    ("console_tty", lambda: ctx.primary_console_tty(m))):
        _error(rec, f"error.missing_domain.{key}", fn)
    obs("error.missing_domain.domain_exists", ctx.domain_exists(m))

    # -- orderly shutdown: the guest must honour it --
    t = time.monotonic()
    ctx.shutdown(domid)
    ok = _expect(rec, stream, domid, uuid, "shutdown", "POWEROFF",
                 "DOMAIN_SHUTDOWN with reason poweroff after the shutdown request")
    rec.timings["shutdown_event_s"] = round(time.monotonic() - t, 3)
    if not ok:
        return
    _info_obs(rec, "shut_down", ctx.domain_info(domid), full_state=True)
    obs("shut_down.listed", domid in {d.domid for d in ctx.list_domains()})
    # A relative change that takes the target below zero. Done here, on the shut-down
    # domain, because real Xen accepts it (libxl clamps the target to 0) and a running
    # guest then balloons itself to death (DOMAIN_SHUTDOWN with reason CRASH).
    _error(rec, "error.memory_target_below_zero",
           lambda: ctx.set_memory_target(domid, -(1 << 40), relative=True), must_fail=False)
    obs("error.memory_target_below_zero.target_kb_after", ctx.memory_target(domid))

    # -- destroy: DOMAIN_DEATH, and the domain is gone --
    ctx.destroy(domid)
    _expect(rec, stream, domid, uuid, "death", None, "DOMAIN_DEATH after destroy")
    obs("destroyed.exists", ctx.domain_exists(domid))
    _error(rec, "error.destroyed.domain_info", lambda: ctx.domain_info(domid))
    obs("destroyed.list.domids", [d.domid for d in ctx.list_domains()])
    extra = stream.get(timeout=1.0)
    obs("destroyed.no_further_event", extra is None)
    # Freed pages may pass through the scrubber first: wait for the memory to come back.
    back = _wait_for(lambda: ctx.free_memory() >= free0 - FREE_SLACK_KIB, 120)
    obs("host.free_kb.restored_after_destroy", back)
    rec.raw["host.free_kb.after_destroy"] = ctx.free_memory()


def guest_scratch(rec: Recorder) -> str:
    return rec.raw["scratch"]


def _controls(ctx: Context, rec: Recorder, domid: int, nr_cpus: int) -> None:
    """Scheduler parameters, vCPU pinning and online count, the hypervisor's console ring."""
    obs = rec.obs
    p = ctx.sched_params(domid)
    obs("sched.default", [p.weight, p.cap])
    ctx.set_sched_params(domid, weight=512)
    p = ctx.sched_params(domid)
    obs("sched.after_weight_512", [p.weight, p.cap])
    ctx.set_sched_params(domid, cap=50)
    p = ctx.sched_params(domid)
    obs("sched.after_cap_50", [p.weight, p.cap])
    ctx.set_sched_params(domid, weight=256, cap=0)
    p = ctx.sched_params(domid)
    obs("sched.restored", [p.weight, p.cap])
    _error(rec, "error.missing_domain.sched_params", lambda: ctx.sched_params(MISSING_DOMID))

    ctx.set_vcpu_affinity(domid, 0, [0])
    v = ctx.list_vcpus(domid)[0]
    obs("vcpus.pinned_affinity", sorted(v.affinity))
    rec.raw["vcpus.pinned_cpu"] = v.cpu   # moves at the vCPU's next schedule: not compared
    ctx.set_vcpu_affinity(domid, 0, range(nr_cpus))
    obs("vcpus.unpinned_affinity_covers_host",
        set(range(nr_cpus)) <= set(ctx.list_vcpus(domid)[0].affinity))
    _error(rec, "error.vcpu_affinity_no_such_vcpu", lambda: ctx.set_vcpu_affinity(domid, 7, [0]))
    _error(rec, "error.missing_domain.set_vcpu_affinity",
           lambda: ctx.set_vcpu_affinity(MISSING_DOMID, 0, [0]))
    ctx.set_vcpus_online(domid, 1)
    obs("vcpus.online_after_set_1", [x.online for x in ctx.list_vcpus(domid)])

    ring = ctx.xen_dmesg()
    lines = ring.splitlines()
    obs("dmesg.nonempty", bool(lines))
    obs("dmesg.ends_with_newline", ring.endswith("\n"))
    obs("dmesg.has_xen_version_4_17", any("Xen version 4.17" in ln for ln in lines))
    obs("dmesg.lines_start_with_XEN", all(ln.startswith("(XEN) ") for ln in lines))
    rec.raw["dmesg.head"] = lines[:3]


def _devices(ctx: Context, rec: Recorder, domid: int, scratch: str) -> None:
    """Hot-plug and unplug of a file-backed disk and a bridged NIC on the running PV guest,
    and the requests about devices that must fail."""
    obs = rec.obs
    image = os.path.join(scratch, "rx-hotplug.img")
    with open(image, "wb") as f:
        f.truncate(HOTPLUG_DISK_MIB << 20)
    try:
        disk = DiskConfig(vdev="xvdb", target=image)
        _error(rec, "disk.add", lambda: ctx.add_disk(domid, disk), must_fail=False)
        back = ctx.disk(domid, "xvdb")      # as libxl reads it back from xenstore
        obs("disk.readback", {"target_is_image": back.target == image,
                              "backend": back.backend.name, "format": back.format.name,
                              "readwrite": back.readwrite, "is_cdrom": back.is_cdrom})
        _error(rec, "error.disk.readback_absent", lambda: ctx.disk(domid, "xvdy"))
        listed = ctx.disks(domid)           # libxl_device_disk_list: from xenstore too
        obs("disk.list", [_disk_obs(d, image) for d in listed])
        rec.raw["disk.list"] = [repr(d) for d in listed]
        _device_info(rec, "disk", domid, lambda: ctx.disk_info(domid, "xvdb"))
        _error(rec, "disk.info_by_number", lambda: ctx.disk_info(domid, "51728"),
               must_fail=False, norm=lambda i: _devinfo_obs(i, domid))
        _error(rec, "error.disk.info_absent_vdev", lambda: ctx.disk_info(domid, "xvdz"))
        _error(rec, "error.missing_domain.disk_info", lambda: ctx.disk_info(MISSING_DOMID, "xvdb"))
        _error(rec, "error.disk.add_same_vdev_again", lambda: ctx.add_disk(domid, disk))
        _error(rec, "error.disk.add_missing_file", lambda: ctx.add_disk(
            domid, DiskConfig(vdev="xvdc", target=os.path.join(scratch, "rx-no-such.img"))))
        _error(rec, "error.missing_domain.add_disk", lambda: ctx.add_disk(MISSING_DOMID, disk))
        _error(rec, "disk.remove", lambda: ctx.remove_disk(domid, "xvdb"), must_fail=False)
        obs("disk.list_after_remove", [d.vdev for d in ctx.disks(domid)])
        _error(rec, "error.disk.info_after_remove", lambda: ctx.disk_info(domid, "xvdb"),
               norm=lambda i: _devinfo_obs(i, domid))
        _error(rec, "error.disk.remove_absent_vdev", lambda: ctx.remove_disk(domid, "xvdz"))
        _error(rec, "error.cdrom_insert_on_pv", lambda: ctx.cdrom_insert(domid, "xvdd", image))
        _error(rec, "error.missing_domain.cdrom_insert",
               lambda: ctx.cdrom_insert(MISSING_DOMID, "hdc", image))
    finally:
        os.unlink(image)

    devid = None

    def add() -> int:
        nonlocal devid
        devid = ctx.add_nic(domid, NicConfig(mac=HOTPLUG_MAC, bridge=BRIDGE))
        return devid
    _error(rec, "nic.add", add, must_fail=False)
    obs("nic.add.devid", devid)
    listed = ctx.nics(domid)                # libxl_device_nic_list
    obs("nic.list", [{"mac_is_configured": n.mac == HOTPLUG_MAC, "devid_is_added": n.devid == devid,
                      "bridge": n.bridge, "mtu": n.mtu, "model": n.model, "ip": n.ip,
                      "script": n.script, "ifname": n.ifname,
                      "backend_domid": n.backend_domid} for n in listed])
    rec.raw["nic.list"] = [repr(n) for n in listed]
    if devid is not None:
        added = devid
        _device_info(rec, "nic", domid, lambda: ctx.nic_info(domid, added))
    _error(rec, "error.nic.info_absent_devid", lambda: ctx.nic_info(domid, 7))
    _error(rec, "error.missing_domain.nic_info", lambda: ctx.nic_info(MISSING_DOMID, 0))
    if devid is not None:
        _error(rec, "nic.remove", lambda: ctx.remove_nic(domid, devid), must_fail=False)
    obs("nic.list_after_remove", [n.devid for n in ctx.nics(domid)])
    if devid is not None:
        gone = devid
        _error(rec, "error.nic.info_after_remove", lambda: ctx.nic_info(domid, gone),
               norm=lambda i: _devinfo_obs(i, domid))
    _error(rec, "error.nic.remove_absent_devid", lambda: ctx.remove_nic(domid, 7))
    _error(rec, "error.missing_domain.add_nic",
           lambda: ctx.add_nic(MISSING_DOMID, NicConfig(bridge=BRIDGE)))


# The guest's frontend connects on its own after the hot-plug returns (xenbus state 4).
DEVICE_CONNECT_S = 60.0


def _devinfo_obs(i: DiskInfo | NicInfo, domid: int) -> dict[str, Any]:
    """libxl_diskinfo / libxl_nicinfo without the guest's own numbers (event channel and
    grant refs differ between guests): whether they are set, and the xenstore paths' shape."""
    kind = "vbd" if isinstance(i, DiskInfo) else "vif"
    refs = [i.rref] if isinstance(i, DiskInfo) else [i.rref_tx, i.rref_rx]
    return {"backend": i.backend.replace(f"/{domid}/", "/<domid>/"), "backend_id": i.backend_id,
            "frontend_is_guest_path": i.frontend == f"/local/domain/{domid}/device/{kind}/{i.devid}",
            "frontend_id_is_guest": i.frontend_id == domid, "devid": i.devid, "state": i.state,
            "evtch_positive": i.evtch > 0, "rrefs_positive": [r > 0 for r in refs],
            "rrefs_distinct": len(set(refs)) == len(refs)}


def _device_info(rec: Recorder, kind: str, domid: int,
                 get: Callable[[], DiskInfo | NicInfo]) -> None:
    """libxl_device_{disk,nic}_getinfo on an attached device: once the guest connected it,
    and again (the same numbers while it stays attached)."""
    def connected() -> bool:
        try:
            return get().state == 4
        except XenlightError:
            return False
    t = time.monotonic()
    rec.obs(f"{kind}.info.connected", _wait_for(connected, DEVICE_CONNECT_S))
    rec.timings[f"{kind}.info.connect_s"] = round(time.monotonic() - t, 3)
    first = _error(rec, f"{kind}.info", get, must_fail=False, norm=lambda i: _devinfo_obs(i, domid))
    if first is None:
        rec.obs(f"{kind}.info.stable", get() == get())


def _disk_obs(d: DiskConfig, image: str) -> dict[str, Any]:
    return {"vdev": d.vdev, "target_is_image": d.target == image, "backend": d.backend.name,
            "format": d.format.name, "readwrite": d.readwrite, "is_cdrom": d.is_cdrom,
            "script": d.script, "backend_domid": d.backend_domid}


def _tty_shape(path: str) -> str:
    """A console tty path without its number (which differs between runs)."""
    return re.sub(r"[0-9]+$", "<n>", path)


def _host_topology(ctx: Context, rec: Recorder, p: Any) -> None:
    """Cpupools, the credit scheduler's pool parameters, CPU and NUMA topology, and
    dom0's start time, devices and console, while dom0 is the only domain."""
    obs = rec.obs
    pools = ctx.cpupools()
    obs("cpupools.ids", [c.poolid for c in pools])
    rec.raw["cpupools"] = [repr(c) for c in pools]
    if pools:
        c = pools[0]
        obs("cpupools.first", {"poolid": c.poolid, "name": c.name, "sched": c.sched,
                               "n_dom": c.n_dom, "cpus_are_host": c.cpus == set(range(p.nr_cpus))})
        obs("cpupool_info.pool_equals_listed", ctx.cpupool_info(c.poolid) == c)
    _error(rec, "error.cpupool_info.unknown_pool", lambda: ctx.cpupool_info(MISSING_POOL))
    # Pool-0's scheduler decides: credit answers its parameters, another refuses.
    _error(rec, "sched_credit.pool0", lambda: ctx.sched_credit_params(0), must_fail=False,
           norm=lambda r: [r.tslice_ms, r.ratelimit_us, r.migration_delay_us])
    _error(rec, "error.sched_credit.unknown_pool",
           lambda: ctx.sched_credit_params(MISSING_POOL))

    topo = ctx.cpu_topology()
    rec.raw["topology"] = [[t.cpu, t.core, t.socket, t.node] for t in topo]
    obs("topology.cpus", [t.cpu for t in topo] == list(range(p.nr_cpus)))
    obs("topology.nodes_below_nr_nodes", all(0 <= t.node < p.nr_nodes for t in topo))
    sockets = {t.socket for t in topo}
    obs("topology.cores_per_socket_as_physinfo",
        all(len({t.core for t in topo if t.socket == s}) == p.cores_per_socket for s in sockets))
    obs("topology.cpus_per_core_as_physinfo",
        all(sum(1 for t in topo if (t.socket, t.core) == sc) == p.threads_per_core
            for sc in {(t.socket, t.core) for t in topo}))

    free_kb = ctx.physinfo().free_pages * 4
    nodes = ctx.numa_info()
    rec.raw["numa"] = [[n.node, n.size, n.free, list(n.distances)] for n in nodes]
    obs("numa.nodes", [n.node for n in nodes] == list(range(p.nr_nodes)))
    obs("numa.distances", [list(n.distances) for n in nodes])
    # Bytes: a node spans its RAM with the holes in it, a little more than total_pages.
    total = p.total_pages * 4096
    span = sum(n.size for n in nodes)
    obs("numa.size_bytes_covers_total_within_1pct", total <= span <= total + total // 100)
    obs("numa.free_bytes_is_physinfo_free",
        abs(sum(n.free for n in nodes) // 1024 - free_kb) <= FREE_SLACK_KIB)

    st = ctx.start_time(0)
    rec.raw["dom0.start_time"] = st
    obs("dom0.start_time_known", st is not None)
    obs("dom0.disks", [d.vdev for d in ctx.disks(0)])
    obs("dom0.nics", [n.devid for n in ctx.nics(0)])
    _error(rec, "dom0.console_tty", lambda: ctx.primary_console_tty(0), must_fail=False,
           norm=_tty_shape)


def _guest_queries(ctx: Context, rec: Recorder, domid: int) -> None:
    """The running guest in its cpupool, its start time, device lists and console tty."""
    obs = rec.obs
    pools = ctx.cpupools()
    listed = ctx.list_domains()
    obs("cpupools.with_guest.n_dom", [c.n_dom for c in pools])
    obs("cpupools.with_guest.n_dom_is_listed_domains",
        sum(c.n_dom for c in pools) == len(listed))
    st = ctx.start_time(domid)
    rec.raw["guest.start_time"] = st
    lo, hi = rec.raw["guest.create_wall_s"]
    obs("guest.start_time_within_create", st is not None and lo <= st <= hi)
    st0 = rec.raw["dom0.start_time"]
    obs("guest.start_time_after_dom0", None if st0 is None or st is None else st0 <= st)
    obs("guest.disks", [d.vdev for d in ctx.disks(domid)])
    obs("guest.nics", [n.devid for n in ctx.nics(domid)])
    tty = None

    def get() -> str:
        nonlocal tty
        tty = ctx.primary_console_tty(domid)
        return tty
    _error(rec, "console.tty", get, must_fail=False, norm=_tty_shape)
    obs("console.tty_is_char_device", tty is not None and os.path.exists(tty)
        and os.stat(tty).st_mode & 0o170000 == 0o020000)


def _core_dump(ctx: Context, rec: Recorder, domid: int, scratch: str) -> None:
    """xl dump-core: an ELF core of the guest's memory; the guest goes on running."""
    obs = rec.obs
    core = os.path.join(scratch, "rx-core")
    mem_kb = ctx.domain_info(domid).current_memkb
    try:
        _error(rec, "core.dump", lambda: ctx.core_dump(domid, core), must_fail=False)
        with open(core, "rb") as f:
            head = f.read(20)
        size = os.path.getsize(core)
        obs("core.elf_magic", head[:4] == b"\x7fELF")
        obs("core.elf_class_64", head[4] == 2)
        obs("core.elf_type", int.from_bytes(head[16:18], "little"))
        obs("core.elf_machine", int.from_bytes(head[18:20], "little"))
        # The guest's pages plus headers, notes and the p2m table.
        obs("core.size_covers_memory", size >= mem_kb * 1024)
        obs("core.size_overhead_under_2MiB", size - mem_kb * 1024 < 2 << 20)
        rec.raw["core.size"] = size
        info = ctx.domain_info(domid)
        obs("core.guest_still_running", not (info.paused or info.shutdown or info.dying))
    except OSError as e:
        rec.check("core dump file readable", False, str(e))
    finally:
        if os.path.exists(core):
            os.unlink(core)
    _error(rec, "error.missing_domain.core_dump",
           lambda: ctx.core_dump(MISSING_DOMID, core))
    # libxc creates the file before it asks about the domain: an empty file is left.
    obs("error.missing_domain.core_dump.file_left",
        os.path.getsize(core) if os.path.exists(core) else None)
    if os.path.exists(core):
        os.unlink(core)


def _save_restore(ctx: Context, wait_ready: ReadyWait | None, rec: Recorder,
                  guest: Guest) -> None:
    obs = rec.obs
    image = os.path.join(guest.scratch, "rx-save.img")
    cfg = DomainConfig(name=SAVE_NAME, type=DomainType.PV, memory=GUEST_MEMORY_MIB, vcpus=1,
                       kernel=guest.kernel, ramdisk=guest.ramdisk, cmdline=guest.cmdline,
                       on_poweroff=ShutdownAction.DESTROY, on_reboot=ShutdownAction.DESTROY,
                       on_crash=ShutdownAction.DESTROY)
    domid = ctx.create_domain(cfg)
    restored = None
    stream = ctx.events([domid])
    try:
        uuid = ctx.domain_info(domid).uuid
        if wait_ready is not None:
            rec.raw["save_guest.ready"] = wait_ready(SAVE_NAME, domid)
        # Suspend: the guest writes its state out and the domain is left shut down.
        t = time.monotonic()
        ctx.suspend(domid, image)
        rec.timings["suspend_s"] = round(time.monotonic() - t, 3)
        obs("save.image_written", os.path.getsize(image) > 0)
        rec.raw["save.image_size"] = os.path.getsize(image)
        _expect(rec, stream, domid, uuid, "shutdown", "SUSPEND",
                "DOMAIN_SHUTDOWN with reason suspend after the suspend")
        _info_obs(rec, "suspended", ctx.domain_info(domid), full_state=True)
        # Resume in place (the suspend cancelled): the same domain runs on.
        ctx.resume(domid)
        info = ctx.domain_info(domid)
        obs("resumed_in_place.shutdown", info.shutdown)
        obs("resumed_in_place.paused", info.paused)
        obs("resumed_in_place.dying", info.dying)
        _error(rec, "error.resume_running_domain", lambda: ctx.resume(domid), must_fail=False)
        _error(rec, "error.missing_domain.suspend",
               lambda: ctx.suspend(MISSING_DOMID, image + ".x"))
        obs("error.missing_domain.suspend.no_file", not os.path.exists(image + ".x"))
        # xl save: suspend again and destroy; the image restores as a new domain. libxl
        # reports a domain's shutdown once per watch registration; resume() registers the
        # domain anew on this context's streams, so this second suspend is reported too.
        ctx.save(domid, image)
        ev = stream.get(timeout=EVENT_TIMEOUT_S)
        while ev is not None:
            _event(rec, ev, domid, uuid)
            if ev.kind == "death":
                break
            ev = stream.get(timeout=EVENT_TIMEOUT_S)
        obs("saved.no_further_event", stream.get(timeout=1.0) is None)
        obs("saved.exists", ctx.domain_exists(domid))
        stream.close()
        t = time.monotonic()
        restored = ctx.create_restore(cfg, image)
        rec.timings["restore_s"] = round(time.monotonic() - t, 3)
        rec.raw["restored.domid"] = restored
        obs("restored.domid_is_new", restored != domid)
        info = ctx.domain_info(restored)
        obs("restored.uuid_same", info.uuid == uuid)
        obs("restored.name", ctx.domid_to_name(restored))
        for f in ("paused", "shutdown", "dying", "max_memkb", "vcpu_online"):
            obs(f"restored.{f}", getattr(info, f))
        obs("restored.current_memkb_within_1MiB_of_guest",
            abs(info.current_memkb - GUEST_MEMORY_MIB * 1024) <= 1024)
        # The restored guest is alive: it honours a shutdown request.
        stream = ctx.events([restored])
        ctx.shutdown(restored)
        _expect(rec, stream, restored, uuid, "shutdown", "POWEROFF",
                "the restored guest honoured a shutdown request (DOMAIN_SHUTDOWN poweroff)")
        ctx.destroy(restored)
        _error(rec, "error.restore_missing_image",
               lambda: ctx.create_restore(cfg, image + ".missing"))
        obs("save_restore.domids_after", [d.domid for d in ctx.list_domains()])
    finally:
        stream.close()
        for d in (domid, restored):
            if d is not None and ctx.domain_exists(d):
                ctx.destroy(d)
        for f in (image, image + ".x"):
            if os.path.exists(f):
                os.unlink(f)
