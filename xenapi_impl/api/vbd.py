"""VBD.*: a VM's virtual block devices, as records (hot-plug onto a running domain comes later).

create follows xapi's checks (CDs read-only, only CDs empty, no RW VBD on a read-only VDI,
userdevice valid and free on the VM, "autodetect" picks the lowest free one) and makes the
VBD_metrics record. plug/unplug/insert/eject on a running VM change its domain
(api/vbd_live.py); on a halted VM plug/unplug answer VM_BAD_POWER_STATE like xapi.
"""
from __future__ import annotations

import re
from typing import Any

from ..errors import XenAPIError
from ..model.types import decimal_int
from ..store import NULL_REF, new_ref, new_uuid
from .context import Context
from .owned import delete_with_metrics
from .registry import implements

#: userdevice numbers a VM may use (xapi allows 0..254 for PV; HVM guests see the first 4 IDE)
MAX_DEVICES = 255
_NAMED = re.compile(r"^(?:xvd|hd|sd)([a-z])$")


def _device_number(userdevice: str) -> int | None:
    """The disk number a userdevice names ("0", "xvda", "hdb"...), or None if invalid."""
    n = decimal_int(userdevice, 3, signed=False)
    if n is not None and (userdevice == "0" or not userdevice.startswith("0")):
        return n if n < MAX_DEVICES else None
    m = _NAMED.match(userdevice)
    return ord(m.group(1)) - ord("a") if m else None


def _used_devices(ctx: Context, vm: str, skip: str = "") -> set[int]:
    used = set()
    for vbd in ctx.txn.get("VM", vm)["VBDs"]:
        if vbd != skip:
            n = _device_number(ctx.txn.get("VBD", vbd)["userdevice"])
            if n is not None:
                used.add(n)
    return used


async def _hotplug(ctx: Context, vm: str, name: str, *args: Any) -> None:
    """Change the running VM's domain (api/vbd_live.py); without a hypervisor backend
    there is no domain to change."""
    if getattr(ctx.services.backend, "hypervisor", None) is None:
        raise XenAPIError("NOT_IMPLEMENTED", f"VBD hot-plug ({name}) on a running VM")
    from . import vbd_live
    await getattr(vbd_live, name)(ctx, *args)


def _power_state(ctx: Context, vbd: str) -> tuple[str, str]:
    vm = ctx.txn.get("VBD", vbd)["VM"]
    rec = ctx.txn.get("VM", vm)
    if rec is None:
        raise XenAPIError("HANDLE_INVALID", "VM", vm)
    return vm, rec["power_state"]


@implements("VBD.create")
async def create(ctx: Context, record: dict[str, Any]) -> str:
    from .pbd import serialized
    async with serialized(ctx):       # userdevice uniqueness holds under concurrent calls
        return _create(ctx, record)


def _create(ctx: Context, record: dict[str, Any]) -> str:
    vm, vdi, type_, mode = record["VM"], record["VDI"], record["type"], record["mode"]
    empty = record["empty"]
    ref = new_ref()
    if vm == NULL_REF or not ctx.txn.exists("VM", vm):
        raise XenAPIError("HANDLE_INVALID", "VM", vm)
    if type_ == "CD" and mode != "RO":
        raise XenAPIError("VBD_CDS_MUST_BE_READONLY")
    if type_ != "CD" and empty:
        raise XenAPIError("VBD_NOT_REMOVABLE_MEDIA", ref)
    if not empty:
        vrec = ctx.txn.get("VDI", vdi) if vdi != NULL_REF else None
        if vrec is None:
            raise XenAPIError("HANDLE_INVALID", "VDI", vdi)
        if mode == "RW" and vrec["read_only"]:
            raise XenAPIError("VDI_READONLY", vdi)
    userdevice = record["userdevice"]
    used = _used_devices(ctx, vm)
    if userdevice == "autodetect":
        free = next((n for n in range(MAX_DEVICES) if n not in used), None)
        if free is None:
            raise XenAPIError("INVALID_DEVICE", userdevice)
        userdevice = str(free)
    else:
        n = _device_number(userdevice)
        if n is None:
            raise XenAPIError("INVALID_DEVICE", userdevice)
        if n in used:
            raise XenAPIError("DEVICE_ALREADY_EXISTS", userdevice)
    metrics = new_ref()
    ctx.txn.create("VBD_metrics", metrics, {**ctx.services.default_record("VBD_metrics"),
                                            "uuid": new_uuid(), "io_read_kbs": 0.0,
                                            "io_write_kbs": 0.0})
    full = ctx.services.default_record("VBD")
    full.update(record, uuid=new_uuid(), userdevice=userdevice, device="", metrics=metrics,
                # attached only by plug (or the VM starting), never by a client's record
                currently_attached=False)
    ctx.txn.create("VBD", ref, full)
    return ref


@implements("VBD.destroy")
async def destroy(ctx: Context, self: str) -> None:
    rec = ctx.txn.get("VBD", self)
    if rec["currently_attached"]:
        vm = ctx.txn.get("VM", rec["VM"])
        raise XenAPIError("OPERATION_NOT_ALLOWED", f"VBD '{rec['uuid']}' still attached to "
                          f"'{vm['uuid'] if vm else rec['VM']}'")
    delete_with_metrics(ctx.txn, "VBD", self)


@implements("VBD.plug")
async def plug(ctx: Context, self: str) -> None:
    vm, state = _power_state(ctx, self)
    if state != "Running":
        raise XenAPIError("VM_BAD_POWER_STATE", vm, "running", state.lower())
    if ctx.txn.get("VBD", self)["currently_attached"]:
        raise XenAPIError("DEVICE_ALREADY_ATTACHED", self)
    await _hotplug(ctx, vm, "plug", self)


async def _unplug(ctx: Context, self: str, force: bool) -> None:
    vm, state = _power_state(ctx, self)
    if state != "Running":
        raise XenAPIError("VM_BAD_POWER_STATE", vm, "running", state.lower())
    rec = ctx.txn.get("VBD", self)
    if not rec["currently_attached"]:
        raise XenAPIError("DEVICE_ALREADY_DETACHED", self)
    if not force and not rec["unpluggable"]:
        raise XenAPIError("VBD_NOT_UNPLUGGABLE", self)
    await _hotplug(ctx, vm, "unplug", self, force)


@implements("VBD.unplug")
async def unplug(ctx: Context, self: str) -> None:
    await _unplug(ctx, self, False)


@implements("VBD.unplug_force")
async def unplug_force(ctx: Context, self: str) -> None:
    await _unplug(ctx, self, True)


@implements("VBD.insert")
async def insert(ctx: Context, vbd: str, vdi: str) -> None:
    rec = ctx.txn.get("VBD", vbd)
    if rec["type"] != "CD":
        raise XenAPIError("VBD_NOT_REMOVABLE_MEDIA", vbd)
    if not rec["empty"]:
        raise XenAPIError("VBD_NOT_EMPTY", vbd)
    if rec["currently_attached"]:
        await _hotplug(ctx, rec["VM"], "change_media", vbd, vdi)
    ctx.txn.update("VBD", vbd, {"VDI": vdi, "empty": False})


@implements("VBD.eject")
async def eject(ctx: Context, vbd: str) -> None:
    rec = ctx.txn.get("VBD", vbd)
    if rec["type"] != "CD":
        raise XenAPIError("VBD_NOT_REMOVABLE_MEDIA", vbd)
    if rec["empty"]:
        raise XenAPIError("VBD_IS_EMPTY", vbd)
    if rec["currently_attached"]:
        await _hotplug(ctx, rec["VM"], "change_media", vbd, NULL_REF)
    ctx.txn.update("VBD", vbd, {"VDI": NULL_REF, "empty": True})


@implements("VBD.set_mode")
async def set_mode(ctx: Context, self: str, value: str) -> None:
    rec = ctx.txn.get("VBD", self)
    if rec["type"] == "CD" and value != "RO":
        raise XenAPIError("VBD_CDS_MUST_BE_READONLY")
    if value == "RW" and rec["VDI"] != NULL_REF:
        vrec = ctx.txn.get("VDI", rec["VDI"])
        if vrec is not None and vrec["read_only"]:
            raise XenAPIError("VDI_READONLY", rec["VDI"])
    ctx.txn.update("VBD", self, {"mode": value})


@implements("VBD.assert_attachable")
async def assert_attachable(ctx: Context, self: str) -> None:
    rec = ctx.txn.get("VBD", self)
    if rec["empty"]:
        return
    vrec = ctx.txn.get("VDI", rec["VDI"])
    if vrec is None:
        raise XenAPIError("HANDLE_INVALID", "VDI", rec["VDI"])
    if vrec["missing"]:
        raise XenAPIError("VDI_MISSING", vrec["SR"], rec["VDI"])
    from .pbd import attached_driver
    attached_driver(ctx, vrec["SR"])
