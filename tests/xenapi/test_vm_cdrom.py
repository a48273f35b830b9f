"""VBD.insert / VBD.eject on a running VM: the ISO VDI is attached through its SR, the
simulated domain's drive gets the media (HVM: libxl_cdrom_insert; PV: re-attach), the old
media is detached."""
from __future__ import annotations

import os
from typing import Any

import pytest
from test_vm_lifecycle import VmHarness, fails, new_vm, run
from xenapi_impl.store import NULL_REF


async def iso(h: VmHarness, s: str, label: str) -> str:
    sr = await h.call("pool.get_default_SR", s, (await h.call("pool.get_all", s))[0])
    return await h.call("VDI.create", s, {
        "SR": sr, "virtual_size": str(1 << 20), "type": "user", "sharable": False,
        "read_only": True, "other_config": {}, "name_label": label, "name_description": ""})


def attached(path: str) -> set[str]:
    """VDI uuids the file SR holding `path` has attached (its .attach/ records)."""
    d = os.path.join(os.path.dirname(path), ".attach")
    return {n for n in os.listdir(d) if not n.startswith(".")} if os.path.isdir(d) else set()


async def cd_vm(h: VmHarness, s: str, hvm: bool) -> tuple[str, str]:
    over: dict[str, Any] = {}
    if hvm:
        over = {"HVM_boot_policy": "BIOS order", "HVM_boot_params": {"order": "dc"},
                "PV_kernel": "", "PV_args": ""}
    vm = await new_vm(h, s, **over)
    vbd = await h.call("VBD.create", s, {
        "VM": vm, "VDI": NULL_REF, "userdevice": "3", "bootable": False, "mode": "RO",
        "type": "CD", "empty": True, "other_config": {}, "qos_algorithm_type": "",
        "qos_algorithm_params": {}})
    await h.call("VM.start", s, vm, False, False)
    return vm, vbd


@pytest.mark.parametrize("hvm", [True, False], ids=["hvm", "pv"])
def test_insert_eject_running(tmp_path, hvm):  # type: ignore[no-untyped-def]
    async def body(h: VmHarness, s: str) -> None:
        vm, vbd = await cd_vm(h, s, hvm)
        domid = int(await h.call("VM.get_domid", s, vm))
        dev = "hdd" if hvm else "xvdd"
        assert h.sim.disk_path(domid, dev) is None
        a, b = await iso(h, s, "a"), await iso(h, s, "b")
        await h.call("VBD.insert", s, vbd, a)
        path_a = h.sim.disk_path(domid, dev)
        assert path_a and os.path.exists(path_a)
        uuid_a = await h.call("VDI.get_uuid", s, a)
        assert uuid_a in attached(path_a)
        assert (await h.call("VBD.get_record", s, vbd))["VDI"] == a
        assert await fails(h.call("VBD.insert", s, vbd, b)) == ["VBD_NOT_EMPTY", vbd]
        assert h.sim.disk_path(domid, dev) == path_a
        # The media is in use: its VDI cannot go while inserted.
        assert (await fails(h.call("VDI.destroy", s, a)))[0] == "VDI_IN_USE"

        await h.call("VBD.eject", s, vbd)
        assert h.sim.disk_path(domid, dev) is None
        assert uuid_a not in attached(path_a)
        rec = await h.call("VBD.get_record", s, vbd)
        assert rec["empty"] and rec["VDI"] == NULL_REF
        await h.call("VDI.destroy", s, a)              # ejected and detached: it can go
        await h.call("VBD.insert", s, vbd, b)
        path_b = h.sim.disk_path(domid, dev)
        assert path_b and path_b != path_a

        # A failing media change leaves the drive, the record and the new VDI as they were.
        await h.call("VBD.eject", s, vbd)
        c = await iso(h, s, "c")
        h.sim.fail_next("libxl_cdrom_insert" if hvm else "libxl_device_disk_add", -3)
        assert (await fails(h.call("VBD.insert", s, vbd, c)))[0] == "INTERNAL_ERROR"
        assert h.sim.disk_path(domid, dev) is None
        assert (await h.call("VBD.get_record", s, vbd))["empty"]
        assert await h.call("VDI.get_uuid", s, c) not in attached(path_a)
        await h.call("VDI.destroy", s, c)

        await h.call("VBD.insert", s, vbd, b)
        uuid_b = await h.call("VDI.get_uuid", s, b)
        assert uuid_b in attached(path_a)
        # An eject that fails leaves the media in the drive, in the record, attached.
        h.sim.fail_next("libxl_cdrom_insert" if hvm else "libxl_device_disk_add", -3)
        assert (await fails(h.call("VBD.eject", s, vbd)))[0] == "INTERNAL_ERROR"
        assert h.sim.disk_path(domid, dev) == path_b
        assert (await h.call("VBD.get_record", s, vbd))["VDI"] == b
        assert uuid_b in attached(path_a)
        await h.call("VM.hard_shutdown", s, vm)
        assert uuid_b not in attached(path_a)          # the domain's end detached it
    run(tmp_path, body)
