"""network.*: create (bridge names), destroy (not while in use), MTU, purposes, locking mode.

Bridges: an empty `bridge` gets the first free "xapi<N>" (as xapi names internal networks);
a given one must be a valid Linux interface name and unique among networks
(BRIDGE_NAME_EXISTS). Networks made by PIF discovery use the NIC's existing bridge or
"xenbr<N>" (see api/pif.py). Like xapi, destroying a network refuses while a VIF on it is
attached (NETWORK_CONTAINS_VIF) or a PIF belongs to it (NETWORK_CONTAINS_PIF), and destroys
the detached VIFs still pointing at it.
"""
from __future__ import annotations

import asyncio
import contextlib
from typing import Any, AsyncIterator

from ..errors import XenAPIError
from ..hostnet.syntax import valid_ifname, valid_mtu
from ..store import new_ref, new_uuid
from .context import Context
from .owned import delete_with_metrics
from .registry import implements

#: purposes that may not be combined on one network (xapi: NBD with and without TLS)
INCOMPATIBLE_PURPOSES = {("nbd", "insecure_nbd"), ("insecure_nbd", "nbd")}


def network_lock(services: Any) -> asyncio.Lock:
    """One lock per server for the network uniqueness rules (bridge names, VIF devices and
    MACs, PIF devices): a commit waits for the disk, so two calls could otherwise both pass
    a check before either's write is visible."""
    lock = getattr(services, "_network_lock", None)
    if lock is None:
        lock = services._network_lock = asyncio.Lock()
    return lock


@contextlib.asynccontextmanager
async def serialized(ctx: Context) -> AsyncIterator[None]:
    """Check and write under the lock, and commit before releasing it."""
    async with network_lock(ctx.services):
        yield
        await ctx.txn.commit()


def bridges_in_use(txn: Any) -> set[str]:
    return {txn.get("network", r)["bridge"] for r in txn.refs("network")}


def free_bridge(txn: Any, prefix: str, first: int | None = None) -> str:
    """`prefix<first>` if free, else `prefix<N>` with the lowest free N."""
    used = bridges_in_use(txn)
    if first is not None and f"{prefix}{first}" not in used:
        return f"{prefix}{first}"
    n = 0
    while f"{prefix}{n}" in used:
        n += 1
    return f"{prefix}{n}"


def check_mtu(mtu: int) -> None:
    if not valid_mtu(mtu):
        raise XenAPIError("INVALID_VALUE", "MTU", str(mtu))


def children(txn: Any, cls: str, field: str, ref: str) -> list[str]:
    """Objects of `cls` whose `field` names `ref` (read from the children, so it holds
    whatever the relation sets say)."""
    return sorted(r for r in txn.refs(cls) if txn.get(cls, r)[field] == ref)


def create_network(txn: Any, services: Any, values: dict[str, Any]) -> str:
    """Validate and create a network record (also used by PIF discovery)."""
    rec = services.default_record("network")
    rec.update(values)
    bridge = rec["bridge"]
    if bridge == "":
        rec["bridge"] = free_bridge(txn, "xapi")
    elif not valid_ifname(bridge):
        raise XenAPIError("INVALID_VALUE", "bridge", bridge)
    elif bridge in bridges_in_use(txn):
        raise XenAPIError("BRIDGE_NAME_EXISTS", bridge)
    check_mtu(rec["MTU"])
    rec["uuid"] = new_uuid()
    ref = new_ref()
    txn.create("network", ref, rec)
    return ref


@implements("network.create")
async def create(ctx: Context, record: dict[str, Any]) -> str:
    async with serialized(ctx):
        ref = create_network(ctx.txn, ctx.services, record)
    return ref


@implements("network.destroy")
async def destroy(ctx: Context, network: str) -> None:
    async with serialized(ctx):           # no VIF may join while we look
        _destroy(ctx.txn, network)


def _destroy(txn: Any, network: str) -> None:
    vifs = children(txn, "VIF", "network", network)
    attached = [v for v in vifs if txn.get("VIF", v)["currently_attached"]]
    if attached:
        raise XenAPIError("NETWORK_CONTAINS_VIF", *attached)
    pifs = children(txn, "PIF", "network", network)
    if pifs:
        raise XenAPIError("NETWORK_CONTAINS_PIF", *pifs)
    for vif in vifs:                      # detached VIFs go with their network, as in xapi
        delete_with_metrics(txn, "VIF", vif)
    txn.delete("network", network)


@implements("network.set_MTU")
async def set_mtu(ctx: Context, network: str, value: int) -> None:
    check_mtu(value)
    ctx.txn.update("network", network, {"MTU": value})


@implements("network.add_purpose")
async def add_purpose(ctx: Context, network: str, value: str) -> None:
    current = ctx.txn.get("network", network)["purpose"]
    for other in current:
        if (value, other) in INCOMPATIBLE_PURPOSES:
            raise XenAPIError("NETWORK_INCOMPATIBLE_PURPOSES", value, other)
    if value not in current:
        ctx.txn.update("network", network, {"purpose": [*current, value]})


@implements("network.remove_purpose")
async def remove_purpose(ctx: Context, network: str, value: str) -> None:
    current = ctx.txn.get("network", network)["purpose"]
    if value in current:
        ctx.txn.update("network", network, {"purpose": [p for p in current if p != value]})


@implements("network.set_default_locking_mode")
async def set_default_locking_mode(ctx: Context, network: str, value: str) -> None:
    ctx.txn.update("network", network, {"default_locking_mode": value})
