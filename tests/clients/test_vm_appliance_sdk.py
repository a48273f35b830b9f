"""VM_appliance through the official SDK against a real server (sim backend): its VMs start
in ascending VM.order and shut down in descending order, one order group after the other,
what is refused and why, and the recovery checks of the SRs its VMs need."""
from __future__ import annotations

import time

import pytest
import XenAPI
from sdk import add_disk, details, logged_in
from vm_records import vm_create_record

NULL = "OpaqueRef:NULL"
MiB = 1 << 20


@pytest.fixture
def x(server):
    with logged_in(server, "pytest-appliance") as api:
        yield api


def wait_task(x, task: str) -> dict:
    while x.task.get_status(task) == "pending":
        time.sleep(0.05)
    return x.task.get_record(task)


def new_vm(x, name: str, order: int) -> str:
    vm = x.VM.create(vm_create_record(name, memory_mib=64, static_min_mib=32))
    x.VM.set_order(vm, str(order))
    return vm


def power_sequence(x, token: str, vms: list[str], state: str) -> list[str]:
    """The VMs in the order event.from reported them reaching `state`."""
    seen: list[str] = []
    for _ in range(40):
        got = x.event_from(["vm"], token, 2.0)
        token = got["token"]
        for e in got["events"]:
            if e["ref"] in vms and e["ref"] not in seen and e["operation"] == "mod" \
                    and e["snapshot"]["power_state"] == state:
                seen.append(e["ref"])
        if len(seen) == len(vms):
            return seen
    pytest.fail(f"only {seen} reached {state}")


def test_start_and_shutdown_in_order(x):
    app = x.VM_appliance.create({"name_label": "web stack", "name_description": "3 tiers"})
    assert details(x.VM_appliance.start, app, False) == [
        "OPERATION_NOT_ALLOWED", "Appliance has no VMs."]
    db, web, cache = new_vm(x, "db", 0), new_vm(x, "web", 2), new_vm(x, "cache", 1)
    for vm in (db, web, cache):
        x.VM.set_appliance(vm, app)
    x.VM.set_start_delay(db, "1")
    rec = x.VM_appliance.get_record(app)
    assert sorted(rec["VMs"]) == sorted([db, web, cache])
    assert rec["allowed_operations"] == ["start"]
    assert x.VM.get_appliance(web) == app

    token = x.event_from(["vm"], "", 0.0)["token"]
    task = x.Async.VM_appliance.start(app, False)
    assert wait_task(x, task)["status"] == "success"
    assert power_sequence(x, token, [db, web, cache], "Running") == [db, cache, web]
    rec = x.VM_appliance.get_record(app)
    assert rec["current_operations"] == {}
    assert sorted(rec["allowed_operations"]) == ["clean_shutdown", "hard_shutdown", "shutdown"]
    assert details(x.VM_appliance.start, app, False) == [
        "OPERATION_NOT_ALLOWED", "There are no halted VMs in this appliance."]

    # one VM shut down by itself: the appliance can start again (only that one starts)
    x.VM.hard_shutdown(cache)
    assert "start" in x.VM_appliance.get_allowed_operations(app)

    token = x.event_from(["vm"], "", 0.0)["token"]
    x.VM_appliance.clean_shutdown(app)
    assert power_sequence(x, token, [web, db], "Halted") == [web, db]
    assert {x.VM.get_power_state(v) for v in (db, web, cache)} == {"Halted"}
    assert x.VM_appliance.get_allowed_operations(app) == ["start"]
    assert details(x.VM_appliance.hard_shutdown, app) == [
        "OPERATION_NOT_ALLOWED", "All VMs in this appliance are halted."]

    # paused start, then hard shutdown
    x.VM_appliance.start(app, True)
    assert {x.VM.get_power_state(v) for v in (db, web, cache)} == {"Paused"}
    x.VM_appliance.hard_shutdown(app)
    assert {x.VM.get_power_state(v) for v in (db, web, cache)} == {"Halted"}

    # leaving: the appliance's VMs follow; destroying it leaves its VMs out of any
    x.VM.set_appliance(cache, NULL)
    assert sorted(x.VM_appliance.get_VMs(app)) == sorted([db, web])
    x.VM_appliance.destroy(app)
    assert x.VM.get_appliance(db) == NULL and x.VM.get_appliance(web) == NULL
    for vm in (db, web, cache):
        x.VM.destroy(vm)


def test_partial_failure_names_the_vms(x):
    app = x.VM_appliance.create({"name_label": "half", "name_description": ""})
    good, blocked = new_vm(x, "good", 0), new_vm(x, "blocked", 1)
    for vm in (good, blocked):
        x.VM.set_appliance(vm, app)
    x.VM.add_to_blocked_operations(blocked, "start", "maintenance")
    assert details(x.VM_appliance.start, app, False) == [
        "OPERATION_PARTIALLY_FAILED", "VM_appliance.start", blocked]
    assert x.VM.get_power_state(good) == "Running"
    assert x.VM.get_power_state(blocked) == "Halted"
    assert x.VM_appliance.get_current_operations(app) == {}
    x.VM_appliance.shutdown(app)
    assert x.VM.get_power_state(good) == "Halted"
    # a VM destroyed leaves its appliance
    x.VM.destroy(blocked)
    assert x.VM_appliance.get_VMs(app) == [good]
    x.VM.set_appliance(good, NULL)
    x.VM.destroy(good)
    x.VM_appliance.destroy(app)


def test_membership_refusals(x):
    app = x.VM_appliance.create({"name_label": "members", "name_description": ""})
    vm = new_vm(x, "member", 0)
    template = x.VM.create(vm_create_record("tmpl", is_a_template=True))
    assert details(x.VM.set_appliance, template, app) == [
        "OPERATION_NOT_ALLOWED",
        "Control domains, templates and snapshots cannot be assigned to appliances."]
    assert x.VM.get_appliance(template) == NULL
    x.VM.set_appliance(vm, app)
    assert details(x.VM.set_is_a_template, vm, True) == [
        "VM_IS_PART_OF_AN_APPLIANCE", vm, app]
    assert not x.VM.get_is_a_template(vm)
    assert details(x.VM.set_appliance, vm, "OpaqueRef:nope") == [
        "HANDLE_INVALID", "VM_appliance", "OpaqueRef:nope"]
    assert x.VM.get_appliance(vm) == app
    # VM.order cannot be negative (xapi's message)
    assert details(x.VM.set_order, vm, "-1") == [
        "INVALID_VALUE", "order must be non-negative", "-1"]
    x.VM.set_appliance(vm, NULL)
    x.VM.destroy(vm)
    x.VM.destroy(template)
    x.VM_appliance.destroy(app)


def test_recovery_needs_the_disks_srs(x, server):
    sr = x.pool.get_default_SR(x.pool.get_all()[0])
    vm = new_vm(x, "recoverable", 0)
    vdi, _ = add_disk(x, vm, sr, 16 * MiB)
    app = x.VM_appliance.create({"name_label": "dr", "name_description": ""})
    x.VM.set_appliance(vm, app)
    s2 = XenAPI.Session(server.url)
    s2.xenapi.login_with_password("root", server.password, "1.0", "pytest-dr")
    try:
        to = s2._session
        x.VM.assert_can_be_recovered(vm, to)
        x.VM_appliance.assert_can_be_recovered(app, to)
        assert x.VM.get_SRs_required_for_recovery(vm, to) == []
        assert x.VM_appliance.get_SRs_required_for_recovery(app, to) == []
        pbds = x.SR.get_PBDs(sr)
        for p in pbds:
            x.PBD.unplug(p)
        try:
            assert details(x.VM.assert_can_be_recovered, vm, to) == ["VM_REQUIRES_SR", vm, sr]
            assert details(x.VM_appliance.assert_can_be_recovered, app, to) == [
                "VM_REQUIRES_SR", vm, sr]
            assert x.VM.get_SRs_required_for_recovery(vm, to) == [sr]
            assert x.VM_appliance.get_SRs_required_for_recovery(app, to) == [sr]
        finally:
            for p in pbds:
                x.PBD.plug(p)
        assert details(x.VM.assert_can_be_recovered, vm, "OpaqueRef:gone") == [
            "HANDLE_INVALID", "session", "OpaqueRef:gone"]
    finally:
        s2.xenapi.session.logout()
    x.VM.set_appliance(vm, NULL)
    x.VM_appliance.destroy(app)
    x.VM.destroy(vm)
    x.VDI.destroy(vdi)
