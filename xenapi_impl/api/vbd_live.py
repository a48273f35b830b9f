"""VBDs of a running VM: hot-plug, unplug and CD media changes on its domain.

The records and the SR attachments are decided here; the domain is changed through the
hypervisor (xen/hypervisor.py). A plugged VDI is attached through its SR first and held in
`services.vm_devices` for the domain (released on unplug, media change or halt). A CD's media
changes in place on an HVM guest (libxl_cdrom_insert, an empty path ejecting as xl does); a PV
guest, where libxl offers no media change, gets its drive detached and attached again with
the new media, and the drive as it was is put back if the new one cannot be attached.
"""
from __future__ import annotations

from ..errors import XenAPIError
from ..store import NULL_REF
from ..xen.config import Disk, disk_config, domain_type, vdev
from .context import Context
from .pbd import call
from .vm import Attached, hypervisor


def _hvm(ctx: Context, vm: str) -> bool:
    return domain_type(ctx.txn.get("VM", vm)) == "hvm"


async def plug(ctx: Context, vbd: str) -> None:
    rec = ctx.txn.get("VBD", vbd)
    vm = ctx.txn.get("VM", rec["VM"])
    hv = hypervisor(ctx)
    att = Attached(ctx)
    path = None
    rw = False
    if not rec["empty"] and rec["VDI"] != NULL_REF:
        v = ctx.txn.get("VDI", rec["VDI"])
        rw = rec["mode"] == "RW" and not v["read_only"]
        path = await att.attach(v["SR"], v["uuid"], rw)
    elif rec["type"] != "CD":
        raise XenAPIError("VBD_IS_EMPTY", vbd)
    try:
        cfg = disk_config(Disk(rec["userdevice"], path, rw, rec["type"] == "CD"),
                          _hvm(ctx, rec["VM"]))
        await hv.add_disk(vm["domid"], cfg)
    except BaseException:
        await att.detach_all()
        raise
    ctx.services.vm_devices.setdefault(rec["VM"], []).extend(att.vdis)
    ctx.txn.update("VBD", vbd, {"currently_attached": True, "device": cfg.vdev})


async def unplug(ctx: Context, vbd: str, force: bool) -> None:
    rec = ctx.txn.get("VBD", vbd)
    vm = ctx.txn.get("VM", rec["VM"])
    await hypervisor(ctx).remove_disk(vm["domid"], vdev(rec["userdevice"], _hvm(ctx, rec["VM"])))
    if not rec["empty"]:
        await _release(ctx, rec["VM"], rec["VDI"])
    ctx.txn.update("VBD", vbd, {"currently_attached": False})


async def _release(ctx: Context, vm_ref: str, vdi_ref: str) -> None:
    """Detach a VDI this VM's domain held (the media taken out of a drive)."""
    if vdi_ref == NULL_REF or not ctx.txn.exists("VDI", vdi_ref):
        return
    uuid = ctx.txn.get("VDI", vdi_ref)["uuid"]
    held = ctx.services.vm_devices.get(vm_ref, [])
    for i, (drv, u) in enumerate(held):
        if u == uuid:
            del held[i]
            await call(ctx, drv.vdi_detach, u)
            return


async def change_media(ctx: Context, vbd: str, vdi: str) -> None:
    """Put ``vdi`` (NULL_REF: none) into the CD drive ``vbd`` of a running VM."""
    rec = ctx.txn.get("VBD", vbd)
    vm = ctx.txn.get("VM", rec["VM"])
    hv = hypervisor(ctx)
    hvm = _hvm(ctx, rec["VM"])
    device = vdev(rec["userdevice"], hvm)
    att = Attached(ctx)
    path = None
    if vdi != NULL_REF:
        v = ctx.txn.get("VDI", vdi)
        path = await att.attach(v["SR"], v["uuid"], False)
    try:
        if hvm:
            await hv.cdrom_insert(vm["domid"], device, path)
        else:
            before = await hv.disk(vm["domid"], device)
            cfg = disk_config(Disk(rec["userdevice"], path, False, True), hvm)
            await hv.remove_disk(vm["domid"], device, "cdrom detach")
            try:
                await hv.add_disk(vm["domid"], cfg, "cdrom attach")
            except BaseException:
                old = before.target if before is not None else None
                await hv.add_disk(vm["domid"], disk_config(
                    Disk(rec["userdevice"], old, False, True), hvm), "cdrom attach")
                raise
    except BaseException:
        await att.detach_all()
        raise
    if not rec["empty"]:
        await _release(ctx, rec["VM"], rec["VDI"])
    ctx.services.vm_devices.setdefault(rec["VM"], []).extend(att.vdis)
