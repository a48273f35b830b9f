"""Pool-wide VLANs and the management interface on a pool of three real server processes
(tests/clients/test_pool.py's `pool`: one PostgreSQL database, each host its own process),
driven with the official SDK through the master. Each host discovered this machine's NICs at
its first start, so every host has a PIF for the same device; VLAN.create and
host.management_reconfigure are carried out by the PIF's own host (host-to-host calls)."""
from __future__ import annotations

import pytest
import XenAPI

from test_pool import pool  # noqa: F401  (the fixture)

NET = {"name_label": "pool-vlan", "name_description": "", "MTU": "1500", "other_config": {},
       "bridge": "", "managed": True, "tags": []}


def _details(fn, *args) -> list[str]:
    with pytest.raises(XenAPI.Failure) as err:
        fn(*args)
    return err.value.details


def test_pool_vlan_on_every_host_and_management_reconfigure(pool):  # noqa: F811
    a = pool[0]
    x = a.session(a.proc.password).xenapi
    master = x.pool.get_master(x.pool.get_all()[0])
    hosts = x.host.get_all()
    pifs = x.PIF.get_all_records()
    mine = [r for r, p in pifs.items() if p["host"] == master and p["VLAN"] == "-1"]
    if not mine:
        pytest.skip("this machine has no NIC the hosts could make PIFs for")
    nic = mine[0]
    device = pifs[nic]["device"]
    nic_of = {p["host"]: r for r, p in pifs.items()
              if p["device"] == device and p["VLAN"] == "-1"}
    assert set(nic_of) == set(hosts)

    net = x.network.create(NET)
    made = x.pool.create_VLAN_from_PIF(nic, net, "77")
    assert len(made) == len(hosts)
    vlans = x.VLAN.get_all_records()
    for pif in made:
        rec = x.PIF.get_record(pif)
        vlan = vlans[rec["VLAN_master_of"]]
        assert (rec["device"], rec["VLAN"], rec["network"], rec["currently_attached"]) == \
            (device, "77", net, True)
        assert vlan["tagged_PIF"] == nic_of[rec["host"]] and vlan["untagged_PIF"] == pif
        assert x.PIF.get_VLAN_slave_of(nic_of[rec["host"]]) == [rec["VLAN_master_of"]]
    assert {x.PIF.get_host(p) for p in made} == set(hosts)
    assert sorted(x.network.get_PIFs(net)) == sorted(made)

    # the same tag again (another network): the first host refuses, nothing is made
    other = x.network.create(NET)
    assert _details(x.pool.create_VLAN_from_PIF, nic, other, "77") == \
        ["PIF_VLAN_EXISTS", device]
    assert _details(x.pool.create_VLAN, device, other, "4095") == ["VLAN_TAG_INVALID", "4095"]
    assert len(x.VLAN.get_all()) == len(hosts) and x.network.get_PIFs(other) == []

    # management: VLAN PIFs have no address yet
    assert _details(x.pool.management_reconfigure, net)[0] == \
        "PIF_HAS_NO_NETWORK_CONFIGURATION"
    b = next(p for p in made if x.PIF.get_host(p) != master)
    b_host = x.PIF.get_host(b)
    b_old = x.host.get_management_interface(b_host)
    x.PIF.reconfigure_ip(b, "Static", "192.0.2.77", "255.255.255.0", "", "")
    x.host.management_reconfigure(b)           # carried out by b's host
    assert x.host.get_management_interface(b_host) == b
    assert x.PIF.get_management(b_old) is False
    assert x.host.get_management_interface(master) != b
    x.host.management_reconfigure(b_old)
    assert x.host.get_management_interface(b_host) == b_old

    # destroyed on their hosts, through the master
    for pif in made:
        x.VLAN.destroy(x.PIF.get_VLAN_master_of(pif))
    assert x.VLAN.get_all() == [] and x.network.get_PIFs(net) == []
    assert all(x.PIF.get_VLAN_slave_of(p) == [] for p in nic_of.values())
