"""Addresses, link kinds, default routes and resolvers (read-only).

Addresses come from iproute2 (`ip -j -d addr show`) when it is installed; without it IPv4
comes from the SIOCGIFADDR/SIOCGIFNETMASK ioctls (primary address only) and IPv6 from
/proc/net/if_inet6. Default routes are read from /proc/net/route and /proc/net/ipv6_route,
resolvers from /etc/resolv.conf.
"""
from __future__ import annotations

import fcntl
import ipaddress
import json
import logging
import os
import shutil
import socket
import struct
import subprocess
from typing import Any

from .model import Address

log = logging.getLogger(__name__)

INFINITE_LIFETIME = 4294967295
_IFA_F_PERMANENT = 0x80
_SIOCGIFADDR = 0x8915
_SIOCGIFNETMASK = 0x891B


def ip_json() -> list[dict[str, Any]] | None:
    """`ip -j -d addr show`, or None when iproute2 is missing or fails."""
    ip = shutil.which("ip") or next((p for p in ("/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip")
                                     if os.path.exists(p)), None)
    if ip is None:
        return None
    try:
        out = subprocess.run([ip, "-j", "-d", "addr", "show"], capture_output=True,
                             timeout=10, check=True).stdout
        return json.loads(out or b"[]")
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        log.warning("ip -j addr failed (%s): reading addresses without iproute2", exc)
        return None


def addresses_from_ip(link: dict[str, Any]) -> tuple[list[Address], list[Address]]:
    v4: list[Address] = []
    v6: list[Address] = []
    for a in link.get("addr_info", []):
        if a.get("scope") in ("host", "link") or "local" not in a:
            continue
        dynamic = bool(a.get("dynamic")) or a.get("valid_life_time", INFINITE_LIFETIME) \
            != INFINITE_LIFETIME
        addr = Address(a["local"], int(a.get("prefixlen", 0)), dynamic)
        (v4 if a.get("family") == "inet" else v6 if a.get("family") == "inet6" else []
         ).append(addr)
    return v4, v6


def ipv4_by_ioctl(name: str) -> list[Address]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        req = struct.pack("256s", name.encode()[:15])
        addr = socket.inet_ntoa(fcntl.ioctl(s.fileno(), _SIOCGIFADDR, req)[20:24])
        mask = socket.inet_ntoa(fcntl.ioctl(s.fileno(), _SIOCGIFNETMASK, req)[20:24])
    except OSError:
        return []           # no IPv4 address (EADDRNOTAVAIL)
    finally:
        s.close()
    prefix = ipaddress.IPv4Network(f"0.0.0.0/{mask}").prefixlen
    return [Address(addr, prefix, False)]


def ipv6_from_proc(path: str = "/proc/net/if_inet6") -> dict[str, list[Address]]:
    out: dict[str, list[Address]] = {}
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return out
    for line in lines:
        parts = line.split()
        if len(parts) != 6:
            continue
        hexaddr, _idx, plen, scope, flags, name = parts
        if int(scope, 16) != 0:            # only global scope (not link/host)
            continue
        addr = str(ipaddress.IPv6Address(bytes.fromhex(hexaddr)))
        out.setdefault(name, []).append(
            Address(addr, int(plen, 16), not int(flags, 16) & _IFA_F_PERMANENT))
    return out


def default_route_v4(path: str = "/proc/net/route") -> tuple[str, str]:
    """(gateway, interface) of the best IPv4 default route, ("", "") if none."""
    best: tuple[int, str, str] | None = None
    try:
        with open(path) as f:
            lines = f.read().splitlines()[1:]
    except OSError:
        return "", ""
    for line in lines:
        p = line.split()
        if len(p) < 8 or p[1] != "00000000" or p[7] != "00000000":
            continue
        flags = int(p[3], 16)
        if not flags & 0x1:            # RTF_UP
            continue
        gw = socket.inet_ntoa(struct.pack("<I", int(p[2], 16))) if flags & 0x2 else ""
        metric = int(p[6])
        if best is None or metric < best[0]:
            best = (metric, gw, p[0])
    return (best[1], best[2]) if best else ("", "")


def default_route_v6(path: str = "/proc/net/ipv6_route") -> tuple[str, str]:
    best: tuple[int, str, str] | None = None
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return "", ""
    for line in lines:
        p = line.split()
        if len(p) != 10 or p[0] != "0" * 32 or p[1] != "00" or p[9] == "lo":
            continue
        flags = int(p[8], 16)
        if not flags & 0x1 or flags & 0x200:      # RTF_UP; skip RTF_REJECT
            continue
        gw = str(ipaddress.IPv6Address(bytes.fromhex(p[4]))) if flags & 0x2 else ""
        metric = int(p[5], 16)
        if best is None or metric < best[0]:
            best = (metric, gw, p[9])
    return (best[1], best[2]) if best else ("", "")


def resolvers(path: str = "/etc/resolv.conf") -> list[str]:
    out = []
    try:
        with open(path) as f:
            for line in f:
                p = line.split()
                if len(p) >= 2 and p[0] == "nameserver":
                    out.append(p[1])
    except OSError:
        pass
    return out
