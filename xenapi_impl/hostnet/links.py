"""Making and removing the host's VLAN, bond and tunnel devices (the only part of this package
that changes the network).

`Links` is what the API layer asks for; `IpLinks` carries it out with `ip link` (iproute2),
in this host's namespace or in a named one (`ip -n NAME`). Device names follow the Linux
bridge backend of xcp-networkd: a VLAN on eth0 with tag 10 is `eth0.10`; bonds and tunnels
take the PIF's device name (`bond0`, `tunnel0`). A tunnel is a `vxlan` (port 4789) or
`gretap` device on the transport PIF's address, keyed by its network (`tunnel_key`).

Bond modes: `active-backup` is Linux's `active-backup`, `lacp` is `802.3ad`; `balance-slb`
(Open vSwitch's source-MAC balancing) has no Linux twin, the closest is `balance-xor` with a
layer-2 hash, which is what it becomes here.

A kernel without 8021q/bonding (or a container that may not create links) makes the call fail
with `LinkError` and the kernel's reason; the API turns that into PIF_CONFIGURATION_ERROR and
changes no record.
"""
from __future__ import annotations

import asyncio
import hashlib
from typing import Protocol

LINUX_BOND_MODES = {"balance-slb": "balance-xor", "active-backup": "active-backup",
                    "lacp": "802.3ad"}
#: Bond.properties keys that map to a Linux bonding option
LINUX_BOND_OPTIONS = {"updelay": "updelay", "downdelay": "downdelay",
                      "lacp-time": "lacp_rate"}


VXLAN_PORT = 4789


def tunnel_key(network_uuid: str) -> int:
    """The VxLAN VNI / GRE key of a network's tunnels: derived from its uuid, so every host
    of the pool puts the network's tunnels on the same key (1 .. 2^24-1, VxLAN's range)."""
    digest = hashlib.sha256(network_uuid.encode()).digest()
    return int.from_bytes(digest[:4], "big") % ((1 << 24) - 1) + 1


class LinkError(RuntimeError):
    """The kernel refused a change (message: ip's reason)."""


def vlan_device(parent: str, tag: int) -> str:
    return f"{parent}.{tag}"


class Links(Protocol):
    async def add_vlan(self, parent: str, tag: int) -> None: ...
    async def add_bond(self, name: str, mode: str, slaves: list[str], mac: str,
                       properties: dict[str, str]) -> None: ...
    async def set_bond_mode(self, name: str, mode: str, slaves: list[str]) -> None: ...
    async def add_tunnel(self, name: str, protocol: str, local_ip: str, via: str,
                         key: int) -> None: ...
    async def remove(self, name: str) -> None: ...


class IpLinks:
    """`ip link` in this namespace (netns None) or in `netns`."""

    def __init__(self, netns: str | None = None, timeout: float = 30.0) -> None:
        self.netns = netns
        self.timeout = timeout

    async def ip(self, *args: str) -> None:
        cmd = ["ip", *(["-n", self.netns] if self.netns else []), *args]
        try:
            proc = await asyncio.create_subprocess_exec(
                *cmd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        except OSError as exc:
            raise LinkError(f"cannot run ip: {exc}") from None
        try:
            _, err = await asyncio.wait_for(proc.communicate(), self.timeout)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            raise LinkError(f"{' '.join(cmd)}: timed out") from None
        if proc.returncode != 0:
            raise LinkError(f"{' '.join(args)}: {err.decode(errors='replace').strip()}")

    async def add_vlan(self, parent: str, tag: int) -> None:
        name = vlan_device(parent, tag)
        await self.ip("link", "add", "link", parent, "name", name, "type", "vlan",
                      "id", str(tag))
        await self._up_or_remove(name)

    async def _up_or_remove(self, name: str) -> None:
        """A device that cannot be brought up is not left behind."""
        try:
            await self.ip("link", "set", name, "up")
        except LinkError:
            await self.remove(name)
            raise

    async def add_bond(self, name: str, mode: str, slaves: list[str], mac: str,
                       properties: dict[str, str]) -> None:
        opts = [item for key, opt in LINUX_BOND_OPTIONS.items() if key in properties
                for item in (opt, properties[key])]
        await self.ip("link", "add", name, "type", "bond", "mode", LINUX_BOND_MODES[mode],
                      *opts)
        try:
            if mac:
                await self.ip("link", "set", name, "address", mac)
            await self._enslave(name, slaves)
            await self.ip("link", "set", name, "up")
        except LinkError:
            await self.remove(name)
            raise

    async def _enslave(self, name: str, slaves: list[str]) -> None:
        for slave in slaves:               # a slave must be down to join a bond
            await self.ip("link", "set", slave, "down")
            await self.ip("link", "set", slave, "master", name)
            await self.ip("link", "set", slave, "up")

    async def set_bond_mode(self, name: str, mode: str, slaves: list[str]) -> None:
        # Linux changes the mode only of a bond that is down and has no slaves
        await self.ip("link", "set", name, "down")
        for slave in slaves:
            await self.ip("link", "set", slave, "nomaster")
        await self.ip("link", "set", name, "type", "bond", "mode", LINUX_BOND_MODES[mode])
        await self._enslave(name, slaves)
        await self.ip("link", "set", name, "up")

    async def add_tunnel(self, name: str, protocol: str, local_ip: str, via: str,
                         key: int) -> None:
        if protocol == "vxlan":
            await self.ip("link", "add", name, "type", "vxlan", "id", str(key), "local",
                          local_ip, "dev", via, "dstport", str(VXLAN_PORT))
        else:
            await self.ip("link", "add", name, "type", "gretap", "local", local_ip,
                          "key", str(key))
        await self._up_or_remove(name)

    async def remove(self, name: str) -> None:
        """Delete a device; one already gone is not an error (destroying its record must
        stay possible when someone removed the device by hand)."""
        try:
            await self.ip("link", "del", name)
        except LinkError as exc:
            if "Cannot find device" not in str(exc):
                raise


def links_for(services: object) -> Links | None:
    """Who changes this host's links: `services.netlinks` when set, else `ip` in the network
    namespace PIF discovery reads (services.hostnet a Netns), else None: on this host's own
    namespace the server records VLANs and bonds without touching the network unless
    `services.netlinks` says so (a dom0 sets it; a development machine must not lose its
    uplink to a test)."""
    links = getattr(services, "netlinks", None)
    if links is not None:
        return links
    source = getattr(services, "hostnet", None)
    netns = getattr(source, "name", None)
    return IpLinks(netns) if isinstance(netns, str) else None
