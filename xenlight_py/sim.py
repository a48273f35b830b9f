"""The simulator's control API (xlsim_*), in Pythonic form. Sim backend only.

Reach it as ``Context(backend="sim").sim`` or ``xenlight_py.sim.SimControl()``. The simulated
host is process-wide (or shared through ``$XLSIM_STATE_FILE``), so these calls affect every
context on it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._ffi import Backend, load
from .errors import make_error, invalid
from .types import ShutdownReason


@dataclass(frozen=True)
class HostConfig:
    """xlsim_host_config; None fields take the simulator's defaults."""
    nr_cpus: int = 16
    nr_nodes: int = 2
    threads_per_core: int = 2
    cpu_khz: int = 2400000
    total_memkb: int = 64 * 1024 * 1024
    dom0_memkb: int = 4 * 1024 * 1024
    dom0_vcpus: int = 4
    shutdown_delay_ms: int = 200
    balloon_kb_per_s: int = 4 * 1024 * 1024
    scheduler: str = "credit"      # Pool-0's scheduler: "credit" or "credit2" (Xen 4.17's own)
    shadow_paging: int = 1         # 0: no log-dirty for PV guests, so no live save (Debian's Xen)


# libxl_scheduler values of the schedulers the simulated pool can run.
_SCHEDULERS = {"credit": 5, "credit2": 6}


@dataclass(frozen=True)
class IoStats:
    rd_bytes: int
    wr_bytes: int
    rd_reqs: int
    wr_reqs: int


@dataclass(frozen=True)
class GuestInfo:
    mem_total_kb: int
    mem_free_kb: int
    os_name: str
    os_kernel: str
    ipv4: str


@dataclass(frozen=True)
class GuestState:
    """The guest's own state, which lives in its memory: a save/restore or a migration
    carries it to the new domain (Xen's accounting, cpu_time, restarts with each domain)."""
    boot_id: str          # random at create (Linux's /proc/sys/kernel/random/boot_id)
    uptime_ns: int        # time the guest has run (unpaused, not shut down)
    resumes: int          # times it came back from a suspend (restore or suspend_cancel)


_CONFIG_FIELDS = tuple(HostConfig.__dataclass_fields__)


class SimControl:
    """Configure and bend the simulated host."""

    def __init__(self, backend: Backend | None = None) -> None:
        b = backend or load("sim")
        if not b.is_sim:
            raise invalid("SimControl needs the 'sim' backend")
        self._b = b
        self._ffi = b.ffi
        self._lib = b.lib

    @staticmethod
    def _domid(domid: int) -> int:
        if not isinstance(domid, int) or isinstance(domid, bool) or not 0 <= domid < 0x7FF0:
            raise invalid(f"domid {domid!r} is not a valid domain id")
        return domid

    def _check(self, rc: int, function: str) -> None:
        if rc < 0:
            raise make_error(rc, self._b.error_name(rc), function)

    def default_config(self) -> HostConfig:
        c = self._ffi.new("xlsim_host_config *")
        self._lib.xlsim_host_config_default(c)
        names = {n: s for s, n in _SCHEDULERS.items()}
        return HostConfig(**{f: names[c.scheduler] if f == "scheduler" else getattr(c, f)
                             for f in _CONFIG_FIELDS})

    def configure(self, config: HostConfig | None = None, **changes: Any) -> None:
        """Reset the simulated host: only dom0 remains, faults and pending events are
        cleared. ``configure()`` restores the defaults; keyword arguments change fields of
        ``config`` (or of the defaults)."""
        unknown = set(changes) - set(_CONFIG_FIELDS)
        if unknown:
            raise invalid(f"unknown host config field(s): {', '.join(sorted(unknown))}")
        if config is None and not changes:
            self._check(self._lib.xlsim_host_configure(self._ffi.NULL), "xlsim_host_configure")
            return
        base = config or self.default_config()
        c = self._ffi.new("xlsim_host_config *")
        for f in _CONFIG_FIELDS:
            v = changes.get(f, getattr(base, f))
            if f == "scheduler":
                if v not in _SCHEDULERS:
                    raise invalid(f"host config scheduler={v!r} must be one of "
                                  f"{', '.join(_SCHEDULERS)}")
                v = _SCHEDULERS[v]
            elif not isinstance(v, int) or v < 0:
                raise invalid(f"host config {f}={v!r} must be a non-negative integer")
            setattr(c, f, v)
        self._check(self._lib.xlsim_host_configure(c), "xlsim_host_configure")

    def config(self) -> HostConfig:
        c = self._ffi.new("xlsim_host_config *")
        self._check(self._lib.xlsim_host_get_config(c), "xlsim_host_get_config")
        names = {n: s for s, n in _SCHEDULERS.items()}
        return HostConfig(**{f: names[c.scheduler] if f == "scheduler" else getattr(c, f)
                             for f in _CONFIG_FIELDS})

    # -- the guest acting by itself --

    def guest_shutdown(self, domid: int, reason: ShutdownReason | int) -> None:
        self._check(self._lib.xlsim_guest_shutdown(self._domid(domid), int(reason)), "xlsim_guest_shutdown")

    def guest_poweroff(self, domid: int) -> None:
        self._check(self._lib.xlsim_guest_poweroff(self._domid(domid)), "xlsim_guest_poweroff")

    def guest_reboot(self, domid: int) -> None:
        self._check(self._lib.xlsim_guest_reboot(self._domid(domid)), "xlsim_guest_reboot")

    def guest_crash(self, domid: int) -> None:
        self._check(self._lib.xlsim_guest_crash(self._domid(domid)), "xlsim_guest_crash")

    def set_ignore_shutdown(self, domid: int, ignore: bool = True) -> None:
        self._check(self._lib.xlsim_guest_set_ignore_shutdown(self._domid(domid), int(ignore)),
                    "xlsim_guest_set_ignore_shutdown")

    def set_shutdown_delay(self, domid: int, delay_ms: int) -> None:
        if not isinstance(delay_ms, int) or delay_ms < 0:
            raise invalid(f"delay {delay_ms!r} must be a non-negative number of ms")
        self._check(self._lib.xlsim_guest_set_shutdown_delay(self._domid(domid), delay_ms),
                    "xlsim_guest_set_shutdown_delay")

    def set_load(self, domid: int, load: float) -> None:
        """Load of each running vCPU of the domain, 0.0 .. 1.0."""
        if not isinstance(load, (int, float)) or not 0.0 <= load <= 1.0:
            raise invalid(f"load {load!r} must be between 0.0 and 1.0")
        self._check(self._lib.xlsim_domain_set_load(self._domid(domid), float(load)),
                    "xlsim_domain_set_load")

    # -- faults --

    def fail_next(self, function: str, rc: int, count: int = 1) -> None:
        """Make the next ``count`` calls of the libxl/xc function ``function`` fail with
        ``rc`` (a negative libxl error code). count 0 clears that fault. Points inside the
        save/migration stream: "libxl_domain_suspend/live" (after a pre-copy round, the
        guest still running), "libxl_domain_suspend/suspended" (the guest suspended, before
        its last pages), "libxl_domain_create_restore/stream" (after the first pages read
        into the new domain, which is destroyed again)."""
        if not isinstance(function, str) or not function:
            raise invalid("function must name a libxl/xc function")
        if not isinstance(count, int) or count < 0 or not isinstance(rc, int) or rc >= 0:
            raise invalid("fail_next needs count >= 0 and a negative libxl error code")
        self._check(self._lib.xlsim_fail_next(function.encode(), count, rc), "xlsim_fail_next")

    def clear_faults(self) -> None:
        self._lib.xlsim_clear_faults()

    # -- observations --

    def disk_stats(self, domid: int, vdev: str) -> IoStats:
        if not isinstance(vdev, str) or not vdev:
            raise invalid(f"vdev {vdev!r} must be a device name")
        s = self._ffi.new("xlsim_io_stats *")
        self._check(self._lib.xlsim_disk_stats(self._domid(domid), vdev.encode(), s), "xlsim_disk_stats")
        return IoStats(s.rd_bytes, s.wr_bytes, s.rd_reqs, s.wr_reqs)

    def disk_path(self, domid: int, vdev: str) -> str | None:
        """What backs the domain's disk ``vdev`` now (None: an empty cdrom drive)."""
        if not isinstance(vdev, str) or not vdev:
            raise invalid(f"vdev {vdev!r} must be a device name")
        buf = self._ffi.new("char[]", 4096)
        self._check(self._lib.xlsim_disk_path(self._domid(domid), vdev.encode(), buf, 4096),
                    "xlsim_disk_path")
        return self._ffi.string(buf).decode() or None

    def nic_stats(self, domid: int, devid: int) -> IoStats:
        s = self._ffi.new("xlsim_io_stats *")
        self._check(self._lib.xlsim_nic_stats(self._domid(domid), devid, s), "xlsim_nic_stats")
        return IoStats(s.rd_bytes, s.wr_bytes, s.rd_reqs, s.wr_reqs)

    def guest_info(self, domid: int) -> GuestInfo:
        g = self._ffi.new("struct xlsim_guest_info *")
        self._check(self._lib.xlsim_guest_info(self._domid(domid), g), "xlsim_guest_info")
        s = self._ffi.string
        return GuestInfo(g.mem_total_kb, g.mem_free_kb, s(g.os_name).decode(errors="replace"),
                         s(g.os_kernel).decode(errors="replace"),
                         s(g.ipv4).decode(errors="replace"))

    def guest_state(self, domid: int) -> GuestState:
        g = self._ffi.new("struct xlsim_guest_state *")
        self._check(self._lib.xlsim_guest_state(self._domid(domid), g), "xlsim_guest_state")
        return GuestState(self._ffi.string(g.boot_id).decode(), int(g.uptime_ns),
                          int(g.resumes))

    def guest_console(self, domid: int) -> str:
        """What the guest wrote on its console (hvc0), the last 2 KiB."""
        buf = self._ffi.new("char[]", 4096)
        self._check(self._lib.xlsim_guest_console(self._domid(domid), buf, 4096),
                    "xlsim_guest_console")
        return self._ffi.string(buf).decode(errors="replace")

    def domain_count(self) -> int:
        n = self._lib.xlsim_domain_count()
        self._check(n, "xlsim_domain_count")
        return int(n)

    # -- benchmarks (the simulator's own cost, timed in C) --

    def bench_domain_info_ns(self, ctx: Any, domid: int, n: int) -> int:
        t = self._lib.xlpy_bench_domain_info(ctx._c(), domid, n)
        self._check(t, "libxl_domain_info")
        return int(t)

    def bench_list_domain_ns(self, ctx: Any, n: int) -> int:
        t = self._lib.xlpy_bench_list_domain(ctx._c(), n)
        self._check(t, "libxl_list_domain")
        return int(t)
