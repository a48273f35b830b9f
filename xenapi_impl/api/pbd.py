"""PBD.*: the attachment of an SR to this host, and the attached SR drivers behind it.

A plugged PBD is an attached ``SRDriver`` held in this process (``AttachedSRs``); every VDI
operation goes through the driver of its SR's plugged PBD. Driver calls touch the disk, so they
run in a worker thread. Storage failures map to XenAPI errors with the SR/VDI uuids the
drivers speak replaced by the references clients know.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
import logging
import os
from typing import Any, AsyncIterator, Callable, Iterator, TypeVar

from ..errors import XenAPIError
from ..storage import SRDriver, StorageError, get_driver
from ..store import NULL_REF, new_ref, new_uuid
from .context import Context
from .registry import implements

log = logging.getLogger(__name__)
T = TypeVar("T")


class AttachedSRs:
    """SR uuid -> the attached driver of this host's plugged PBD (one per Services)."""

    def __init__(self) -> None:
        self.drivers: dict[str, SRDriver] = {}
        #: VDI ref -> (operation, task ref) of the storage operation running on it
        self.busy: dict[str, tuple[str, str]] = {}
        #: uniqueness checks (VBD userdevice per VM, one PBD per SR and host) and their commit
        self.lock = asyncio.Lock()

    @staticmethod
    def of(services: Any) -> "AttachedSRs":
        found = getattr(services, "attached_srs", None)
        if found is None:
            found = services.attached_srs = AttachedSRs()
        return found


@contextlib.contextmanager
def exclusive(ctx: Context, vdi: str, operation: str) -> Iterator[None]:
    """One storage operation per VDI at a time (its image is being read or changed in a
    worker thread); another one meanwhile gets OTHER_OPERATION_IN_PROGRESS like xapi's."""
    busy = AttachedSRs.of(ctx.services).busy
    if vdi in busy:
        op, task = busy[vdi]
        raise XenAPIError("OTHER_OPERATION_IN_PROGRESS", "VDI", vdi, op, task)
    busy[vdi] = (operation, ctx.task.ref if ctx.task is not None else NULL_REF)
    try:
        yield
    finally:
        busy.pop(vdi, None)


@contextlib.asynccontextmanager
async def serialized(ctx: Context) -> AsyncIterator[None]:
    """Check a uniqueness rule and write under one lock, committing before releasing it: a
    commit waits for the disk, so two calls could otherwise both pass the check."""
    async with AttachedSRs.of(ctx.services).lock:
        yield
        if not ctx.txn.done:
            await ctx.txn.commit()


def storage_error(ctx: Context, exc: StorageError) -> XenAPIError:
    """The XenAPI error of a driver failure, uuids of known objects replaced by their refs."""
    params = []
    for p in exc.params:
        found = ctx.store.find_uuid(p) if p else None
        params.append(found[1] if found is not None and found[0] in ("SR", "VDI") else p)
    return XenAPIError(exc.code, *params)


#: Storage's own workers, apart from the loop's default executor and the hypervisor's: driver
#: calls mostly wait for fsync, so more threads than cores overlap those waits, and a burst of
#: 1,000 attaches queued here does not hold up the hypervisor steps of starts already attached.
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=min(16, 4 * (os.cpu_count() or 1)),
                                              thread_name_prefix="storage")


async def call(ctx: Context, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
    """Run a driver call in a storage worker thread; StorageError becomes its XenAPI error."""
    job = functools.partial(contextvars.copy_context().run, fn, *args, **kw)
    try:
        return await asyncio.get_running_loop().run_in_executor(_POOL, job)
    except StorageError as exc:
        raise storage_error(ctx, exc) from None


def driver_class(sr_type: str) -> type[SRDriver]:
    try:
        return get_driver(sr_type)
    except StorageError as exc:
        raise exc.to_xenapi() from None


def new_driver(ctx: Context, sr_rec: dict[str, Any], device_config: dict[str, str]) -> SRDriver:
    try:
        drv = driver_class(sr_rec["type"])(sr_rec["uuid"], device_config)
        drv.holder = ctx.services.host_uuid
        return drv
    except StorageError as exc:
        raise storage_error(ctx, exc) from None


def attached_driver(ctx: Context, sr: str) -> SRDriver:
    """The attached driver of `sr`, or SR_NOT_ATTACHED [sr] (SR_HAS_NO_PBDS without a PBD)."""
    rec = ctx.txn.get("SR", sr)
    if rec is None:
        raise XenAPIError("HANDLE_INVALID", "SR", sr)
    drv = AttachedSRs.of(ctx.services).drivers.get(rec["uuid"])
    if drv is None:
        if not rec["PBDs"]:
            raise XenAPIError("SR_HAS_NO_PBDS", sr)
        raise XenAPIError("SR_NOT_ATTACHED", sr)
    return drv


def attached_vdis(ctx: Context, sr: str) -> list[str]:
    """VDIs of `sr` with a VBD currently attached (to a running VM)."""
    out = []
    for vdi in ctx.txn.get("SR", sr)["VDIs"]:
        vrec = ctx.txn.get("VDI", vdi)
        if vrec is not None and any(
                (ctx.txn.get("VBD", b) or {}).get("currently_attached") for b in vrec["VBDs"]):
            out.append(vdi)
    return out


async def plug_record(ctx: Context, pbd: str) -> None:
    """Attach the PBD's SR through its driver and scan it (new ISOs appear at once)."""
    rec = ctx.txn.get("PBD", pbd)
    if rec["currently_attached"]:
        return                                    # xapi: plugging a plugged PBD is a no-op
    sr_rec = ctx.txn.get("SR", rec["SR"])
    if sr_rec is None:
        raise XenAPIError("HANDLE_INVALID", "SR", rec["SR"])
    attached = AttachedSRs.of(ctx.services).drivers
    drv = attached.get(sr_rec["uuid"]) or new_driver(ctx, sr_rec, rec["device_config"])
    if not drv.attached:
        await call(ctx, drv.attach)
    attached[sr_rec["uuid"]] = drv
    ctx.txn.update("PBD", pbd, {"currently_attached": True})
    from .sr import refresh  # sr imports this module
    try:
        await refresh(ctx, rec["SR"], drv)
    except XenAPIError:
        log.warning("scan after plugging %s failed", sr_rec["uuid"], exc_info=True)


@implements("PBD.create")
async def create(ctx: Context, record: dict[str, Any]) -> str:
    host, sr = record["host"], record["SR"]
    if not ctx.txn.exists("host", host):
        raise XenAPIError("HANDLE_INVALID", "host", host)
    if not ctx.txn.exists("SR", sr):
        raise XenAPIError("HANDLE_INVALID", "SR", sr)
    async with serialized(ctx):
        for other in ctx.txn.get("SR", sr)["PBDs"]:
            if ctx.txn.get("PBD", other)["host"] == host:
                raise XenAPIError("PBD_EXISTS", sr, host, other)
        full = ctx.services.default_record("PBD")
        full.update(record, uuid=new_uuid(), currently_attached=False)
        ref = new_ref()
        ctx.txn.create("PBD", ref, full)
    return ref


@implements("PBD.destroy")
async def destroy(ctx: Context, self: str) -> None:
    if ctx.txn.get("PBD", self)["currently_attached"]:
        raise XenAPIError("OPERATION_NOT_ALLOWED", "PBD is currently attached")
    ctx.txn.delete("PBD", self)


@implements("PBD.plug")
async def plug(ctx: Context, self: str) -> None:
    await plug_record(ctx, self)


@implements("PBD.unplug")
async def unplug(ctx: Context, self: str) -> None:
    rec = ctx.txn.get("PBD", self)
    if not rec["currently_attached"]:
        return
    busy = attached_vdis(ctx, rec["SR"])
    if busy:
        raise XenAPIError("VDI_IN_USE", busy[0], "unplug")
    uuid = ctx.txn.get("SR", rec["SR"])["uuid"]
    attached = AttachedSRs.of(ctx.services).drivers
    drv = attached.get(uuid)
    if drv is not None and drv.attached:
        await call(ctx, drv.detach)
    attached.pop(uuid, None)
    ctx.txn.update("PBD", self, {"currently_attached": False})


@implements("PBD.set_device_config")
async def set_device_config(ctx: Context, self: str, value: dict[str, str]) -> None:
    # takes effect at the next plug, as in xapi
    ctx.txn.update("PBD", self, {"device_config": dict(value)})


__all__ = ["AttachedSRs", "exclusive", "serialized", "attached_driver", "attached_vdis", "call", "driver_class",
           "new_driver", "plug_record", "storage_error"]
