"""VM.checkpoint: a snapshot with the guest's memory, taken while the guest runs on, and
VM.revert back to it (sim backend, the file SR beside the database, the event pump on)."""
from __future__ import annotations

import pytest
from test_vm_copy import default_sr, disk, disks_of, image, nic, read
from test_vm_events import run, until
from test_vm_lifecycle import VmHarness, domains, fails, new_vm


async def running_vm(h: VmHarness, s: str) -> tuple[str, str, int]:
    sr = await default_sr(h, s)
    vm = await new_vm(h, s)
    vdi = await disk(h, s, vm, sr, b"early")
    await nic(h, s, vm)
    await h.call("VM.start", s, vm, False, False)
    return vm, vdi, await h.call("VM.get_domid", s, vm)


def test_checkpoint_keeps_the_guest_running_and_records_its_memory(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        vm, vdi, domid = await running_vm(h, s)
        vdis_before = set(await h.call("VDI.get_all", s))
        cp = await h.call("VM.checkpoint", s, vm, "before upgrade")
        # the guest ran on in the same domain: suspended, snapshotted, resumed in place
        rec = await h.call("VM.get_record", s, vm)
        assert rec["power_state"] == "Running" and rec["domid"] == domid
        assert rec["current_operations"] == {} and rec["parent"] == cp
        info = h.xl.domain_info(domid)
        assert not info.shutdown and not info.paused
        c = await h.call("VM.get_record", s, cp)
        assert (c["is_a_snapshot"], c["is_a_template"], c["power_state"], c["snapshot_of"]) \
            == (True, True, "Suspended", vm)
        assert c["name_label"] == "before upgrade"
        mem = await h.call("VDI.get_record", s, c["suspend_VDI"])
        assert mem["type"] == "suspend" and 0 < int(mem["physical_utilisation"])
        [cdisk] = await disks_of(h, s, cp)
        assert await read(h, s, cdisk) == b"early"
        assert set(await h.call("VDI.get_all", s)) - vdis_before == {c["suspend_VDI"], cdisk}
        assert await h.call("VIF.get_MAC", s, c["VIFs"][0]) == \
            await h.call("VIF.get_MAC", s, rec["VIFs"][0])

        # libxl reports a shutdown once per watch: after the resume in place the pump must
        # still see the guest power off by itself
        h.sim.guest_poweroff(domid)
        await until(h, s, vm, lambda r: r["power_state"] == "Halted", "Halted")
        assert domains(h) == []
    run(tmp_path, body)


def test_revert_to_a_checkpoint_resumes_from_it(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        vm, vdi, domid = await running_vm(h, s)
        cp = await h.call("VM.checkpoint", s, vm, "cp")
        with open(await image(h, s, vdi), "r+b") as fh:      # the guest writes on
            fh.seek(1024 * 1024)
            fh.write(b"later")
        assert await fails(h.call("VM.revert", s, cp)) == [
            "VM_BAD_POWER_STATE", vm, "halted", "running"]
        await h.call("VM.hard_shutdown", s, vm)
        await h.call("VM.revert", s, cp)
        rec = await h.call("VM.get_record", s, vm)
        assert rec["power_state"] == "Suspended" and rec["parent"] == cp
        assert "resume" in rec["allowed_operations"]
        cmem = await h.call("VM.get_suspend_VDI", s, cp)
        assert rec["suspend_VDI"] not in ("OpaqueRef:NULL", cmem)   # a copy: the checkpoint keeps its own
        [now] = await disks_of(h, s, vm)
        assert await read(h, s, now) == b"early"
        await h.call("VM.resume", s, vm, False, False)
        rec = await h.call("VM.get_record", s, vm)
        assert rec["power_state"] == "Running" and rec["suspend_VDI"] == "OpaqueRef:NULL"
        assert h.xl.domain_info(rec["domid"]).uuid == rec["uuid"]
        # the checkpoint can be reverted to again, and destroyed with its memory image
        assert await h.call("VDI.get_type", s, cmem) == "suspend"
        await h.call("VM.destroy", s, cp)
        assert await fails(h.call("VDI.get_record", s, cmem)) == ["HANDLE_INVALID", "VDI", cmem]
    run(tmp_path, body)


@pytest.mark.parametrize("function, after", [
    # the suspend failed: the guest still runs in its domain, untouched
    ("libxl_domain_suspend", "Running"),
    # suspended but cannot run on: its domain goes and the VM is Halted, not a Running
    # record over a suspended domain
    ("libxl_domain_resume", "Halted"),
])
def test_a_failed_checkpoint_leaves_no_record_and_a_true_power_state(tmp_path, function,
                                                                     after):
    async def body(h: VmHarness, s: str) -> None:
        vm, vdi, domid = await running_vm(h, s)
        vms, vdis = await h.call("VM.get_all", s), await h.call("VDI.get_all", s)
        h.sim.fail_next(function, -3)
        code, *_ = await fails(h.call("VM.checkpoint", s, vm, "cp"))
        assert code == "INTERNAL_ERROR"
        assert await h.call("VM.get_all", s) == vms            # no checkpoint record
        assert sorted(await h.call("VDI.get_all", s)) == sorted(vdis)
        rec = await h.call("VM.get_record", s, vm)
        assert rec["power_state"] == after and rec["current_operations"] == {}
        if after == "Running":
            assert rec["domid"] == domid and "checkpoint" in rec["allowed_operations"]
            assert not h.xl.domain_info(domid).shutdown
        else:
            assert rec["domid"] == -1 and domains(h) == []
    run(tmp_path, body)


def test_checkpoint_refusals(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        vm, vdi, domid = await running_vm(h, s)
        assert await fails(h.call("VM.checkpoint", s, vm, " ")) == [
            "INVALID_VALUE", "new_name", " "]
        cp = await h.call("VM.checkpoint", s, vm, "cp")
        assert await fails(h.call("VM.checkpoint", s, cp, "cp2")) == [
            "VM_BAD_POWER_STATE", cp, "running", "suspended"]
        await h.call("VM.pause", s, vm)
        assert await fails(h.call("VM.checkpoint", s, vm, "cp3")) == [
            "VM_BAD_POWER_STATE", vm, "running", "paused"]
        assert [r for r in await h.call("VM.get_all", s)
                if await h.call("VM.get_snapshot_of", s, r) == vm] == [cp]
    run(tmp_path, body)
