"""network, VIF and PIF messages in process: real model, store, dispatcher; PIFs from a
network namespace built for the test (the machine's own network is never changed)."""
from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import pytest

from harness import VM_REQUIRED, Harness, run
from xenapi_impl.errors import XenAPIError
from xenapi_impl.hostnet import Netns, is_locally_administered, is_unicast

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "hostnet"))
from netns_env import NIC0_MAC, UPLINK_MAC, NetnsEnv, available  # noqa: E402

NET = {"name_label": "n", "name_description": "", "other_config": {}, "bridge": "",
       "managed": True, "tags": []}


def vif_rec(vm: str, net: str, device: str = "0", **kw: Any) -> dict[str, Any]:
    return {"device": device, "network": net, "VM": vm, "MAC": "", "MTU": "0",
            "other_config": {}, "qos_algorithm_type": "", "qos_algorithm_params": {}, **kw}


async def fails(h: Harness, method: str, *params: Any) -> list[str]:
    with pytest.raises(XenAPIError) as info:
        await h.call(method, *params)
    return info.value.description


async def counts(h: Harness, s: str) -> tuple[int, ...]:
    return tuple([len(await h.call(f"{c}.get_all", s))
                  for c in ("network", "VIF", "VIF_metrics", "PIF", "PIF_metrics")])


# --- network --------------------------------------------------------------------------------
def test_network_create_bridges_and_mtu():
    async def body(h: Harness) -> None:
        s = await h.login()
        a = await h.call("network.create", s, NET)
        b = await h.call("network.create", s, NET)
        used = {r["bridge"] for r in (await h.call("network.get_all_records", s)).values()}
        assert await h.call("network.get_bridge", s, a) == "xapi0"
        assert await h.call("network.get_bridge", s, b) == "xapi1"
        assert await h.call("network.get_MTU", s, a) == 1500
        c = await h.call("network.create", s, {**NET, "bridge": "br-lab", "MTU": "9000"})
        assert await h.call("network.get_MTU", s, c) == 9000
        before = await counts(h, s)
        assert await fails(h, "network.create", s, {**NET, "bridge": "br-lab"}) == \
            ["BRIDGE_NAME_EXISTS", "br-lab"]
        for bad in ("a/b", "x" * 16, "has space", ".."):
            assert await fails(h, "network.create", s, {**NET, "bridge": bad}) == \
                ["INVALID_VALUE", "bridge", bad]
        assert await fails(h, "network.create", s, {**NET, "MTU": "67"}) == \
            ["INVALID_VALUE", "MTU", "67"]
        assert await fails(h, "network.set_MTU", s, a, "70000") == \
            ["INVALID_VALUE", "MTU", "70000"]
        assert await counts(h, s) == before and "br-lab" not in used
        await h.call("network.set_MTU", s, a, "1400")
        assert await h.call("network.get_MTU", s, a) == 1400
    run(body)


def test_network_purposes_and_locking_mode():
    async def body(h: Harness) -> None:
        s = await h.login()
        n = await h.call("network.create", s, NET)
        await h.call("network.add_purpose", s, n, "nbd")
        await h.call("network.add_purpose", s, n, "nbd")
        assert await h.call("network.get_purpose", s, n) == ["nbd"]
        assert await fails(h, "network.add_purpose", s, n, "insecure_nbd") == \
            ["NETWORK_INCOMPATIBLE_PURPOSES", "insecure_nbd", "nbd"]
        await h.call("network.remove_purpose", s, n, "nbd")
        await h.call("network.add_purpose", s, n, "insecure_nbd")
        assert await h.call("network.get_purpose", s, n) == ["insecure_nbd"]
        await h.call("network.set_default_locking_mode", s, n, "disabled")
        assert await h.call("network.get_default_locking_mode", s, n) == "disabled"
    run(body)


def test_network_destroy_refused_while_attached_takes_detached_vifs():
    async def body(h: Harness) -> None:
        s = await h.login()
        vm = await h.call("VM.create", s, VM_REQUIRED)
        n = await h.call("network.create", s, NET)
        v0 = await h.call("VIF.create", s, vif_rec(vm, n, "0"))
        v1 = await h.call("VIF.create", s, vif_rec(vm, n, "1"))
        m0 = await h.call("VIF.get_metrics", s, v0)
        await _force(h, "VIF", v1, currently_attached=True)
        assert await fails(h, "network.destroy", s, n) == ["NETWORK_CONTAINS_VIF", v1]
        assert await h.call("VIF.get_network", s, v0) == n
        await _force(h, "VIF", v1, currently_attached=False)
        await h.call("network.destroy", s, n)
        assert await h.call("VIF.get_all", s) == []
        assert m0 not in await h.call("VIF_metrics.get_all", s)
        assert await h.call("VM.get_VIFs", s, vm) == []
    run(body)


async def _force(h: Harness, cls: str, ref: str, **values: Any) -> None:
    """Change runtime state the way the VM lifecycle code will (power state, attachment)."""
    async with h.store.transaction() as txn:
        txn.update(cls, ref, values)


# --- VIF -------------------------------------------------------------------------------------
def test_vif_create_generates_a_mac_and_links_everything():
    async def body(h: Harness) -> None:
        s = await h.login()
        vm = await h.call("VM.create", s, VM_REQUIRED)
        n = await h.call("network.create", s, {**NET, "MTU": "9000"})
        token = (await h.call("event.from", s, ["network"], "", 0.0))["token"]
        v = await h.call("VIF.create", s, vif_rec(vm, n))
        rec = await h.call("VIF.get_record", s, v)
        mac = rec["MAC"]
        assert rec["MAC_autogenerated"] is True and is_locally_administered(mac) \
            and is_unicast(mac)
        assert rec["MTU"] == 9000 and rec["currently_attached"] is False
        assert rec["qos_supported_algorithms"] == ["ratelimit"]
        assert rec["locking_mode"] == "network_default"
        assert rec["allowed_operations"] == ["attach"]
        metrics = await h.call("VIF_metrics.get_record", s, rec["metrics"])
        assert metrics["io_read_kbs"] == 0.0
        assert await h.call("network.get_VIFs", s, n) == [v]
        assert await h.call("VM.get_VIFs", s, vm) == [v]
        events = (await h.call("event.from", s, ["network"], token, 0.0))["events"]
        assert [(e["operation"], e["ref"], e["snapshot"]["VIFs"]) for e in events] == \
            [("mod", n, [v])]
        # the same VM and device again (after destroy) gives the same MAC
        await h.call("VIF.destroy", s, v)
        v2 = await h.call("VIF.create", s, vif_rec(vm, n))
        assert await h.call("VIF.get_MAC", s, v2) == mac
        # another device of the same VM gets another MAC
        v3 = await h.call("VIF.create", s, vif_rec(vm, n, "1"))
        assert await h.call("VIF.get_MAC", s, v3) != mac
    run(body)


def test_vif_create_checks_and_changes_nothing_on_failure():
    async def body(h: Harness) -> None:
        s = await h.login()
        vm = await h.call("VM.create", s, VM_REQUIRED)
        n = await h.call("network.create", s, NET)
        await h.call("VIF.create", s, vif_rec(vm, n, "0"))
        before = await counts(h, s)
        cases = [
            (vif_rec(vm, n, "0"), ["DEVICE_ALREADY_EXISTS", "0"]),
            (vif_rec(vm, n, "01"), ["INVALID_DEVICE", "01"]),
            (vif_rec(vm, n, "eth0"), ["INVALID_DEVICE", "eth0"]),
            (vif_rec(vm, n, "-1"), ["INVALID_DEVICE", "-1"]),
            (vif_rec(vm, n, "1", MAC="00:16:3e:zz:00:01"), ["MAC_INVALID", "00:16:3e:zz:00:01"]),
            (vif_rec(vm, n, "1", MAC="01:00:5e:00:00:01"), ["MAC_INVALID", "01:00:5e:00:00:01"]),
            (vif_rec(vm, n, "1", MAC="00:00:00:00:00:00"), ["MAC_INVALID", "00:00:00:00:00:00"]),
            (vif_rec(vm, n, "1", MTU="20"), ["INVALID_VALUE", "MTU", "20"]),
            (vif_rec(vm, n, "1", other_config={"script": "/bin/sh"}),
             ["INVALID_VALUE", "other_config:script", "/bin/sh"]),
            (vif_rec(vm, n, "1", other_config={"script": "../../bin/sh"}),
             ["INVALID_VALUE", "other_config:script", "../../bin/sh"]),
            (vif_rec(vm, n, "1", other_config={"ip": "10.0.0.300"}),
             ["INVALID_VALUE", "other_config:ip", "10.0.0.300"]),
            (vif_rec(vm, n, "1", other_config={"model": "e1000; rm"}),
             ["INVALID_VALUE", "other_config:model", "e1000; rm"]),
            (vif_rec(vm, n, "1", qos_algorithm_type="cbq"),
             ["INVALID_VALUE", "qos_algorithm_type", "cbq"]),
            (vif_rec(vm, n, "1", qos_algorithm_type="ratelimit",
                     qos_algorithm_params={"kbps": "fast"}),
             ["INVALID_VALUE", "qos_algorithm_params:kbps", "fast"]),
            (vif_rec(vm, n, "1", qos_algorithm_type="ratelimit",
                     qos_algorithm_params={"burst": "1"}),
             ["INVALID_VALUE", "qos_algorithm_params", "burst"]),
            ({**vif_rec(vm, n, "1"), "ipv4_allowed": ["10.0.0.1", "fe80::1"]},
             ["INVALID_IP_ADDRESS_SPECIFIED", "ipv4_allowed"]),
            ({**vif_rec(vm, n, "1"), "trunks": ["4095"]}, ["VLAN_TAG_INVALID", "4095"]),
            (vif_rec("OpaqueRef:NULL", n, "1"), ["HANDLE_INVALID", "VM", "OpaqueRef:NULL"]),
        ]
        for rec, error in cases:
            assert await fails(h, "VIF.create", s, rec) == error, rec
        assert await counts(h, s) == before
        v = await h.call("VIF.create", s, vif_rec(
            vm, n, "1", MAC="00:16:3E:AA:BB:CC", MTU="1400",
            other_config={"model": "e1000", "script": "vif-bridge", "ip": "10.0.0.5 fd00::5"},
            qos_algorithm_type="ratelimit", qos_algorithm_params={"kbps": "10240"}))
        rec = await h.call("VIF.get_record", s, v)
        assert (rec["MAC"], rec["MAC_autogenerated"], rec["MTU"]) == \
            ("00:16:3e:aa:bb:cc", False, 1400)
        assert rec["qos_algorithm_params"] == {"kbps": "10240"}
    run(body)


def test_vif_setters_keep_the_checks():
    async def body(h: Harness) -> None:
        s = await h.login()
        vm = await h.call("VM.create", s, VM_REQUIRED)
        n = await h.call("network.create", s, NET)
        v = await h.call("VIF.create", s, vif_rec(vm, n))
        assert await fails(h, "VIF.set_qos_algorithm_type", s, v, "htb") == \
            ["INVALID_VALUE", "qos_algorithm_type", "htb"]
        await h.call("VIF.set_qos_algorithm_type", s, v, "ratelimit")
        assert await fails(h, "VIF.add_to_qos_algorithm_params", s, v, "kbps", "0") == \
            ["INVALID_VALUE", "qos_algorithm_params:kbps", "0"]
        await h.call("VIF.add_to_qos_algorithm_params", s, v, "kbps", "512")
        assert await fails(h, "VIF.set_qos_algorithm_params", s, v, {"x": "1"}) == \
            ["INVALID_VALUE", "qos_algorithm_params", "x"]
        assert await fails(h, "VIF.add_to_other_config", s, v, "script", "/tmp/evil") == \
            ["INVALID_VALUE", "other_config:script", "/tmp/evil"]
        await h.call("VIF.add_to_other_config", s, v, "script", "/etc/xen/scripts/vif-bridge")
        uuid = await h.call("VIF.get_uuid", s, v)
        assert await fails(h, "VIF.add_to_other_config", s, v, "script", "vif-nat") == \
            ["MAP_DUPLICATE_KEY", "VIF", "other_config", uuid, "script"]
        await h.call("VIF.set_locking_mode", s, v, "locked")
        await h.call("VIF.add_ipv4_allowed", s, v, "10.0.0.9")
        await h.call("VIF.add_ipv4_allowed", s, v, "10.0.0.9")
        assert await fails(h, "VIF.add_ipv6_allowed", s, v, "10.0.0.9") == \
            ["INVALID_IP_ADDRESS_SPECIFIED", "ipv6_allowed"]
        await h.call("VIF.configure_ipv4", s, v, "Static", "10.0.0.9/24", "10.0.0.1")
        assert await fails(h, "VIF.configure_ipv4", s, v, "Static", "10.0.0.9") == \
            ["INVALID_CIDR_ADDRESS_SPECIFIED", "address"]
        await h.call("VIF.add_trunks", s, v, "20")
        await h.call("VIF.add_trunks", s, v, "10")
        rec = await h.call("VIF.get_record", s, v)
        assert rec["locking_mode"] == "locked" and rec["ipv4_allowed"] == ["10.0.0.9"]
        assert (rec["ipv4_configuration_mode"], rec["ipv4_addresses"], rec["ipv4_gateway"]) \
            == ("Static", ["10.0.0.9/24"], "10.0.0.1")
        assert rec["trunks"] == [10, 20]
        assert rec["qos_algorithm_params"] == {"kbps": "512"}
        n2 = await h.call("network.create", s, NET)
        await h.call("VIF.move", s, v, n2)
        assert await h.call("network.get_VIFs", s, n) == []
        assert await h.call("network.get_VIFs", s, n2) == [v]
    run(body)


class RecordingBackend:
    """Stands in for the hypervisor adapter's VIF hooks: records what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    async def vif_plug(self, vm_ref, vm, vif_ref, vif) -> None:
        assert vif["currently_attached"] is False
        self.calls.append(("plug", vm_ref, vif_ref))

    async def vif_unplug(self, vm_ref, vm, vif_ref, vif, force) -> None:
        self.calls.append(("unplug_force" if force else "unplug", vm_ref, vif_ref))

    async def vif_move(self, vm_ref, vm, vif_ref, vif, network_ref) -> None:
        assert vif["network"] != network_ref
        self.calls.append(("move", vm_ref, vif_ref))


def test_vif_plug_unplug_by_power_state():
    async def body(h: Harness) -> None:
        s = await h.login()
        vm = await h.call("VM.create", s, VM_REQUIRED)
        n = await h.call("network.create", s, NET)
        v = await h.call("VIF.create", s, vif_rec(vm, n))
        for m in ("VIF.plug", "VIF.unplug", "VIF.unplug_force"):
            assert await fails(h, m, s, v) == ["VM_BAD_POWER_STATE", vm, "running", "halted"]
        await _force(h, "VM", vm, power_state="Running")
        assert await fails(h, "VIF.plug", s, v) == ["NOT_IMPLEMENTED", "VIF.plug"]
        assert await h.call("VIF.get_currently_attached", s, v) is False
        await _force(h, "VIF", v, currently_attached=True)
        assert await fails(h, "VIF.move", s, v, n) == ["NOT_IMPLEMENTED", "VIF.move"]
        assert await fails(h, "VIF.unplug", s, v) == ["NOT_IMPLEMENTED", "VIF.unplug"]
        await _force(h, "VIF", v, currently_attached=False)
        backend = h.services.backend = RecordingBackend()
        await h.call("VIF.plug", s, v)
        assert await h.call("VIF.get_currently_attached", s, v) is True
        assert await h.call("VIF.get_allowed_operations", s, v) == ["attach", "unplug"]
        assert await fails(h, "VIF.plug", s, v) == ["DEVICE_ALREADY_ATTACHED", v]
        assert await fails(h, "VIF.destroy", s, v) == [
            "OPERATION_NOT_ALLOWED", "VIF is currently attached to a running VM: unplug it first"]
        assert await fails(h, "PIF.unplug", s, await _a_pif_on(h, s, n)) == \
            ["VIF_IN_USE", n, v]
        n2 = await h.call("network.create", s, NET)
        await h.call("VIF.move", s, v, n2)             # while plugged: through the backend
        assert await h.call("network.get_VIFs", s, n2) == [v]
        await h.call("VIF.unplug", s, v)
        assert await fails(h, "VIF.unplug_force", s, v) == ["DEVICE_ALREADY_DETACHED", v]
        await h.call("VIF.plug", s, v)
        await h.call("VIF.unplug_force", s, v)
        assert backend.calls == [("plug", vm, v), ("move", vm, v), ("unplug", vm, v),
                                 ("plug", vm, v),
                                 ("unplug_force", vm, v)]
        await h.call("VIF.destroy", s, v)
        assert await h.call("VM.get_VIFs", s, vm) == []
    run(body)


async def _a_pif_on(h: Harness, s: str, network: str) -> str:
    host = (await h.call("host.get_all", s))[0]
    return await h.call("PIF.db_introduce", s, "test9", network, host, "02:00:00:00:09:09",
                        "1500", "-1", True, "None", "", "", "", "", "OpaqueRef:NULL",
                        "OpaqueRef:NULL", False, {})


# --- PIF (from a network namespace) -----------------------------------------------------------
@pytest.fixture
def netns():
    reason = available()
    if reason:
        pytest.skip(f"network namespaces: {reason}")
    with NetnsEnv() as env:
        yield env


def run_in(ns: str, body) -> Any:
    async def main() -> Any:
        await Netns(ns).discover()        # a failure here shows its reason (seed only logs it)
        h = Harness()
        h.services.hostnet = Netns(ns)
        await h.start()
        try:
            return await body(h)
        finally:
            await h.close()
    return asyncio.run(main())


async def pifs_by_device(h: Harness, s: str) -> dict[str, tuple[str, dict[str, Any]]]:
    return {r["device"]: (ref, r) for ref, r in (await h.call("PIF.get_all_records", s)).items()}


def test_first_start_discovers_the_namespace(netns):
    async def body(h: Harness) -> None:
        s = await h.login()
        host = (await h.call("host.get_all", s))[0]
        pifs = await pifs_by_device(h, s)
        assert set(pifs) == {"nic0", "uplink1"}          # veth ends; the bridge is no PIF
        ref0, nic0 = pifs["nic0"]
        ref1, up = pifs["uplink1"]
        assert (nic0["MAC"], nic0["MTU"], nic0["host"], nic0["VLAN"]) == \
            (NIC0_MAC, 1450, host, -1)
        assert nic0["management"] is True and up["management"] is False
        assert (nic0["ip_configuration_mode"], nic0["IP"], nic0["netmask"],
                nic0["gateway"], nic0["DNS"]) == \
            ("Static", "10.77.0.2", "255.255.255.0", "10.77.0.1", "10.77.0.53,fd77::53")
        assert (nic0["ipv6_configuration_mode"], nic0["IPv6"], nic0["ipv6_gateway"]) == \
            ("Static", ["fd77::2/64"], "fd77::1")
        # uplink1 is enslaved to br7: its IP settings are the bridge's (lifetime: DHCP)
        assert (up["ip_configuration_mode"], up["IP"], up["gateway"], up["DNS"]) == \
            ("DHCP", "10.78.0.1", "", "")
        assert nic0["physical"] is False and nic0["currently_attached"] is True
        net0 = await h.call("network.get_record", s, nic0["network"])
        net1 = await h.call("network.get_record", s, up["network"])
        assert (net0["bridge"], net0["name_label"], net0["MTU"], net0["PIFs"]) == \
            ("xenbr0", "Pool-wide network associated with nic0", 1450, [ref0])
        assert (net1["bridge"], net1["PIFs"]) == ("br7", [ref1])
        assert sorted(await h.call("host.get_PIFs", s, host)) == sorted([ref0, ref1])
        m = await h.call("PIF_metrics.get_record", s, nic0["metrics"])
        speed = int(netns.exec("cat", "/sys/class/net/nic0/speed"))     # veth: 10000
        duplex = netns.exec("cat", "/sys/class/net/nic0/duplex").strip()
        assert (m["carrier"], m["pci_bus_path"], m["speed"], m["duplex"]) == \
            (True, "", speed, duplex == "full")
        # management PIF: no forget, no unplug; other ones may be unplugged/plugged
        assert await fails(h, "PIF.forget", s, ref0) == ["PIF_IS_MANAGEMENT_INTERFACE", ref0]
        assert await fails(h, "PIF.unplug", s, ref0) == ["PIF_IS_MANAGEMENT_INTERFACE", ref0]
        await h.call("PIF.unplug", s, ref1)
        assert await h.call("PIF.get_currently_attached", s, ref1) is False
        await h.call("PIF.plug", s, ref1)
        await h.call("PIF.set_disallow_unplug", s, ref1, True)
        assert await fails(h, "PIF.unplug", s, ref1) == ["PIF_DOES_NOT_ALLOW_UNPLUG", ref1]
        assert await fails(h, "network.destroy", s, up["network"]) == \
            ["NETWORK_CONTAINS_PIF", ref1]
        assert await fails(h, "PIF.destroy", s, ref1) == ["PIF_IS_PHYSICAL", ref1]
    run_in(netns.name, body)


def test_rescan_adds_new_interfaces_and_leaves_existing_ones(netns):
    async def body(h: Harness) -> None:
        s = await h.login()
        host = (await h.call("host.get_all", s))[0]
        before = await pifs_by_device(h, s)
        await h.call("PIF.scan", s, host)
        assert await pifs_by_device(h, s) == before           # nothing new: nothing changes
        netns.add_veth("nic2", "nic5")
        await h.call("PIF.scan", s, host)
        after = await pifs_by_device(h, s)
        assert set(after) == {"nic0", "uplink1", "nic2", "nic5"}
        assert {d: after[d] for d in before} == before
        bridges = {d: await h.call("network.get_bridge", s, r["network"])
                   for d, (_, r) in after.items()}
        assert bridges == {"nic0": "xenbr0", "uplink1": "br7", "nic2": "xenbr2",
                           "nic5": "xenbr5"}
        assert after["nic2"][1]["currently_attached"] is False    # created down
        assert after["nic2"][1]["ip_configuration_mode"] == "None"
        other = await h.call("VM.create", s, VM_REQUIRED)     # not a host
        assert await fails(h, "PIF.scan", s, other) == ["HANDLE_INVALID", "host", other]
    run_in(netns.name, body)


def test_forget_and_introduce(netns):
    async def body(h: Harness) -> None:
        s = await h.login()
        host = (await h.call("host.get_all", s))[0]
        ref1, up = (await pifs_by_device(h, s))["uplink1"]
        before = await counts(h, s)
        await h.call("PIF.forget", s, ref1)
        assert "uplink1" not in await pifs_by_device(h, s)
        assert up["metrics"] not in await h.call("PIF_metrics.get_all", s)
        assert await h.call("network.get_PIFs", s, up["network"]) == []   # network stays
        assert await fails(h, "PIF.introduce", s, host, "02:00:00:aa:00:09", "uplink1") == \
            ["MAC_DOES_NOT_EXIST", "02:00:00:aa:00:09"]
        assert await fails(h, "PIF.introduce", s, host, "02:00:00:aa:00", "uplink1") == \
            ["MAC_INVALID", "02:00:00:aa:00"]
        assert await fails(h, "PIF.introduce", s, host, "", "nope0") == \
            ["PIF_DEVICE_NOT_FOUND"]
        assert await fails(h, "PIF.introduce", s, host, NIC0_MAC, "nic0") == \
            ["DUPLICATE_PIF_DEVICE_NAME", "nic0"]
        new = await h.call("PIF.introduce", s, host, UPLINK_MAC.upper(), "uplink1")
        rec = await h.call("PIF.get_record", s, new)
        assert (rec["MAC"], rec["network"]) == (UPLINK_MAC, up["network"])   # br7 reused
        assert await counts(h, s) == before
        # a bridge can be introduced by name (unmanaged: used as it is)
        br = await h.call("PIF.introduce", s, host, "", "br7", False)
        rec = await h.call("PIF.get_record", s, br)
        assert rec["managed"] is False
        assert await fails(h, "PIF.plug", s, br) == ["PIF_UNMANAGED", br]
    run_in(netns.name, body)


def test_reconfigure_ip_records_only(netns):
    async def body(h: Harness) -> None:
        s = await h.login()
        ref0, _ = (await pifs_by_device(h, s))["nic0"]
        ref1, _ = (await pifs_by_device(h, s))["uplink1"]
        for args, err in [
            (("Static", "10.9.9.300", "255.255.255.0", "", ""), "IP"),
            (("Static", "10.9.9.3", "255.0.255.0", "", ""), "netmask"),
            (("Static", "10.9.9.3", "255.255.255.0", "fd00::1", ""), "gateway"),
            (("Static", "10.9.9.3", "255.255.255.0", "10.9.9.1", "1.1.1.1,x"), "DNS"),
        ]:
            assert await fails(h, "PIF.reconfigure_ip", s, ref1, *args) == \
                ["INVALID_IP_ADDRESS_SPECIFIED", err]
        await h.call("PIF.reconfigure_ip", s, ref1, "Static", "10.9.9.3", "255.255.255.0",
                     "10.9.9.1", "10.9.9.53")
        rec = await h.call("PIF.get_record", s, ref1)
        assert (rec["ip_configuration_mode"], rec["IP"], rec["netmask"], rec["gateway"],
                rec["DNS"]) == ("Static", "10.9.9.3", "255.255.255.0", "10.9.9.1",
                                "10.9.9.53")
        assert await fails(h, "PIF.reconfigure_ip", s, ref0, "None", "", "", "", "") == \
            ["PIF_IS_MANAGEMENT_INTERFACE", ref0]
        await h.call("PIF.reconfigure_ip", s, ref1, "DHCP", "", "", "", "")
        assert (await h.call("PIF.get_IP", s, ref1)) == ""
        assert await fails(h, "PIF.reconfigure_ipv6", s, ref1, "Static", "fd99::3", "", "") \
            == ["INVALID_CIDR_ADDRESS_SPECIFIED", "IPv6"]
        await h.call("PIF.reconfigure_ipv6", s, ref1, "Static", "fd99::3/64", "fd99::1", "")
        assert await h.call("PIF.get_IPv6", s, ref1) == ["fd99::3/64"]
        await h.call("PIF.set_primary_address_type", s, ref1, "IPv6")
        # the namespace itself was not touched
        net = await Netns(netns.name).discover()
        assert [a.cidr for a in net.interfaces["br7"].ipv4] == ["10.78.0.1/24"]
        assert net.interfaces["uplink1"].ipv6 == []
    run_in(netns.name, body)


# --- concurrency ------------------------------------------------------------------------------
def test_concurrent_creates_keep_devices_bridges_and_macs_unique(tmp_path):
    """Checks and writes of concurrent calls do not interleave (SQLite: commits wait for
    the disk, so without serialisation two calls could pass the same check)."""
    async def body(h: Harness) -> None:
        s = await h.login()
        vm = await h.call("VM.create", s, VM_REQUIRED)
        n = await h.call("network.create", s, NET)

        async def attempt(method: str, *args: Any) -> str:
            try:
                return await h.call(method, s, *args)
            except XenAPIError as exc:
                return exc.code
        got = await asyncio.gather(*[attempt("VIF.create", vif_rec(vm, n, "3"))
                                     for _ in range(6)])
        assert sorted(g.startswith("OpaqueRef:") for g in got) == [False] * 5 + [True]
        assert got.count("DEVICE_ALREADY_EXISTS") == 5
        got = await asyncio.gather(*[attempt("network.create", {**NET, "bridge": "brx"})
                                     for _ in range(6)])
        assert got.count("BRIDGE_NAME_EXISTS") == 5
        got = await asyncio.gather(*[attempt("network.create", NET) for _ in range(6)])
        bridges = [await h.call("network.get_bridge", s, r) for r in got]
        assert len(set(bridges)) == 6
        vms = [await h.call("VM.create", s, VM_REQUIRED) for _ in range(8)]
        got = await asyncio.gather(*[attempt("VIF.create", vif_rec(v, n, "0")) for v in vms])
        macs = [await h.call("VIF.get_MAC", s, r) for r in got]
        assert len(set(macs)) == 8
    run(body, str(tmp_path / "x.db"))
