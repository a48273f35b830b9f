"""Bond.create/destroy/set_mode/set_property: link aggregation of a host's PIFs.

As xapi (in its order): members given (else PIF_BOND_NEEDS_MORE_MEMBERS); a managed network
(NETWORK_UNMANAGED) without a PIF on the members' host (NETWORK_ALREADY_CONNECTED); a valid MAC
or "" (MAC_INVALID); properties only those of the mode (else INVALID_VALUE ["properties",
"name = value"]): lacp takes hashing_algorithm (src_mac, tcpudp_ports; default tcpudp_ports),
lacp-time (slow, fast; default slow), lacp-aggregation-key (an integer), lacp-fallback-ab
(true, false; default true), the other modes none; members with one primary address type
(PIF_INCOMPATIBLE_PRIMARY_ADDRESS_TYPE), each managed (PIF_UNMANAGED), not in a bond
(PIF_ALREADY_BONDED), not a VLAN (PIF_VLAN_EXISTS [device]), not a tunnel access PIF
(IS_TUNNEL_ACCESS_PIF), not the management interface while HA is on; one host
(PIF_CANNOT_BOND_CROSS_HOST); equal PIF properties (INCOMPATIBLE_PIF_PROPERTIES); at most one
with an IP configuration (PIF_BOND_MORE_THAN_ONE_IP).

The primary slave is the management member, else the first with an IP configuration, else the
first. The bond's master PIF (`bond<N>`, the lowest free on the host) takes the MAC given or
the primary slave's, the network's MTU, the members' properties and disallow_unplug, the
primary slave's IPv4 configuration and the management role; VLANs and tunnels on members move
to it. Destroying the bond gives all of it back to the primary slave. Where the server manages
the host's links the Linux bond is made with its slaves (hostnet.links); VIFs of the members'
networks are not moved (xapi moves those of VMs local to the host).
"""
from __future__ import annotations

from typing import Any

from ..errors import XenAPIError
from ..hostnet.mac import is_valid_mac, normalize_mac
from ..store import NULL_REF, new_ref, new_uuid
from .context import Context
from .network import serialized
from .owned import delete_with_metrics
from .pif_links import check_managed, check_network_free, free_device, new_pif, on_host
from .registry import implements

#: the PIF fields a bond master takes from its primary slave (and gives back on destroy)
IP_FIELDS = ("ip_configuration_mode", "IP", "netmask", "gateway", "DNS")
_NO_IP = {"ip_configuration_mode": "None", "IP": "", "netmask": "", "gateway": "", "DNS": ""}
HA_CODE = "HA_CANNOT_CHANGE_BOND_STATUS_OF_MGMT_IFACE"


def _int(value: str) -> bool:
    try:
        int(value)
    except ValueError:
        return False
    return True


#: the properties each mode takes: name -> (valid value?, default or None)
LACP_PROPERTIES = {
    "hashing_algorithm": (lambda v: v in ("src_mac", "tcpudp_ports"), "tcpudp_ports"),
    "lacp-time": (lambda v: v in ("fast", "slow"), "slow"),
    "lacp-aggregation-key": (_int, None),
    "lacp-fallback-ab": (lambda v: v in ("true", "false"), "true"),
}


def _rules(mode: str) -> dict[str, Any]:
    return LACP_PROPERTIES if mode == "lacp" else {}


def _check_property(mode: str, name: str, value: str) -> None:
    rule = _rules(mode).get(name)
    if rule is None or not rule[0](value):
        raise XenAPIError("INVALID_VALUE", "properties", f"{name} = {value}")


def _with_defaults(mode: str, props: dict[str, str]) -> dict[str, str]:
    out = dict(props)
    for name, (_, default) in _rules(mode).items():
        if name not in out and default is not None:
            out[name] = default
    return out


def _configured(rec: dict[str, Any]) -> bool:
    if rec["primary_address_type"] == "IPv6":
        return rec["ipv6_configuration_mode"] != "None"
    return rec["ip_configuration_mode"] != "None"


def _primary(members: list[str], recs: list[dict[str, Any]]) -> int:
    for test in (lambda r: r["management"], _configured):
        for i, r in enumerate(recs):
            if test(r):
                return i
    return 0


def _check_members(ctx: Context, members: list[str], recs: list[dict[str, Any]],
                   primary: int) -> None:
    txn = ctx.txn
    for pif, rec in zip(members, recs):
        if rec["primary_address_type"] != recs[primary]["primary_address_type"]:
            raise XenAPIError("PIF_INCOMPATIBLE_PRIMARY_ADDRESS_TYPE", pif)
    ha = txn.get("pool", ctx.services.pool_ref)["ha_enabled"]
    for pif, rec in zip(members, recs):
        check_managed(rec, pif)
        if rec["VLAN_master_of"] != NULL_REF:
            raise XenAPIError("PIF_VLAN_EXISTS", rec["device"])
        if rec["tunnel_access_PIF_of"]:
            raise XenAPIError("IS_TUNNEL_ACCESS_PIF", pif)
        if (rec["bond_slave_of"] != NULL_REF and txn.get("Bond", rec["bond_slave_of"])) \
                or rec["bond_master_of"]:
            raise XenAPIError("PIF_ALREADY_BONDED", pif)
        if ha and rec["management"]:
            raise XenAPIError(HA_CODE)
    if len({r["host"] for r in recs}) != 1:
        raise XenAPIError("PIF_CANNOT_BOND_CROSS_HOST")
    if any(r["properties"] != recs[0]["properties"] for r in recs):
        raise XenAPIError("INCOMPATIBLE_PIF_PROPERTIES")
    if sum(_configured(r) for r in recs) > 1:
        raise XenAPIError("PIF_BOND_MORE_THAN_ONE_IP")


def _move_ip(txn: Any, src: str, dst: str) -> None:
    """The IPv4 configuration and the management role go from `src` to `dst`."""
    rec = txn.get("PIF", src)
    changes = {f: rec[f] for f in IP_FIELDS}
    if rec["management"]:
        changes["management"] = True
    txn.update("PIF", src, {**_NO_IP, "management": False})
    txn.update("PIF", dst, changes)


def _move_carried(txn: Any, src: str, dst: str) -> None:
    """The VLANs `src` carries and the tunnels it transports move to `dst`."""
    rec = txn.get("PIF", src)
    for vlan in list(rec["VLAN_slave_of"]):
        txn.update("VLAN", vlan, {"tagged_PIF": dst})
    for tunnel in list(rec["tunnel_transport_PIF_of"]):
        txn.update("tunnel", tunnel, {"transport_PIF": dst})


@implements("Bond.create")
async def create(ctx: Context, network: str, members: list[str], mac: str,
                 mode: str = "balance-slb", properties: dict[str, str] | None = None) -> str:
    txn = ctx.txn
    if not members:
        raise XenAPIError("PIF_BOND_NEEDS_MORE_MEMBERS")
    async with serialized(ctx):
        host = txn.get("PIF", members[0])["host"]
        check_network_free(txn, network, host)
        mac = normalize_mac(mac)
        if mac and not is_valid_mac(mac):
            raise XenAPIError("MAC_INVALID", mac)
        for name, value in (properties or {}).items():
            _check_property(mode, name, value)
        props = _with_defaults(mode, dict(properties or {}))
        members = list(dict.fromkeys(members))
        recs = [txn.get("PIF", m) for m in members]
        primary = _primary(members, recs)
        _check_members(ctx, members, recs, primary)
        prec = recs[primary]
        bond = new_ref()
        device = free_device(txn, host, "bond")
        master = new_pif(ctx, {
            "device": device, "network": network, "host": host, "MAC": mac or prec["MAC"],
            "MTU": txn.get("network", network)["MTU"], "VLAN": -1,
            "primary_address_type": prec["primary_address_type"],
            "properties": dict(recs[0]["properties"]),
            "disallow_unplug": any(r["disallow_unplug"] for r in recs)})
        metrics = [txn.get("PIF_metrics", r["metrics"]) for r in recs]
        txn.create("Bond", bond, {
            **ctx.services.default_record("Bond"), "uuid": new_uuid(), "master": master,
            "primary_slave": members[primary], "mode": mode, "properties": props,
            "links_up": sum(bool(m and m["carrier"]) for m in metrics),
            "auto_update_mac": not mac, "other_config": {}})
        for pif in members:
            txn.update("PIF", pif, {"bond_slave_of": bond, "disallow_unplug": False})
        _move_ip(txn, members[primary], master)
        for pif in members:
            _move_carried(txn, pif, master)
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
            if txn.get("pool", ctx.services.pool_ref)["ha_enabled"] and mrec["management"]:
                raise XenAPIError(HA_CODE)
            if primary != NULL_REF:
                _move_ip(txn, master, primary)
                _move_carried(txn, master, primary)
                if mrec["disallow_unplug"]:
                    txn.update("PIF", primary, {"disallow_unplug": True})
            if mrec["currently_attached"]:
                await on_host(ctx, master, lambda links: links.remove(mrec["device"]))
            delete_with_metrics(txn, "PIF", master)
        for pif in slaves:
            txn.update("PIF", pif, {"bond_slave_of": NULL_REF})
        txn.delete("Bond", bond)


@implements("Bond.set_mode")
async def set_mode(ctx: Context, bond: str, value: str) -> None:
    """The properties that the new mode takes stay; its defaults fill the rest."""
    txn = ctx.txn
    async with serialized(ctx):
        rec = txn.get("Bond", bond)
        rules = _rules(value)
        kept = {k: v for k, v in rec["properties"].items() if k in rules and rules[k][0](v)}
        master = txn.get("PIF", rec["master"])
        if master is not None and master["currently_attached"] and rec["mode"] != value:
            slaves = [txn.get("PIF", p)["device"] for p in rec["slaves"]]
            await on_host(ctx, rec["master"], lambda links: links.set_bond_mode(
                master["device"], value, slaves))
        txn.update("Bond", bond, {"mode": value, "properties": _with_defaults(value, kept)})


@implements("Bond.set_property")
async def set_property(ctx: Context, bond: str, name: str, value: str) -> None:
    rec = ctx.txn.get("Bond", bond)
    _check_property(rec["mode"], name, value)
    ctx.txn.update("Bond", bond, {"properties": {**rec["properties"], name: value}})
