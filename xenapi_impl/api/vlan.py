"""VLAN.create/destroy, and the calls that make VLANs for a device: PIF.create_VLAN,
PIF.destroy, pool.create_VLAN, pool.create_VLAN_from_PIF.

As xapi: a VLAN is a record joining the tagged PIF (the NIC or bond carrying tagged frames)
and a new untagged PIF (device and MAC of the tagged one, `VLAN` = the tag, the tagged PIF's
metrics, no IP configuration) on the network given; the untagged PIF is plugged, which on a
host whose links the server manages (hostnet.links) creates the Linux VLAN device
`<device>.<tag>`. Refusals, in xapi's order: NETWORK_UNMANAGED, NETWORK_ALREADY_CONNECTED
[network, its PIF on that host], PIF_UNMANAGED, CANNOT_ADD_VLAN_TO_BOND_SLAVE, PIF_IS_VLAN (no
VLAN on a VLAN), IS_TUNNEL_ACCESS_PIF, VLAN_TAG_INVALID (0..4094; 4095 is reserved by 802.1Q),
PIF_VLAN_EXISTS [device] (that tag already on that PIF), VLAN_IN_USE [device, tag] (the host
already has that VLAN, made outside this server). VLAN.create runs on the tagged PIF's host
(api/host_agent.py routes it).

pool.create_VLAN_from_PIF makes a VLAN on every PIF of the network the PIF given is on, on
the live hosts (xapi finds the PIFs by network: a bond or a NIC named differently per host);
pool.create_VLAN calls PIF.create_VLAN on every host (a host without the device answers
INVALID_VALUE [device, name]). If one host refuses, the VLANs already made are destroyed again
and its error is the answer.
"""
from __future__ import annotations

from typing import Any

from ..errors import XenAPIError
from ..store import NULL_REF, new_ref, new_uuid
from ..hostnet.links import links_for, vlan_device
from .context import Context
from .network import serialized
from .pif import discover
from .pif_links import call_on, check_managed, check_network_free, new_pif, on_host
from .registry import implements

MAX_TAG = 4094


def _check_tagged(ctx: Context, tagged: str, tag: int, network: str) -> dict[str, Any]:
    txn = ctx.txn
    rec = txn.get("PIF", tagged)
    check_network_free(txn, network, rec["host"])
    check_managed(rec, tagged)
    if rec["bond_slave_of"] != NULL_REF:
        raise XenAPIError("CANNOT_ADD_VLAN_TO_BOND_SLAVE", tagged)
    if rec["VLAN_master_of"] != NULL_REF:
        raise XenAPIError("PIF_IS_VLAN", tagged)
    if rec["tunnel_access_PIF_of"]:
        raise XenAPIError("IS_TUNNEL_ACCESS_PIF", tagged)
    if not 0 <= tag <= MAX_TAG:
        raise XenAPIError("VLAN_TAG_INVALID", str(tag))
    if any(txn.get("VLAN", v)["tag"] == tag for v in rec["VLAN_slave_of"]):
        raise XenAPIError("PIF_VLAN_EXISTS", rec["device"])
    return rec


async def _check_kernel(ctx: Context, device: str, tag: int) -> None:
    """VLAN_IN_USE [device, tag] when the host already has that VLAN on that device (made
    outside this server): only where the server manages the host's links."""
    if links_for(ctx.services) is None:
        return
    net = await discover(ctx.services)
    if any(i.kind == "vlan" and i.vlan_parent == device and i.vlan_id == tag
           for i in net.interfaces.values()):
        raise XenAPIError("VLAN_IN_USE", device, str(tag))


@implements("VLAN.create")
async def create(ctx: Context, tagged: str, tag: int, network: str) -> str:
    async with serialized(ctx):
        rec = _check_tagged(ctx, tagged, tag, network)
        await _check_kernel(ctx, rec["device"], tag)
        vlan = new_ref()
        untagged = new_pif(ctx, {
            "device": rec["device"], "network": network, "host": rec["host"],
            "MAC": rec["MAC"], "MTU": rec["MTU"], "VLAN": tag, "VLAN_master_of": vlan,
        }, metrics=rec["metrics"])
        ctx.txn.create("VLAN", vlan, {
            **ctx.services.default_record("VLAN"), "uuid": new_uuid(), "tagged_PIF": tagged,
            "untagged_PIF": untagged, "tag": tag, "other_config": {}})
        await on_host(ctx, untagged, lambda links: links.add_vlan(rec["device"], tag))
        ctx.txn.update("PIF", untagged, {"currently_attached": True})
    return vlan


async def destroy_vlan(ctx: Context, vlan: str) -> None:
    """As xapi: not a PIF in a bond (PIF_ALREADY_BONDED), not a slave's attached management
    interface (PIF_IS_MANAGEMENT_INTERFACE); an orphan VLAN record (its PIF gone) just goes."""
    txn = ctx.txn
    rec = txn.get("VLAN", vlan)
    untagged = rec["untagged_PIF"]
    pif = txn.get("PIF", untagged) if untagged != NULL_REF else None
    if pif is not None:
        if pif["bond_slave_of"] != NULL_REF or pif["bond_master_of"]:
            raise XenAPIError("PIF_ALREADY_BONDED", untagged)
        if pif["management"] and pif["currently_attached"] and _is_slave(ctx):
            raise XenAPIError("PIF_IS_MANAGEMENT_INTERFACE", untagged)
        if pif["VLAN"] < 0:
            raise XenAPIError("PIF_IS_PHYSICAL", untagged)
        if pif["currently_attached"]:
            await on_host(ctx, untagged,
                          lambda links: links.remove(vlan_device(pif["device"], rec["tag"])))
        txn.delete("PIF", untagged)            # its metrics are the tagged PIF's
    txn.delete("VLAN", vlan)


def _is_slave(ctx: Context) -> bool:
    pool = ctx.txn.get("pool", ctx.services.pool_ref)
    return pool is not None and pool["master"] != ctx.services.host_ref


@implements("VLAN.destroy")
async def destroy(ctx: Context, vlan: str) -> None:
    async with serialized(ctx):
        await destroy_vlan(ctx, vlan)


@implements("PIF.destroy")
async def pif_destroy(ctx: Context, pif: str) -> None:
    """The deprecated form of VLAN.destroy: a PIF that is no VLAN's is refused."""
    rec = ctx.txn.get("PIF", pif)
    vlan = rec["VLAN_master_of"]
    if rec["VLAN"] < 0 or vlan == NULL_REF or ctx.txn.get("VLAN", vlan) is None:
        raise XenAPIError("PIF_IS_PHYSICAL", pif)
    await call_on(ctx, ctx.txn.get("PIF", pif)["host"], "VLAN.destroy", [vlan])


def _tagged_on(ctx: Context, host: str, device: str) -> str | None:
    """The host's PIF for `device` that is not a VLAN (the one VLANs are made on)."""
    for pif in ctx.txn.get("host", host)["PIFs"]:
        rec = ctx.txn.get("PIF", pif)
        if rec["device"] == device and rec["VLAN"] < 0:
            return pif
    return None


@implements("PIF.create_VLAN")
async def pif_create_vlan(ctx: Context, device: str, network: str, host: str,
                          tag: int) -> str:
    tagged = _tagged_on(ctx, host, device)
    if tagged is None:
        raise XenAPIError("INVALID_VALUE", "device", device)
    vlan = await call_on(ctx, host, "VLAN.create", [tagged, tag, network])
    return ctx.store.get("VLAN", vlan)["untagged_PIF"]


def _hosts(ctx: Context) -> list[str]:
    """The pool's hosts, this one first (then in ref order)."""
    here = ctx.services.host_ref
    return [here] + sorted(h for h in ctx.txn.refs("host") if h != here)


async def _all_or_none(ctx: Context, steps: list[tuple[str, str, list[Any]]]) -> list[str]:
    """Run (host, method, args) steps, each answering a VLAN; if one fails, destroy the VLANs
    made so far (best effort: a host that went away keeps its record, as in xapi) and fail
    with its error. Answers the VLANs' untagged PIFs."""
    made: list[tuple[str, str]] = []
    try:
        for host, method, args in steps:
            answer = await call_on(ctx, host, method, args)
            vlan = answer if method == "VLAN.create" else \
                ctx.store.get("PIF", answer)["VLAN_master_of"]
            made.append((host, vlan))
    except XenAPIError:
        for host, vlan in reversed(made):
            try:
                await call_on(ctx, host, "VLAN.destroy", [vlan])
            except XenAPIError:
                pass
        raise
    return [ctx.store.get("VLAN", vlan)["untagged_PIF"] for _, vlan in made]


@implements("pool.create_VLAN_from_PIF")
async def pool_create_vlan_from_pif(ctx: Context, pif: str, network: str, tag: int) -> list[str]:
    """A VLAN on each PIF of the network `pif` is on, on the live hosts (as xapi: by network,
    so a bond or a NIC named differently on each host is found)."""
    from .pool_role import host_is_live
    txn = ctx.txn
    on_network = [p for p in txn.get("network", txn.get("PIF", pif)["network"])["PIFs"]]
    here = ctx.services.host_ref
    on_network.sort(key=lambda p: (txn.get("PIF", p)["host"] != here, p))
    hosts = {p: txn.get("PIF", p)["host"] for p in on_network}
    steps = [(hosts[p], "VLAN.create", [p, tag, network]) for p in on_network
             if hosts[p] == here or host_is_live(ctx.services, hosts[p])]
    return await _all_or_none(ctx, steps)


@implements("pool.create_VLAN")
async def pool_create_vlan(ctx: Context, device: str, network: str, tag: int) -> list[str]:
    """PIF.create_VLAN on every host of the pool, each on its host."""
    return await _all_or_none(ctx, [(host, "PIF.create_VLAN", [device, network, host, tag])
                                    for host in _hosts(ctx)])
