"""Editions and licences: this toolstack has one edition, the reference's free one.

Hosts are in the `free` edition (`editions` = ["free"], license_params say so, no expiry).
`apply_edition` accepts only an edition the host lists (else INVALID_EDITION); licence files
are gone from xapi (its licensing daemon checks licences out of a licence server):
`host.license_add` refuses undecodable contents with LICENSE_PROCESSING_ERROR and any file
with LICENSE_FILE_DEPRECATED, as xapi does; `license_apply` was removed (MESSAGE_REMOVED).
"""
from __future__ import annotations

import base64
import binascii
from typing import Any

from ..errors import XenAPIError
from .context import Context
from .registry import implements
from .host_fanout import on_every_host, on_host

FREE = "free"
EDITIONS = [FREE]


def free_license_params() -> dict[str, str]:
    """What xapi's free edition reports in host.license_params."""
    return {"sku_type": FREE, "sku_marketing_name": "Free", "expiry": "never",
            "restrict_pooling": "false", "restrict_ha": "true", "restrict_wlb": "true",
            "restrict_dmc": "false", "restrict_vswitch_controller": "true"}


async def seed_edition(services: Any) -> None:
    """At start: the host is in the free edition (a record from before keeps its edition if it
    is one we offer)."""
    rec = services.store.get("host", services.host_ref)
    if rec is None:
        return
    edition = rec["edition"] if rec["edition"] in EDITIONS else FREE
    want = {"edition": edition, "editions": list(EDITIONS),
            "license_params": free_license_params()}
    if any(rec[k] != v for k, v in want.items()):
        async with services.transaction() as txn:
            txn.update("host", services.host_ref, want)


@implements("host.apply_edition")
async def apply_edition(ctx: Context, host: str, edition: str, force: bool) -> None:
    if edition not in EDITIONS:
        raise XenAPIError("INVALID_EDITION", edition)
    rec = ctx.txn.get("host", host)
    ctx.txn.update("host", host, {"edition": edition, "editions": list(EDITIONS),
                                  "license_params": free_license_params()})


@implements("pool.apply_edition")
async def pool_apply_edition(ctx: Context, self: str, edition: str) -> None:
    await on_every_host(ctx, "host.apply_edition", edition, False)


@implements("host.license_add")
async def license_add(ctx: Context, host: str, contents: str) -> None:
    try:
        base64.b64decode(contents, validate=True)
    except (binascii.Error, ValueError):
        raise XenAPIError("LICENSE_PROCESSING_ERROR") from None
    raise XenAPIError("LICENSE_FILE_DEPRECATED")


@implements("host.license_apply")
async def license_apply(ctx: Context, host: str, contents: str) -> None:
    raise XenAPIError("MESSAGE_REMOVED")


@implements("host.license_remove")
async def license_remove(ctx: Context, host: str) -> None:
    """Back to the unlicensed (free) edition."""
    await apply_edition(ctx, host, FREE, True)


@implements("pool.get_license_state")
async def get_license_state(ctx: Context, self: str) -> dict[str, str]:
    """The pool's edition (its hosts' lowest: here all are free) and earliest expiry."""
    editions = {ctx.txn.get("host", h)["edition"] or FREE for h in ctx.txn.refs("host")}
    return {"edition": min(editions, key=EDITIONS.index) if editions else FREE,
            "expiry": "never"}


on_host("host.apply_edition", "host.license_add", "host.license_remove")
