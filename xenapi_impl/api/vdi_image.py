"""A VDI's image opened for reading or writing outside a VM (disk export/import over HTTP,
XVA export/import): attached through its SR's driver, sizes refreshed after a write."""
from __future__ import annotations

from typing import Any

from .pbd import attached_driver, call
from .vdi import _sr_refresh_sizes


async def open_image(ctx: Any, vdi: str, writable: bool) -> tuple[Any, str, str]:
    """(driver, uuid, path) of the VDI's image, attached for us; detach with `close_image`."""
    rec = ctx.services.store.get("VDI", vdi)
    drv = attached_driver(ctx, rec["SR"])
    info = await call(ctx, drv.vdi_attach, rec["uuid"], writable=writable)
    return drv, rec["uuid"], info.pdev_path


async def close_image(ctx: Any, drv: Any, uuid: str) -> None:
    await call(ctx, drv.vdi_detach, uuid)


async def refresh_sizes(ctx: Any, vdi: str, drv: Any) -> None:
    rec = ctx.services.store.get("VDI", vdi)
    info = await call(ctx, drv.vdi_stat, rec["uuid"])
    txn = ctx.services.store.transaction()
    txn = ctx.services.model.relations.wrap(txn)
    ctx.txn = txn
    txn.measure("VDI", vdi, {"physical_utilisation": info.physical_utilisation})
    await _sr_refresh_sizes(ctx, rec["SR"], drv)
    await txn.commit()
