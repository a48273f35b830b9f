"""VM.*: the smaller messages clients call (Ansible's xenserver_guest, installers, xe):
allowed devices, operation checks, field setters with xapi's checks, memory arithmetic,
BIOS strings, power_state_reset, sysrq/trigger. Behaviour and errors follow xapi's."""
from __future__ import annotations

from typing import Any

from ..errors import XenAPIError
from .context import Context
from .registry import implements, implements_setter
from .vm import (ALLOWED, TEMPLATE_ALLOWED, VmOps, allowed_operations, hypervisor, record_halted,
                 release_devices)

MIB = 1024 * 1024
#: xapi's high-watermark device numbers (Xapi_vm_helpers): disks 0..254 (dom0: 0..255),
#: NICs 0..6, whatever the guest type
VBD_DEVICES = range(0, 255)
VBD_DEVICES_DOM0 = range(0, 256)
VIF_DEVICES = range(0, 7)


# --- allowed devices ------------------------------------------------------------------------
def _used(ctx: Context, cls: str, refs: list[str], key: str) -> set[str]:
    out = set()
    for r in refs:
        rec = ctx.txn.get(cls, r)
        if rec is not None:
            out.add(rec[key])
    return out


@implements("VM.get_allowed_VBD_devices")
async def get_allowed_VBD_devices(ctx: Context, vm: str) -> list[str]:
    rec = ctx.txn.get("VM", vm)
    used = _used(ctx, "VBD", rec["VBDs"], "userdevice")
    every = VBD_DEVICES_DOM0 if rec["is_control_domain"] else VBD_DEVICES
    return [str(n) for n in every if str(n) not in used]


@implements("VM.get_allowed_VIF_devices")
async def get_allowed_VIF_devices(ctx: Context, vm: str) -> list[str]:
    used = _used(ctx, "VIF", ctx.txn.get("VM", vm)["VIFs"], "device")
    return [str(n) for n in VIF_DEVICES if str(n) not in used]


# --- operations -----------------------------------------------------------------------------
def operation_error(ctx: Context, vm: str, op: str) -> XenAPIError | None:
    """Why `op` cannot run on the VM now (None if it can), in the order VM operations are
    checked (vm.check_operation)."""
    rec = ctx.txn.get("VM", vm)
    if op in rec["blocked_operations"]:
        return XenAPIError("OPERATION_BLOCKED", vm, rec["blocked_operations"][op])
    if rec["is_a_template"]:
        if op in TEMPLATE_ALLOWED:
            return None
        if op in ("start", "start_on", "resume", "resume_on"):
            return XenAPIError("VM_IS_TEMPLATE", vm)
    states = [s for s, ops in ALLOWED.items() if op in ops]
    if not states and op not in TEMPLATE_ALLOWED:
        return XenAPIError("OPERATION_NOT_ALLOWED",
                           f"VM operation {op} is not supported by this server")
    if states and rec["power_state"] not in states:
        return XenAPIError("VM_BAD_POWER_STATE", vm, ",".join(s.lower() for s in states),
                           rec["power_state"].lower())
    busy = VmOps.of(ctx.services).busy.get(vm)
    if busy is not None:
        return XenAPIError("OTHER_OPERATION_IN_PROGRESS", "VM", vm, busy[0], busy[1])
    if rec["is_a_template"]:
        return XenAPIError("VM_IS_TEMPLATE", vm)
    if rec["is_control_domain"]:
        return XenAPIError("OPERATION_NOT_ALLOWED",
                           "This operation is not allowed on the control domain")
    return None


@implements("VM.assert_operation_valid")
async def assert_operation_valid(ctx: Context, self: str, op: str) -> None:
    err = operation_error(ctx, self, op)
    if err is not None:
        raise err


@implements("VM.update_allowed_operations")
async def update_allowed_operations(ctx: Context, self: str) -> None:
    ctx.txn.update("VM", self, {"allowed_operations":
                                allowed_operations(ctx.txn.get("VM", self))})


# --- setters with xapi's checks -------------------------------------------------------------
def _non_negative(name: str):
    async def setter(ctx: Context, self: str, value: int) -> None:
        if value < 0:
            raise XenAPIError("INVALID_VALUE", f"{name} must be non-negative", str(value))
        ctx.txn.update("VM", self, {name: value})
    return setter


implements("VM.set_order")(_non_negative("order"))
implements("VM.set_start_delay")(_non_negative("start_delay"))
implements("VM.set_shutdown_delay")(_non_negative("shutdown_delay"))
implements_setter("VM.set_actions_after_crash", "actions_after_crash")


@implements("VM.set_suspend_VDI")
async def set_suspend_VDI(ctx: Context, self: str, value: str) -> None:
    """Only a suspended VM's image may be replaced (xapi: VM_BAD_POWER_STATE otherwise)."""
    rec = ctx.txn.get("VM", self)
    if rec["power_state"] != "Suspended":
        raise XenAPIError("VM_BAD_POWER_STATE", self, "suspended", rec["power_state"].lower())
    if ctx.txn.get("VDI", value)["type"] == "cbt_metadata":
        raise XenAPIError("VDI_INCOMPATIBLE_TYPE", value, "cbt_metadata")
    ctx.txn.update("VM", self, {"suspend_VDI": value})


# --- memory ---------------------------------------------------------------------------------
def _mib_of_pages(pages: int) -> int:
    return (pages + 255) // 256                 # 4 KiB pages, rounded up to MiB


def memory_overhead(rec: dict[str, Any], vcpus: int | None = None,
                    static_max: int | None = None) -> int:
    """xapi's memory model: 1 MiB outside the domain (+1 MiB inside for HVM/PVH) and the
    shadow allowance (256 pages per vCPU, 2 pages per MiB of static max, times the VM's
    HVM_shadow_multiplier, at least 1 MiB), in bytes."""
    smax = rec["memory_static_max"] if static_max is None else static_max
    n = rec["VCPUs_max"] if vcpus is None else vcpus
    static_max_mib = (smax + MIB - 1) // MIB
    shadow = _mib_of_pages(256 * n + 2 * static_max_mib)
    shadow = max(1, int(shadow * rec["HVM_shadow_multiplier"]))
    dtype = rec["domain_type"]
    if dtype == "unspecified":
        dtype = "hvm" if rec["HVM_boot_policy"] else "pv"
    internal = 0 if dtype == "pv" else 1
    return (internal + 1 + shadow) * MIB


@implements("VM.compute_memory_overhead")
async def compute_memory_overhead(ctx: Context, vm: str) -> int:
    return memory_overhead(ctx.txn.get("VM", vm))


@implements("VM.maximise_memory")
async def maximise_memory(ctx: Context, self: str, total: int, approximate: bool) -> int:
    """The largest static max whose footprint (itself plus the overhead) fits in `total`
    (approximate: as if the VM had 64 vCPUs), rounded down to a MiB."""
    rec = ctx.txn.get("VM", self)
    vcpus = 64 if approximate else rec["VCPUs_max"]

    def fits(smax: int) -> bool:
        return smax + memory_overhead(rec, vcpus, smax) <= total
    lo, hi = 0, max(total, 0)
    if not fits(lo):
        return 0
    while lo < hi:                          # the largest smax in [0, total] that fits
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo // MIB * MIB


# --- BIOS strings ---------------------------------------------------------------------------
@implements("VM.copy_bios_strings")
async def copy_bios_strings(ctx: Context, vm: str, host: str) -> None:
    """The host's BIOS strings, only if the VM has none yet; the VM gets affinity to it."""
    if ctx.txn.get("VM", vm)["bios_strings"]:
        raise XenAPIError("VM_BIOS_STRINGS_ALREADY_SET")
    ctx.txn.update("VM", vm, {"bios_strings": dict(ctx.txn.get("host", host)["bios_strings"]),
                              "affinity": host})


# --- power state reset ----------------------------------------------------------------------
@implements("VM.power_state_reset")
async def power_state_reset(ctx: Context, vm: str) -> None:
    """Record the VM Halted in the database only; refused for the control domain and for a
    VM whose domain still runs on this host (DOMAIN_EXISTS)."""
    from .vm import _drop_suspend_image
    rec = ctx.txn.get("VM", vm)
    if rec["is_control_domain"]:
        raise XenAPIError("CANNOT_RESET_CONTROL_DOMAIN", vm)
    if rec["power_state"] in ("Running", "Paused") \
            and rec["resident_on"] == ctx.services.host_ref and rec["domid"] >= 0:
        info = await hypervisor(ctx).domain_info(rec["domid"])
        if info is not None and not info.dying and not info.shutdown:
            raise XenAPIError("DOMAIN_EXISTS", vm, str(rec["domid"]))
    if rec["power_state"] == "Halted":
        return
    if rec["power_state"] == "Suspended":
        await _drop_suspend_image(ctx, ctx.txn, vm)
    await release_devices(ctx, vm)
    record_halted(ctx, ctx.txn, vm)
    VmOps.of(ctx.services).busy.pop(vm, None)
    ctx.txn.update("VM", vm, {"current_operations": {}})
    ctx.txn.update("VM", vm, {"allowed_operations": allowed_operations(
        ctx.txn.get("VM", vm))})


# --- sysrq, triggers: xapi checks the VM runs, then answers NOT_IMPLEMENTED ------------------
def _running(ctx: Context, vm: str) -> None:
    rec = ctx.txn.get("VM", vm)
    if rec["power_state"] != "Running":
        raise XenAPIError("VM_BAD_POWER_STATE", vm, "running", rec["power_state"].lower())


@implements("VM.send_sysrq")
async def send_sysrq(ctx: Context, vm: str, key: str) -> None:
    _running(ctx, vm)
    raise XenAPIError("NOT_IMPLEMENTED", "send_sysrq")


@implements("VM.send_trigger")
async def send_trigger(ctx: Context, vm: str, trigger: str) -> None:
    _running(ctx, vm)
    raise XenAPIError("NOT_IMPLEMENTED", "send_trigger")


@implements("VM.set_protection_policy", nullable=("value",))
async def set_protection_policy(ctx: Context, self: str, value: str) -> None:
    """VM protection policies (VMPP) were removed in favour of VMSS: xapi answers so."""
    raise XenAPIError("MESSAGE_REMOVED")


@implements("VM.query_services")
async def query_services(ctx: Context, self: str) -> dict[str, str]:
    """xapi's own implementation answers NOT_IMPLEMENTED (no service registry)."""
    raise XenAPIError("NOT_IMPLEMENTED", "query_services")
