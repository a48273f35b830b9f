"""A VM record (with its resolved disks and NICs) -> the binding's DomainConfig.

Everything a client can get wrong is checked here, before any libxl call, and reported as
VALUE_NOT_SUPPORTED [field, value, reason] so a failed start changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import XenAPIError
from ..model.types import decimal_int
from .sched import BadSchedValue, sched_from_params

MIB = 1024 * 1024
#: VM.actions_after_* -> libxl's on_* action names (xenlight_py.ShutdownAction members)
ACTIONS = {"destroy": "DESTROY", "restart": "RESTART", "preserve": "PRESERVE",
           "rename_restart": "RESTART_RENAME", "coredump_and_destroy": "COREDUMP_DESTROY",
           "coredump_and_restart": "COREDUMP_RESTART", "soft_reboot": "SOFT_RESET"}


@dataclass(frozen=True)
class Disk:
    userdevice: str
    pdev_path: str | None      # None: an empty CD drive
    readwrite: bool
    is_cdrom: bool


@dataclass(frozen=True)
class Nic:
    device: str
    mac: str
    bridge: str
    mtu: int
    other_config: Mapping[str, str]
    qos_algorithm_type: str
    qos_algorithm_params: Mapping[str, str]


def unsupported(field: str, value: object, reason: str) -> XenAPIError:
    return XenAPIError("VALUE_NOT_SUPPORTED", field, str(value), reason)


def domain_type(vm: Mapping[str, Any]) -> str:
    """"hvm", "pv" or "pvh": the record's domain_type unless unspecified, else from
    HVM_boot_policy like xapi."""
    dt = vm.get("domain_type", "unspecified")
    if dt in ("hvm", "pv", "pvh"):
        return dt
    return "hvm" if vm["HVM_boot_policy"] else "pv"


def vdev(userdevice: str, hvm: bool) -> str:
    n = int(userdevice) if userdevice.isdigit() else ord(userdevice[-1]) - ord("a")
    letters = ""
    n += 1
    while n:                      # bijective base 26: a..z, aa..
        n, r = divmod(n - 1, 26)
        letters = chr(ord("a") + r) + letters
    return ("hd" if hvm and len(letters) == 1 and letters < "e" else "xvd") + letters


def cpu_mask(params: Mapping[str, str], nr_cpus: int) -> frozenset[int] | None:
    mask = params.get("mask", "")
    if not mask:
        return None
    cpus = set()
    for part in mask.split(","):
        part = part.strip()
        cpu = decimal_int(part, signed=False)
        if cpu is None or cpu >= nr_cpus:
            raise unsupported("VCPUs_params", f"mask={mask}",
                              f"CPU {part!r} is not a physical CPU of this host "
                              f"(0..{nr_cpus - 1})")
        cpus.add(cpu)
    return frozenset(cpus)


def sched_params(params: Mapping[str, str], max_vcpus: int) -> dict[str, int]:
    """VCPUs_params weight/cap -> DomainConfig weight/cap (credit scheduler)."""
    try:
        return sched_from_params(params, max_vcpus)
    except BadSchedValue as exc:
        key, reason = exc.args
        raise unsupported("VCPUs_params", f"{key}={params[key]}", reason) from None


def nic_rate(nic: Nic) -> int:
    """QoS 'ratelimit' kbps (kilobytes/s, as xapi's vif backend reads it) -> bytes/s."""
    if nic.qos_algorithm_type != "ratelimit":
        return 0
    kbps = nic.qos_algorithm_params.get("kbps", "")
    n = decimal_int(kbps, signed=False)
    return n * 1024 if n is not None else 0


def disk_config(d: Disk, hvm: bool) -> Any:
    import xenlight_py as xl
    return xl.DiskConfig(vdev(d.userdevice, hvm), d.pdev_path, readwrite=d.readwrite,
                         is_cdrom=d.is_cdrom)


def nic_config(n: Nic) -> Any:
    import xenlight_py as xl
    return xl.NicConfig(mac=n.mac, bridge=n.bridge or None,
                        mtu=int(n.other_config.get("mtu") or n.mtu or 0),
                        model=n.other_config.get("model") or None,
                        ip=n.other_config.get("ip") or None,
                        script=n.other_config.get("script") or None,
                        rate=nic_rate(n), devid=int(n.device))


def build(vm: Mapping[str, Any], disks: list[Disk], nics: list[Nic], *,
          nr_cpus: int) -> Any:
    """The DomainConfig that starts `vm` (its uuid is the domain's uuid and name)."""
    import xenlight_py as xl

    dtype = domain_type(vm)
    hvm = dtype == "hvm"
    maxmem = vm["memory_static_max"] // MIB
    target = vm["memory_dynamic_max"] // MIB
    if target < 1:
        raise unsupported("memory_dynamic_max", vm["memory_dynamic_max"],
                          "a running VM needs at least 1 MiB")
    vcpus, maxv = vm["VCPUs_at_startup"], vm["VCPUs_max"]
    if not 1 <= vcpus <= maxv:
        raise XenAPIError("VALUE_NOT_SUPPORTED", "VCPUs_at_startup", str(vcpus),
                          "value must be between 1 and VCPUs_max")
    kernel = ramdisk = cmdline = bootloader = None
    bl_args: tuple[str, ...] = ()
    boot = None
    if hvm:
        boot = vm["HVM_boot_params"].get("order") or "cd"
    else:
        if vm["PV_bootloader"]:
            bootloader = vm["PV_bootloader"]
            bl_args = tuple(vm["PV_bootloader_args"].split())
        elif vm["PV_kernel"]:
            kernel = vm["PV_kernel"]
            ramdisk = vm["PV_ramdisk"] or None
        else:
            raise unsupported("PV_kernel", "", f"a {dtype.upper()} VM needs PV_kernel or "
                              "PV_bootloader")
        cmdline = " ".join(a for a in (vm["PV_legacy_args"], vm["PV_args"]) if a) or None
        if dtype == "pvh" and not kernel:
            raise unsupported("PV_kernel", "", "a PVH VM needs PV_kernel")

    def action(field: str) -> Any:
        value = vm[field]
        name = ACTIONS.get(value)
        if name is None:
            raise unsupported(field, value, "not an action libxl knows")
        return getattr(xl.ShutdownAction, name)

    try:
        return xl.DomainConfig(
            name=vm["uuid"], uuid=vm["uuid"],
            type={"hvm": xl.DomainType.HVM, "pv": xl.DomainType.PV,
                  "pvh": xl.DomainType.PVH}[dtype],
            memory=target, maxmem=maxmem, vcpus=vcpus, maxvcpus=maxv,
            kernel=kernel, ramdisk=ramdisk, cmdline=cmdline, bootloader=bootloader,
            bootloader_args=bl_args, boot=boot,
            cpus=cpu_mask(vm["VCPUs_params"], nr_cpus),
            **sched_params(vm["VCPUs_params"], maxv),
            disks=tuple(disk_config(d, hvm) for d in disks),
            nics=tuple(nic_config(n) for n in nics),
            # the toolstack, not libxl, applies actions_after_* (the event pump)
            on_poweroff=xl.ShutdownAction.DESTROY, on_reboot=action("actions_after_reboot"),
            on_crash=action("actions_after_crash"))
    except xl.ConfigError as exc:
        raise unsupported("VM", vm["uuid"], str(exc)) from exc
