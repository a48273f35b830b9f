"""PIF.*: discovery of this host's NICs (scan, introduce, forget), plug/unplug and IP
configuration records.

Nothing here changes the host's NICs: plug/unplug and reconfigure_ip(v6) record the
requested state only (applying it is the job of a network backend we do not have). The
exceptions are VLAN and tunnel access PIFs where the server manages the host's links
(hostnet.links): unplug removes their device (`<device>.<tag>`, `tunnel<N>`) and plug makes it
again (api/vlan.py and api/tunnel.py make them).

Which interfaces get a PIF on scan: physical NICs (a bus device behind them, not a Xen
backend vif) and veth ends (the uplink of a host that is itself a container or namespace).
Bridges, bonds, VLANs and other virtual devices do not; PIF.introduce takes any existing
interface by name. A PIF's network is the bridge its NIC is enslaved to if any, else
"xenbr<N>" (N: the NIC name's trailing number, eth1 -> xenbr1, when no network has that bridge
or its network has no PIF on this host yet: the NICs of one name on a pool's hosts share it;
else the lowest free N), named "Pool-wide network associated with <device>"; an existing
network with that bridge is reused. The management PIF is the one whose NIC (or its bridge)
holds the IPv4 default route. IP settings come from the NIC, or from its bridge when enslaved:
an address with a finite lifetime is "DHCP" (IPv6: "Autoconf"), a permanent one "Static".
"""
from __future__ import annotations

import datetime as _dt
import logging
import re
from typing import Any

from ..errors import XenAPIError
from ..hostnet.links import vlan_device
from ..hostnet.mac import is_valid_mac, normalize_mac
from ..hostnet.model import HostNetwork, Interface
from ..hostnet.source import DiscoveryError, source_for
from ..hostnet.syntax import prefix_to_netmask, valid_cidr, valid_ip, valid_netmask
from ..store import NULL_REF, new_ref, new_uuid
from .context import Context
from .network import children, create_network, free_bridge, network_lock, serialized
from .owned import delete_with_metrics
from .pif_links import on_host
from .registry import implements

log = logging.getLogger(__name__)

PIF_KINDS = ("physical", "veth")
_TRAILING_NUMBER = re.compile(r"(\d+)$")


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)


async def discover(services: Any) -> HostNetwork:
    try:
        return await source_for(services).discover()
    except (OSError, DiscoveryError, ValueError) as exc:
        raise XenAPIError("INTERNAL_ERROR", f"network discovery failed: {exc}") from None


def host_pifs(txn: Any, host: str) -> list[str]:
    return children(txn, "PIF", "host", host)


def metrics_values(iface: Interface) -> dict[str, Any]:
    return {
        "carrier": bool(iface.carrier), "vendor_id": iface.vendor_id,
        "vendor_name": iface.vendor_name, "device_id": iface.device_id,
        "device_name": iface.device_name, "speed": iface.speed or 0,
        "duplex": iface.duplex == "full", "pci_bus_path": iface.pci_bus_path,
        "last_updated": _now(),
    }


def ip_values(net: HostNetwork, iface: Interface, managed: bool) -> dict[str, Any]:
    """The IP configuration the system has for this NIC (or the bridge it is enslaved to)."""
    holder = iface
    master = net.interfaces.get(iface.master)
    if master is not None and master.kind == "bridge":
        holder = master
    names = {iface.name, holder.name}
    management = net.default_interface in names and managed
    out: dict[str, Any] = {"management": management}
    if holder.ipv4:
        a = holder.ipv4[0]
        out.update(ip_configuration_mode="DHCP" if a.dynamic else "Static", IP=a.address,
                   netmask=prefix_to_netmask(a.prefixlen))
    if net.default_interface in names:
        out["gateway"] = net.default_gateway
    if management and net.dns:
        out["DNS"] = ",".join(net.dns)
    if holder.ipv6:
        out.update(ipv6_configuration_mode="Autoconf" if all(a.dynamic for a in holder.ipv6)
                   else "Static", IPv6=[a.cidr for a in holder.ipv6])
        if net.default_interface6 in names:
            out["ipv6_gateway"] = net.default_gateway6
        if not holder.ipv4:
            out["primary_address_type"] = "IPv6"
    return out


def _pool_wide(txn: Any, bridge: str, host: str) -> bool:
    """`bridge` is free, or its network has no PIF on `host` yet: another host's NIC of the
    same name made it, and this host's joins it (xapi's pool-wide network per device)."""
    for ref in txn.refs("network"):
        rec = txn.get("network", ref)
        if rec["bridge"] == bridge:
            return rec["managed"] and not any(
                txn.get("PIF", p)["host"] == host for p in rec["PIFs"])
    return True


def _network_for(txn: Any, services: Any, net: HostNetwork, iface: Interface,
                 managed: bool, host: str) -> str:
    master = net.interfaces.get(iface.master)
    if not managed:
        bridge = iface.name              # an unmanaged NIC is used as it is
    elif master is not None and master.kind == "bridge":
        bridge = master.name
    else:
        m = _TRAILING_NUMBER.search(iface.name)
        n = int(m.group(1)) if m else None
        bridge = f"xenbr{n}" if n is not None and _pool_wide(txn, f"xenbr{n}", host) \
            else free_bridge(txn, "xenbr", n)
    for ref in txn.refs("network"):
        if txn.get("network", ref)["bridge"] == bridge:
            return ref
    return create_network(txn, services, {
        "name_label": f"Pool-wide network associated with {iface.name}",
        "name_description": "", "MTU": iface.mtu if 68 <= iface.mtu <= 65535 else 1500,
        "other_config": {}, "bridge": bridge, "managed": managed, "tags": []})


def introduce_pif(txn: Any, services: Any, host: str, net: HostNetwork, iface: Interface,
                  managed: bool = True) -> str:
    """Create the PIF (with its network if needed, and its metrics) for one interface."""
    metrics = new_ref()
    txn.create("PIF_metrics", metrics, {**services.default_record("PIF_metrics"),
                                        "uuid": new_uuid(), **metrics_values(iface)})
    rec = services.default_record("PIF")
    rec.update({
        "uuid": new_uuid(), "device": iface.name, "host": host,
        "network": _network_for(txn, services, net, iface, managed, host),
        "MAC": iface.mac, "MTU": iface.mtu, "VLAN": -1, "metrics": metrics,
        "physical": iface.kind == "physical", "currently_attached": iface.up,
        "managed": managed, "other_config": {}, "properties": {}, "capabilities": [],
    })
    rec.update(ip_values(net, iface, managed))
    ref = new_ref()
    txn.create("PIF", ref, rec)
    return ref


def scan_into(txn: Any, services: Any, host: str, net: HostNetwork) -> list[str]:
    """PIFs for the interfaces of `net` that have none yet on `host` (same device or MAC);
    existing PIFs are left as they are. Returns the new PIFs."""
    known = [txn.get("PIF", r) for r in host_pifs(txn, host)]
    devices = {p["device"] for p in known}
    macs = {p["MAC"].lower() for p in known}
    created = []
    for iface in sorted(net.interfaces.values(), key=lambda i: i.name):
        if iface.kind not in PIF_KINDS or iface.name in devices or iface.mac in macs:
            continue
        created.append(introduce_pif(txn, services, host, net, iface))
    return created


async def seed_pifs(services: Any) -> None:
    """First start: a PIF per NIC of this host (nothing if the host already has PIFs)."""
    store = services.store
    host = services.host_ref
    if "PIF" not in services.store_classes or host == NULL_REF:
        return
    if any(r["host"] == host for r in store.records("PIF").values()):
        return
    try:
        net = await source_for(services).discover()
    except (OSError, DiscoveryError, ValueError) as exc:
        log.warning("network discovery failed, no PIFs created: %s", exc)
        return
    async with network_lock(services), services.transaction() as txn:
        created = scan_into(txn, services, host, net)
    log.info("discovered %d network interface(s): %s", len(created),
             ", ".join(i.name for i in net.interfaces.values() if i.kind in PIF_KINDS))


def _check_this_host(ctx: Context, host: str) -> None:
    if host != ctx.services.host_ref:
        # this server sees only its own interfaces
        raise XenAPIError("HOST_OFFLINE", host)


@implements("PIF.scan")
async def scan(ctx: Context, host: str) -> None:
    _check_this_host(ctx, host)
    async with serialized(ctx):
        net = await discover(ctx.services)
        scan_into(ctx.txn, ctx.services, host, net)


@implements("PIF.introduce")
async def introduce(ctx: Context, host: str, mac: str, device: str,
                    managed: bool = True) -> str:
    mac = normalize_mac(mac)
    if mac and not is_valid_mac(mac):
        raise XenAPIError("MAC_INVALID", mac)
    _check_this_host(ctx, host)
    async with serialized(ctx):
        if any(ctx.txn.get("PIF", r)["device"] == device for r in host_pifs(ctx.txn, host)):
            raise XenAPIError("DUPLICATE_PIF_DEVICE_NAME", device)
        net = await discover(ctx.services)
        iface = net.interfaces.get(device)
        if iface is None:
            raise XenAPIError("PIF_DEVICE_NOT_FOUND")
        if mac and iface.mac != mac:
            raise XenAPIError("MAC_DOES_NOT_EXIST", mac)
        ref = introduce_pif(ctx.txn, ctx.services, host, net, iface, managed)
    return ref


def _not_management(rec: dict[str, Any], pif: str) -> None:
    if rec["management"]:
        raise XenAPIError("PIF_IS_MANAGEMENT_INTERFACE", pif)


@implements("PIF.forget")
async def forget(ctx: Context, pif: str) -> None:
    """Forget the record (the interface itself stays; a rescan finds it again). The
    network stays too: VIFs may still use it. As xapi: not the management PIF, nothing built
    on it (PIF_ALREADY_BONDED, PIF_VLAN_STILL_EXISTS, PIF_TUNNEL_STILL_EXISTS)."""
    txn = ctx.txn
    rec = txn.get("PIF", pif)
    _not_management(rec, pif)
    if (rec["bond_slave_of"] != NULL_REF and txn.get("Bond", rec["bond_slave_of"])) \
            or rec["bond_master_of"]:
        raise XenAPIError("PIF_ALREADY_BONDED", pif)
    if rec["VLAN_slave_of"] or rec["VLAN"] != -1:
        raise XenAPIError("PIF_VLAN_STILL_EXISTS", pif)
    if rec["tunnel_transport_PIF_of"] or rec["tunnel_access_PIF_of"]:
        raise XenAPIError("PIF_TUNNEL_STILL_EXISTS", pif)
    delete_with_metrics(txn, "PIF", pif)


@implements("PIF.db_forget")
async def db_forget(ctx: Context, pif: str) -> None:
    delete_with_metrics(ctx.txn, "PIF", pif)


@implements("PIF.db_introduce", nullable=("bond_slave_of", "VLAN_master_of"))
async def db_introduce(ctx: Context, device: str, network: str, host: str, mac: str,
                       mtu: int, vlan: int, physical: bool, ip_configuration_mode: str,
                       ip: str, netmask: str, gateway: str, dns: str, bond_slave_of: str,
                       vlan_master_of: str, management: bool, other_config: dict[str, str],
                       disallow_unplug: bool = False, ipv6_configuration_mode: str = "None",
                       ipv6: list[str] | None = None, ipv6_gateway: str = "",
                       primary_address_type: str = "IPv4", managed: bool = True,
                       properties: dict[str, str] | None = None) -> str:
    """The record only, as given (xapi uses it when a host joins a pool)."""
    if mac and not is_valid_mac(mac):
        raise XenAPIError("MAC_INVALID", mac)
    txn = ctx.txn
    metrics = new_ref()
    txn.create("PIF_metrics", metrics, {**ctx.services.default_record("PIF_metrics"),
                                        "uuid": new_uuid(), "last_updated": _now()})
    rec = ctx.services.default_record("PIF")
    rec.update({
        "uuid": new_uuid(), "device": device, "network": network, "host": host,
        "MAC": normalize_mac(mac), "MTU": mtu, "VLAN": vlan, "metrics": metrics,
        "physical": physical, "ip_configuration_mode": ip_configuration_mode, "IP": ip,
        "netmask": netmask, "gateway": gateway, "DNS": dns, "bond_slave_of": bond_slave_of,
        "VLAN_master_of": vlan_master_of, "management": management,
        "other_config": other_config, "disallow_unplug": disallow_unplug,
        "ipv6_configuration_mode": ipv6_configuration_mode, "IPv6": list(ipv6 or []),
        "ipv6_gateway": ipv6_gateway, "primary_address_type": primary_address_type,
        "managed": managed, "properties": dict(properties or {}),
    })
    ref = new_ref()
    txn.create("PIF", ref, rec)
    return ref


def _managed(rec: dict[str, Any], pif: str) -> None:
    if not rec["managed"]:
        raise XenAPIError("PIF_UNMANAGED", pif)


def _vlan_tag(txn: Any, rec: dict[str, Any]) -> int | None:
    vlan = txn.get("VLAN", rec["VLAN_master_of"]) if rec["VLAN_master_of"] != NULL_REF \
        else None
    return vlan["tag"] if vlan is not None else None


@implements("PIF.plug")
async def plug(ctx: Context, pif: str) -> None:
    """As xapi: an unmanaged PIF (PIF_UNMANAGED) or a bond slave (CANNOT_PLUG_BOND_SLAVE: its
    bond's master is plugged instead) is refused; a tunnel's access PIF needs an IPv4
    configuration on its transport PIF (TRANSPORT_PIF_NOT_CONFIGURED [transport PIF])."""
    from .tunnel import plug_access
    txn = ctx.txn
    rec = txn.get("PIF", pif)
    _managed(rec, pif)
    if rec["bond_slave_of"] != NULL_REF:
        raise XenAPIError("CANNOT_PLUG_BOND_SLAVE", pif)
    if rec["currently_attached"]:
        return
    if rec["tunnel_access_PIF_of"]:
        await plug_access(ctx, rec["tunnel_access_PIF_of"][0])
        return
    tag = _vlan_tag(txn, rec)
    if tag is not None:
        await on_host(ctx, pif, lambda links: links.add_vlan(rec["device"], tag))
    txn.update("PIF", pif, {"currently_attached": True})


@implements("PIF.unplug")
async def unplug(ctx: Context, pif: str) -> None:
    txn = ctx.txn
    rec = txn.get("PIF", pif)
    _managed(rec, pif)
    _not_management(rec, pif)
    if rec["disallow_unplug"]:
        raise XenAPIError("PIF_DOES_NOT_ALLOW_UNPLUG", pif)
    for vif in children(txn, "VIF", "network", rec["network"]):
        if txn.get("VIF", vif)["currently_attached"]:
            raise XenAPIError("VIF_IN_USE", rec["network"], vif)
    if rec["currently_attached"]:
        tag = _vlan_tag(txn, rec)
        if tag is not None:
            await on_host(ctx, pif, lambda links: links.remove(vlan_device(rec["device"], tag)))
        elif rec["tunnel_access_PIF_of"]:
            await on_host(ctx, pif, lambda links: links.remove(rec["device"]))
        txn.update("PIF", pif, {"currently_attached": False})


@implements("PIF.set_disallow_unplug")
async def set_disallow_unplug(ctx: Context, pif: str, value: bool) -> None:
    ctx.txn.update("PIF", pif, {"disallow_unplug": value})


@implements("PIF.set_primary_address_type")
async def set_primary_address_type(ctx: Context, pif: str, value: str) -> None:
    ctx.txn.update("PIF", pif, {"primary_address_type": value})


def _check_dns(dns: str) -> None:
    if dns and not all(valid_ip(s.strip()) for s in dns.split(",")):
        raise XenAPIError("INVALID_IP_ADDRESS_SPECIFIED", "DNS")


@implements("PIF.reconfigure_ip")
async def reconfigure_ip(ctx: Context, pif: str, mode: str, ip: str, netmask: str,
                         gateway: str, dns: str) -> None:
    """Record the configuration (applied by a network backend, not by this server)."""
    rec = ctx.txn.get("PIF", pif)
    _managed(rec, pif)
    if mode == "Static":
        if not valid_ip(ip, 4):
            raise XenAPIError("INVALID_IP_ADDRESS_SPECIFIED", "IP")
        if not valid_netmask(netmask):
            raise XenAPIError("INVALID_IP_ADDRESS_SPECIFIED", "netmask")
        if gateway and not valid_ip(gateway, 4):
            raise XenAPIError("INVALID_IP_ADDRESS_SPECIFIED", "gateway")
        _check_dns(dns)
        values = {"IP": ip, "netmask": netmask, "gateway": gateway, "DNS": dns}
    else:
        values = {"IP": "", "netmask": "", "gateway": "", "DNS": ""}
    if mode == "None" and rec["primary_address_type"] == "IPv4":
        _not_management(rec, pif)        # the management interface needs an address
    ctx.txn.update("PIF", pif, {"ip_configuration_mode": mode, **values})


@implements("PIF.reconfigure_ipv6")
async def reconfigure_ipv6(ctx: Context, pif: str, mode: str, ipv6: str, gateway: str,
                           dns: str) -> None:
    rec = ctx.txn.get("PIF", pif)
    _managed(rec, pif)
    if mode == "Static":
        if not valid_cidr(ipv6, 6):
            raise XenAPIError("INVALID_CIDR_ADDRESS_SPECIFIED", "IPv6")
        if gateway and not valid_ip(gateway, 6):
            raise XenAPIError("INVALID_IP_ADDRESS_SPECIFIED", "gateway")
        _check_dns(dns)
        values: dict[str, Any] = {"IPv6": [ipv6], "ipv6_gateway": gateway}
        if dns:
            values["DNS"] = dns
    else:
        values = {"IPv6": [], "ipv6_gateway": ""}
    if mode == "None" and rec["primary_address_type"] == "IPv6":
        _not_management(rec, pif)
    ctx.txn.update("PIF", pif, {"ipv6_configuration_mode": mode, **values})


#: PIF.properties xapi accepts, with their values (generic receive offload)
PIF_PROPERTIES = {"gro": ("on", "off")}


@implements("PIF.set_property")
async def set_property(ctx: Context, pif: str, name: str, value: str) -> None:
    """As xapi: only known properties with their values (else INVALID_VALUE ["properties",
    "name = value"]), only on a NIC or a bond master that is not itself bonded (else
    CANNOT_CHANGE_PIF_PROPERTIES); a bond master's slaves take the same properties. Recorded
    (the NIC's offload settings are not changed)."""
    txn = ctx.txn
    if value not in PIF_PROPERTIES.get(name, ()):
        raise XenAPIError("INVALID_VALUE", "properties", f"{name} = {value}")
    rec = txn.get("PIF", pif)
    if not (rec["physical"] or rec["bond_master_of"]) or rec["bond_slave_of"] != NULL_REF:
        raise XenAPIError("CANNOT_CHANGE_PIF_PROPERTIES", pif)
    props = {**rec["properties"], name: value}
    slaves = [s for b in rec["bond_master_of"] for s in txn.get("Bond", b)["slaves"]]
    for ref in [pif, *slaves]:
        txn.update("PIF", ref, {"properties": dict(props)})
