"""VLAN, Bond, tunnel, the pool's VLAN calls and the management interface, in process (real
model, store, dispatcher). The host's links are simulated: `SimLinks` holds the devices the
kernel would have and refuses what it would refuse (a VLAN on a missing parent, a second
device of one name, a slave already enslaved), so every message is checked both on the records
and on the (simulated) host."""
from __future__ import annotations

from typing import Any

import pytest

from harness import Harness, run
from xenapi_impl.errors import XenAPIError
from xenapi_impl.hostnet.links import LinkError, tunnel_key

NULL = "OpaqueRef:NULL"
NET = {"name_label": "n", "name_description": "", "other_config": {}, "bridge": "",
       "managed": True, "tags": []}


class SimLinks:
    """The host's links as `ip link` would leave them: name -> description."""

    def __init__(self, nics: list[str]) -> None:
        self.devices: dict[str, dict[str, Any]] = {n: {"kind": "nic"} for n in nics}
        self.refuse: str | None = None          # an error the next change gets

    def _new(self, name: str, **desc: Any) -> None:
        if self.refuse:
            reason, self.refuse = self.refuse, None
            raise LinkError(reason)
        if name in self.devices:
            raise LinkError(f"link add {name}: RTNETLINK answers: File exists")
        self.devices[name] = desc

    async def add_vlan(self, parent: str, tag: int) -> None:
        if parent not in self.devices:
            raise LinkError(f"Cannot find device \"{parent}\"")
        self._new(f"{parent}.{tag}", kind="vlan", parent=parent, tag=tag)

    async def add_bond(self, name: str, mode: str, slaves: list[str], mac: str,
                       properties: dict[str, str]) -> None:
        for s in slaves:
            if self.devices.get(s, {}).get("master"):
                raise LinkError(f"{s} is already enslaved")
        self._new(name, kind="bond", mode=mode, slaves=list(slaves), mac=mac)
        for s in slaves:
            self.devices[s]["master"] = name

    async def set_bond_mode(self, name: str, mode: str, slaves: list[str]) -> None:
        self.devices[name]["mode"] = mode

    async def add_tunnel(self, name: str, protocol: str, local_ip: str, via: str,
                         key: int) -> None:
        self._new(name, kind=protocol, local=local_ip, via=via, key=key)

    async def remove(self, name: str) -> None:
        if name not in self.devices:
            return                              # IpLinks.remove: already gone is fine
        for dev in self.devices.values():
            if dev.get("master") == name:
                del dev["master"]
        del self.devices[name]


async def fails(h: Harness, method: str, *params: Any) -> list[str]:
    with pytest.raises(XenAPIError) as info:
        await h.call(method, *params)
    return info.value.description


async def nic(h: Harness, s: str, device: str, mac: str, *, ip: str = "",
              management: bool = False) -> str:
    host = h.services.host_ref
    net = await h.call("network.create", s, {**NET, "name_label": device})
    return await h.call("PIF.db_introduce", s, device, net, host, mac, "1500", "-1", True,
                        "Static" if ip else "None", ip, "255.255.255.0" if ip else "", "", "",
                        NULL, NULL, management, {})


async def snapshot(h: Harness, s: str) -> tuple[Any, ...]:
    return tuple([await h.call(f"{c}.get_all_records", s)
                  for c in ("PIF", "VLAN", "Bond", "tunnel", "network")])


def run_sim(body, nics=("eth7", "eth8", "eth9")) -> Any:
    async def main(h: Harness) -> Any:
        links = h.services.netlinks = SimLinks(list(nics))
        return await body(h, await h.login(), links)
    return run(main)


# --- VLAN -------------------------------------------------------------------------------------
def test_vlan_create_and_destroy():
    async def body(h: Harness, s: str, links: SimLinks) -> None:
        eth7 = await nic(h, s, "eth7", "02:00:00:00:07:07")
        net = await h.call("network.create", s, NET)
        vlan = await h.call("VLAN.create", s, eth7, "10", net)
        rec = await h.call("VLAN.get_record", s, vlan)
        untagged = rec["untagged_PIF"]
        assert (rec["tagged_PIF"], rec["tag"], rec["other_config"]) == (eth7, 10, {})
        u = await h.call("PIF.get_record", s, untagged)
        t = await h.call("PIF.get_record", s, eth7)
        assert (u["device"], u["MAC"], u["VLAN"], u["network"], u["host"]) == \
            ("eth7", "02:00:00:00:07:07", 10, net, h.services.host_ref)
        assert (u["VLAN_master_of"], u["physical"], u["currently_attached"],
                u["ip_configuration_mode"], u["metrics"]) == \
            (vlan, False, True, "None", t["metrics"])
        assert t["VLAN_slave_of"] == [vlan]
        assert await h.call("network.get_PIFs", s, net) == [untagged]
        assert links.devices["eth7.10"] == {"kind": "vlan", "parent": "eth7", "tag": 10}
        # unplug/plug take the device away and back
        await h.call("PIF.unplug", s, untagged)
        assert "eth7.10" not in links.devices
        await h.call("PIF.plug", s, untagged)
        assert "eth7.10" in links.devices
        # nothing built on a PIF may be left without it
        assert await fails(h, "PIF.forget", s, eth7) == ["PIF_VLAN_STILL_EXISTS", eth7]
        assert await fails(h, "PIF.forget", s, untagged) == ["PIF_VLAN_STILL_EXISTS", untagged]
        await h.call("VLAN.destroy", s, vlan)
        assert "eth7.10" not in links.devices
        assert await h.call("VLAN.get_all", s) == []
        assert await h.call("PIF.get_VLAN_slave_of", s, eth7) == []
        assert await fails(h, "PIF.get_record", s, untagged) == ["HANDLE_INVALID", "PIF",
                                                                 untagged]
        # the NIC keeps its metrics (they were shared with the VLAN PIF)
        assert await h.call("PIF_metrics.get_record", s, t["metrics"])
    run_sim(body)


def test_vlan_refusals_change_nothing():
    async def body(h: Harness, s: str, links: SimLinks) -> None:
        eth7 = await nic(h, s, "eth7", "02:00:00:00:07:07")
        eth8 = await nic(h, s, "eth8", "02:00:00:00:08:08")
        net = await h.call("network.create", s, NET)
        unmanaged = await h.call("network.create", s, {**NET, "managed": False,
                                                       "bridge": "ext0"})
        vlan = await h.call("VLAN.create", s, eth7, "10", net)
        untagged = await h.call("VLAN.get_untagged_PIF", s, vlan)
        net2 = await h.call("network.create", s, NET)
        before, devices = await snapshot(h, s), dict(links.devices)
        eth7_net = await h.call("PIF.get_network", s, eth7)
        for tag in ("-1", "4095", "5000"):
            assert await fails(h, "VLAN.create", s, eth8, tag, net2) == \
                ["VLAN_TAG_INVALID", tag]
        assert await fails(h, "VLAN.create", s, untagged, "11", net2) == \
            ["PIF_IS_VLAN", untagged]
        assert await fails(h, "VLAN.create", s, eth7, "10", net2) == \
            ["PIF_VLAN_EXISTS", "eth7"]
        assert await fails(h, "VLAN.create", s, eth8, "10", net) == \
            ["NETWORK_ALREADY_CONNECTED", net, untagged]
        assert await fails(h, "VLAN.create", s, eth8, "10", eth7_net) == \
            ["NETWORK_ALREADY_CONNECTED", eth7_net, eth7]
        assert await fails(h, "VLAN.create", s, eth8, "10", unmanaged) == \
            ["NETWORK_UNMANAGED", unmanaged]
        assert await fails(h, "PIF.destroy", s, eth8) == ["PIF_IS_PHYSICAL", eth8]
        # the kernel refuses: the error names the PIF and the reason, no record is left
        links.refuse = "RTNETLINK answers: Operation not supported"
        code, pif, reason = await fails(h, "VLAN.create", s, eth8, "20", net2)
        assert (code, reason) == ("PIF_CONFIGURATION_ERROR",
                                  "RTNETLINK answers: Operation not supported")
        assert pif.startswith("OpaqueRef:") and pif not in before[0]
        assert await snapshot(h, s) == before and links.devices == devices
    run_sim(body)


async def other_host(h: Harness, name: str = "h2") -> str:
    """A second host record of the pool that is not live (its calls fail HOST_OFFLINE)."""
    from xenapi_impl.store import new_ref, new_uuid
    services = h.services
    host, metrics = new_ref(), new_ref()
    async with services.transaction() as txn:
        txn.create("host_metrics", metrics, {**services.default_record("host_metrics"),
                                             "uuid": new_uuid(), "live": False})
        txn.create("host", host, {**services.default_record("host"), "uuid": new_uuid(),
                                  "name_label": name, "metrics": metrics,
                                  "address": "192.0.2.2"})
    return host


def test_pif_create_vlan_and_pool_create_vlan():
    async def body(h: Harness, s: str, links: SimLinks) -> None:
        here = h.services.host_ref
        eth7 = await nic(h, s, "eth7", "02:00:00:00:07:07")
        net = await h.call("network.create", s, NET)
        # the deprecated form: device and host, answers the VLAN PIF; PIF.destroy undoes it
        pif = await h.call("PIF.create_VLAN", s, "eth7", net, here, "30")
        assert (await h.call("PIF.get_VLAN", s, pif), await h.call("PIF.get_device", s, pif)) \
            == (30, "eth7")
        assert "eth7.30" in links.devices
        assert await fails(h, "PIF.create_VLAN", s, "eth99", net, here, "30") == \
            ["INVALID_VALUE", "device", "eth99"]
        await h.call("PIF.destroy", s, pif)
        assert await h.call("VLAN.get_all", s) == [] and "eth7.30" not in links.devices
        # one host: a VLAN on it, answered as the set of VLAN PIFs
        [p] = await h.call("pool.create_VLAN", s, "eth7", net, "40")
        [p2] = await h.call("pool.create_VLAN_from_PIF", s, eth7,
                            await h.call("network.create", s, NET), "41")
        assert [await h.call("PIF.get_VLAN", s, x) for x in (p, p2)] == [40, 41]
        assert {"eth7.40", "eth7.41"} <= set(links.devices)
        other = await h.call("network.create", s, NET)
        assert await fails(h, "pool.create_VLAN_from_PIF", s, p, other, "42") == \
            ["PIF_IS_VLAN", p]
        assert await fails(h, "pool.create_VLAN", s, "eth7", other, "4095") == \
            ["VLAN_TAG_INVALID", "4095"]
        # a second host, not live, with an eth7 on the same network
        h2 = await other_host(h)
        await h.call("PIF.db_introduce", s, "eth7", await h.call("PIF.get_network", s, eth7),
                     h2, "02:00:00:00:27:07", "1500", "-1", True, "None", "", "", "", "",
                     NULL, NULL, False, {})
        # from a PIF: by its network, on the live hosts only (h2 is skipped, as in xapi)
        [p3] = await h.call("pool.create_VLAN_from_PIF", s, eth7, other, "43")
        assert await h.call("PIF.get_host", s, p3) == here
        # by device: every host; h2 cannot be reached, so the VLAN made here goes again
        before, devices = await snapshot(h, s), dict(links.devices)
        net3 = await h.call("network.create", s, NET)
        assert await fails(h, "pool.create_VLAN", s, "eth7", net3, "50") == \
            ["HOST_OFFLINE", h2]
        assert await h.call("network.get_PIFs", s, net3) == []
        assert (await snapshot(h, s))[:4] == before[:4] and links.devices == devices
    run_sim(body)


# --- Bond -------------------------------------------------------------------------------------
def test_bond_create_moves_the_ip_configuration_and_vlans_and_destroy_gives_them_back():
    async def body(h: Harness, s: str, links: SimLinks) -> None:
        eth7 = await nic(h, s, "eth7", "02:00:00:00:07:07", ip="10.1.0.7", management=True)
        eth8 = await nic(h, s, "eth8", "02:00:00:00:08:08")
        vnet = await h.call("network.create", s, NET)
        vlan = await h.call("VLAN.create", s, eth7, "10", vnet)
        bnet = await h.call("network.create", s, {**NET, "MTU": "9000"})
        bond = await h.call("Bond.create", s, bnet, [eth8, eth7], "", "active-backup", {})
        rec = await h.call("Bond.get_record", s, bond)
        master = rec["master"]
        m = await h.call("PIF.get_record", s, master)
        assert sorted(rec["slaves"]) == sorted([eth7, eth8])
        assert (rec["primary_slave"], rec["mode"], rec["auto_update_mac"]) == \
            (eth7, "active-backup", True)
        assert rec["properties"] == {}                    # only lacp has properties
        assert (m["device"], m["MAC"], m["MTU"], m["network"], m["bond_master_of"]) == \
            ("bond0", "02:00:00:00:07:07", 9000, bnet, [bond])
        assert (m["management"], m["ip_configuration_mode"], m["IP"], m["currently_attached"]) \
            == (True, "Static", "10.1.0.7", True)
        p = await h.call("PIF.get_record", s, eth7)
        assert (p["management"], p["ip_configuration_mode"], p["IP"], p["bond_slave_of"]) == \
            (False, "None", "", bond)
        assert await h.call("VLAN.get_tagged_PIF", s, vlan) == master
        assert links.devices["bond0"]["slaves"] == ["eth8", "eth7"]
        assert links.devices["eth7"]["master"] == "bond0"
        # bond slaves are not plugged, bonded again, or VLAN'd
        assert await fails(h, "PIF.plug", s, eth8) == ["CANNOT_PLUG_BOND_SLAVE", eth8]
        assert await fails(h, "PIF.forget", s, eth8) == ["PIF_ALREADY_BONDED", eth8]
        assert await fails(h, "VLAN.create", s, eth8, "5", await h.call(
            "network.create", s, NET)) == ["CANNOT_ADD_VLAN_TO_BOND_SLAVE", eth8]
        await h.call("Bond.set_mode", s, bond, "lacp")
        lacp = {"hashing_algorithm": "tcpudp_ports", "lacp-time": "slow",
                "lacp-fallback-ab": "true"}
        assert await h.call("Bond.get_properties", s, bond) == lacp
        assert links.devices["bond0"]["mode"] == "lacp"
        await h.call("Bond.set_property", s, bond, "lacp-time", "fast")
        assert await h.call("Bond.get_properties", s, bond) == {**lacp, "lacp-time": "fast"}
        assert await fails(h, "Bond.set_property", s, bond, "updelay", "200") == \
            ["INVALID_VALUE", "properties", "updelay = 200"]
        assert await fails(h, "Bond.set_property", s, bond, "lacp-time", "soon") == \
            ["INVALID_VALUE", "properties", "lacp-time = soon"]
        await h.call("Bond.set_mode", s, bond, "active-backup")
        assert await h.call("Bond.get_properties", s, bond) == {}
        # properties of a bond master go to its slaves; a slave's own cannot change
        await h.call("PIF.set_property", s, master, "gro", "off")
        assert [await h.call("PIF.get_properties", s, p) for p in (master, eth7, eth8)] == \
            [{"gro": "off"}] * 3
        assert await fails(h, "PIF.set_property", s, eth7, "gro", "on") == \
            ["CANNOT_CHANGE_PIF_PROPERTIES", eth7]
        await h.call("Bond.destroy", s, bond)
        assert "bond0" not in links.devices and "master" not in links.devices["eth7"]
        p = await h.call("PIF.get_record", s, eth7)
        assert (p["management"], p["IP"], p["bond_slave_of"]) == (True, "10.1.0.7", NULL)
        assert await h.call("VLAN.get_tagged_PIF", s, vlan) == eth7
        assert await h.call("Bond.get_all", s) == []
        assert await fails(h, "PIF.get_record", s, master) == ["HANDLE_INVALID", "PIF", master]
    run_sim(body)


def test_bond_refusals_change_nothing():
    async def body(h: Harness, s: str, links: SimLinks) -> None:
        eth7 = await nic(h, s, "eth7", "02:00:00:00:07:07", ip="10.1.0.7")
        eth8 = await nic(h, s, "eth8", "02:00:00:00:08:08", ip="10.1.0.8")
        eth9 = await nic(h, s, "eth9", "02:00:00:00:09:09")
        net = await h.call("network.create", s, NET)
        vlan_pif = await h.call("PIF.create_VLAN", s, "eth9", await h.call(
            "network.create", s, NET), h.services.host_ref, "7")
        h2 = await other_host(h)
        far = await h.call("PIF.db_introduce", s, "eth1", await h.call(
            "network.create", s, NET), h2, "02:00:00:00:21:01", "1500", "-1", True, "None",
            "", "", "", "", NULL, NULL, False, {})
        before, devices = await snapshot(h, s), dict(links.devices)
        assert await fails(h, "Bond.create", s, net, [], "", "balance-slb", {}) == \
            ["PIF_BOND_NEEDS_MORE_MEMBERS"]
        assert await fails(h, "Bond.create", s, net, [eth9, far], "", "balance-slb", {}) == \
            ["PIF_CANNOT_BOND_CROSS_HOST"]
        assert await fails(h, "Bond.create", s, net, [eth7, eth8], "", "balance-slb", {}) == \
            ["PIF_BOND_MORE_THAN_ONE_IP"]
        assert await fails(h, "Bond.create", s, net, [eth9, vlan_pif], "", "lacp", {}) == \
            ["PIF_VLAN_EXISTS", "eth9"]
        assert await fails(h, "Bond.create", s, net, [eth7, eth9], "nope", "lacp", {}) == \
            ["MAC_INVALID", "nope"]
        assert await fails(h, "Bond.create", s, net, [eth7, eth9], "", "lacp",
                           {"hashing_algorithm": "round_robin"}) == \
            ["INVALID_VALUE", "properties", "hashing_algorithm = round_robin"]
        assert await fails(h, "Bond.create", s, net, [eth7, eth9], "", "active-backup",
                           {"lacp-time": "fast"}) == \
            ["INVALID_VALUE", "properties", "lacp-time = fast"]
        assert await fails(h, "PIF.set_property", s, eth9, "gro", "maybe") == \
            ["INVALID_VALUE", "properties", "gro = maybe"]
        assert await fails(h, "PIF.set_property", s, vlan_pif, "gro", "on") == \
            ["CANNOT_CHANGE_PIF_PROPERTIES", vlan_pif]
        links.refuse = "RTNETLINK answers: Operation not permitted"
        assert (await fails(h, "Bond.create", s, net, [eth7, eth9], "", "lacp", {}))[2] == \
            "RTNETLINK answers: Operation not permitted"
        assert await snapshot(h, s) == before and links.devices == devices
        await h.call("PIF.set_property", s, eth7, "gro", "off")
        assert await fails(h, "Bond.create", s, net, [eth7, eth9], "", "lacp", {}) == \
            ["INCOMPATIBLE_PIF_PROPERTIES"]
        await h.call("PIF.set_property", s, eth9, "gro", "off")
        bond = await h.call("Bond.create", s, net, [eth7, eth9], "02:00:00:00:0b:0b", "lacp",
                            {"lacp-time": "fast"})
        assert await h.call("Bond.get_properties", s, bond) == \
            {"hashing_algorithm": "tcpudp_ports", "lacp-time": "fast", "lacp-fallback-ab": "true"}
        assert await h.call("Bond.get_auto_update_mac", s, bond) is False
        assert await fails(h, "Bond.create", s, await h.call("network.create", s, NET),
                           [eth7, eth8], "", "lacp", {}) == ["PIF_ALREADY_BONDED", eth7]
        # a single member is a bond too (xapi refuses only none)
        single = await h.call("Bond.create", s, await h.call("network.create", s, NET), [eth8],
                              "", "active-backup", {})
        assert await h.call("Bond.get_slaves", s, single) == [eth8]
    run_sim(body)


# --- tunnel -----------------------------------------------------------------------------------
def test_tunnel_create_and_destroy():
    async def body(h: Harness, s: str, links: SimLinks) -> None:
        eth7 = await nic(h, s, "eth7", "02:00:00:00:07:07", ip="10.1.0.7")
        eth8 = await nic(h, s, "eth8", "02:00:00:00:08:08")
        net = await h.call("network.create", s, {**NET, "MTU": "1400"})
        before, devices = await snapshot(h, s), dict(links.devices)
        assert await fails(h, "tunnel.create", s, eth8, net, "gre") == \
            ["TRANSPORT_PIF_NOT_CONFIGURED", eth8]
        assert await snapshot(h, s) == before and links.devices == devices
        t = await h.call("tunnel.create", s, eth7, net, "vxlan")
        rec = await h.call("tunnel.get_record", s, t)
        access = rec["access_PIF"]
        a = await h.call("PIF.get_record", s, access)
        assert (rec["transport_PIF"], rec["protocol"], rec["status"]) == \
            (eth7, "vxlan", {"active": "true"})
        assert (a["device"], a["MTU"], a["network"], a["VLAN"], a["currently_attached"]) == \
            ("tunnel0", 1400, net, -1, True)
        assert a["MAC"][1] in "26ae" and a["tunnel_access_PIF_of"] == [t]
        assert await h.call("PIF.get_tunnel_transport_PIF_of", s, eth7) == [t]
        assert links.devices["tunnel0"] == {"kind": "vxlan", "local": "10.1.0.7", "via": "eth7",
                                            "key": tunnel_key(await h.call(
                                                "network.get_uuid", s, net))}
        assert await fails(h, "tunnel.create", s, access, await h.call(
            "network.create", s, NET), "gre") == ["IS_TUNNEL_ACCESS_PIF", access]
        assert await fails(h, "VLAN.create", s, access, "3", await h.call(
            "network.create", s, NET)) == ["IS_TUNNEL_ACCESS_PIF", access]
        assert await fails(h, "PIF.forget", s, eth7) == ["PIF_TUNNEL_STILL_EXISTS", eth7]
        await h.call("tunnel.set_protocol", s, t, "gre")
        await h.call("tunnel.destroy", s, t)
        assert "tunnel0" not in links.devices and await h.call("tunnel.get_all", s) == []
        assert await h.call("PIF.get_tunnel_transport_PIF_of", s, eth7) == []
    run_sim(body)


# --- management interface, vswitch, IGMP -----------------------------------------------------
def test_management_reconfigure_and_disable():
    async def body(h: Harness, s: str, links: SimLinks) -> None:
        here = h.services.host_ref
        for p in await h.call("host.get_PIFs", s, here):      # the machine's own, if any
            if await h.call("PIF.get_management", s, p):
                await h.call("host.management_disable", s)
        eth7 = await nic(h, s, "eth7", "02:00:00:00:07:07", ip="10.1.0.7", management=True)
        eth8 = await nic(h, s, "eth8", "02:00:00:00:08:08", ip="10.1.0.8")
        eth9 = await nic(h, s, "eth9", "02:00:00:00:09:09")
        assert await fails(h, "host.management_reconfigure", s, eth9) == \
            ["PIF_HAS_NO_NETWORK_CONFIGURATION", eth9]
        await h.call("host.management_reconfigure", s, eth8)
        assert await h.call("host.get_management_interface", s, here) == eth8
        assert await h.call("PIF.get_management", s, eth7) is False
        net7 = await h.call("PIF.get_network", s, eth7)
        await h.call("pool.management_reconfigure", s, net7)
        assert await h.call("host.get_management_interface", s, here) == eth7
        net9 = await h.call("PIF.get_network", s, eth9)
        assert await fails(h, "pool.management_reconfigure", s, net9) == \
            ["PIF_HAS_NO_NETWORK_CONFIGURATION", eth9]
        bare = await h.call("network.create", s, NET)
        assert await fails(h, "pool.management_reconfigure", s, bare) == \
            ["PIF_NOT_PRESENT", here, bare]
        await h.call("PIF.reconfigure_ipv6", s, eth9, "Static", "fd00::9/64", "", "")
        await h.call("PIF.set_primary_address_type", s, eth9, "IPv6")
        await h.call("pool.management_reconfigure", s, net9)       # IPv6 is enough now
        assert await h.call("host.get_management_interface", s, here) == eth9
        # every PIF of the network must have the first one's primary address type
        far = await h.call("PIF.db_introduce", s, "eth1", net9, await other_host(h),
                           "02:00:00:00:21:01", "1500", "-1", True, "Static", "10.2.0.1",
                           "255.255.0.0", "", "", NULL, NULL, False, {})
        assert await fails(h, "pool.management_reconfigure", s, net9) == \
            ["PIF_INCOMPATIBLE_PRIMARY_ADDRESS_TYPE", far]
        # a standalone host is its own master: no emergency mode
        assert await fails(h, "host.local_management_reconfigure", s, "eth8") == \
            ["NOT_IN_EMERGENCY_MODE"]
        await h.call("host.management_disable", s)
        assert not any([await h.call("PIF.get_management", s, p)
                        for p in await h.call("host.get_PIFs", s, here)])
    run_sim(body)


def test_vswitch_controller_and_igmp_snooping():
    async def body(h: Harness, s: str, links: SimLinks) -> None:
        pool = (await h.call("pool.get_all", s))[0]
        eth7 = await nic(h, s, "eth7", "02:00:00:00:07:07")
        vlan_pif = await h.call("PIF.create_VLAN", s, "eth7", await h.call(
            "network.create", s, NET), h.services.host_ref, "9")
        await h.call("pool.set_vswitch_controller", s, "192.0.2.10")
        assert await h.call("pool.get_vswitch_controller", s, pool) == "192.0.2.10"
        assert await fails(h, "pool.set_vswitch_controller", s, "not-an-ip") == \
            ["INVALID_IP_ADDRESS_SPECIFIED", "address"]
        await h.call("pool.set_vswitch_controller", s, "")
        assert await h.call("pool.get_vswitch_controller", s, pool) == ""
        await h.call("pool.set_igmp_snooping_enabled", s, pool, True)
        assert await h.call("pool.get_igmp_snooping_enabled", s, pool) is True
        assert await h.call("PIF.get_igmp_snooping_status", s, eth7) == "enabled"
        assert await h.call("PIF.get_igmp_snooping_status", s, vlan_pif) == "unknown"
        await h.call("pool.set_igmp_snooping_enabled", s, pool, False)
        assert await h.call("PIF.get_igmp_snooping_status", s, eth7) == "disabled"
    run_sim(body)
