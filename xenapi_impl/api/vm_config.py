"""VM.*: configuration setters that change more than their field, and the deprecated or
removed messages, as xapi implements them: boot policy and domain type follow each other,
the shadow multiplier and the vendor device change the VM's memory overhead / hardware
platform version, HA restart priority and ha_always_run, agility (can the VM run on every
host of the pool), the boot record."""
from __future__ import annotations

import asyncio
from typing import Any

from ..errors import XenAPIError
from ..store import NULL_REF
from .context import Context
from .registry import implements
from .vm_misc import memory_overhead

#: xapi's Constants.hvm_default_boot_policy
HVM_DEFAULT_BOOT_POLICY = "BIOS order"
#: xapi's Constants.ha_valid_restart_priorities
HA_RESTART = "restart"
HA_PRIORITIES = (HA_RESTART, "best-effort", "")
#: the hardware platform version a vendor device needs (xapi's Xapi_globs.has_vendor_device)
VENDOR_DEVICE_PLATFORM_VERSION = 2


def _halted(rec: dict[str, Any], vm: str) -> None:
    if rec["power_state"] != "Halted":
        raise XenAPIError("VM_BAD_POWER_STATE", vm, "halted", rec["power_state"].lower())


# --- boot policy and domain type ------------------------------------------------------------
@implements("VM.set_HVM_boot_policy")
async def set_HVM_boot_policy(ctx: Context, self: str, value: str) -> None:
    """Clients that only know the boot policy: "" makes the VM PV, anything else HVM."""
    ctx.txn.update("VM", self, {"HVM_boot_policy": value,
                                "domain_type": "pv" if value == "" else "hvm"})


@implements("VM.set_domain_type")
async def set_domain_type(ctx: Context, self: str, value: str) -> None:
    if value == "unspecified":
        raise XenAPIError("INVALID_VALUE", "domain_type", value)
    ctx.txn.update("VM", self, {"domain_type": value, "HVM_boot_policy":
                                HVM_DEFAULT_BOOT_POLICY if value == "hvm" else ""})


# --- memory ---------------------------------------------------------------------------------
@implements("VM.set_HVM_shadow_multiplier")
async def set_HVM_shadow_multiplier(ctx: Context, self: str, value: float) -> None:
    """A halted VM's multiplier (at least 1); its memory overhead follows."""
    rec = ctx.txn.get("VM", self)
    _halted(rec, self)
    if value < 1.0:
        raise XenAPIError("INVALID_VALUE", "multiplier", repr(float(value)))
    rec = {**rec, "HVM_shadow_multiplier": value}
    ctx.txn.update("VM", self, {"HVM_shadow_multiplier": value,
                                "memory_overhead": memory_overhead(rec)})


@implements("VM.set_memory_target_live")
async def set_memory_target_live(ctx: Context, self: str, target: int) -> None:
    """Deprecated: xapi does nothing (the target follows the dynamic range)."""


#: xapi's wait_memory_target_tolerance_bytes and wait_memory_target_timeout (seconds)
TARGET_TOLERANCE = 1 << 20
TARGET_TIMEOUT = 256


@implements("VM.wait_memory_target_live")
async def wait_memory_target_live(ctx: Context, self: str) -> None:
    """Deprecated: wait (polling each second) until the running guest's memory is within
    1 MiB of its target, then record it in VM_metrics.memory_actual; xapi's
    VM_MEMORY_TARGET_WAIT_TIMEOUT [task] after 256 s."""
    from .vm import hypervisor
    rec = ctx.txn.get("VM", self)
    if rec["power_state"] != "Running":
        raise XenAPIError("VM_BAD_POWER_STATE", self, "running", rec["power_state"].lower())
    task = ctx.task.ref if ctx.task is not None else NULL_REF
    hv = hypervisor(ctx)
    for _ in range(TARGET_TIMEOUT + 1):
        if ctx.task is not None:
            ctx.task.check_cancelled()
        info = await hv.domain_info(rec["domid"])
        if info is None:
            raise XenAPIError("VM_BAD_POWER_STATE", self, "running", "halted")
        actual = info.current_memkb * 1024
        if abs(actual - rec["memory_target"]) <= TARGET_TOLERANCE:
            if rec["metrics"] != NULL_REF and ctx.txn.get("VM_metrics", rec["metrics"]):
                ctx.txn.update("VM_metrics", rec["metrics"], {"memory_actual": actual})
            return
        await asyncio.sleep(1.0)
    raise XenAPIError("VM_MEMORY_TARGET_WAIT_TIMEOUT", task)


# --- devices ----------------------------------------------------------------------------------
@implements("VM.set_has_vendor_device")
async def set_has_vendor_device(ctx: Context, self: str, value: bool) -> None:
    """Halted VMs only; a vendor device needs hardware platform version 2."""
    rec = ctx.txn.get("VM", self)
    _halted(rec, self)
    values: dict[str, Any] = {"has_vendor_device": value}
    if value and rec["hardware_platform_version"] < VENDOR_DEVICE_PLATFORM_VERSION:
        values["hardware_platform_version"] = VENDOR_DEVICE_PLATFORM_VERSION
    ctx.txn.update("VM", self, values)


# --- HA -------------------------------------------------------------------------------------
@implements("VM.set_ha_restart_priority")
async def set_ha_restart_priority(ctx: Context, self: str, value: str) -> None:
    """A running VM is protected (ha_always_run) at once when the priority is "restart"."""
    if value not in HA_PRIORITIES:
        raise XenAPIError("INVALID_VALUE", "ha_restart_priority", value)
    rec = ctx.txn.get("VM", self)
    if rec["ha_restart_priority"] == value:
        return
    values: dict[str, Any] = {"ha_restart_priority": value}
    if rec["power_state"] == "Running":
        values["ha_always_run"] = value == HA_RESTART
    ctx.txn.update("VM", self, values)


@implements("VM.set_ha_always_run")
async def set_ha_always_run(ctx: Context, self: str, value: bool) -> None:
    """Deprecated: the restart priority "restart" (true) or "" (false)."""
    await set_ha_restart_priority(ctx, self, HA_RESTART if value else "")


# --- agility ----------------------------------------------------------------------------------
def _enabled_hosts(ctx: Context) -> set[str]:
    return {ref for ref, h in ctx.store.records("host").items() if h["enabled"]}


def _sr_properly_shared(ctx: Context, sr: str) -> bool:
    rec = ctx.txn.get("SR", sr)
    if not rec["shared"]:
        return False
    plugged = {ctx.txn.get("PBD", p)["host"] for p in rec["PBDs"]
               if ctx.txn.get("PBD", p) is not None and ctx.txn.get("PBD", p)["currently_attached"]}
    return _enabled_hosts(ctx) <= plugged


def _network_properly_shared(ctx: Context, net: str) -> bool:
    hosts = {ctx.txn.get("PIF", p)["host"] for p in ctx.txn.get("network", net)["PIFs"]
             if ctx.txn.get("PIF", p) is not None
             and ctx.txn.get("PIF", p)["bond_slave_of"] == NULL_REF}
    return _enabled_hosts(ctx) <= hosts


@implements("VM.assert_agile")
async def assert_agile(ctx: Context, self: str) -> None:
    """Whether the VM could run on every enabled host: its disks' SRs shared and attached on
    all of them, its networks with a (non bond-slave) PIF on all of them (xapi's Agility)."""
    rec = ctx.txn.get("VM", self)
    if rec["VGPUs"]:
        raise XenAPIError("VM_HAS_VGPU", self)
    if rec["VUSBs"]:
        raise XenAPIError("VM_HAS_VUSBS", self)
    for vbd in rec["VBDs"]:
        b = ctx.txn.get("VBD", vbd)
        if b is None or b["empty"] or b["VDI"] == NULL_REF:
            continue
        sr = ctx.txn.get("VDI", b["VDI"])["SR"]
        if not _sr_properly_shared(ctx, sr):
            raise XenAPIError("HA_CONSTRAINT_VIOLATION_SR_NOT_SHARED", sr)
    for vif in rec["VIFs"]:
        net = ctx.txn.get("VIF", vif)["network"]
        if not _network_properly_shared(ctx, net):
            raise XenAPIError("HA_CONSTRAINT_VIOLATION_NETWORK_NOT_SHARED", net)


# --- deprecated and removed -------------------------------------------------------------------
@implements("VM.get_boot_record")
async def get_boot_record(ctx: Context, self: str) -> dict[str, Any]:
    """Deprecated: xapi answers the VM's current record."""
    return dict(ctx.txn.get("VM", self))


@implements("VM.get_cooperative")
async def get_cooperative(ctx: Context, self: str) -> bool:
    """Deprecated: always true (xapi)."""
    return True


@implements("VM.snapshot_with_quiesce")
async def snapshot_with_quiesce(ctx: Context, vm: str, new_name: str) -> str:
    """Removed from the API with VSS: xapi answers MESSAGE_REMOVED."""
    raise XenAPIError("MESSAGE_REMOVED")


# --- Secure Boot certificates -------------------------------------------------------------------
@implements("VM.update_secureboot_certificates_on_boot")
async def update_secureboot_certificates_on_boot(ctx: Context, self: str, mark: bool) -> None:
    """Mark (or clear) a certificate update at the next boot: only from update_available
    (or update_on_boot to clear); repeating a call changes nothing."""
    state = ctx.txn.get("VM", self)["secureboot_certificates_state"]
    if (mark, state) in ((True, "update_available"), (False, "update_on_boot")):
        ctx.txn.update("VM", self, {"secureboot_certificates_state":
                                    "update_on_boot" if mark else "update_available"})
    elif (mark, state) not in ((True, "update_on_boot"), (False, "update_available")):
        raise XenAPIError("OPERATION_NOT_ALLOWED",
                          f"Cannot {'set' if mark else 'clear'} update_on_boot: "
                          "VM.secureboot_certificates_state is not in a valid state")


# --- plugins ------------------------------------------------------------------------------------
@implements("VM.call_host_plugin")
async def call_host_plugin(ctx: Context, vm: str, plugin: str, fn: str,
                           args: dict[str, str]) -> str:
    """host.call_plugin on the host the VM runs on (this host when it does not run)."""
    from .host_misc import call_plugin
    host = ctx.txn.get("VM", vm)["resident_on"]
    return await call_plugin(ctx, host if host != NULL_REF else ctx.services.host_ref,
                             plugin, fn, args)
