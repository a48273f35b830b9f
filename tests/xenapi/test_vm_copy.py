"""Templates, VM.clone/copy/provision/snapshot/revert in process, on the simulated host with
the file SR seeded beside the database (real images on disk, the real binding)."""
from __future__ import annotations

import os
from typing import Any

from test_vm_lifecycle import VmHarness, domains, fails, new_vm, run
from xenapi_impl.api.templates import BUILTIN, template_uuid
from xenapi_impl.store import NULL_REF

GiB = 1024 ** 3
MiB = 1024 ** 2


async def default_sr(h: VmHarness, s: str) -> str:
    pool = (await h.call("pool.get_all", s))[0]
    return await h.call("pool.get_default_SR", s, pool)


async def image(h: VmHarness, s: str, vdi: str) -> str:
    """The file of a VDI of a file SR."""
    rec = await h.call("VDI.get_record", s, vdi)
    pbd = (await h.call("SR.get_PBDs", s, rec["SR"]))[0]
    path = (await h.call("PBD.get_device_config", s, pbd))["path"]
    return os.path.join(path, rec["location"] + ".img")


async def disk(h: VmHarness, s: str, vm: str, sr: str, data: bytes, device: str = "0") -> str:
    vdi = await h.call("VDI.create", s, {
        "name_label": "data", "name_description": "", "SR": sr, "virtual_size": str(64 * MiB),
        "type": "user", "sharable": False, "read_only": False, "other_config": {},
        "xenstore_data": {}, "sm_config": {}, "tags": []})
    with open(await image(h, s, vdi), "r+b") as fh:
        fh.seek(MiB)
        fh.write(data)
    await h.call("VBD.create", s, {
        "VM": vm, "VDI": vdi, "userdevice": device, "bootable": True, "mode": "RW",
        "type": "Disk", "empty": False, "other_config": {}, "qos_algorithm_type": "",
        "qos_algorithm_params": {}})
    return vdi


async def read(h: VmHarness, s: str, vdi: str) -> bytes:
    with open(await image(h, s, vdi), "rb") as fh:
        fh.seek(MiB)
        return fh.read(5)


async def nic(h: VmHarness, s: str, vm: str, mac: str = "") -> str:
    net = (await h.call("network.get_all", s))[0]
    return await h.call("VIF.create", s, {
        "device": "0", "network": net, "VM": vm, "MAC": mac, "MTU": "1500",
        "other_config": {}, "qos_algorithm_type": "", "qos_algorithm_params": {}})


async def disks_of(h: VmHarness, s: str, vm: str) -> list[str]:
    out = []
    for b in await h.call("VM.get_VBDs", s, vm):
        r = await h.call("VBD.get_record", s, b)
        if r["type"] == "Disk":
            out.append(r["VDI"])
    return out


def test_builtin_templates_seeded_once_with_stable_uuids(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        recs = await h.call("VM.get_all_records", s)
        tpl = {r["name_label"]: (ref, r) for ref, r in recs.items() if r["is_a_template"]}
        assert set(tpl) == set(BUILTIN)
        for name, (ref, r) in tpl.items():
            assert r["uuid"] == template_uuid(name)
            assert await h.call("VM.get_by_uuid", s, r["uuid"]) == ref
            assert r["is_default_template"] is True
            assert r["other_config"]["default_template"] == "true"
            assert r["other_config"]["disks"].startswith("<provision><disk ")
            assert r["recommendations"].startswith("<restrictions>")
            assert r["power_state"] == "Halted" and r["allowed_operations"]
            assert set(r["allowed_operations"]) >= {"clone", "copy", "provision"}
        assert tpl["Other install media"][1]["HVM_boot_policy"] == "BIOS order"
        assert tpl["Debian Bookworm 12"][1]["PV_bootloader"] == "pygrub"
        # a second seeding (server restart) adds nothing
        from xenapi_impl.api.templates import seed_templates
        await seed_templates(h.services)
        assert len(await h.call("VM.get_all", s)) == len(recs)
    run(tmp_path, body)


def test_template_cannot_start_or_be_snapshotted(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        t = (await h.call("VM.get_by_name_label", s, "Generic Linux PV"))[0]
        assert await fails(h.call("VM.start", s, t, False, False)) == ["VM_IS_TEMPLATE", t]
        assert await fails(h.call("VM.snapshot", s, t, "x", [])) == ["VM_IS_TEMPLATE", t]
        assert domains(h) == []
        # built-in templates can't be deleted; a clone of one (not a default template) can
        assert await fails(h.call("VM.destroy", s, t)) == ["VM_CANNOT_DELETE_DEFAULT_TEMPLATE", t]
        assert await h.call("VM.get_is_default_template", s, t) is True
        mine = await h.call("VM.clone", s, t, "my template")
        await h.call("VM.destroy", s, mine)
        assert mine not in await h.call("VM.get_all", s)
    run(tmp_path, body)


def test_vm_from_template_clone_provision_start(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        t = (await h.call("VM.get_by_name_label", s, "Generic Linux PV"))[0]
        before = len(await h.call("VDI.get_all", s))
        vm = await h.call("VM.clone", s, t, "web1")
        rec = await h.call("VM.get_record", s, vm)
        trec = await h.call("VM.get_record", s, t)
        assert rec["name_label"] == "web1" and rec["uuid"] != trec["uuid"]
        assert rec["is_a_template"] is True and rec["is_default_template"] is False
        assert "default_template" not in rec["other_config"]
        assert rec["other_config"]["disks"] == trec["other_config"]["disks"]
        assert rec["memory_static_max"] == trec["memory_static_max"]
        assert rec["PV_kernel"] == "/boot/vmlinuz" and rec["VBDs"] == []
        assert rec["metrics"] != trec["metrics"] and rec["current_operations"] == {}
        assert trec["current_operations"] == {}
        assert await fails(h.call("VM.start", s, vm, False, False)) == ["VM_IS_TEMPLATE", vm]

        await h.call("VM.provision", s, vm)
        [vdi] = await disks_of(h, s, vm)
        vrec = await h.call("VDI.get_record", s, vdi)
        assert vrec["virtual_size"] == BUILTIN["Generic Linux PV"][5]
        assert vrec["SR"] == await default_sr(h, s) and vrec["type"] == "system"
        assert os.path.exists(await image(h, s, vdi))
        vbd = (await h.call("VM.get_VBDs", s, vm))[0]
        b = await h.call("VBD.get_record", s, vbd)
        assert (b["userdevice"], b["bootable"], b["mode"]) == ("0", True, "RW")
        assert "disks" not in await h.call("VM.get_other_config", s, vm)
        assert len(await h.call("VDI.get_all", s)) == before + 1
        # provision made it a VM (xapi): a second one is refused, nothing more is made
        assert await h.call("VM.get_is_a_template", s, vm) is False
        assert await fails(h.call("VM.provision", s, vm)) == [
            "PROVISION_ONLY_ALLOWED_ON_TEMPLATE"]
        assert len(await disks_of(h, s, vm)) == 1
        await h.call("VM.start", s, vm, False, False)
        [d] = domains(h)
        assert str(d.uuid) == rec["uuid"]
        assert await h.call("VM.get_power_state", s, vm) == "Running"
        # the template is untouched
        assert await h.call("VM.get_VBDs", s, t) == []
        assert (await h.call("VM.get_record", s, t))["is_default_template"] is True
    run(tmp_path, body)


def test_provision_errors(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        vm = await new_vm(h, s)
        assert await fails(h.call("VM.provision", s, vm)) == [
            "PROVISION_ONLY_ALLOWED_ON_TEMPLATE"]
        t = (await h.call("VM.get_by_name_label", s, "Generic Linux PV"))[0]
        c = await h.call("VM.clone", s, t, "c")
        for bad in ("<provision><disk", "<other/>", '<provision><disk device="0" size="x"/>'
                    '</provision>', '<provision><disk device="0" size="0"/></provision>'):
            await h.call("VM.remove_from_other_config", s, c, "disks")
            await h.call("VM.add_to_other_config", s, c, "disks", bad)
            assert await fails(h.call("VM.provision", s, c)) == [
                "INVALID_VALUE", "other_config:disks", bad]
        await h.call("VM.remove_from_other_config", s, c, "disks")
        await h.call("VM.add_to_other_config", s, c, "disks",
                     '<provision><disk device="0" size="1048576" sr="no-such-uuid"/>'
                     '</provision>')
        assert await fails(h.call("VM.provision", s, c)) == ["UUID_INVALID", "SR",
                                                              "no-such-uuid"]
        assert await h.call("VM.get_VBDs", s, c) == []
    run(tmp_path, body)


def test_clone_shares_nothing_and_copy_copies_data(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        sr = await default_sr(h, s)
        vm = await new_vm(h, s, name_description="orig")
        src = await disk(h, s, vm, sr, b"hello")
        vif = await nic(h, s, vm, "02:00:00:aa:bb:cc")
        c = await h.call("VM.clone", s, vm, "clone1")
        crec = await h.call("VM.get_record", s, c)
        assert crec["is_a_template"] is False and crec["name_description"] == "orig"
        [cdisk] = await disks_of(h, s, c)
        assert cdisk != src and await read(h, s, cdisk) == b"hello"
        [cvif] = crec["VIFs"]
        cmac = await h.call("VIF.get_MAC", s, cvif)
        assert cmac != "02:00:00:aa:bb:cc" and cvif != vif
        assert await h.call("VIF.get_MAC_autogenerated", s, cvif) is True

        # a second SR for the copy target
        p2 = str(tmp_path / "sr2")
        sr2 = await h.call("SR.create", s, h.services.host_ref, {"path": p2}, "0", "sr2",
                           "", "file", "user", False, {})
        cp = await h.call("VM.copy", s, vm, "copy1", sr2)
        [cpdisk] = await disks_of(h, s, cp)
        assert await h.call("VDI.get_SR", s, cpdisk) == sr2
        f = await image(h, s, cpdisk)
        assert f.startswith(p2) and await read(h, s, cpdisk) == b"hello"
        with open(await image(h, s, src), "r+b") as fh:       # copies are independent
            fh.seek(MiB)
            fh.write(b"CHANG")
        assert await read(h, s, cpdisk) == b"hello" and await read(h, s, cdisk) == b"hello"
        cp2 = await h.call("VM.copy", s, vm, "copy2", NULL_REF)   # NULL: each disk's SR
        [d2] = await disks_of(h, s, cp2)
        assert await h.call("VDI.get_SR", s, d2) == sr and await read(h, s, d2) == b"CHANG"
    run(tmp_path, body)


def test_clone_copy_errors_change_nothing(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        vm = await new_vm(h, s)
        await disk(h, s, vm, await default_sr(h, s), b"x")
        n_vm, n_vdi = len(await h.call("VM.get_all", s)), len(await h.call("VDI.get_all", s))
        await h.call("VM.start", s, vm, False, False)
        assert await fails(h.call("VM.clone", s, vm, "c")) == [
            "VM_BAD_POWER_STATE", vm, "halted", "running"]
        assert await fails(h.call("VM.copy", s, vm, "c", NULL_REF)) == [
            "VM_BAD_POWER_STATE", vm, "halted", "running"]
        await h.call("VM.hard_shutdown", s, vm)
        assert await fails(h.call("VM.clone", s, vm, " ")) == ["INVALID_VALUE", "new_name",
                                                                " "]
        await h.call("VM.add_to_blocked_operations", s, vm, "clone", "frozen")
        assert await fails(h.call("VM.clone", s, vm, "c")) == [
            "OPERATION_BLOCKED", vm, "frozen"]
        dom0 = [r for r, v in (await h.call("VM.get_all_records", s)).items()
                if v["is_control_domain"]][0]
        assert (await fails(h.call("VM.clone", s, dom0, "c")))[0] == "VM_BAD_POWER_STATE"
        assert len(await h.call("VM.get_all", s)) == n_vm
        assert len(await h.call("VDI.get_all", s)) == n_vdi
    run(tmp_path, body)


def test_failed_clone_destroys_the_disks_it_made(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        sr = await default_sr(h, s)
        vm = await new_vm(h, s)
        await disk(h, s, vm, sr, b"x", "0")
        await disk(h, s, vm, sr, b"y", "1")
        vdis = set(await h.call("VDI.get_all", s))
        files = set(os.listdir(os.path.dirname(await image(h, s, next(iter(vdis))))))
        # the second disk's VBD names a device the clone will write twice: fail the VM write
        from xenapi_impl.api import vm_copy
        orig = vm_copy._add_devices

        def broken(*a: Any, **kw: Any) -> None:
            raise RuntimeError("injected")
        vm_copy._add_devices = broken
        try:
            assert (await fails(h.call("VM.clone", s, vm, "c")))[0] == "INTERNAL_ERROR"
        finally:
            vm_copy._add_devices = orig
        assert set(await h.call("VDI.get_all", s)) == vdis
        assert set(os.listdir(os.path.dirname(await image(h, s, next(iter(vdis)))))) == files
        assert len([r for r in (await h.call("VM.get_all_records", s)).values()
                    if r["name_label"] == "c"]) == 0
        assert await h.call("VM.get_current_operations", s, vm) == {}
    run(tmp_path, body)


def test_snapshot_and_revert(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        sr = await default_sr(h, s)
        vm = await new_vm(h, s)
        src = await disk(h, s, vm, sr, b"snap1")
        await nic(h, s, vm, "02:00:00:11:22:33")
        await h.call("VM.start", s, vm, False, False)
        snap = await h.call("VM.snapshot", s, vm, "before", [])      # while running
        srec = await h.call("VM.get_record", s, snap)
        assert (srec["is_a_snapshot"], srec["is_a_template"], srec["snapshot_of"]) == (
            True, True, vm)
        assert srec["power_state"] == "Halted" and srec["snapshot_time"].year >= 2024
        assert await h.call("VM.get_snapshots", s, vm) == [snap]
        assert await h.call("VM.get_parent", s, vm) == snap
        [sdisk] = await disks_of(h, s, snap)
        svrec = await h.call("VDI.get_record", s, sdisk)
        assert svrec["is_a_snapshot"] is True and svrec["snapshot_of"] == src
        assert await h.call("VIF.get_MAC", s, srec["VIFs"][0]) == "02:00:00:11:22:33"
        assert await h.call("VM.get_power_state", s, vm) == "Running"
        assert await fails(h.call("VM.start", s, snap, False, False)) == [
            "VM_IS_TEMPLATE", snap]
        assert await fails(h.call("VM.snapshot", s, snap, "x", [])) == [
            "VM_IS_TEMPLATE", snap]
        assert await fails(h.call("VM.revert", s, snap)) == [
            "VM_BAD_POWER_STATE", vm, "halted", "running"]
        assert await fails(h.call("VM.revert", s, vm)) == [
            "OPERATION_NOT_ALLOWED", "VM.revert needs a snapshot"]
        assert await fails(h.call("VM.set_is_a_template", s, snap, False)) == [
            "OPERATION_NOT_ALLOWED",
            "A snapshot cannot be made a VM; use VM.clone or VM.revert"]
        await h.call("VM.hard_shutdown", s, vm)

        with open(await image(h, s, src), "r+b") as fh:        # the VM's disk changes
            fh.seek(MiB)
            fh.write(b"later")
        await h.call("VM.set_VCPUs_max", s, vm, "4")
        await h.call("VM.revert", s, snap)
        rec = await h.call("VM.get_record", s, vm)
        assert rec["VCPUs_max"] == 2 and rec["parent"] == snap
        [now] = await disks_of(h, s, vm)
        assert now not in (src, sdisk) and await read(h, s, now) == b"snap1"
        assert await h.call("VDI.get_read_only", s, now) is False
        assert [await h.call("VBD.get_mode", s, b) for b in rec["VBDs"]] == ["RW"]
        assert [await h.call("VBD.get_mode", s, b) for b in srec["VBDs"]] == ["RO"]
        assert await fails(h.call("VDI.get_record", s, src)) == ["HANDLE_INVALID", "VDI",
                                                                  src]
        assert await read(h, s, sdisk) == b"snap1"                # the snapshot stays
        assert await h.call("VIF.get_MAC", s, rec["VIFs"][0]) == "02:00:00:11:22:33"
        await h.call("VM.start", s, vm, False, False)
        assert await h.call("VM.get_power_state", s, vm) == "Running"
    run(tmp_path, body)


def test_snapshot_ignore_vdis_and_checkpoint_needs_running(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        sr = await default_sr(h, s)
        vm = await new_vm(h, s)
        a = await disk(h, s, vm, sr, b"aaaaa", "0")
        await disk(h, s, vm, sr, b"bbbbb", "1")
        snap = await h.call("VM.snapshot", s, vm, "partial", [a])
        [only] = await disks_of(h, s, snap)
        assert await read(h, s, only) == b"bbbbb"
        assert await fails(h.call("VM.checkpoint", s, vm, "cp")) == [
            "VM_BAD_POWER_STATE", vm, "running", "halted"]
    run(tmp_path, body)


def test_set_is_a_template(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        vm = await new_vm(h, s)
        await h.call("VM.start", s, vm, False, False)
        assert await fails(h.call("VM.set_is_a_template", s, vm, True)) == [
            "VM_BAD_POWER_STATE", vm, "halted", "running"]
        assert await h.call("VM.get_is_a_template", s, vm) is False
        await h.call("VM.hard_shutdown", s, vm)
        await h.call("VM.set_is_a_template", s, vm, True)
        assert sorted(await h.call("VM.get_allowed_operations", s, vm)) == sorted(
            ["clone", "copy", "provision", "destroy", "export"])
        assert await fails(h.call("VM.start", s, vm, False, False)) == ["VM_IS_TEMPLATE", vm]
        await h.call("VM.set_is_a_template", s, vm, False)
        assert "start" in await h.call("VM.get_allowed_operations", s, vm)
        t = (await h.call("VM.get_by_name_label", s, "Other install media"))[0]
        await h.call("VM.set_is_a_template", s, t, False)
        rec = await h.call("VM.get_record", s, t)
        assert rec["is_default_template"] is False
        assert "default_template" not in rec["other_config"]
    run(tmp_path, body)


def test_busy_vm_refused_and_snapshot_names_checked(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        from xenapi_impl.api.vm import VmOps
        vm = await new_vm(h, s)
        busy = VmOps.of(h.services).busy
        busy[vm] = ("start", "OpaqueRef:other-task")       # another call owns the VM
        try:
            for call in (h.call("VM.clone", s, vm, "c"),
                         h.call("VM.copy", s, vm, "c", NULL_REF),
                         h.call("VM.snapshot", s, vm, "c", []),
                         h.call("VM.set_is_a_template", s, vm, True)):
                assert await fails(call) == ["OTHER_OPERATION_IN_PROGRESS", "VM", vm,
                                             "start", "OpaqueRef:other-task"]
        finally:
            busy.pop(vm)
        assert await fails(h.call("VM.snapshot", s, vm, "", [])) == [
            "INVALID_VALUE", "new_name", ""]
        assert len(await h.call("VM.get_all", s)) == 1 + 1 + len(BUILTIN)   # + dom0
    run(tmp_path, body)
