"""VLAN, Bond and tunnel through the official XenAPI Python SDK against a real server
process. The server records the links only (it runs without --manage-host-network: the test
machine's network is never changed), so the NICs are PIF records made with PIF.db_introduce;
what the messages do to the records, their refusals and their events are what is checked."""
from __future__ import annotations

import pytest
import XenAPI

from sdk import details

NULL = "OpaqueRef:NULL"
NET = {"name_label": "sdk-bond", "name_description": "", "MTU": "1500", "other_config": {},
       "bridge": "", "managed": True, "tags": []}


@pytest.fixture
def x(server):
    s = XenAPI.Session(server.url)
    s.xenapi.login_with_password("root", server.password, "1.0", "pytest-vlan-bond")
    yield s.xenapi
    s.xenapi.session.logout()


def _nic(x, device: str, mac: str, ip: str = "") -> str:
    host = x.host.get_all()[0]
    return x.PIF.db_introduce(device, x.network.create(NET), host, mac, "1500", "-1", True,
                              "Static" if ip else "None", ip, "255.255.0.0" if ip else "", "",
                              "", NULL, NULL, False, {})


def test_bond_vlan_tunnel_life_cycle_with_events(x):
    a = _nic(x, "sdk1", "02:00:00:5d:00:01", "10.9.0.1")
    b = _nic(x, "sdk2", "02:00:00:5d:00:02")
    token = x.event_from(["Bond", "VLAN", "tunnel"], "", 0.0)["token"]
    # mode and properties are optional: the SDK may leave them out
    bond = x.Bond.create(x.network.create(NET), [a, b], "")
    rec = x.Bond.get_record(bond)
    assert (rec["mode"], rec["properties"], rec["primary_slave"]) == \
        ("balance-slb", {}, a)
    master = rec["master"]
    assert x.PIF.get_bond_master_of(master) == [bond]
    assert sorted(x.PIF.get_bond_slave_of(p) for p in (a, b)) == [bond, bond]
    assert x.PIF.get_IP(master) == "10.9.0.1" and x.PIF.get_IP(a) == ""
    x.Bond.set_mode(bond, "active-backup")
    assert x.Bond.get_mode(bond) == "active-backup"
    assert details(x.Bond.set_mode, bond, "round-robin") == \
        ["INVALID_VALUE", "value", "round-robin"]
    assert details(x.Bond.create, x.network.create(NET), [], "") == \
        ["PIF_BOND_NEEDS_MORE_MEMBERS"]
    assert details(x.Bond.create, x.network.create(NET), [a], "") == \
        ["PIF_ALREADY_BONDED", a]

    vnet = x.network.create(NET)
    vlan = x.VLAN.create(master, "100", vnet)
    assert x.VLAN.get_tag(vlan) == "100" and x.VLAN.get_tagged_PIF(vlan) == master
    untagged = x.VLAN.get_untagged_PIF(vlan)
    assert (x.PIF.get_device(untagged), x.PIF.get_VLAN(untagged)) == ("bond0", "100")
    assert details(x.VLAN.create, a, "101", x.network.create(NET)) == \
        ["CANNOT_ADD_VLAN_TO_BOND_SLAVE", a]
    x.VLAN.add_to_other_config(vlan, "k", "v")
    assert x.VLAN.get_other_config(vlan) == {"k": "v"}

    tunnel = x.tunnel.create(master, x.network.create(NET))      # protocol left out: gre
    assert x.tunnel.get_protocol(tunnel) == "gre"
    assert x.tunnel.get_status(tunnel) == {"active": "false"}     # nothing carries it here
    access = x.tunnel.get_access_PIF(tunnel)
    assert x.PIF.get_device(access) == "tunnel0"
    assert x.tunnel.get_by_uuid(x.tunnel.get_uuid(tunnel)) == tunnel

    changes = x.event_from(["Bond", "VLAN", "tunnel"], token, 5.0)["events"]
    assert {(e["class"], e["operation"], e["ref"]) for e in changes} >= \
        {("bond", "add", bond), ("vlan", "add", vlan), ("tunnel", "add", tunnel)}

    x.tunnel.destroy(tunnel)
    x.VLAN.destroy(vlan)
    x.Bond.destroy(bond)
    assert x.PIF.get_IP(a) == "10.9.0.1" and x.PIF.get_bond_slave_of(a) == NULL
    assert (x.Bond.get_all(), x.VLAN.get_all(), x.tunnel.get_all()) == ([], [], [])
    for p in (a, b):
        x.PIF.db_forget(p)
