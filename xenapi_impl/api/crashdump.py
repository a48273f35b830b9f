"""Core dumps of crashed guests (actions_after_crash coredump_and_destroy/_restart): the
domain's core is written by libxl into a new VDI of the pool's crash_dump_SR (type
"crashdump"), and a crashdump record (VM, VDI; other_config timestamp) links it to the VM
(VM.crash_dumps / VDI.crash_dumps follow through the relations). crashdump.destroy removes
the record and its VDI (the image too)."""
from __future__ import annotations

import datetime as _dt
import logging
import os
from typing import Any

from ..store import NULL_REF, new_ref, new_uuid
from .context import Context
from .pbd import attached_driver, call
from .registry import implements

log = logging.getLogger(__name__)
MIB = 1 << 20


def core_vdi_size(memory_static_max: int) -> int:
    """Room for the core: the guest's memory plus libxc's headers and page tables (one
    8-byte entry per 4 KiB page, i.e. 1/512) and 1 MiB of slack."""
    return memory_static_max + memory_static_max // 512 + MIB


async def dump_core(ctx: Context, txn: Any, vm: str, domid: int) -> str | None:
    """Dump domain `domid` of `vm` into a new crashdump VDI; returns the crashdump ref, or
    None when the pool has no crash_dump_SR (nothing is written, as xapi)."""
    from .sr import vdi_record
    from .vm import hypervisor
    pool = txn.get("pool", ctx.services.pool_ref)
    sr = pool["crash_dump_SR"]
    if sr == NULL_REF or txn.get("SR", sr) is None:
        log.warning("VM %s crashed: no crash_dump_SR in the pool, no core dumped", vm)
        return None
    rec = txn.get("VM", vm)
    drv = attached_driver(ctx, sr)
    size = core_vdi_size(int(rec["memory_static_max"]))
    info = await call(ctx, drv.vdi_create, size, name_label=f"Crash dump of {rec['name_label']}")
    try:
        path = (await call(ctx, drv.vdi_attach, info.uuid, True)).pdev_path
        try:
            await hypervisor(ctx).core_dump(domid, path)
            # libxl truncates the file it writes: a file-backed VDI gets its size back.
            if os.path.isfile(path) and os.path.getsize(path) < size:
                os.truncate(path, size)
        finally:
            await call(ctx, drv.vdi_detach, info.uuid)
    except BaseException:
        try:
            await call(ctx, drv.vdi_delete, info.uuid)
        except Exception:  # noqa: BLE001 - the dump's own failure is the one to report
            log.warning("could not delete the failed crash dump VDI %s", info.uuid,
                        exc_info=True)
        raise
    vdi = new_ref()
    txn.create("VDI", vdi, vdi_record(ctx, sr, info, type="crashdump",
                                      name_description=f"core of domain {domid}"))
    cd = new_ref()
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H:%M:%SZ")
    txn.create("crashdump", cd, {"uuid": new_uuid(), "VM": vm, "VDI": vdi,
                                 "other_config": {"timestamp": now, "domid": str(domid)}})
    return cd


@implements("crashdump.destroy")
async def destroy(ctx: Context, self: str) -> None:
    rec = ctx.txn.get("crashdump", self)
    vdi = rec["VDI"]
    vrec = ctx.txn.get("VDI", vdi) if vdi != NULL_REF else None
    if vrec is not None:
        drv = attached_driver(ctx, vrec["SR"])
        await call(ctx, drv.vdi_delete, vrec["uuid"])
    ctx.txn.delete("crashdump", self)
    if vrec is not None:
        ctx.txn.delete("VDI", vdi)
