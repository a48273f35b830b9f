"""crashdump.*: a crashed guest's core (xen/coredump.py makes them); destroy removes the
record and its VDI (the image too)."""
from __future__ import annotations

from ..server.context import Context
from ..store import NULL_REF
from .registry import implements


@implements("crashdump.destroy")
async def destroy(ctx: Context, self: str) -> None:
    from .pbd import attached_driver, call
    rec = ctx.txn.get("crashdump", self)
    vdi = rec["VDI"]
    vrec = ctx.txn.get("VDI", vdi) if vdi != NULL_REF else None
    if vrec is not None:
        drv = attached_driver(ctx, vrec["SR"])
        await call(ctx, drv.vdi_delete, vrec["uuid"])
    ctx.txn.delete("crashdump", self)
    if vrec is not None:
        ctx.txn.delete("VDI", vdi)
