"""VM.clone, copy, provision, snapshot, revert, checkpoint: new VMs made from others.

The disks go through VDI.clone / VDI.copy / VDI.snapshot / VDI.create (api/vdi.py), each of
which commits its own VDI record (an image never exists without one). So the order is: check
and announce the operation on the source VM (committed, so concurrent calls see it), make
the disks, then write the new VM with its VBDs and VIFs in one transaction. If anything
fails after a disk was made, the disks made so far are destroyed again: no half VM is left.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import logging
import xml.etree.ElementTree as ET
from contextlib import AbstractAsyncContextManager
from typing import Any, AsyncIterator, Awaitable, Callable

from ..errors import XenAPIError
from ..store import NULL_REF, new_ref, new_uuid
from . import vdi as vdi_api
from .context import Context
from .owned import delete_with_metrics
from .registry import implements
from .templates import DEFAULT_TEMPLATE_KEY
from .vm import (VmOps, allowed_operations, check_operation, guest_vanished, hypervisor,
                 memory_image, new_metrics, suspend_sr, txn_of)

log = logging.getLogger(__name__)

#: configuration a new VM takes from its source; everything else starts fresh
#: how long a failed checkpoint waits for the domain pump's own record of the death
VANISH_WAIT = 30.0

CONFIG_FIELDS = (
    "name_description", "user_version", "is_a_template", "affinity", "memory_overhead",
    "memory_static_max", "memory_dynamic_max", "memory_dynamic_min", "memory_static_min",
    "VCPUs_params", "VCPUs_max", "VCPUs_at_startup", "actions_after_softreboot",
    "actions_after_shutdown", "actions_after_reboot", "actions_after_crash", "PV_bootloader",
    "PV_kernel", "PV_ramdisk", "PV_args", "PV_bootloader_args", "PV_legacy_args",
    "HVM_boot_policy", "HVM_boot_params", "HVM_shadow_multiplier", "platform", "PCI_bus",
    "other_config", "recommendations", "xenstore_data", "ha_always_run",
    "ha_restart_priority", "tags", "blocked_operations", "bios_strings", "suspend_SR",
    "has_vendor_device", "hardware_platform_version", "domain_type", "NVRAM",
    "start_delay", "shutdown_delay", "order", "reference_label")
VBD_FIELDS = ("userdevice", "bootable", "mode", "type", "unpluggable", "empty",
              "other_config", "qos_algorithm_type", "qos_algorithm_params")
VIF_FIELDS = ("device", "network", "MTU", "other_config", "qos_algorithm_type",
              "qos_algorithm_params", "locking_mode", "ipv4_allowed", "ipv6_allowed")


# --- checks and the announced operation ---------------------------------------------------
@contextlib.asynccontextmanager
async def announced(ctx: Context, vm: str, op: str) -> AsyncIterator[None]:
    """`op` in the VM's current_operations (committed now) until the body ends."""
    ops = VmOps.of(ctx.services).busy
    op_ref = ctx.task.ref if ctx.task is not None else new_ref()
    ops[vm] = (op, op_ref)
    try:
        ctx.txn.update("VM", vm, {"current_operations": {op_ref: op},
                                  "allowed_operations": []})
        await ctx.txn.commit()
        yield
    finally:
        try:
            txn = txn_of(ctx)
            rec = txn.get("VM", vm)
            if rec is not None:
                cur = {k: v for k, v in rec["current_operations"].items() if k != op_ref}
                txn.update("VM", vm, {"current_operations": cur})
                txn.update("VM", vm, {"allowed_operations":
                                      allowed_operations(txn.get("VM", vm))})
            await txn.commit()
        finally:
            ops.pop(vm, None)


def sub_context(ctx: Context) -> Context:
    """The same caller with a fresh transaction (the VDI functions commit their own)."""
    return Context(ctx.services, ctx.caller, ctx.method, ctx.store.transaction(),
                   ctx.session_ref, ctx.session, ctx.task)


# --- disks -----------------------------------------------------------------------------
class NewDisks:
    """VDIs made for a new VM; `discard` destroys them if the VM is not made after all."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.made: list[str] = []

    async def make(self, fn: Callable[[Context], Awaitable[str]]) -> str:
        if self.ctx.task is not None:
            self.ctx.task.check_cancelled()
        ref = await fn(sub_context(self.ctx))
        self.made.append(ref)
        return ref

    async def discard(self) -> None:
        for ref in reversed(self.made):
            sub = sub_context(self.ctx)
            try:
                await vdi_api.destroy(sub, ref)
                await sub.txn.commit()
            except Exception:  # noqa: BLE001 - cleanup of a failed call: keep going, say so
                log.warning("could not destroy VDI %s of a failed VM copy", ref, exc_info=True)
        self.made.clear()


def _is_disk(b: dict[str, Any]) -> bool:
    return b["type"] != "CD" and not b["empty"] and b["VDI"] != NULL_REF


async def _copy_disks(ctx: Context, disks: NewDisks, src: dict[str, Any],
                      how: Callable[[str, dict[str, Any]], Callable[[Context], Awaitable[str]]],
                      skip: frozenset[str] = frozenset()) -> list[tuple[dict[str, Any], str]]:
    """(source VBD, VDI for the new VBD) for each VBD: disks made by `how`, CDs shared."""
    out = []
    for vbd in src["VBDs"]:
        b = ctx.store.get("VBD", vbd)
        if b is None:
            continue
        if _is_disk(b):
            if b["VDI"] in skip:
                continue
            out.append((b, await disks.make(how(b["VDI"], b))))
        else:
            out.append((b, b["VDI"]))
    return out


# --- the new VM's records --------------------------------------------------------------------
def _vm_record(ctx: Context, txn: Any, src: dict[str, Any], name: str,
               **values: Any) -> tuple[str, dict[str, Any]]:
    rec = ctx.services.default_record("VM")
    for k in CONFIG_FIELDS:
        if k in rec and k in src:
            rec[k] = src[k]
    rec.update(uuid=new_uuid(), name_label=name, power_state="Halted", domid=-1,
               resident_on=NULL_REF, current_operations={}, is_control_domain=False,
               is_default_template=False, consoles=[], crash_dumps=[],
               metrics=new_metrics(ctx, txn))
    # a copy of a built-in template is not one itself (xapi drops the key too)
    rec["other_config"] = {k: v for k, v in src["other_config"].items()
                           if k != DEFAULT_TEMPLATE_KEY}
    rec.update(values)
    rec["allowed_operations"] = allowed_operations(rec)
    return new_ref(), rec


def _add_devices(sub: Context, vm: str, vbds: list[tuple[dict[str, Any], str]],
                 vifs: list[dict[str, Any]], keep_macs: bool, made: list[str]) -> None:
    from .vbd import _create as create_vbd
    from .vif import _create as create_vif
    for b, vdi in vbds:
        mode = b["mode"]
        vrec = sub.txn.get("VDI", vdi) if vdi != NULL_REF else None
        src = sub.txn.get("VDI", b["VDI"]) if b["VDI"] != NULL_REF else None
        if vrec is not None and vdi in made and not vrec["is_a_snapshot"] \
                and src is not None and src["is_a_snapshot"]:
            # a clone of a snapshot's disk (revert, a VM made from a snapshot) is a disk
            # again: the SR made it writable (VDI.clone copied the snapshot's flag into
            # the record) and its VBD read-write (a snapshot's VBDs are read-only only
            # because its disks are; an originally read-only disk comes back read-write)
            sub.txn.update("VDI", vdi, {"read_only": False})
            vrec = sub.txn.get("VDI", vdi)
            mode = "RW"
        if mode == "RW" and vrec is not None and vrec["read_only"]:
            mode = "RO"                 # a snapshot's disks are read-only
        create_vbd(sub, {**{k: b[k] for k in VBD_FIELDS}, "VM": vm, "VDI": vdi,
                         "mode": mode})
    for f in vifs:
        create_vif(sub, {**{k: f[k] for k in VIF_FIELDS}, "VM": vm,
                         "MAC": f["MAC"] if keep_macs else ""})


Hold = Callable[["NewDisks"], AbstractAsyncContextManager[dict[str, Any]]]


async def _new_vm(ctx: Context, src_ref: str, name: str, op: str,
                  how: Callable[[str, dict[str, Any]], Callable[[Context], Awaitable[str]]],
                  *, keep_macs: bool, skip: frozenset[str] = frozenset(),
                  after: Callable[[Context, str], None] | None = None,
                  hold: Hold | None = None, **values: Any) -> str:
    """The operation `op` on `src_ref` (already checked): disks by `how`, then the VM.
    `hold`, if given, is entered around the disks being made (checkpoint: the guest stands
    still meanwhile) and yields more values for the new VM's record."""
    disks = NewDisks(ctx)
    async with announced(ctx, src_ref, op):
        try:
            src = ctx.store.get("VM", src_ref)
            async with (hold(disks) if hold is not None
                        else contextlib.nullcontext({})) as extra:
                vbds = await _copy_disks(ctx, disks, src, how, skip)
            vifs = [f for f in (ctx.store.get("VIF", r) for r in src["VIFs"]) if f is not None]
            from .pbd import serialized
            sub = sub_context(ctx)
            async with serialized(sub):      # generated MACs stay unique under concurrency
                ref, rec = _vm_record(ctx, sub.txn, src, name, **values, **extra)
                sub.txn.create("VM", ref, rec)
                _add_devices(sub, ref, vbds, vifs, keep_macs, disks.made)
                if after is not None:
                    after(sub, ref)
        except BaseException:
            await disks.discard()
            raise
    return ref


def _clone_of(vdi: str, b: dict[str, Any]) -> Callable[[Context], Awaitable[str]]:
    return lambda sub: vdi_api.clone(sub, vdi, {})


def _snapshot_of(vdi: str, b: dict[str, Any]) -> Callable[[Context], Awaitable[str]]:
    return lambda sub: vdi_api.snapshot(sub, vdi, {})


# --- the messages ------------------------------------------------------------------------
def _check_name(name: str) -> None:
    if not name.strip():
        raise XenAPIError("INVALID_VALUE", "new_name", name)


@implements("VM.clone")
async def clone(ctx: Context, vm: str, new_name: str) -> str:
    """A halted VM or template: disks through the SR's clone, VIFs with new MACs."""
    _check_name(new_name)
    check_operation(ctx, vm, "clone", ("Halted",), template_ok=True)
    return await _new_vm(ctx, vm, new_name, "clone", _clone_of, keep_macs=False)


@implements("VM.copy", nullable=("sr",))
async def copy(ctx: Context, vm: str, new_name: str, sr: str) -> str:
    """Full copies of the disks into `sr`, or each disk's own SR when `sr` is NULL."""
    _check_name(new_name)
    check_operation(ctx, vm, "copy", ("Halted",), template_ok=True)
    if sr != NULL_REF and not ctx.txn.exists("SR", sr):
        raise XenAPIError("HANDLE_INVALID", "SR", sr)

    def how(vdi: str, b: dict[str, Any]) -> Callable[[Context], Awaitable[str]]:
        target = sr if sr != NULL_REF else ctx.store.get("VDI", vdi)["SR"]
        return lambda sub: vdi_api.copy(sub, vdi, target, NULL_REF, NULL_REF)

    return await _new_vm(ctx, vm, new_name, "copy", how, keep_macs=False)


@implements("VM.snapshot")
async def snapshot(ctx: Context, vm: str, new_name: str, ignore_vdis: list[str]) -> str:
    """Halted, running or paused VM: a template recording the VM's configuration with
    snapshots of its disks (taken while it runs: crash-consistent) and its MACs."""
    _check_name(new_name)
    rec = check_operation(ctx, vm, "snapshot", ("Halted", "Running", "Paused"), template_ok=False)
    if rec["is_a_snapshot"]:
        raise XenAPIError("OPERATION_NOT_ALLOWED", "A snapshot cannot be snapshotted")
    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)

    def link(sub: Context, snap: str) -> None:
        sub.txn.update("VM", vm, {"parent": snap})   # xapi: the VM's parent is its last one

    return await _new_vm(ctx, vm, new_name, "snapshot", _snapshot_of, keep_macs=True,
                         skip=frozenset(ignore_vdis), after=link, is_a_template=True,
                         is_a_snapshot=True, snapshot_of=vm, snapshot_time=now,
                         parent=rec["parent"])


@implements("VM.checkpoint")
async def checkpoint(ctx: Context, vm: str, new_name: str) -> str:
    """A snapshot with the guest's memory. The domain is suspended into a suspend image,
    its disks are snapshotted while it stands still (so disks and memory agree), then it
    runs on where it stopped (resume in place, the suspend cancelled). The checkpoint is a
    Suspended snapshot: VM.revert gives the VM its disks and a copy of that memory back, and
    VM.resume carries on from the moment of the checkpoint."""
    _check_name(new_name)
    rec = check_operation(ctx, vm, "checkpoint", ("Running",), template_ok=False)
    if rec["is_a_snapshot"]:
        raise XenAPIError("OPERATION_NOT_ALLOWED", "A snapshot cannot be checkpointed")
    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    sr = suspend_sr(ctx, ctx.txn, vm)
    from .pbd import attached_driver
    from .sr import vdi_record

    @contextlib.asynccontextmanager
    async def guest_still(disks: NewDisks) -> AsyncIterator[dict[str, Any]]:
        src = ctx.store.get("VM", vm)

        async def image(sub: Context) -> str:
            return await vdi_api.new_image(
                sub, sr, attached_driver(sub, sr), lambda: memory_image(sub, src, sr),
                lambda info: vdi_record(sub, sr, info, type="suspend",
                                        name_description="checkpoint memory image"))
        ref = await disks.make(image)
        try:
            yield {"suspend_VDI": ref}
        finally:
            try:
                await hypervisor(ctx).resume_in_place(src["domid"])
            except Exception:
                stuck.append(src["domid"])
                raise

    def link(sub: Context, snap: str) -> None:
        sub.txn.update("VM", vm, {"parent": snap})

    stuck: list[int] = []
    try:
        return await _new_vm(ctx, vm, new_name, "checkpoint", _snapshot_of, keep_macs=True,
                             hold=guest_still, after=link, is_a_template=True,
                             is_a_snapshot=True, snapshot_of=vm, snapshot_time=now,
                             parent=rec["parent"], power_state="Suspended")
    finally:
        if stuck:
            # a guest that cannot run on is not left suspended behind a Running record:
            # its domain goes and the VM is recorded Halted (the error says why)
            await hypervisor(ctx).destroy(stuck[0])
            await _record_vanished(ctx, vm, stuck[0])


async def _record_vanished(ctx: Context, vm: str, domid: int) -> None:
    """Record the VM Halted after its domain went; the domain pump may be doing the same for
    the same death (its hard_shutdown in progress): then wait until it has (the record no
    longer names the domain), so the caller's error comes with a true record."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + VANISH_WAIT
    while True:
        try:
            await guest_vanished(ctx.services, vm, domid)
            return
        except XenAPIError as exc:
            if exc.code != "OTHER_OPERATION_IN_PROGRESS" or loop.time() > deadline:
                raise
        await asyncio.sleep(0.05)


@implements("VM.revert")
async def revert(ctx: Context, snapshot: str) -> None:
    """The snapshot's VM gets the snapshot's configuration, clones of its disks and its
    VIFs (and, from a checkpoint, a copy of its memory image: the VM is then Suspended and
    VM.resume goes on from the checkpoint); its previous disks are destroyed unless another
    VBD still uses them."""
    snap = ctx.txn.get("VM", snapshot)
    if not snap["is_a_snapshot"]:
        raise XenAPIError("OPERATION_NOT_ALLOWED", "VM.revert needs a snapshot")
    vm = snap["snapshot_of"]
    if vm == NULL_REF or not ctx.txn.exists("VM", vm):
        raise XenAPIError("VM_REVERT_FAILED", vm, snapshot)
    # a running VM is not stopped behind its owner's back: it must be shut down first
    check_operation(ctx, vm, "revert", ("Halted",), template_ok=False)
    disks = NewDisks(ctx)
    async with announced(ctx, vm, "revert"):
        try:
            vbds = await _copy_disks(ctx, disks, snap, _clone_of)
            memory = None
            if snap["power_state"] == "Suspended" and snap["suspend_VDI"] != NULL_REF:
                # the checkpoint keeps its memory image: the VM gets a copy to resume from
                memory = await disks.make(_clone_of(snap["suspend_VDI"], {}))
            old = ctx.store.get("VM", vm)
            sub = sub_context(ctx)
            from .pbd import serialized
            async with serialized(sub):
                old_vdis = []
                for r in old["VBDs"]:
                    b = sub.txn.get("VBD", r)
                    if b is not None and _is_disk(b):
                        old_vdis.append(b["VDI"])
                    if b is not None:
                        delete_with_metrics(sub.txn, "VBD", r)
                for r in old["VIFs"]:
                    if sub.txn.get("VIF", r) is not None:
                        delete_with_metrics(sub.txn, "VIF", r)
                values = {k: snap[k] for k in CONFIG_FIELDS
                          if k not in ("name_description", "is_a_template",
                                       "blocked_operations") and k in snap}
                values["other_config"] = dict(snap["other_config"])
                values["parent"] = snapshot
                if memory is not None:      # a checkpoint: the VM comes back suspended
                    values.update(power_state="Suspended", suspend_VDI=memory)
                    values["allowed_operations"] = allowed_operations(
                        {**sub.txn.get("VM", vm), **values})
                sub.txn.update("VM", vm, values)
                vifs = [f for f in (ctx.store.get("VIF", r) for r in snap["VIFs"])
                        if f is not None]
                _add_devices(sub, vm, vbds, vifs, True, disks.made)
        except BaseException:
            await disks.discard()
            raise
    # the VM now uses the clones: its old disks go unless a VBD still refers to them
    for v in old_vdis:
        vrec = ctx.store.get("VDI", v)
        if vrec is None or vrec["VBDs"]:
            continue
        sub = sub_context(ctx)
        try:
            await vdi_api.destroy(sub, v)
            await sub.txn.commit()
        except XenAPIError as exc:
            log.warning("reverted %s but could not destroy its old disk %s: %s", vm, v,
                        exc.code)


# --- provision ---------------------------------------------------------------------------
def parse_provision(xml: str) -> list[dict[str, Any]]:
    """xapi's other_config "disks" XML: <provision><disk device size sr bootable type/>..."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise XenAPIError("INVALID_VALUE", "other_config:disks", xml) from exc
    if root.tag != "provision":
        raise XenAPIError("INVALID_VALUE", "other_config:disks", xml)
    out = []
    for d in root:
        if d.tag != "disk":
            raise XenAPIError("INVALID_VALUE", "other_config:disks", xml)
        try:
            size = int(d.get("size", ""))
            device = d.get("device", "")
            int(device)
        except ValueError:
            raise XenAPIError("INVALID_VALUE", "other_config:disks", xml) from None
        if size <= 0:
            raise XenAPIError("INVALID_VALUE", "other_config:disks", xml)
        out.append({"device": device, "size": size, "sr": d.get("sr", ""),
                    "bootable": d.get("bootable", "false").lower() == "true",
                    "type": d.get("type", "system")})
    return out


def _provision_sr(ctx: Context, sr_uuid: str) -> str:
    if sr_uuid:
        found = ctx.store.find_uuid(sr_uuid)
        if found is None or found[0] != "SR":
            raise XenAPIError("UUID_INVALID", "SR", sr_uuid)
        return found[1]
    sr = ctx.txn.get("pool", ctx.services.pool_ref)["default_SR"]
    if sr == NULL_REF or not ctx.txn.exists("SR", sr):
        raise XenAPIError("SR_NOT_FOUND", NULL_REF)     # xapi: no default SR to provision into
    return sr


@implements("VM.provision")
async def provision(ctx: Context, vm: str) -> None:
    """Make the disks the template's other_config "disks" lists (then drop the key), and
    make the template a VM (is_a_template false), as xapi's provision does: a clone of a
    template, provisioned, can start."""
    rec = ctx.txn.get("VM", vm)
    if not rec["is_a_template"]:
        raise XenAPIError("PROVISION_ONLY_ALLOWED_ON_TEMPLATE")
    check_operation(ctx, vm, "provision", ("Halted",), template_ok=True)
    wanted = parse_provision(rec["other_config"].get("disks", "<provision/>"))
    targets = [_provision_sr(ctx, d["sr"]) for d in wanted]
    used = {ctx.txn.get("VBD", b)["userdevice"] for b in rec["VBDs"]}
    for d in wanted:
        if d["device"] in used:
            raise XenAPIError("DEVICE_ALREADY_EXISTS", d["device"])
    disks = NewDisks(ctx)
    async with announced(ctx, vm, "provision"):
        try:
            made = []
            for d, sr in zip(wanted, targets):
                vtype = "system" if d["type"] == "system" else "user"
                record = {"SR": sr, "virtual_size": d["size"], "read_only": False,
                          "name_label": f"{rec['name_label']} {d['device']}",
                          "name_description": "Created by template provisioner",
                          "type": vtype, "sharable": False, "other_config": {},
                          "xenstore_data": {}, "sm_config": {}, "tags": []}
                made.append((d, await disks.make(
                    lambda sub, r=record: vdi_api.create(sub, r))))
            sub = sub_context(ctx)
            from .pbd import serialized
            from .vbd import _create as create_vbd
            async with serialized(sub):
                for d, vdi in made:
                    create_vbd(sub, {"VM": vm, "VDI": vdi, "userdevice": d["device"],
                                     "bootable": d["bootable"], "mode": "RW", "type": "Disk",
                                     "unpluggable": True, "empty": False, "other_config": {},
                                     "qos_algorithm_type": "", "qos_algorithm_params": {}})
                oc = {k: v for k, v in sub.txn.get("VM", vm)["other_config"].items()
                      if k != "disks"}
                sub.txn.update("VM", vm, {"other_config": oc, "is_a_template": False})
        except BaseException:
            await disks.discard()
            raise
