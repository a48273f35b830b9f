"""Immutable values handed out by the binding, and the configuration types it accepts."""
from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from .errors import invalid


class DomainType(enum.IntEnum):
    INVALID = -1
    HVM = 1
    PV = 2
    PVH = 3


class ShutdownReason(enum.IntEnum):
    UNKNOWN = -1
    POWEROFF = 0
    REBOOT = 1
    SUSPEND = 2
    CRASH = 3
    WATCHDOG = 4
    SOFT_RESET = 5


class ShutdownAction(enum.IntEnum):
    """libxl_action_on_shutdown: what the toolstack should do when the guest shuts down."""
    DESTROY = 1
    RESTART = 2
    RESTART_RENAME = 3
    PRESERVE = 4
    COREDUMP_DESTROY = 5
    COREDUMP_RESTART = 6
    SOFT_RESET = 7


class DiskFormat(enum.IntEnum):
    UNKNOWN = 0
    QCOW = 1
    QCOW2 = 2
    VHD = 3
    RAW = 4
    EMPTY = 5
    QED = 6


class DiskBackend(enum.IntEnum):
    UNKNOWN = 0
    PHY = 1
    TAP = 2
    QDISK = 3
    STANDALONE = 4


# xl's letter for the shutdown reason in the 5th State column ("-rscwS").
_REASON_LETTERS = "-rscwS"


def _enum_or_raw(cls: type[enum.IntEnum], v: int) -> enum.IntEnum | int:
    try:
        return cls(v)
    except ValueError:
        return v


_REASON_OF = {int(r): r for r in ShutdownReason}
_TYPE_OF = {int(t): t for t in DomainType}


class DomainInfo:
    """One domain as libxl_dominfo reports it. Memory in KiB, cpu_time in nanoseconds.

    Immutable. It holds the tuple the C shim's packed record unpacks to, so ``domain_info``
    and ``list_domains`` (the hottest calls of a toolstack) build one in two C-level steps
    (a frozen dataclass cost ~0.7 us per domain); ``uuid`` (the shim's ASCII bytes) and the
    two enums are converted when read. Two DomainInfo are equal when every field is; they
    hash, pickle and copy. ``_fields``, ``_asdict()`` and ``_replace(**changes)`` as for a
    named tuple.

    ``domain_type`` is what libxl reads back from the hypervisor's flags: a PVH guest reads
    as HVM (libxl 4.17 and real Xen; only the config knows it was PVH). ``uuid`` is the
    domain's handle; dom0's is nil (all zeros) on real Xen. A shutdown_reason or
    domain_type value the enums do not know is returned as the plain int.
    """
    __slots__ = ("_r",)
    _r: tuple[Any, ...]
    _fields = ("domid", "uuid", "ssidref", "running", "blocked", "paused", "shutdown", "dying",
               "never_stop", "shutdown_reason", "outstanding_memkb", "current_memkb",
               "shared_memkb", "paged_memkb", "max_memkb", "cpu_time", "vcpu_max_id",
               "vcpu_online", "cpupool", "gpaddr_bits", "domain_type")

    def __init__(self, domid: int, uuid: str, ssidref: int, running: bool, blocked: bool,
                 paused: bool, shutdown: bool, dying: bool, never_stop: bool,
                 shutdown_reason: ShutdownReason, outstanding_memkb: int, current_memkb: int,
                 shared_memkb: int, paged_memkb: int, max_memkb: int, cpu_time: int,
                 vcpu_max_id: int, vcpu_online: int, cpupool: int, gpaddr_bits: int,
                 domain_type: DomainType) -> None:
        # stored as the C shim's record holds it (see _from_record)
        _set_record(self, (domid, uuid.encode("ascii"), ssidref, running, blocked, paused,
                           shutdown, dying, never_stop, int(shutdown_reason), outstanding_memkb,
                           current_memkb, shared_memkb, paged_memkb, max_memkb, cpu_time,
                           vcpu_max_id, vcpu_online, cpupool, gpaddr_bits, int(domain_type)))

    @classmethod
    def _from_record(cls, record: tuple[Any, ...]) -> DomainInfo:
        """From the unpacked packed record (struct format in context.py), no copying."""
        o = _new_object(cls)
        _set_record(o, record)
        return o

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"DomainInfo is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"DomainInfo is immutable: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not DomainInfo:
            return NotImplemented
        return self._r == other._r      # the record <-> fields mapping is one-to-one

    def __hash__(self) -> int:
        return hash(self._r)

    def __reduce__(self) -> tuple[Any, ...]:
        return (DomainInfo._from_record, (self._r,))

    def __repr__(self) -> str:
        return "DomainInfo(" + ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields) + ")"

    def _asdict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self._fields}

    def _replace(self, **changes: Any) -> DomainInfo:
        unknown = set(changes) - set(self._fields)
        if unknown:
            raise TypeError(f"DomainInfo has no field(s) {sorted(unknown)}")
        return DomainInfo(**{**self._asdict(), **changes})

    @property
    def domid(self) -> int:
        return self._r[0]

    @property
    def uuid(self) -> str:
        return self._r[1].decode()          # canonical lower-case form from the C shim

    @property
    def ssidref(self) -> int:
        return self._r[2]

    @property
    def running(self) -> bool:
        return self._r[3]

    @property
    def blocked(self) -> bool:
        return self._r[4]

    @property
    def paused(self) -> bool:
        return self._r[5]

    @property
    def shutdown(self) -> bool:
        return self._r[6]

    @property
    def dying(self) -> bool:
        return self._r[7]

    @property
    def never_stop(self) -> bool:
        return self._r[8]

    @property
    def shutdown_reason(self) -> ShutdownReason:
        v = self._r[9]
        return _REASON_OF.get(v, v)      # unknown to the enum: the int

    @property
    def outstanding_memkb(self) -> int:
        return self._r[10]

    @property
    def current_memkb(self) -> int:
        return self._r[11]

    @property
    def shared_memkb(self) -> int:
        return self._r[12]

    @property
    def paged_memkb(self) -> int:
        return self._r[13]

    @property
    def max_memkb(self) -> int:
        return self._r[14]

    @property
    def cpu_time(self) -> int:
        return self._r[15]

    @property
    def vcpu_max_id(self) -> int:
        return self._r[16]

    @property
    def vcpu_online(self) -> int:
        return self._r[17]

    @property
    def cpupool(self) -> int:
        return self._r[18]

    @property
    def gpaddr_bits(self) -> int:
        return self._r[19]

    @property
    def domain_type(self) -> DomainType:
        v = self._r[20]
        return _TYPE_OF.get(v, v)        # unknown to the enum: the int

    # Derived values are computed when read (building them for every domain of a list
    # would cost more than the record itself).

    @property
    def state(self) -> str:
        """xl's six-letter state, e.g. ``-b----`` (running, blocked, paused, shutdown,
        shutdown reason letter, dying)."""
        r = int(self.shutdown_reason) if self.shutdown else 0
        letter = _REASON_LETTERS[r] if 0 <= r < len(_REASON_LETTERS) else "?"
        return "".join((
            "r" if self.running else "-", "b" if self.blocked else "-",
            "p" if self.paused else "-", "s" if self.shutdown else "-", letter,
            "d" if self.dying else "-"))

    @property
    def memory_mib(self) -> int:
        """``xl list``'s Mem column: (current + outstanding) KiB / 1024."""
        return (self.current_memkb + self.outstanding_memkb) // 1024

    @property
    def cpu_time_s(self) -> float:
        return self.cpu_time / 1e9


_new_object = object.__new__
_set_record = DomainInfo._r.__set__      # type: ignore[attr-defined]  # the slot's C setter


@dataclass(frozen=True)
class VcpuInfo:
    """One vCPU (libxl_vcpuinfo). vcpu_time in ns (bit 63 masked); affinities as CPU sets."""
    vcpuid: int
    cpu: int
    online: bool
    blocked: bool
    running: bool
    vcpu_time: int
    affinity: frozenset[int]
    soft_affinity: frozenset[int]


@dataclass(frozen=True)
class PhysInfo:
    """The host (libxl_physinfo). Pages are 4 KiB; ``*_kib`` properties convert."""
    threads_per_core: int
    cores_per_socket: int
    max_cpu_id: int
    nr_cpus: int
    cpu_khz: int
    total_pages: int
    free_pages: int
    scrub_pages: int
    outstanding_pages: int
    sharing_freed_pages: int
    sharing_used_frames: int
    max_possible_mfn: int
    nr_nodes: int
    hw_cap: tuple[int, ...]
    cap_hvm: bool
    cap_pv: bool
    cap_hvm_directio: bool
    cap_hap: bool
    cap_shadow: bool
    cap_iommu_hap_pt_share: bool

    @property
    def total_memkb(self) -> int:
        return self.total_pages * 4

    @property
    def free_memkb(self) -> int:
        return self.free_pages * 4


@dataclass(frozen=True)
class VersionInfo:
    """libxl_version_info."""
    xen_version_major: int
    xen_version_minor: int
    xen_version_extra: str
    compiler: str
    compile_by: str
    compile_domain: str
    compile_date: str
    capabilities: str
    changeset: str
    virt_start: int
    pagesize: int
    commandline: str
    build_id: str

    @property
    def xen_version(self) -> str:
        return f"{self.xen_version_major}.{self.xen_version_minor}{self.xen_version_extra}"


_SCHED_NAMES = {4: "sedf", 5: "credit", 6: "credit2", 7: "arinc653", 8: "rtds", 9: "null"}


@dataclass(frozen=True)
class CpupoolInfo:
    """A cpupool (libxl_cpupoolinfo): its id, name, scheduler (libxl's name for it, e.g.
    "credit"), the number of domains in it and its CPUs."""
    poolid: int
    name: str
    sched: str
    n_dom: int
    cpus: frozenset[int]


@dataclass(frozen=True)
class SchedCreditParams:
    """A cpupool's credit scheduler parameters (libxl_sched_credit_params)."""
    tslice_ms: int
    ratelimit_us: int
    migration_delay_us: int


@dataclass(frozen=True)
class CpuTopology:
    """Where a physical CPU sits (libxl_cputopology): core, socket and NUMA node."""
    cpu: int
    core: int
    socket: int
    node: int


@dataclass(frozen=True)
class NumaNode:
    """A NUMA node (libxl_numainfo): memory size and free memory in bytes, and its
    distances to every node (distances[i]: to node i)."""
    node: int
    size: int
    free: int
    distances: tuple[int, ...]


# ---- configuration ----

_VDEV_RE = re.compile(r"^(xvd|hd|sd)[a-z]+[0-9]*$|^d[0-9]+(p[0-9]+)?$")
_MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.:+\-]+$")


def check_domain_name(name: object) -> str:
    """Domain names the binding accepts: 1..64 characters of [A-Za-z0-9_.:+-]."""
    if not isinstance(name, str) or not 0 < len(name) <= 64 or not _NAME_RE.match(name):
        raise invalid(f"domain name {name!r} must be 1..64 characters of [A-Za-z0-9_.:+-]")
    return name


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise invalid(message)


@dataclass(frozen=True)
class DiskConfig:
    """A virtual block device (libxl_device_disk)."""
    vdev: str
    target: str | None = None          # pdev_path: file or device; None for an empty CD-ROM
    format: DiskFormat = DiskFormat.RAW
    backend: DiskBackend = DiskBackend.UNKNOWN
    readwrite: bool = True
    is_cdrom: bool = False
    script: str | None = None
    backend_domid: int = 0

    def __post_init__(self) -> None:
        _require(isinstance(self.vdev, str) and bool(_VDEV_RE.match(self.vdev)),
                 f"disk vdev {self.vdev!r} is not a virtual device name like 'xvda' or 'hdc'")
        _require(self.target is not None or self.is_cdrom,
                 f"disk {self.vdev}: target is required unless the disk is an (empty) cdrom")
        try:
            object.__setattr__(self, "format", DiskFormat(self.format))
            object.__setattr__(self, "backend", DiskBackend(self.backend))
        except ValueError:
            raise invalid(f"disk {self.vdev}: unknown format {self.format!r} or "
                          f"backend {self.backend!r}") from None
        _require(0 <= self.backend_domid < 0x7FF0, f"disk {self.vdev}: bad backend_domid")


@dataclass(frozen=True)
class DiskInfo:
    """A disk's xenstore state (libxl_diskinfo, ``xl block-list``): backend and frontend
    paths, devid (the vdev's number), the frontend's XenbusState (4: connected), its event
    channel and ring grant ref; -1 where the guest has not written them (yet)."""
    backend: str
    backend_id: int
    frontend: str
    frontend_id: int
    devid: int
    state: int
    evtch: int
    rref: int


@dataclass(frozen=True)
class NicInfo:
    """A nic's xenstore state (libxl_nicinfo, ``xl network-list``), as DiskInfo with the
    transmit and receive ring refs. ``evtch`` is -1 with Linux guests on real Xen: netfront
    takes split tx/rx event channels, which libxl does not read."""
    backend: str
    backend_id: int
    frontend: str
    frontend_id: int
    devid: int
    state: int
    evtch: int
    rref_tx: int
    rref_rx: int


@dataclass(frozen=True)
class NicConfig:
    """A virtual network interface (libxl_device_nic). rate: bytes per second (0: unlimited),
    applied with libxl's default 50 ms credit interval."""
    mac: str | None = None
    bridge: str | None = None
    mtu: int = 0                       # 0: libxl default (1500)
    model: str | None = None           # emulated model for HVM, e.g. "e1000"
    ip: str | None = None
    script: str | None = None
    rate: int = 0
    devid: int = -1                    # -1: libxl picks
    ifname: str | None = None
    backend_domid: int = 0

    def __post_init__(self) -> None:
        _require(self.mac is None or bool(_MAC_RE.match(self.mac)),
                 f"nic mac {self.mac!r} is not of the form 00:16:3e:xx:xx:xx")
        _require(isinstance(self.mtu, int) and (self.mtu == 0 or 68 <= self.mtu <= 65535),
                 f"nic mtu {self.mtu!r} is out of range (68..65535, or 0 for the default)")
        _require(isinstance(self.rate, int) and self.rate >= 0,
                 f"nic rate {self.rate!r} must be a non-negative number of bytes/s")
        _require(isinstance(self.devid, int) and self.devid >= -1, "nic devid must be >= -1")
        if self.ip is not None:
            for a in self.ip.split():
                try:
                    ipaddress.ip_address(a)
                except ValueError:
                    raise invalid(f"nic ip {a!r} is not an IP address") from None
        _require(0 <= self.backend_domid < 0x7FF0, "nic backend_domid is out of range")

    @property
    def mac_bytes(self) -> bytes | None:
        return bytes.fromhex(self.mac.replace(":", "")) if self.mac else None


@dataclass(frozen=True)
class DomainConfig:
    """What to create (libxl_domain_config). Memory in MiB, as in xl config files.

    Boot: ``kernel`` (+ ``ramdisk``, ``cmdline``) for PV/PVH direct boot, or ``bootloader``
    (PV, e.g. "pygrub"), or neither for HVM (firmware boots from the disks).
    """
    name: str
    type: DomainType = DomainType.PV
    memory: int = 128                  # MiB, the balloon target
    maxmem: int | None = None          # MiB, None: same as memory
    vcpus: int = 1                     # online at start
    maxvcpus: int | None = None        # None: same as vcpus
    kernel: str | None = None
    ramdisk: str | None = None
    cmdline: str | None = None
    bootloader: str | None = None
    bootloader_args: tuple[str, ...] = ()
    disks: tuple[DiskConfig, ...] = ()
    nics: tuple[NicConfig, ...] = ()
    on_poweroff: ShutdownAction = ShutdownAction.DESTROY
    on_reboot: ShutdownAction = ShutdownAction.RESTART
    on_crash: ShutdownAction = ShutdownAction.DESTROY
    on_watchdog: ShutdownAction = ShutdownAction.DESTROY
    uuid: str | None = None            # None: a random one (as xl; libxl would leave it nil)
    boot: str | None = None            # HVM boot order, e.g. "cd"
    cpus: frozenset[int] | None = None  # hard affinity of all vCPUs (None: any)
    domid: int | None = None           # ask for this domid (None: the next free one)
    weight: int | None = None          # credit scheduler weight 1..65535 (None: Xen's 256)
    cap: int | None = None             # percent of one pCPU, 0 = none (None: 0)

    def __post_init__(self) -> None:
        check_domain_name(self.name)
        try:
            object.__setattr__(self, "type", DomainType(self.type))
        except ValueError:
            raise invalid(f"domain type {self.type!r} is not PV, PVH or HVM") from None
        _require(self.type != DomainType.INVALID, "domain type must be PV, PVH or HVM")
        _require(isinstance(self.memory, int) and self.memory > 0,
                 f"memory {self.memory!r} must be a positive number of MiB")
        maxmem = self.memory if self.maxmem is None else self.maxmem
        _require(isinstance(maxmem, int) and maxmem >= self.memory,
                 f"maxmem {maxmem!r} must be at least memory ({self.memory})")
        _require(isinstance(self.vcpus, int) and self.vcpus >= 1,
                 f"vcpus {self.vcpus!r} must be at least 1")
        maxv = self.vcpus if self.maxvcpus is None else self.maxvcpus
        _require(isinstance(maxv, int) and self.vcpus <= maxv <= 512,
                 f"maxvcpus {maxv!r} must be between vcpus ({self.vcpus}) and 512")
        _require(not (self.kernel and self.bootloader),
                 "kernel and bootloader are exclusive: give one or the other")
        if self.type == DomainType.PV:
            _require(bool(self.kernel or self.bootloader),
                     "a PV domain needs a kernel or a bootloader")
        if self.type == DomainType.PVH:
            _require(bool(self.kernel), "a PVH domain needs a kernel")
        _require(not (self.ramdisk and not self.kernel), "ramdisk given without a kernel")
        object.__setattr__(self, "disks", tuple(self.disks))
        object.__setattr__(self, "nics", tuple(self.nics))
        object.__setattr__(self, "bootloader_args", tuple(self.bootloader_args))
        vdevs = [d.vdev for d in self.disks]
        _require(len(set(vdevs)) == len(vdevs), f"duplicate disk vdev in {vdevs}")
        devids = [n.devid for n in self.nics if n.devid >= 0]
        _require(len(set(devids)) == len(devids), "duplicate nic devid")
        for a in ("on_poweroff", "on_reboot", "on_crash", "on_watchdog"):
            try:
                object.__setattr__(self, a, ShutdownAction(getattr(self, a)))
            except ValueError:
                raise invalid(f"{a}: {getattr(self, a)!r} is not a shutdown action") from None
        if self.uuid is not None:
            import uuid as _uuid
            try:
                object.__setattr__(self, "uuid", str(_uuid.UUID(self.uuid)))
            except ValueError:
                raise invalid(f"uuid {self.uuid!r} is not a UUID") from None
        check_sched(self.weight, self.cap, self.max_vcpus)
        _require(self.domid is None or (isinstance(self.domid, int)
                                        and not isinstance(self.domid, bool)
                                        and 1 <= self.domid <= 0x7FEF),
                 f"domid {self.domid!r} must be between 1 and 32751")
        if self.cpus is not None:
            object.__setattr__(self, "cpus", frozenset(self.cpus))
            _require(all(isinstance(c, int) and c >= 0 for c in self.cpus) and bool(self.cpus),
                     "cpus must be a non-empty set of CPU numbers")

    @property
    def memkb(self) -> int:
        return self.memory * 1024

    @property
    def max_memkb(self) -> int:
        return (self.maxmem if self.maxmem is not None else self.memory) * 1024

    @property
    def max_vcpus(self) -> int:
        return self.maxvcpus if self.maxvcpus is not None else self.vcpus


@dataclass(frozen=True)
class DomainEvent:
    """A domain event: kind "shutdown" (with its reason) or "death"."""
    kind: str
    domid: int
    uuid: str | None                   # None: libxl gave a nil uuid (libxl 4.17 always does)
    reason: ShutdownReason | None = None

    @property
    def suspended(self) -> bool:
        """A shutdown with reason SUSPEND: the guest suspended for a save, a checkpoint or
        a migration (libxl_domain_suspend), not a guest shutdown. The domain's copy is then
        resumed (a cancelled or failed migration) or destroyed (saved, or migrated away:
        the "death" that follows is that destroy, not the VM halting)."""
        return self.kind == "shutdown" and self.reason == ShutdownReason.SUSPEND


__all__ = [
    "DomainType", "ShutdownReason", "ShutdownAction", "DiskFormat", "DiskBackend",
    "DomainInfo", "VcpuInfo", "PhysInfo", "VersionInfo", "DiskConfig", "NicConfig",
    "DiskInfo", "NicInfo", "DomainConfig", "DomainEvent",
]


def check_sched(weight: int | None, cap: int | None, max_vcpus: int) -> None:
    """The credit scheduler's ranges, as libxl checks them (None: unchanged/default)."""
    if weight is not None:
        _require(type(weight) is int and 1 <= weight <= 65535,
                 f"weight {weight!r} must be between 1 and 65535")
    if cap is not None:
        _require(type(cap) is int and 0 <= cap <= 100 * max_vcpus,
                 f"cap {cap!r} must be between 0 and {100 * max_vcpus} "
                 f"(100 per vCPU, {max_vcpus} vCPUs)")


@dataclass(frozen=True)
class SchedParams:
    """A domain's credit scheduler parameters (libxl_domain_sched_params)."""
    weight: int
    cap: int
