"""Syntax checks for values clients send about networks (addresses, bridge names, MTU)."""
from __future__ import annotations

import ipaddress
import re

#: IFNAMSIZ - 1: the kernel's limit on an interface name
MAX_IFNAME = 15
_IFNAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
MIN_MTU, MAX_MTU = 68, 65535


def valid_ifname(name: str) -> bool:
    """A Linux interface name: 1..15 characters, no '/', ':', blanks; not '.' or '..'."""
    return 0 < len(name) <= MAX_IFNAME and bool(_IFNAME.fullmatch(name)) \
        and name not in (".", "..")


def valid_mtu(mtu: int) -> bool:
    return MIN_MTU <= mtu <= MAX_MTU


def valid_ip(addr: str, version: int | None = None) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return version is None or ip.version == version


def valid_cidr(text: str, version: int | None = None) -> bool:
    """`address/prefix` (an interface address, host bits allowed)."""
    addr, sep, plen = text.partition("/")
    if not sep or not plen.isdigit() or not valid_ip(addr, version):
        return False
    return int(plen) <= (32 if ipaddress.ip_address(addr).version == 4 else 128)


def valid_netmask(mask: str) -> bool:
    try:
        ipaddress.IPv4Network(f"0.0.0.0/{mask}")
    except ValueError:
        return False
    return valid_ip(mask, 4)


def prefix_to_netmask(prefixlen: int) -> str:
    return str(ipaddress.IPv4Network(f"0.0.0.0/{prefixlen}").netmask)
