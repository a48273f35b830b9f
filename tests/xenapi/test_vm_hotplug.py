"""VBD/VIF hot-plug into a running domain through the storage and network hooks (sim)."""
from __future__ import annotations

import asyncio

import pytest
from test_vm_lifecycle import VmHarness, fails, new_vm


def present(fn, *args) -> bool:
    try:
        fn(*args)
        return True
    except Exception:       # noqa: BLE001 - the simulator says "no such device"
        return False


def test_vbd_and_vif_hotplug(tmp_path):
    async def main() -> None:
        h = await VmHarness(str(tmp_path)).start()
        try:
            s = await h.login()
            vm = await new_vm(h, s)
            await h.call("VM.start", s, vm, False, False)
            domid = await h.call("VM.get_domid", s, vm)
            sr = await h.call("pool.get_default_SR", s, (await h.call("pool.get_all", s))[0])
            vdi = await h.call("VDI.create", s, {
                "SR": sr, "virtual_size": str(1 << 24), "type": "user", "sharable": False,
                "read_only": False, "other_config": {}, "name_label": "d",
                "name_description": ""})
            vbd = await h.call("VBD.create", s, {
                "VM": vm, "VDI": vdi, "userdevice": "1", "bootable": False, "mode": "RW",
                "type": "Disk", "empty": False, "other_config": {}, "qos_algorithm_type": "",
                "qos_algorithm_params": {}})
            assert not present(h.sim.disk_stats, domid, "xvdb")
            await h.call("VBD.plug", s, vbd)
            assert present(h.sim.disk_stats, domid, "xvdb")
            assert await h.call("VBD.get_currently_attached", s, vbd)
            assert await fails(h.call("VDI.destroy", s, vdi)) == \
                ["VDI_IN_USE", vdi, "destroy"]
            await h.call("VBD.unplug", s, vbd)
            assert not present(h.sim.disk_stats, domid, "xvdb")
            assert not await h.call("VBD.get_currently_attached", s, vbd)

            net = await h.call("network.create", s, {"name_label": "n", "name_description": "",
                                                      "MTU": "1500", "other_config": {}})
            vif = await h.call("VIF.create", s, {
                "device": "3", "network": net, "VM": vm, "MAC": "", "MTU": "1500",
                "other_config": {}, "qos_algorithm_type": "", "qos_algorithm_params": {}})
            assert not present(h.sim.nic_stats, domid, 3)
            await h.call("VIF.plug", s, vif)
            assert present(h.sim.nic_stats, domid, 3)
            await h.call("VIF.unplug", s, vif)
            assert not present(h.sim.nic_stats, domid, 3)
            await h.call("VM.hard_shutdown", s, vm)
            await h.call("VDI.destroy", s, vdi)          # detached: the image can go
        finally:
            await h.close()
    asyncio.run(main())
