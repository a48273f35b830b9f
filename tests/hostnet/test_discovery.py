"""Discovery of real interfaces: this machine (checked against iproute2's own view) and a
network namespace built with a known layout (veth pair, bridge, addresses, routes)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from netns_env import NIC0_MAC, UPLINK_MAC
from xenapi_impl.hostnet import discover, iproute
from xenapi_impl.hostnet.model import HostNetwork
from xenapi_impl.hostnet.sysfs import read_interface

needs_ip = pytest.mark.skipif(shutil.which("ip") is None, reason="needs iproute2")


def _ip_json(*args: str, ns: str | None = None) -> list[dict]:
    cmd = ["ip", "-j", *args] if ns is None else ["ip", "-n", ns, "-j", *args]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True).stdout or b"[]")


def _discover_in(ns: str) -> HostNetwork:
    out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-m",
                          "xenapi_impl.hostnet"], check=True, capture_output=True).stdout
    return HostNetwork.from_json(json.loads(out))


@needs_ip
def test_this_machine_matches_iproute2():
    net = discover()
    links = {link["ifname"]: link for link in _ip_json("link", "show")}
    assert set(net.interfaces) == {n for n, link in links.items()
                                   if link.get("link_type") != "loopback"}
    assert set(net.interfaces) == set(os.listdir("/sys/class/net")) - {"lo"}
    for name, iface in net.interfaces.items():
        assert iface.mac == links[name]["address"]
        assert iface.mtu == links[name]["mtu"]
        assert iface.up == ("UP" in links[name]["flags"])
    addrs = {link["ifname"]: link for link in _ip_json("addr", "show")}
    for name, iface in net.interfaces.items():
        wanted = sorted(a["local"] for a in addrs[name]["addr_info"]
                        if a["family"] == "inet" and a["scope"] not in ("host", "link"))
        assert sorted(a.address for a in iface.ipv4) == wanted
    default = _ip_json("route", "show", "default")
    if default:
        best = min(default, key=lambda r: r.get("metric", 0))
        assert net.default_interface == best["dev"]
        assert net.default_gateway == best.get("gateway", "")


def test_physical_nic_details_from_sysfs():
    phys = [i for i in discover().interfaces.values() if i.kind == "physical"]
    if not phys:
        pytest.skip("this machine has no physical NIC")
    for iface in phys:
        base = f"/sys/class/net/{iface.name}/device"
        assert iface.driver == os.path.basename(os.readlink(base + "/driver"))
        if iface.pci_bus_path:
            assert iface.pci_bus_path in os.path.realpath(base)
            assert len(iface.vendor_id) == 4 and len(iface.device_id) == 4


@needs_ip
def test_without_iproute2_addresses_come_from_ioctl_and_proc(monkeypatch):
    with_ip = discover()
    monkeypatch.setattr("xenapi_impl.hostnet.probe.ip_json", lambda: None)
    without = discover()
    assert set(without.interfaces) == set(with_ip.interfaces)
    for name, iface in without.interfaces.items():
        full = with_ip.interfaces[name]
        # the ioctl sees the primary IPv4 address only
        assert [a.cidr for a in iface.ipv4] == [a.cidr for a in full.ipv4][:1]
        assert sorted(a.cidr for a in iface.ipv6) == sorted(a.cidr for a in full.ipv6)


def test_namespace_layout(netns):
    net = _discover_in(netns.name)
    assert set(net.interfaces) == {"nic0", "uplink1", "br7"}
    nic0, up, br = (net.interfaces[n] for n in ("nic0", "uplink1", "br7"))
    assert (nic0.kind, up.kind, br.kind) == ("veth", "veth", "bridge")
    assert nic0.mac == NIC0_MAC and up.mac == UPLINK_MAC
    assert nic0.mtu == 1450 and nic0.up and nic0.carrier is True
    assert up.master == "br7" and br.ports == ["uplink1"] and nic0.master == ""
    assert [(a.cidr, a.dynamic) for a in nic0.ipv4] == [("10.77.0.2/24", False)]
    assert [a.cidr for a in nic0.ipv6] == ["fd77::2/64"]
    assert [(a.cidr, a.dynamic) for a in br.ipv4] == [("10.78.0.1/24", True)]
    assert (net.default_interface, net.default_gateway) == ("nic0", "10.77.0.1")
    assert (net.default_interface6, net.default_gateway6) == ("nic0", "fd77::1")
    assert net.dns == ["10.77.0.53", "fd77::53"]
    assert nic0.driver == "" and nic0.pci_bus_path == ""     # no bus device behind a veth


def test_namespace_changes_are_seen(netns):
    netns.add_veth("extra0", "extra1")
    netns.ip("link", "set", "extra0", "down")
    net = _discover_in(netns.name)
    assert {"extra0", "extra1"} <= set(net.interfaces)
    assert net.interfaces["extra0"].up is False and net.interfaces["extra0"].ipv4 == []
    assert net.interfaces["extra0"].carrier is None          # unreadable while down


def test_bond_and_vlan_kinds_from_sysfs_attributes(tmp_path):
    """Kernels here may lack bonding/8021q: the sysfs shapes they produce, read as files."""
    def iface(name: str, **files: str) -> None:
        d = tmp_path / name
        d.mkdir()
        for k, v in {"address": "02:00:00:00:00:09", "mtu": "1500", "flags": "0x1003",
                     "type": "1", "ifindex": "7", **files}.items():
            p = d / k
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(v + "\n")
    iface("bond0", **{"bonding/slaves": "eth1 eth0", "uevent": "DEVTYPE=bond\nINTERFACE=bond0"})
    iface("eth0.100", uevent="DEVTYPE=vlan\nINTERFACE=eth0.100")
    bond = read_interface("bond0", str(tmp_path))
    vlan = read_interface("eth0.100", str(tmp_path))
    assert bond is not None and bond.kind == "bond" and bond.ports == ["eth0", "eth1"]
    assert vlan is not None and vlan.kind == "vlan" and vlan.up
    assert read_interface("gone", str(tmp_path)) is None


def test_route_and_resolver_parsers(tmp_path):
    route = tmp_path / "route"
    route.write_text(
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
        "eth1\t00000000\t0102A8C0\t0003\t0\t0\t200\t00000000\t0\t0\t0\n"
        "eth0\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
        "eth0\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n")
    assert iproute.default_route_v4(str(route)) == ("10.0.0.1", "eth0")   # lowest metric
    assert iproute.default_route_v4(str(tmp_path / "none")) == ("", "")
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("# c\nsearch example\nnameserver 9.9.9.9\nnameserver  2001:db8::1\n")
    assert iproute.resolvers(str(resolv)) == ["9.9.9.9", "2001:db8::1"]
