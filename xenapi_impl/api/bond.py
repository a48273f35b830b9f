"""Bond.create/destroy/set_mode/set_property: link aggregation of a host's PIFs.

As xapi: at least two members (PIF_BOND_NEEDS_MORE_MEMBERS), all on one host
(PIF_CANNOT_BOND_CROSS_HOST), none already in a bond (PIF_ALREADY_BONDED), a VLAN
(PIF_IS_VLAN), a tunnel access PIF (IS_TUNNEL_ACCESS_PIF) or unmanaged (PIF_UNMANAGED); at
most one member with an IP configuration (PIF_BOND_MORE_THAN_ONE_IP); a valid MAC or ""
(MAC_INVALID); a managed network without a PIF on that host. The bond's master PIF
(`bond<N>`, the lowest free on the host) takes the MAC given or the primary slave's, the
network's MTU, and the primary slave's IP configuration and management role; the primary
slave is the management member, else the member with an IP configuration, else the first.
VLANs on members move to the master. Destroying the bond gives all of it back to the primary
slave. Properties xapi knows are checked (hashing_algorithm src_mac/tcpudp_ports, updelay and
downdelay non-negative integers, lacp-time slow/fast, lacp-aggregation-key an integer,
lacp-fallback-ab true/false: else INVALID_VALUE [name, value]); others are ignored, as xapi
ignores them. Where the server manages the host's links the Linux bond device is made with its
slaves (hostnet.links).
"""
from __future__ import annotations

from typing import Any

from ..errors import XenAPIError
from ..hostnet.mac import is_valid_mac, normalize_mac
from ..server.context import Context
from ..store import NULL_REF, new_ref, new_uuid
from .network import serialized
from .owned import delete_with_metrics
from .pif_links import check_managed, check_network_free, free_device, new_pif, on_host
from .registry import implements

#: the PIF fields a bond master takes from its primary slave (and gives back on destroy)
IP_FIELDS = ("ip_configuration_mode", "IP", "netmask", "gateway", "DNS",
             "ipv6_configuration_mode", "IPv6", "ipv6_gateway", "primary_address_type",
             "management")
_UNCONFIGURED = {"ip_configuration_mode": "None", "IP": "", "netmask": "", "gateway": "",
                 "DNS": "", "ipv6_configuration_mode": "None", "IPv6": [], "ipv6_gateway": "",
                 "primary_address_type": "IPv4", "management": False}


def _valid_property(name: str, value: str) -> bool | None:
    """True/False for a property xapi checks; None for one it ignores."""
    if name == "hashing_algorithm":
        return value in ("src_mac", "tcpudp_ports")
    if name in ("updelay", "downdelay"):
        return value.isdigit()
    if name == "lacp-time":
        return value in ("slow", "fast")
    if name == "lacp-aggregation-key":
        return value.lstrip("-").isdigit()
    if name == "lacp-fallback-ab":
        return value in ("true", "false")
    return None


def _properties(mode: str, given: dict[str, str]) -> dict[str, str]:
    out = {"hashing_algorithm": "tcpudp_ports" if mode == "lacp" else "src_mac"}
    for name, value in given.items():
        ok = _valid_property(name, value)
        if ok is False:
            raise XenAPIError("INVALID_VALUE", name, value)
        if ok:
            out[name] = value
    return out


def _configured(rec: dict[str, Any]) -> bool:
    return rec["management"] or rec["ip_configuration_mode"] != "None" or \
        rec["ipv6_configuration_mode"] != "None"


def _check_members(ctx: Context, members: list[str]) -> tuple[str, list[dict[str, Any]]]:
    txn = ctx.txn
    if len(members) < 2:
        raise XenAPIError("PIF_BOND_NEEDS_MORE_MEMBERS")
    recs = [txn.get("PIF", m) for m in members]
    host = recs[0]["host"]
    if any(r["host"] != host for r in recs):
        raise XenAPIError("PIF_CANNOT_BOND_CROSS_HOST")
    for pif, rec in zip(members, recs):
        check_managed(rec, pif)
        if rec["bond_slave_of"] != NULL_REF or rec["bond_master_of"]:
            raise XenAPIError("PIF_ALREADY_BONDED", pif)
        if rec["VLAN"] >= 0:
            raise XenAPIError("PIF_IS_VLAN", pif)
        if rec["tunnel_access_PIF_of"]:
            raise XenAPIError("IS_TUNNEL_ACCESS_PIF", pif)
    if sum(_configured(r) for r in recs) > 1:
        raise XenAPIError("PIF_BOND_MORE_THAN_ONE_IP")
    return host, recs


def _move_vlans(txn: Any, pifs: list[str], to: str) -> None:
    for pif in pifs:
        for vlan in list(txn.get("PIF", pif)["VLAN_slave_of"]):
            txn.update("VLAN", vlan, {"tagged_PIF": to})


@implements("Bond.create")
async def create(ctx: Context, network: str, members: list[str], mac: str,
                 mode: str = "balance-slb", properties: dict[str, str] | None = None) -> str:
    txn = ctx.txn
    members = list(dict.fromkeys(members))
    async with serialized(ctx):
        host, recs = _check_members(ctx, members)
        mac = normalize_mac(mac)
        if mac and not is_valid_mac(mac):
            raise XenAPIError("MAC_INVALID", mac)
        check_network_free(txn, network, host)
        props = _properties(mode, dict(properties or {}))
        primary = next((i for i, r in enumerate(recs) if r["management"]), None)
        if primary is None:
            primary = next((i for i, r in enumerate(recs) if _configured(r)), 0)
        prec = recs[primary]
        bond = new_ref()
        device = free_device(txn, host, "bond")
        master = new_pif(ctx, {
            "device": device, "network": network, "host": host, "MAC": mac or prec["MAC"],
            "MTU": txn.get("network", network)["MTU"], "VLAN": -1,
            **{f: prec[f] for f in IP_FIELDS}})
        txn.create("Bond", bond, {
            **ctx.services.default_record("Bond"), "uuid": new_uuid(), "master": master,
            "primary_slave": members[primary], "mode": mode, "properties": props,
            "links_up": sum(bool(txn.get("PIF_metrics", r["metrics"]) and
                                 txn.get("PIF_metrics", r["metrics"])["carrier"])
                            for r in recs),
            "auto_update_mac": not mac, "other_config": {}})
        for pif in members:
            txn.update("PIF", pif, {"bond_slave_of": bond})
        txn.update("PIF", members[primary], dict(_UNCONFIGURED))
        _move_vlans(txn, members, master)
        await on_host(ctx, master, lambda links: links.add_bond(
            device, mode, [r["device"] for r in recs], mac, props))
        txn.update("PIF", master, {"currently_attached": True})
    return bond


@implements("Bond.destroy")
async def destroy(ctx: Context, bond: str) -> None:
    txn = ctx.txn
    async with serialized(ctx):
        rec = txn.get("Bond", bond)
        master = rec["master"]
        mrec = txn.get("PIF", master)
        slaves = list(rec["slaves"])
        primary = rec["primary_slave"]
        if primary == NULL_REF or txn.get("PIF", primary) is None:
            primary = slaves[0] if slaves else NULL_REF
        if mrec is not None:
            if mrec["tunnel_transport_PIF_of"]:
                raise XenAPIError("PIF_TUNNEL_STILL_EXISTS", master)
            if primary != NULL_REF:
                txn.update("PIF", primary, {f: mrec[f] for f in IP_FIELDS})
                _move_vlans(txn, [master], primary)
            if mrec["currently_attached"]:
                await on_host(ctx, master, lambda links: links.remove(mrec["device"]))
            delete_with_metrics(txn, "PIF", master)
        for pif in slaves:
            txn.update("PIF", pif, {"bond_slave_of": NULL_REF})
        txn.delete("Bond", bond)


@implements("Bond.set_mode")
async def set_mode(ctx: Context, bond: str, value: str) -> None:
    txn = ctx.txn
    async with serialized(ctx):
        rec = txn.get("Bond", bond)
        if rec["mode"] == value:
            return
        props = {k: v for k, v in rec["properties"].items() if k != "hashing_algorithm"}
        props = _properties(value, props)
        master = txn.get("PIF", rec["master"])
        if master is not None and master["currently_attached"]:
            slaves = [txn.get("PIF", p)["device"] for p in rec["slaves"]]
            await on_host(ctx, rec["master"], lambda links: links.set_bond_mode(
                master["device"], value, slaves))
        txn.update("Bond", bond, {"mode": value, "properties": props})


@implements("Bond.set_property")
async def set_property(ctx: Context, bond: str, name: str, value: str) -> None:
    if not _valid_property(name, value):
        raise XenAPIError("INVALID_VALUE", name, value)
    props = dict(ctx.txn.get("Bond", bond)["properties"])
    props[name] = value
    ctx.txn.update("Bond", bond, {"properties": props})
