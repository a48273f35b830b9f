"""VDI.*: virtual disk images, through the driver of their SR's plugged PBD.

The record's uuid is the driver's VDI id and ``location`` the driver's name for the image.
Operations that make an image (create, clone, snapshot, copy) commit their records themselves
and delete the image again if that fails, so no call leaves an image without a record.
"""
from __future__ import annotations

import datetime as _dt
import logging
from typing import Any, Awaitable, Callable

from ..errors import XenAPIError
from ..storage import SRDriver, StorageError, VDIInfo
from ..store import NULL_REF, new_ref
from .context import Context
from .owned import delete_with_metrics
from .pbd import attached_driver, call, exclusive
from .registry import implements, implements_setter
from .sr import vdi_record

log = logging.getLogger(__name__)


def _in_use(ctx: Context, vdi: str, operation: str) -> None:
    for vbd in ctx.txn.get("VDI", vdi)["VBDs"]:
        if ctx.txn.get("VBD", vbd)["currently_attached"]:
            raise XenAPIError("VDI_IN_USE", vdi, operation)


async def new_image(ctx: Context, sr: str, drv: SRDriver,
                     make: Callable[[], Awaitable[VDIInfo]],
                     record: Callable[[VDIInfo], dict[str, Any]]) -> str:
    """Make an image in `sr`, then its record; commit now, deleting the image if that fails."""
    info = await make()
    ref = new_ref()
    try:
        ctx.txn.create("VDI", ref, record(info))
        await _sr_refresh_sizes(ctx, sr, drv)
        await ctx.txn.commit()
    except BaseException:
        try:
            drv.vdi_delete(info.uuid)
        except StorageError:
            log.warning("could not delete image %s of a failed call", info.uuid, exc_info=True)
        raise
    return ref


async def _sr_refresh_sizes(ctx: Context, sr: str, drv: SRDriver) -> None:
    st = await call(ctx, drv.stat)
    # a measurement: two hosts making disks on one shared SR do not collide on the SR
    ctx.txn.measure("SR", sr, {"physical_utilisation": st.physical_utilisation,
                               "virtual_allocation": st.virtual_allocation})


@implements("VDI.create")
async def create(ctx: Context, record: dict[str, Any]) -> str:
    sr = record["SR"]
    if sr == NULL_REF or not ctx.txn.exists("SR", sr):
        raise XenAPIError("HANDLE_INVALID", "SR", sr)
    drv = attached_driver(ctx, sr)
    size = record["virtual_size"]
    if size < 0:
        raise XenAPIError("INVALID_VALUE", "virtual_size", str(size))

    def full(info: VDIInfo) -> dict[str, Any]:
        rec = vdi_record(ctx, sr, info)
        for k in ("name_label", "name_description", "type", "sharable", "read_only",
                  "other_config", "xenstore_data", "sm_config", "tags"):
            if k in record:
                rec[k] = record[k]
        return rec

    ref = await new_image(ctx, sr, drv, lambda: call(
        ctx, drv.vdi_create, size, read_only=record["read_only"],
        name_label=record.get("name_label", "")), full)
    return ref


@implements("VDI.destroy")
async def destroy(ctx: Context, self: str) -> None:
    with exclusive(ctx, self, "destroy"):
        await _destroy(ctx, self)


async def _destroy(ctx: Context, self: str) -> None:
    rec = ctx.txn.get("VDI", self)
    _in_use(ctx, self, "destroy")
    drv = attached_driver(ctx, rec["SR"])
    await call(ctx, drv.vdi_delete, rec["uuid"])
    # like xapi: the VDI's (unattached) VBDs go with it rather than dangle
    for vbd in list(rec["VBDs"]):
        delete_with_metrics(ctx.txn, "VBD", vbd)
    ctx.txn.delete("VDI", self)
    await _sr_refresh_sizes(ctx, rec["SR"], drv)


@implements("VDI.forget")
async def forget(ctx: Context, vdi: str) -> None:
    _in_use(ctx, vdi, "forget")
    ctx.txn.delete("VDI", vdi)


async def _resize(ctx: Context, vdi: str, size: int) -> None:
    rec = ctx.txn.get("VDI", vdi)
    if size < 0:
        raise XenAPIError("INVALID_VALUE", "size", str(size))
    drv = attached_driver(ctx, rec["SR"])
    info = await call(ctx, drv.vdi_resize, rec["uuid"], size)
    ctx.txn.update("VDI", vdi, {"virtual_size": info.virtual_size,
                                "physical_utilisation": info.physical_utilisation})
    await _sr_refresh_sizes(ctx, rec["SR"], drv)


@implements("VDI.resize")
async def resize(ctx: Context, vdi: str, size: int) -> None:
    _in_use(ctx, vdi, "resize")
    with exclusive(ctx, vdi, "resize"):
        await _resize(ctx, vdi, size)


@implements("VDI.resize_online")
async def resize_online(ctx: Context, vdi: str, size: int) -> None:
    # no driver we ship declares VDI_RESIZE_ONLINE: xapi answers with the SR's lack of support
    raise XenAPIError("SR_OPERATION_NOT_SUPPORTED", ctx.txn.get("VDI", vdi)["SR"])


async def _clone(ctx: Context, vdi: str, snapshot: bool) -> str:
    rec = ctx.txn.get("VDI", vdi)
    drv = attached_driver(ctx, rec["SR"])
    fn = drv.vdi_snapshot if snapshot else drv.vdi_clone

    def full(info: VDIInfo) -> dict[str, Any]:
        new = vdi_record(ctx, rec["SR"], info)
        for k in ("name_label", "name_description", "type", "sharable", "other_config",
                  "xenstore_data", "sm_config", "tags", "on_boot", "allow_caching"):
            new[k] = rec[k]
        if snapshot:
            new.update(is_a_snapshot=True, snapshot_of=vdi, read_only=info.read_only,
                       snapshot_time=info.snapshot_time
                       or _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0))
        else:
            new["read_only"] = rec["read_only"]
        return new

    return await new_image(ctx, rec["SR"], drv, lambda: call(ctx, fn, rec["uuid"]), full)


@implements("VDI.clone")
async def clone(ctx: Context, vdi: str, driver_params: dict[str, str]) -> str:
    with exclusive(ctx, vdi, "clone"):
        return await _clone(ctx, vdi, snapshot=False)


@implements("VDI.snapshot")
async def snapshot(ctx: Context, vdi: str, driver_params: dict[str, str]) -> str:
    with exclusive(ctx, vdi, "snapshot"):
        return await _clone(ctx, vdi, snapshot=True)


@implements("VDI.copy", nullable=("base_vdi", "into_vdi"))
async def copy(ctx: Context, vdi: str, sr: str, base_vdi: str, into_vdi: str) -> str:
    if into_vdi != NULL_REF:
        raise XenAPIError("VALUE_NOT_SUPPORTED", "into_vdi", into_vdi,
                          "copying into an existing VDI is not supported")
    rec = ctx.txn.get("VDI", vdi)
    src = attached_driver(ctx, rec["SR"])
    dest = attached_driver(ctx, sr)

    def full(info: VDIInfo) -> dict[str, Any]:
        new = vdi_record(ctx, sr, info)
        for k in ("name_label", "name_description", "type", "sharable", "other_config",
                  "xenstore_data", "tags"):
            new[k] = rec[k]
        new["read_only"] = False
        return new

    with exclusive(ctx, vdi, "copy"):
        return await new_image(ctx, sr, dest,
                                lambda: call(ctx, src.vdi_copy, rec["uuid"], dest), full)


@implements("VDI.revert")
async def revert(ctx: Context, snapshot: str) -> None:
    """The VDI the snapshot was taken of gets the snapshot's content back (its previous
    content is lost); it must not be attached. A VDI that is no snapshot, or whose original
    is gone or on another SR, cannot be reverted by the SR: UNIMPLEMENTED_IN_SM_BACKEND."""
    srec = ctx.txn.get("VDI", snapshot)
    vdi = srec["snapshot_of"]
    if not srec["is_a_snapshot"] or vdi == NULL_REF or not ctx.txn.exists("VDI", vdi) \
            or ctx.txn.get("VDI", vdi)["SR"] != srec["SR"]:
        raise XenAPIError("UNIMPLEMENTED_IN_SM_BACKEND",
                          "VDI.revert needs a snapshot whose VDI is on the same SR")
    _in_use(ctx, vdi, "revert")
    rec = ctx.txn.get("VDI", vdi)
    drv = attached_driver(ctx, rec["SR"])
    with exclusive(ctx, vdi, "revert"):
        info = await call(ctx, drv.vdi_revert, rec["uuid"], srec["uuid"])
    ctx.txn.update("VDI", vdi, {"virtual_size": info.virtual_size,
                                "physical_utilisation": info.physical_utilisation})
    await _sr_refresh_sizes(ctx, rec["SR"], drv)


@implements("VDI.introduce", nullable=("metadata_of_pool", "snapshot_of"))
async def introduce(ctx: Context, uuid: str, name_label: str, name_description: str, sr: str,
                    type: str, sharable: bool, read_only: bool, other_config: dict[str, str],
                    location: str, xenstore_data: dict[str, str], sm_config: dict[str, str],
                    managed: bool, virtual_size: int, physical_utilisation: int,
                    metadata_of_pool: str, is_a_snapshot: bool, snapshot_time: Any,
                    snapshot_of: str) -> str:
    """A record for an image the SR holds but the database does not know (found by a scan:
    by uuid, else by location); its sizes are the SR's. SR_OPERATION_NOT_SUPPORTED for an
    SR that cannot scan, VDI_LOCATION_MISSING if no such image, LOCATION_NOT_UNIQUE if a
    record already has it."""
    drv = attached_driver(ctx, sr)
    if "SR_SCAN" not in drv.capabilities:
        raise XenAPIError("SR_OPERATION_NOT_SUPPORTED", sr)
    for v in ctx.txn.get("SR", sr)["VDIs"]:
        other = ctx.txn.get("VDI", v)
        if location and other["location"] == location:
            raise XenAPIError("LOCATION_NOT_UNIQUE", sr, location)
    result = await call(ctx, drv.scan, [])
    found = next((i for i in result.vdis if uuid and i.uuid == uuid), None) or next(
        (i for i in result.vdis if location and i.location == location), None)
    if found is None:
        raise XenAPIError("VDI_LOCATION_MISSING", sr, location)
    if ctx.store.find_uuid(found.uuid) is not None:
        raise XenAPIError("LOCATION_NOT_UNIQUE", sr, found.location)
    ref = new_ref()
    values = dict(name_label=name_label, name_description=name_description, type=type,
                  sharable=sharable, read_only=read_only or found.read_only,
                  other_config=other_config, xenstore_data=xenstore_data,
                  sm_config={**found.sm_config, **sm_config}, managed=managed,
                  metadata_of_pool=metadata_of_pool,
                  is_a_snapshot=is_a_snapshot or found.is_a_snapshot)
    if snapshot_of != NULL_REF:
        values["snapshot_of"] = snapshot_of
    if is_a_snapshot:
        values["snapshot_time"] = snapshot_time
    ctx.txn.create("VDI", ref, vdi_record(ctx, sr, found, **values))
    await _sr_refresh_sizes(ctx, sr, drv)
    return ref


@implements("VDI.update")
async def update(ctx: Context, vdi: str) -> None:
    rec = ctx.txn.get("VDI", vdi)
    info = await call(ctx, attached_driver(ctx, rec["SR"]).vdi_stat, rec["uuid"])
    ctx.txn.update("VDI", vdi, {"virtual_size": info.virtual_size,
                                "physical_utilisation": info.physical_utilisation,
                                "missing": False})


implements_setter("VDI.set_name_label", "name_label")
implements_setter("VDI.set_name_description", "name_description")
implements_setter("VDI.set_sharable", "sharable")
implements_setter("VDI.set_read_only", "read_only")
implements_setter("VDI.set_on_boot", "on_boot")
implements_setter("VDI.set_allow_caching", "allow_caching")
