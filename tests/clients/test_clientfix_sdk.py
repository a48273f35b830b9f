"""What real clients hit on one host (issue 10), through the real server process and the
official XenAPI SDK: template installs, optional parameters sent as their default, and the
messages clients call (Ansible's xenserver_guest, installers, xe)."""
from __future__ import annotations

import os
import time
import uuid

import pytest
import XenAPI
from sdk import details
from serverproc import ServerProcess
from vm_records import vm_create_record

NULL = "OpaqueRef:NULL"
MiB = 1 << 20


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    work = tmp_path_factory.mktemp("clientfix")
    state = str(work / "xlsim.state")
    plugins = work / "plugins"
    plugins.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XLSIM_STATE_FILE", state)
        with ServerProcess(str(work), extra=["--plugin-dir", str(plugins)]) as server:
            server.plugins = str(plugins)
            yield server


@pytest.fixture
def x(srv):
    s = XenAPI.Session(srv.url)
    s.xenapi.login_with_password("root", srv.password, "1.0", "pytest-clientfix")
    yield s.xenapi
    s.xenapi.session.logout()


def install(x, name: str, template: str = "Generic Linux PV") -> str:
    """What installers and Ansible's xenserver_guest do: clone, then provision."""
    t = x.VM.get_by_name_label(template)[0]
    vm = x.VM.clone(t, name)
    x.VM.provision(vm)
    return vm


def wait_task(x, task: str) -> str:
    for _ in range(600):
        if x.task.get_status(task) != "pending":
            break
        time.sleep(0.05)
    return x.task.get_status(task)


def test_provisioned_clone_is_a_vm_and_starts(x):
    vm = install(x, f"inst-{uuid.uuid4().hex[:6]}")
    rec = x.VM.get_record(vm)
    assert rec["is_a_template"] is False
    assert "start" in rec["allowed_operations"]
    assert details(x.VM.provision, vm) == ["PROVISION_ONLY_ALLOWED_ON_TEMPLATE"]
    x.VM.start(vm, False, False)
    try:
        assert x.VM.get_power_state(vm) == "Running"
    finally:
        x.VM.hard_shutdown(vm)


def new_vm(x, name: str | None = None, **kw) -> str:
    return x.VM.create(vm_create_record(name or f"cf-{uuid.uuid4().hex[:6]}", **kw))


def test_null_default_for_optional_ref(x):
    """VDI.introduce's metadata_of_pool and snapshot_of default to NULL in the reference:
    a client sending NULL gets the message, not HANDLE_INVALID."""
    sr = x.pool.get_default_SR(x.pool.get_all()[0])
    vdi = x.VDI.create({"SR": sr, "virtual_size": str(MiB), "type": "user", "sharable": False,
                        "read_only": False, "other_config": {}, "name_label": "orphan"})
    u, loc = x.VDI.get_uuid(vdi), x.VDI.get_location(vdi)
    x.VDI.forget(vdi)
    ref = x.VDI.introduce(u, "back", "again", sr, "user", False, False, {"k": "v"}, loc, {},
                          {}, True, "0", "0", NULL, False, "19700101T00:00:00Z", NULL)
    rec = x.VDI.get_record(ref)
    assert (rec["uuid"], rec["name_label"], rec["name_description"]) == (u, "back", "again")
    assert rec["location"] == loc and rec["virtual_size"] == str(MiB)
    assert rec["other_config"] == {"k": "v"} and rec["SR"] == sr
    assert ref in x.SR.get_VDIs(sr)
    # known already: its location is taken; no such image: missing
    assert details(x.VDI.introduce, u, "", "", sr, "user", False, False, {}, loc, {}, {},
                   True, "0", "0", NULL, False, "19700101T00:00:00Z", NULL) == [
        "LOCATION_NOT_UNIQUE", sr, loc]
    gone = str(uuid.uuid4())
    assert details(x.VDI.introduce, gone, "", "", sr, "user", False, False, {}, "nowhere",
                   {}, {}, True, "0", "0", NULL, False, "19700101T00:00:00Z", NULL) == [
        "VDI_LOCATION_MISSING", sr, "nowhere"]
    bogus = "OpaqueRef:5b1c9e2a-0000-4000-8000-000000000000"
    assert details(x.VDI.introduce, gone, "", "", sr, "user", False, False, {}, "nowhere",
                   {}, {}, True, "0", "0", NULL, False, "19700101T00:00:00Z", bogus) == [
        "HANDLE_INVALID", "VDI", bogus]
    x.VDI.destroy(ref)


def test_vdi_revert(srv, x):
    sr = x.pool.get_default_SR(x.pool.get_all()[0])
    vdi = x.VDI.create({"SR": sr, "virtual_size": str(2 * MiB), "type": "user",
                        "sharable": False, "read_only": False, "other_config": {},
                        "name_label": "d"})

    def path(v):
        pbd = x.SR.get_PBDs(sr)[0]
        return os.path.join(x.PBD.get_device_config(pbd)["path"],
                            x.VDI.get_location(v) + ".img")
    with open(path(vdi), "r+b") as fh:
        fh.write(b"before")
    snap = x.VDI.snapshot(vdi, {})
    with open(path(vdi), "r+b") as fh:
        fh.write(b"AFTER!")
    x.VDI.revert(snap)
    with open(path(vdi), "rb") as fh:
        assert fh.read(6) == b"before"
    assert x.VDI.get_virtual_size(vdi) == str(2 * MiB)
    assert details(x.VDI.revert, vdi)[0] == "UNIMPLEMENTED_IN_SM_BACKEND"
    x.VDI.destroy(snap)
    x.VDI.destroy(vdi)


def test_allowed_devices(x):
    vm = new_vm(x)
    assert x.VM.get_allowed_VBD_devices(vm) == [str(n) for n in range(255)]
    assert x.VM.get_allowed_VIF_devices(vm) == [str(n) for n in range(7)]
    sr = x.pool.get_default_SR(x.pool.get_all()[0])
    vdi = x.VDI.create({"SR": sr, "virtual_size": str(MiB), "type": "user", "sharable": False,
                        "read_only": False, "other_config": {}, "name_label": "d"})
    x.VBD.create({"VM": vm, "VDI": vdi, "userdevice": "1", "bootable": False, "mode": "RW",
                  "type": "Disk", "empty": False, "other_config": {},
                  "qos_algorithm_type": "", "qos_algorithm_params": {}})
    net = x.network.get_all()[0]
    x.VIF.create({"device": "0", "network": net, "VM": vm, "MAC": "", "MTU": "1500",
                  "other_config": {}, "qos_algorithm_type": "", "qos_algorithm_params": {}})
    assert "1" not in x.VM.get_allowed_VBD_devices(vm)
    assert x.VM.get_allowed_VBD_devices(vm)[:2] == ["0", "2"]
    assert x.VM.get_allowed_VIF_devices(vm) == ["1", "2", "3", "4", "5", "6"]
    x.VM.destroy(vm)
    x.VDI.destroy(vdi)


def test_operation_checks_and_setters(x):
    vm = new_vm(x)
    x.VM.assert_operation_valid(vm, "start")
    assert details(x.VM.assert_operation_valid, vm, "clean_shutdown") == [
        "VM_BAD_POWER_STATE", vm, "running", "halted"]
    assert details(x.VM.assert_operation_valid, vm, "flying") == [
        "INVALID_VALUE", "op", "flying"]
    x.VM.set_is_a_template(vm, True)
    assert details(x.VM.assert_operation_valid, vm, "start") == ["VM_IS_TEMPLATE", vm]
    x.VM.assert_operation_valid(vm, "clone")
    x.VM.set_is_a_template(vm, False)
    x.VM.add_to_blocked_operations(vm, "start", "maintenance")
    assert details(x.VM.assert_operation_valid, vm, "start") == [
        "OPERATION_BLOCKED", vm, "maintenance"]
    x.VM.remove_from_blocked_operations(vm, "start")
    x.VM.update_allowed_operations(vm)
    assert "start" in x.VM.get_allowed_operations(vm)

    x.VM.set_order(vm, "3")
    x.VM.set_start_delay(vm, "10")
    x.VM.set_shutdown_delay(vm, "20")
    rec = x.VM.get_record(vm)
    assert (rec["order"], rec["start_delay"], rec["shutdown_delay"]) == ("3", "10", "20")
    assert details(x.VM.set_order, vm, "-1") == [
        "INVALID_VALUE", "order must be non-negative", "-1"]
    assert details(x.VM.set_start_delay, vm, "-2") == [
        "INVALID_VALUE", "start_delay must be non-negative", "-2"]
    assert details(x.VM.set_shutdown_delay, vm, "-3") == [
        "INVALID_VALUE", "shutdown_delay must be non-negative", "-3"]
    x.VM.set_actions_after_crash(vm, "coredump_and_restart")
    assert x.VM.get_actions_after_crash(vm) == "coredump_and_restart"
    assert details(x.VM.set_actions_after_crash, vm, "explode") == [
        "INVALID_VALUE", "value", "explode"]
    sr = x.pool.get_default_SR(x.pool.get_all()[0])
    vdi = x.VDI.create({"SR": sr, "virtual_size": str(MiB), "type": "suspend",
                        "sharable": False, "read_only": False, "other_config": {},
                        "name_label": "img"})
    assert details(x.VM.set_suspend_VDI, vm, vdi) == [
        "VM_BAD_POWER_STATE", vm, "suspended", "halted"]

    host = x.host.get_all()[0]
    x.VM.copy_bios_strings(vm, host)
    assert x.VM.get_bios_strings(vm) == x.host.get_bios_strings(host)
    assert x.VM.get_affinity(vm) == host
    x.VM.set_bios_strings(vm, {"bios-vendor": "Acme"})
    assert details(x.VM.copy_bios_strings, vm, host) == ["VM_BIOS_STRINGS_ALREADY_SET"]
    x.VM.destroy(vm)
    x.VDI.destroy(vdi)


def test_memory_arithmetic(x):
    vm = new_vm(x, static_max_mib=1024, memory_mib=512, vcpus=2)
    over = int(x.VM.compute_memory_overhead(vm))
    # PV: 1 MiB + shadow ceil((256*2 + 2*1024) / 256) = 10 MiB
    assert over == 11 * MiB
    total = 2048 * MiB

    def overhead(smax_mib: int, vcpus: int) -> int:     # xapi's PV memory model, in MiB
        return 1 + max(1, -(-(256 * vcpus + 2 * smax_mib) // 256))

    def largest(vcpus: int) -> int:
        return max(m for m in range(2049) if m + overhead(m, vcpus) <= 2048) * MiB
    assert int(x.VM.maximise_memory(vm, str(total), False)) == largest(2) == 2029 * MiB
    # approximate: as if the VM had 64 vCPUs
    assert int(x.VM.maximise_memory(vm, str(total), True)) == largest(64)
    assert int(x.VM.maximise_memory(vm, "0", False)) == 0
    host = x.host.get_all()[0]
    free = int(x.host.compute_free_memory(host))
    assert 0 < free <= int(x.host_metrics.get_memory_total(x.host.get_metrics(host)))
    assert x.host.compute_memory_overhead(host) == x.host.get_memory_overhead(host)
    x.VM.destroy(vm)


def test_power_state_reset_and_sysrq(x):
    vm = new_vm(x)
    assert details(x.VM.send_sysrq, vm, "b") == ["VM_BAD_POWER_STATE", vm, "running",
                                                  "halted"]
    assert details(x.VM.send_trigger, vm, "nmi") == ["VM_BAD_POWER_STATE", vm, "running",
                                                      "halted"]
    x.VM.start(vm, False, False)
    domid = x.VM.get_domid(vm)
    # xapi checks the state, then has no implementation of either
    assert details(x.VM.send_sysrq, vm, "b") == ["NOT_IMPLEMENTED", "send_sysrq"]
    assert details(x.VM.send_trigger, vm, "nmi") == ["NOT_IMPLEMENTED", "send_trigger"]
    assert details(x.VM.power_state_reset, vm) == ["DOMAIN_EXISTS", vm, domid]
    dom0 = [r for r, v in x.VM.get_all_records().items() if v["is_control_domain"]][0]
    assert details(x.VM.power_state_reset, dom0) == ["CANNOT_RESET_CONTROL_DOMAIN", dom0]
    x.VM.hard_shutdown(vm)
    x.VM.power_state_reset(vm)                      # halted: nothing to do
    assert x.VM.get_power_state(vm) == "Halted"
    x.VM.destroy(vm)


def test_management_interface(x):
    host = x.host.get_all()[0]
    pif = x.host.get_management_interface(host)
    assert x.PIF.get_management(pif) is True and x.PIF.get_host(pif) == host


PLUGIN_SRC = r'''#!/usr/bin/env python3
import sys, xmlrpc.client
params, fn = xmlrpc.client.loads(sys.argv[1])
session, args = params
if fn == "echo":
    print(xmlrpc.client.dumps((args.get("say", "") + "|" + session[:10],),
                              methodresponse=True))
elif fn == "fail":
    print(xmlrpc.client.dumps(({"Status": "Failure",
                                "ErrorDescription": ["MY_ERROR", "a", "b"]},),
                              methodresponse=True))
elif fn == "fault":
    print(xmlrpc.client.dumps(xmlrpc.client.Fault(42, "no such fn"), methodresponse=True))
elif fn == "crash":
    sys.stdout.write("partial")
    sys.stderr.write("boom")
    sys.exit(3)
else:
    print("not xml")
'''


def test_call_plugin(srv, x):
    path = os.path.join(srv.plugins, "demo")
    with open(path, "w") as fh:
        fh.write(PLUGIN_SRC)
    os.chmod(path, 0o755)
    host = x.host.get_all()[0]
    assert x.host.call_plugin(host, "demo", "echo", {"say": "hi"}) == "hi|OpaqueRef:"
    assert details(x.host.call_plugin, host, "demo", "fail", {}) == ["MY_ERROR", "a", "b"]
    assert details(x.host.call_plugin, host, "demo", "fault", {}) == [
        "XENAPI_PLUGIN_FAILURE", "fault", "42", "no such fn"]
    assert details(x.host.call_plugin, host, "demo", "crash", {}) == [
        "XENAPI_PLUGIN_FAILURE", "non-zero exit", "partial", "boom"]
    d = details(x.host.call_plugin, host, "demo", "other", {})
    assert d[:3] == ["XENAPI_PLUGIN_FAILURE", "failed to parse plugin output", "not xml\n"]
    assert details(x.host.call_plugin, host, "missing", "echo", {}) == [
        "XENAPI_MISSING_PLUGIN", "missing"]
    assert details(x.host.call_plugin, host, "../demo", "echo", {}) == [
        "XENAPI_MISSING_PLUGIN", "../demo"]
    task = x.Async.host.call_plugin(host, "demo", "echo", {"say": "async"})
    assert wait_task(x, task) == "success"
    assert "async|" in x.task.get_result(task)


def test_get_all_records_where(x):
    a = new_vm(x, "where-a")
    b = new_vm(x, "where-b")
    x.VM.start(b, False, False)
    try:
        running = x.VM.get_all_records_where('field "power_state"="Running" and '
                                             'field "is_control_domain"="false"')
        assert b in running and a not in running
        assert running[b]["name_label"] == "where-b"
        got = x.VM.get_all_records_where('field "name__label" = "where-a" or '
                                         '(field "name__label"="where-b" and false)')
        assert list(got) == [a]
        assert set(x.VM.get_all_records_where('not field "power_state" = "Halted"')) >= {b}
        assert x.VM.get_all_records_where('field "name__label"<>"where-a" and '
                                          'field "name__label"="where-a"') == {}
        assert a in x.VM.get_all_records_where("true")
        assert x.VM.get_all_records_where("false") == {}
        assert details(x.VM.get_all_records_where, 'field "power_state"') == [
            "INVALID_VALUE", 'field "power_state"', "Stdlib.Parsing.Parse_error"]
        assert details(x.VM.get_all_records_where, "power_state = Running") == [
            "INVALID_VALUE", "power_state = Running", 'Failure("lexing: empty token")']
        assert details(x.VM.get_all_records_where, 'field "nope"="1"') == [
            "INTERNAL_ERROR", "missing field", "nope", ""]
        # every class has it
        sr = x.pool.get_default_SR(x.pool.get_all()[0])
        u = x.SR.get_uuid(sr)
        assert list(x.SR.get_all_records_where(f'field "uuid"="{u}"')) == [sr]
        host = x.host.get_all()[0]
        assert list(x.PIF.get_all_records_where('field "management"="true"')) == [
            x.host.get_management_interface(host)]
        vm_uuid = x.VM.get_uuid(a)
        x.message.create("TEST_ALERT", "3", "VM", vm_uuid, "hello")
        msgs = x.message.get_all_records_where(f'field "obj_uuid"="{vm_uuid}"')
        assert [m["name"] for m in msgs.values()] == ["TEST_ALERT"]
    finally:
        x.VM.hard_shutdown(b)
        x.VM.destroy(a)
        x.VM.destroy(b)


def test_domain_types(x):
    """xapi derives domain_type from HVM_boot_policy when a client leaves it unspecified; the
    metrics name the running domain's type; the built-in templates say what they boot."""
    from xenapi_impl.api.templates import template_uuid
    assert x.VM.get_domain_type(x.VM.get_by_uuid(template_uuid("Generic Linux PV"))) == "pv"
    assert x.VM.get_domain_type(x.VM.get_by_uuid(template_uuid("Debian Bookworm 12"))) == "pv"
    assert x.VM.get_domain_type(x.VM.get_by_uuid(template_uuid("Other install media"))) \
        == "hvm"
    hvm = new_vm(x, HVM_boot_policy="BIOS order", PV_kernel="")
    assert x.VM.get_domain_type(hvm) == "hvm"
    x.VM.destroy(hvm)
    vm = new_vm(x)
    assert x.VM.get_domain_type(vm) == "pv"
    metrics = x.VM.get_metrics(vm)
    assert x.VM_metrics.get_current_domain_type(metrics) == "unspecified"
    x.VM.start(vm, False, False)
    try:
        assert x.VM_metrics.get_current_domain_type(metrics) == "pv"
        assert x.VM_metrics.get_record(metrics)["current_domain_type"] == "pv"
    finally:
        x.VM.hard_shutdown(vm)
    assert x.VM_metrics.get_current_domain_type(metrics) == "unspecified"
    # a clone of a template (the installers' way) keeps the type
    clone = install(x, "typed")
    assert x.VM.get_domain_type(clone) == "pv"
    x.VM.destroy(clone)


def test_pygrub_without_boot_disk_is_refused(x):
    """Real Xen's libxl (4.17) runs a PV guest's bootloader on its first disk and fails the
    create without one; the simulator refuses the same: the VM stays Halted."""
    vm = new_vm(x, PV_bootloader="pygrub", PV_kernel="")
    d = details(x.VM.start, vm, False, False)
    assert d[0] == "INTERNAL_ERROR" and "cannot run bootloader with no boot disk" in d[1], d
    rec = x.VM.get_record(vm)
    assert rec["power_state"] == "Halted" and rec["domid"] == "-1"
    assert rec["guest_metrics"] == NULL
    # an empty CD drive is no boot disk either
    x.VBD.create({"VM": vm, "VDI": NULL, "userdevice": "3", "bootable": False, "mode": "RO",
                  "type": "CD", "empty": True, "other_config": {},
                  "qos_algorithm_type": "", "qos_algorithm_params": {}})
    d = details(x.VM.start, vm, False, False)
    assert d[0] == "INTERNAL_ERROR" and "in_disk->pdev_path" in d[1], d
    assert x.VM.get_power_state(vm) == "Halted"
    x.VM.destroy(vm)
    # with its provisioned disk, the Debian template's clone (pygrub) starts
    inst = install(x, "pygrub-ok", "Debian Bookworm 12")
    x.VM.start(inst, False, False)
    assert x.VM.get_power_state(inst) == "Running"
    x.VM.hard_shutdown(inst)
    x.VM.destroy(inst)


def test_host_evacuate_with_default_network(x):
    """host.evacuate(host, NULL, 0), as clients send the defaults: no HANDLE_INVALID; with
    nothing running it is done, a running VM has no other host to go to (xapi's plan)."""
    host = x.host.get_all()[0]
    x.host.evacuate(host, NULL, "0")
    x.host.assert_can_evacuate(host)
    assert x.host.get_vms_which_prevent_evacuation(host) == {}
    bogus = "OpaqueRef:5b1c9e2a-0000-4000-8000-000000000000"
    assert details(x.host.evacuate, host, bogus, "0") == ["HANDLE_INVALID", "network", bogus]
    vm = new_vm(x)
    x.VM.start(vm, False, False)
    try:
        assert details(x.host.evacuate, host, NULL, "0") == [
            "HOST_NOT_ENOUGH_FREE_MEMORY", vm]
        assert details(x.host.assert_can_evacuate, host) == [
            "CANNOT_EVACUATE_HOST", f"HOST_NOT_ENOUGH_FREE_MEMORY,{vm}"]
        assert x.host.get_vms_which_prevent_evacuation(host) == {
            vm: ["HOST_NOT_ENOUGH_FREE_MEMORY", vm]}
        assert x.VM.get_power_state(vm) == "Running"
    finally:
        x.VM.hard_shutdown(vm)
        x.VM.destroy(vm)


def test_suspended_vm_suspend_vdi_and_reset(x):
    """A suspended VM's image may be replaced (set_suspend_VDI); power_state_reset records a
    suspended VM Halted and drops its image, as a hard shutdown would."""
    vm = new_vm(x)
    x.VM.start(vm, False, False)
    x.VM.suspend(vm)
    image = x.VM.get_suspend_VDI(vm)
    assert image != NULL
    x.VM.set_suspend_VDI(vm, image)                 # the same image: accepted
    assert x.VM.get_suspend_VDI(vm) == image
    x.VM.power_state_reset(vm)
    rec = x.VM.get_record(vm)
    assert rec["power_state"] == "Halted" and rec["suspend_VDI"] == NULL
    assert image not in x.VDI.get_all()
    assert "start" in rec["allowed_operations"]
    x.VM.start(vm, False, False)                    # and it starts afresh
    x.VM.hard_shutdown(vm)
    x.VM.destroy(vm)
