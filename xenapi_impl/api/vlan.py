"""VLAN.create/destroy, and the calls that make VLANs for a device: PIF.create_VLAN,
PIF.destroy, pool.create_VLAN, pool.create_VLAN_from_PIF.

As xapi: a VLAN is a record joining the tagged PIF (the NIC or bond carrying tagged frames)
and a new untagged PIF (device and MAC of the tagged one, `VLAN` = the tag, the tagged PIF's
metrics, no IP configuration) on the network given; the untagged PIF is plugged, which on a
host whose links the server manages (hostnet.links) creates the Linux VLAN device
`<device>.<tag>`. Refusals, in xapi's order: NETWORK_UNMANAGED, PIF_UNMANAGED,
NETWORK_ALREADY_CONNECTED [network, its PIF on that host], PIF_IS_VLAN (no VLAN on a VLAN),
VLAN_TAG_INVALID (0..4094; 4095 is reserved by 802.1Q), PIF_VLAN_EXISTS [device] (that tag
already on that device of that host), CANNOT_ADD_VLAN_TO_BOND_SLAVE, IS_TUNNEL_ACCESS_PIF.
VLAN.create runs on the tagged PIF's host (api/host_agent.py routes it).

The pool calls make one VLAN per host, each on its host: create_VLAN_from_PIF on every host
that has a non-VLAN PIF with the device of the PIF given, create_VLAN on every host (each
must have the device: else INVALID_VALUE [device, name], as PIF.create_VLAN answers). If one
host refuses, the VLANs already made are destroyed again and its error is the answer.
"""
from __future__ import annotations

from typing import Any

from ..errors import XenAPIError
from ..server.context import Context
from ..store import NULL_REF, new_ref, new_uuid
from ..hostnet.links import vlan_device
from .network import serialized
from .pif_links import call_on, check_managed, check_network_free, new_pif, on_host
from .registry import implements

MAX_TAG = 4094


def _check_tagged(ctx: Context, tagged: str, tag: int, network: str) -> dict[str, Any]:
    txn = ctx.txn
    rec = txn.get("PIF", tagged)
    check_network_free(txn, network, rec["host"])
    check_managed(rec, tagged)
    if rec["VLAN"] >= 0 or rec["VLAN_master_of"] != NULL_REF:
        raise XenAPIError("PIF_IS_VLAN", tagged)
    if not 0 <= tag <= MAX_TAG:
        raise XenAPIError("VLAN_TAG_INVALID", str(tag))
    for pif in txn.get("host", rec["host"])["PIFs"]:
        other = txn.get("PIF", pif)
        if other["device"] == rec["device"] and other["VLAN"] == tag:
            raise XenAPIError("PIF_VLAN_EXISTS", rec["device"])
    if rec["bond_slave_of"] != NULL_REF:
        raise XenAPIError("CANNOT_ADD_VLAN_TO_BOND_SLAVE", tagged)
    if rec["tunnel_access_PIF_of"]:
        raise XenAPIError("IS_TUNNEL_ACCESS_PIF", tagged)
    return rec


@implements("VLAN.create")
async def create(ctx: Context, tagged: str, tag: int, network: str) -> str:
    async with serialized(ctx):
        rec = _check_tagged(ctx, tagged, tag, network)
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
    txn = ctx.txn
    rec = txn.get("VLAN", vlan)
    untagged = rec["untagged_PIF"]
    pif = txn.get("PIF", untagged) if untagged != NULL_REF else None
    if pif is not None:                        # else an orphan VLAN record: only it goes
        if pif["VLAN_master_of"] != vlan:
            raise XenAPIError("PIF_IS_PHYSICAL", untagged)
        if pif["bond_slave_of"] != NULL_REF:
            raise XenAPIError("PIF_ALREADY_BONDED", untagged)
        if pif["management"]:
            raise XenAPIError("PIF_IS_MANAGEMENT_INTERFACE", untagged)
        if pif["currently_attached"]:
            await on_host(ctx, untagged,
                          lambda links: links.remove(vlan_device(pif["device"], rec["tag"])))
        txn.delete("PIF", untagged)            # its metrics are the tagged PIF's
    txn.delete("VLAN", vlan)


@implements("VLAN.destroy")
async def destroy(ctx: Context, vlan: str) -> None:
    async with serialized(ctx):
        await destroy_vlan(ctx, vlan)


@implements("PIF.destroy")
async def pif_destroy(ctx: Context, pif: str) -> None:
    """The deprecated form of VLAN.destroy: a PIF that is no VLAN's is refused."""
    vlan = ctx.txn.get("PIF", pif)["VLAN_master_of"]
    if vlan == NULL_REF or ctx.txn.get("VLAN", vlan) is None:
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


async def _on_every_host(ctx: Context, tagged: list[tuple[str, str]], network: str,
                         tag: int) -> list[str]:
    """One VLAN per (host, tagged PIF); all or none. Answers the untagged PIFs."""
    if not 0 <= tag <= MAX_TAG:            # before any host is asked
        raise XenAPIError("VLAN_TAG_INVALID", str(tag))
    made: list[tuple[str, str]] = []
    try:
        for host, pif in tagged:
            made.append((host, await call_on(ctx, host, "VLAN.create", [pif, tag, network])))
    except XenAPIError:
        for host, vlan in reversed(made):
            try:
                await call_on(ctx, host, "VLAN.destroy", [vlan])
            except XenAPIError:
                pass                         # its host went away: the record stays, as xapi
        raise
    return [ctx.store.get("VLAN", vlan)["untagged_PIF"] for _, vlan in made]


@implements("pool.create_VLAN_from_PIF")
async def pool_create_vlan_from_pif(ctx: Context, pif: str, network: str, tag: int) -> list[str]:
    rec = ctx.txn.get("PIF", pif)
    if rec["VLAN"] >= 0:
        raise XenAPIError("PIF_IS_VLAN", pif)
    tagged = [(host, t) for host in _hosts(ctx)
              if (t := _tagged_on(ctx, host, rec["device"])) is not None]
    return await _on_every_host(ctx, tagged, network, tag)


@implements("pool.create_VLAN")
async def pool_create_vlan(ctx: Context, device: str, network: str, tag: int) -> list[str]:
    tagged = []
    for host in _hosts(ctx):
        t = _tagged_on(ctx, host, device)
        if t is None:
            raise XenAPIError("INVALID_VALUE", "device", device)
        tagged.append((host, t))
    return await _on_every_host(ctx, tagged, network, tag)
