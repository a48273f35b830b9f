"""VMSS through the official SDK against a real server (sim backend): schedules checked and
completed as xapi does, VM.set_snapshot_schedule, and VMSS.snapshot_now taking real snapshots
(with their disks) and keeping the newest `retained_snapshots`. The scheduler that runs
schedules at their times is tested with a fast clock in tests/xenapi/test_vmss_scheduler.py."""
from __future__ import annotations

import pytest
from sdk import add_disk, details, logged_in
from vm_records import vm_create_record

NULL = "OpaqueRef:NULL"
MiB = 1 << 20


@pytest.fixture
def x(server):
    with logged_in(server, "pytest-vmss") as api:
        yield api


def vmss_record(**kw) -> dict:
    rec = {"name_label": "nightly", "name_description": "", "enabled": True,
           "type": "snapshot", "retained_snapshots": "7", "frequency": "daily",
           "schedule": {"hour": "2", "min": "30"}}
    rec.update(kw)
    return rec


def test_schedules_are_checked_and_completed(x):
    before = x.VMSS.get_all()
    assert details(x.VMSS.create, vmss_record(schedule={"min": "7"})) == [
        "INVALID_VALUE", "schedule:min", "7"]
    assert details(x.VMSS.create, vmss_record(schedule={"hour": "24"})) == [
        "INVALID_VALUE", "schedule:hour", "24"]
    assert details(x.VMSS.create, vmss_record(schedule={"days": "Monday"})) == [
        "INVALID_VALUE", "schedule:days", "Monday"]
    assert details(x.VMSS.create, vmss_record(retained_snapshots="11")) == [
        "INVALID_VALUE", "retained_snapshots", "11"]
    assert details(x.VMSS.create, vmss_record(type="snapshot_with_quiesce")) == [
        "LICENCE_RESTRICTION", "VSS"]
    assert details(x.VMSS.create, vmss_record(frequency="monthly"))[:2] == [
        "INVALID_VALUE", "frequency"]
    assert x.VMSS.get_all() == before

    weekly = x.VMSS.create(vmss_record(frequency="weekly",
                                       schedule={"days": "friday,monday"}))
    rec = x.VMSS.get_record(weekly)
    assert rec["schedule"] == {"hour": "0", "min": "0", "days": "Friday,Monday"}
    assert rec["enabled"] is True and rec["last_run_time"].value == "19700101T00:00:00Z"
    assert rec["VMs"] == [] and rec["retained_snapshots"] == "7"
    # the schedule follows the frequency: keys it has not go, missing ones get defaults
    x.VMSS.set_frequency(weekly, "hourly")
    assert x.VMSS.get_schedule(weekly) == {"min": "0"}
    x.VMSS.set_schedule(weekly, {"min": "45"})
    assert x.VMSS.get_schedule(weekly) == {"min": "45"}
    assert details(x.VMSS.set_schedule, weekly, {"min": "44"}) == [
        "INVALID_VALUE", "schedule:min", "44"]
    assert details(x.VMSS.add_to_schedule, weekly, "min", "15") == [
        "MAP_DUPLICATE_KEY", "VMSS", "schedule", weekly, "min"]
    x.VMSS.remove_from_schedule(weekly, "min")
    assert details(x.VMSS.add_to_schedule, weekly, "min", "16") == [
        "INVALID_VALUE", "schedule:min", "16"]
    x.VMSS.add_to_schedule(weekly, "min", "15")
    assert x.VMSS.get_schedule(weekly) == {"min": "15"}
    assert details(x.VMSS.set_retained_snapshots, weekly, "0") == [
        "INVALID_VALUE", "retained_snapshots", "0"]
    x.VMSS.set_retained_snapshots(weekly, "10")
    assert details(x.VMSS.set_type, weekly, "snapshot_with_quiesce") == [
        "LICENCE_RESTRICTION", "VSS"]
    x.VMSS.set_type(weekly, "checkpoint")
    rec = x.VMSS.get_record(weekly)
    assert (rec["type"], rec["retained_snapshots"], rec["frequency"]) == (
        "checkpoint", "10", "hourly")
    # set_last_run_time is for the local superuser only
    assert details(x.VMSS.set_last_run_time, weekly, "20260101T00:00:00Z")[0] == \
        "RBAC_PERMISSION_DENIED"
    x.VMSS.destroy(weekly)


def test_snapshot_now_keeps_the_newest(x):
    sr = x.pool.get_default_SR(x.pool.get_all()[0])
    vm = x.VM.create(vm_create_record("scheduled", memory_mib=64, static_min_mib=32))
    vdi, _ = add_disk(x, vm, sr, 16 * MiB)
    vmss = x.VMSS.create(vmss_record(retained_snapshots="2"))
    template = x.VM.create(vm_create_record("tmpl", is_a_template=True))
    assert details(x.VM.set_snapshot_schedule, template, vmss) == ["VM_IS_TEMPLATE", template]
    x.VM.set_snapshot_schedule(vm, vmss)
    assert x.VMSS.get_VMs(vmss) == [vm]
    assert details(x.VM.set_is_a_template, vm, True) == [
        "VM_ASSIGNED_TO_SNAPSHOT_SCHEDULE", vm, vmss]
    assert details(x.VMSS.destroy, vmss) == ["VMSS_HAS_VM"]

    x.VM.start(vm, False, False)
    taken = []
    for _ in range(3):
        assert x.VMSS.snapshot_now(vmss) == "SUCCESS"
        snaps = [s for s in x.VM.get_snapshots(vm) if x.VM.get_is_vmss_snapshot(s)]
        taken.append(set(snaps))
    assert [len(t) for t in taken] == [1, 2, 2]
    first = next(iter(taken[0]))
    assert first not in taken[2], "the oldest snapshot goes first"
    gone_disks = [v for v in x.SR.get_VDIs(sr) if x.VDI.get_is_a_snapshot(v)
                  and x.VDI.get_snapshot_of(v) == vdi]
    assert len(gone_disks) == 2, "the destroyed snapshot's disk went with it"
    for s in taken[2]:
        rec = x.VM.get_record(s)
        assert rec["is_a_snapshot"] and rec["snapshot_of"] == vm
        assert rec["name_label"].startswith("scheduled-nightly-")
        assert rec["snapshot_schedule"] == NULL
    assert x.VMSS.get_last_run_time(vmss).value != "19700101T00:00:00Z"
    uuid = x.VMSS.get_uuid(vmss)
    msgs = [m for m in x.message.get_all_records().values() if m["obj_uuid"] == uuid]
    assert [m["name"] for m in msgs] == ["VMSS_SNAPSHOT_SUCCEEDED"] * 3

    x.VM.hard_shutdown(vm)
    x.VM.set_snapshot_schedule(vm, NULL)
    assert x.VMSS.get_VMs(vmss) == []
    x.VMSS.destroy(vmss)
    # its messages go with it, as xapi's
    assert not [m for m in x.message.get_all_records().values() if m["obj_uuid"] == uuid]
    for s in taken[2]:
        x.VM.destroy(s)
    x.VM.destroy(vm)
    x.VM.destroy(template)


def test_protection_policy_was_removed(x):
    vm = x.VM.create(vm_create_record("vmpp", memory_mib=64, static_min_mib=32))
    assert details(x.VM.set_protection_policy, vm, NULL) == ["MESSAGE_REMOVED"]
    x.VM.destroy(vm)


def test_checkpoint_schedule_keeps_memory_of_running_vms(x):
    sr = x.pool.get_default_SR(x.pool.get_all()[0])
    vm = x.VM.create(vm_create_record("ckpt", memory_mib=64, static_min_mib=32))
    add_disk(x, vm, sr, 16 * MiB)
    vmss = x.VMSS.create(vmss_record(type="checkpoint", retained_snapshots="1"))
    x.VM.set_snapshot_schedule(vm, vmss)
    x.VM.start(vm, False, False)
    assert x.VMSS.snapshot_now(vmss) == "SUCCESS"
    [first] = x.VM.get_snapshots(vm)
    image = x.VM.get_suspend_VDI(first)
    assert x.VM.get_power_state(first) == "Suspended" and image != NULL
    assert x.VM.get_power_state(vm) == "Running"
    assert x.VMSS.snapshot_now(vmss) == "SUCCESS"
    [second] = x.VM.get_snapshots(vm)
    assert second != first
    # the older checkpoint went with its memory image
    assert image not in x.VDI.get_all()
    x.VM.hard_shutdown(vm)
    x.VM.set_snapshot_schedule(vm, NULL)
    x.VMSS.destroy(vmss)
