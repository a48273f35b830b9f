"""One discovery of this host's network: sysfs for the devices, iproute2 for the rest."""
from __future__ import annotations

from .iproute import (addresses_from_ip, default_route_v4, default_route_v6, ip_json,
                      ipv4_by_ioctl, ipv6_from_proc, resolvers)
from .model import HostNetwork, Interface
from .sysfs import SYS_NET, list_names, read_interface

#: iproute2 link kinds -> our kinds (for interfaces sysfs could only call "virtual")
_IP_KINDS = {"veth": "veth", "bridge": "bridge", "bond": "bond", "vlan": "vlan"}


def discover(sys_net: str = SYS_NET) -> HostNetwork:
    """Every interface but loopback, with addresses, default routes and resolvers."""
    interfaces: dict[str, Interface] = {}
    for name in list_names(sys_net):
        iface = read_interface(name, sys_net)
        if iface is not None:
            interfaces[name] = iface
    links = ip_json()
    if links is not None:
        by_index = {int(link.get("ifindex", 0)): link.get("ifname", "") for link in links}
        for link in links:
            iface = interfaces.get(link.get("ifname", ""))
            if iface is None:
                continue
            iface.ipv4, iface.ipv6 = addresses_from_ip(link)
            info = link.get("linkinfo") or {}
            kind = _IP_KINDS.get(info.get("info_kind", ""))
            if kind is not None and iface.kind in ("virtual", "vlan"):
                iface.kind = kind
            if kind == "vlan":
                data = info.get("info_data") or {}
                iface.vlan_id = data.get("id")
                iface.vlan_parent = link.get("link") or by_index.get(
                    int(link.get("link_index", 0)), "")
    else:
        v6 = ipv6_from_proc()
        for name, iface in interfaces.items():
            iface.ipv4 = ipv4_by_ioctl(name)
            iface.ipv6 = v6.get(name, [])
    gw, dev = default_route_v4()
    gw6, dev6 = default_route_v6()
    return HostNetwork(interfaces, gw, dev, gw6, dev6, resolvers())
