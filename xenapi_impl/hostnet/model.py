"""What discovery reports about one network interface of this host."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: interface kinds: a NIC (bus device behind it), a bridge, a bond master, a VLAN on a
#: parent, one end of a veth pair, or anything else virtual (dummy, ifb, tun/tap, Xen vif)
KINDS = ("physical", "bridge", "bond", "vlan", "veth", "virtual")


@dataclass(slots=True)
class Address:
    address: str
    prefixlen: int
    dynamic: bool = False        # has a finite lifetime: came from DHCP / SLAAC

    @property
    def cidr(self) -> str:
        return f"{self.address}/{self.prefixlen}"


@dataclass(slots=True)
class Interface:
    name: str
    kind: str
    mac: str = ""
    mtu: int = 0
    ifindex: int = 0
    operstate: str = "unknown"
    up: bool = False             # administratively up (IFF_UP)
    carrier: bool | None = None  # None: unreadable (interface down)
    speed: int | None = None     # Mbit/s
    duplex: str | None = None    # "full" / "half"
    driver: str = ""
    bus: str = ""                # pci, virtio, usb, ...
    pci_bus_path: str = ""       # 0000:00:03.0
    vendor_id: str = ""
    device_id: str = ""
    vendor_name: str = ""
    device_name: str = ""
    master: str = ""             # bridge or bond this interface is enslaved to
    ports: list[str] = field(default_factory=list)   # a bridge's / bond's members
    vlan_id: int | None = None
    vlan_parent: str = ""
    ipv4: list[Address] = field(default_factory=list)
    ipv6: list[Address] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Interface":
        data = dict(data)
        data["ipv4"] = [Address(**a) for a in data.get("ipv4", [])]
        data["ipv6"] = [Address(**a) for a in data.get("ipv6", [])]
        return cls(**data)


@dataclass(slots=True)
class HostNetwork:
    """One discovery: every interface but loopback, the default routes and resolvers."""

    interfaces: dict[str, Interface]
    default_gateway: str = ""        # IPv4
    default_interface: str = ""      # the interface holding the IPv4 default route
    default_gateway6: str = ""
    default_interface6: str = ""
    dns: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"interfaces": {n: i.to_json() for n, i in self.interfaces.items()},
                "default_gateway": self.default_gateway,
                "default_interface": self.default_interface,
                "default_gateway6": self.default_gateway6,
                "default_interface6": self.default_interface6,
                "dns": list(self.dns)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "HostNetwork":
        return cls({n: Interface.from_json(i) for n, i in data["interfaces"].items()},
                   data.get("default_gateway", ""), data.get("default_interface", ""),
                   data.get("default_gateway6", ""), data.get("default_interface6", ""),
                   list(data.get("dns", [])))
