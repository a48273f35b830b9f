"""VLAN, bond and tunnel devices made for real with `ip link` (hostnet.links.IpLinks) in a
network namespace built for the test: the server's PIF discovery reads the namespace, so its
links are the ones the messages change (the machine's own network is never touched).

Kernels differ in what they can make (a container's kernel may lack 8021q or bonding): each
kind is probed in a scratch namespace first, and the message must then either make the device
as asked or answer PIF_CONFIGURATION_ERROR with the kernel's reason and change no record."""
from __future__ import annotations

import json
import subprocess
import uuid
from typing import Any

import pytest

from harness import Harness
from xenapi_impl.errors import XenAPIError
from xenapi_impl.hostnet.links import tunnel_key

from test_network_api import netns, pifs_by_device, run_in  # noqa: F401  (fixture)

NET = {"name_label": "n", "name_description": "", "other_config": {}, "bridge": "",
       "managed": True, "tags": []}
PROBES = {
    "vlan": ["link", "add", "link", "p0", "name", "p0.9", "type", "vlan", "id", "9"],
    "bond": ["link", "add", "b0", "type", "bond", "mode", "active-backup"],
    "vxlan": ["link", "add", "t0", "type", "vxlan", "id", "1", "dev", "p0", "dstport", "4789"],
    "gretap": ["link", "add", "g0", "type", "gretap", "local", "10.0.0.1"],
}


def kernel_makes(kind: str) -> bool:
    """Whether this kernel lets a namespace make a `kind` link (tried, then thrown away)."""
    name = "xnt-kind-" + uuid.uuid4().hex[:8]
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "add", "p0", "type", "veth", "peer", "name",
                        "p1"], check=True, capture_output=True)
        return subprocess.run(["ip", "-n", name, *PROBES[kind]],
                              capture_output=True).returncode == 0
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def link(ns: str, name: str) -> dict[str, Any] | None:
    out = subprocess.run(["ip", "-n", ns, "-d", "-j", "link", "show", name],
                         capture_output=True, text=True)
    return json.loads(out.stdout)[0] if out.returncode == 0 else None


async def records(h: Harness, s: str) -> tuple[Any, ...]:
    return tuple([await h.call(f"{c}.get_all_records", s) for c in ("PIF", "VLAN", "Bond",
                                                                     "tunnel")])


async def refused(h: Harness, method: str, *args: Any) -> list[str]:
    with pytest.raises(XenAPIError) as info:
        await h.call(method, *args)
    return info.value.description


def test_vlan_device_in_the_namespace(netns):  # noqa: F811
    supported = kernel_makes("vlan")

    async def body(h: Harness) -> None:
        s = await h.login()
        ref0, _ = (await pifs_by_device(h, s))["nic0"]
        net = await h.call("network.create", s, NET)
        if not supported:
            before = await records(h, s)
            code, pif, reason = await refused(h, "VLAN.create", s, ref0, "10", net)
            assert code == "PIF_CONFIGURATION_ERROR" and reason.endswith("Unknown device type.")
            assert await records(h, s) == before and link(netns.name, "nic0.10") is None
            return
        vlan = await h.call("VLAN.create", s, ref0, "10", net)
        dev = link(netns.name, "nic0.10")
        assert dev["linkinfo"]["info_kind"] == "vlan" and dev["linkinfo"]["info_data"]["id"] == 10
        assert "UP" in dev["flags"]
        await h.call("VLAN.destroy", s, vlan)
        assert link(netns.name, "nic0.10") is None
    run_in(netns.name, body)


def test_a_device_removed_by_hand_does_not_block_destroy(netns):  # noqa: F811
    if not kernel_makes("vxlan"):
        pytest.skip("this kernel makes no vxlan links")

    async def body(h: Harness) -> None:
        s = await h.login()
        ref0, _ = (await pifs_by_device(h, s))["nic0"]
        tunnel = await h.call("tunnel.create", s, ref0, await h.call("network.create", s, NET),
                              "vxlan")
        netns.ip("link", "del", "tunnel0")
        await h.call("tunnel.destroy", s, tunnel)
        assert await h.call("tunnel.get_all", s) == []
    run_in(netns.name, body)


def test_bond_device_in_the_namespace(netns):  # noqa: F811
    supported = kernel_makes("bond")
    netns.add_veth("nic2", "nic5")

    async def body(h: Harness) -> None:
        s = await h.login()
        await h.call("PIF.scan", s, (await h.call("host.get_all", s))[0])
        pifs = await pifs_by_device(h, s)
        members = [pifs["nic2"][0], pifs["nic5"][0]]
        net = await h.call("network.create", s, NET)
        if not supported:
            before = await records(h, s)
            code, _, reason = await refused(h, "Bond.create", s, net, members, "",
                                            "active-backup", {})
            assert code == "PIF_CONFIGURATION_ERROR" and reason.endswith("Unknown device type.")
            assert await records(h, s) == before and link(netns.name, "bond0") is None
            return
        bond = await h.call("Bond.create", s, net, members, "", "active-backup", {})
        dev = link(netns.name, "bond0")
        assert dev["linkinfo"]["info_data"]["mode"] == "active-backup"
        assert link(netns.name, "nic2")["master"] == "bond0"
        await h.call("Bond.destroy", s, bond)
        assert link(netns.name, "bond0") is None and "master" not in link(netns.name, "nic2")
    run_in(netns.name, body)


def test_tunnel_devices_in_the_namespace(netns):  # noqa: F811
    if not kernel_makes("vxlan"):
        pytest.skip("this kernel makes no vxlan links")
    gretap = kernel_makes("gretap")

    async def body(h: Harness) -> None:
        s = await h.login()
        ref0, _ = (await pifs_by_device(h, s))["nic0"]
        keys = []
        for device in ("tunnel0", "tunnel1"):       # one per network, each with its key
            net = await h.call("network.create", s, NET)
            keys.append(tunnel_key(await h.call("network.get_uuid", s, net)))
            tunnel = await h.call("tunnel.create", s, ref0, net, "vxlan")
            assert await h.call("tunnel.get_status", s, tunnel) == {"active": "true"}
            assert await h.call("PIF.get_device", s, await h.call(
                "tunnel.get_access_PIF", s, tunnel)) == device
            dev = link(netns.name, device)
            info = dev["linkinfo"]["info_data"]
            assert (dev["linkinfo"]["info_kind"], info["id"], info["local"], info["link"],
                    info["port"]) == ("vxlan", keys[-1], "10.77.0.2", "nic0", 4789)
        net = await h.call("network.create", s, NET)
        if gretap:
            tunnel = await h.call("tunnel.create", s, ref0, net, "gre")
            assert link(netns.name, "tunnel2")["linkinfo"]["info_kind"] == "gretap"
        else:
            before = await records(h, s)
            code, _, reason = await refused(h, "tunnel.create", s, ref0, net, "gre")
            assert code == "PIF_CONFIGURATION_ERROR" and reason.endswith("Unknown device type.")
            assert await records(h, s) == before and link(netns.name, "tunnel2") is None
        for tunnel in await h.call("tunnel.get_all", s):
            await h.call("tunnel.destroy", s, tunnel)
        assert [link(netns.name, f"tunnel{n}") for n in range(3)] == [None] * 3
    run_in(netns.name, body)
