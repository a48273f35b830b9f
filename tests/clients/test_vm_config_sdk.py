"""VM configuration messages that change more than their field (api/vm_config.py), through the
official SDK against a real server (sim backend), with xapi's refusals; VM_group membership."""
from __future__ import annotations

import stat

import pytest
from sdk import add_disk, details, logged_in
from serverproc import ServerProcess
from vm_records import vm_create_record

NULL = "OpaqueRef:NULL"
MiB = 1 << 20

PLUGIN = r'''#!/usr/bin/env python3
import sys, xmlrpc.client
params, fn = xmlrpc.client.loads(sys.argv[1])
print(xmlrpc.client.dumps((fn + ":" + params[1].get("x", ""),), methodresponse=True))
'''


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    work = tmp_path_factory.mktemp("vmconfig")
    plugins = work / "plugins"
    plugins.mkdir()
    path = plugins / "echo"
    path.write_text(PLUGIN)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    with ServerProcess(str(work), extra=["--plugin-dir", str(plugins)]) as server:
        yield server


@pytest.fixture
def x(srv):
    with logged_in(srv, "pytest-vm-config") as api:
        yield api


@pytest.fixture
def vm(x):
    ref = x.VM.create(vm_create_record("config", memory_mib=64, static_min_mib=32))
    yield ref
    if x.VM.get_power_state(ref) != "Halted":
        x.VM.hard_shutdown(ref)
    x.VM.destroy(ref)


def test_boot_policy_and_domain_type_follow_each_other(x, vm):
    assert x.VM.get_domain_type(vm) == "pv"
    x.VM.set_HVM_boot_policy(vm, "BIOS order")
    assert (x.VM.get_HVM_boot_policy(vm), x.VM.get_domain_type(vm)) == ("BIOS order", "hvm")
    x.VM.set_domain_type(vm, "pvh")
    assert (x.VM.get_HVM_boot_policy(vm), x.VM.get_domain_type(vm)) == ("", "pvh")
    x.VM.set_domain_type(vm, "hvm")
    assert (x.VM.get_HVM_boot_policy(vm), x.VM.get_domain_type(vm)) == ("BIOS order", "hvm")
    assert details(x.VM.set_domain_type, vm, "unspecified") == [
        "INVALID_VALUE", "domain_type", "unspecified"]
    x.VM.set_HVM_boot_policy(vm, "")
    assert x.VM.get_domain_type(vm) == "pv"


def test_shadow_multiplier_and_vendor_device(x, vm):
    before = int(x.VM.get_memory_overhead(vm))
    x.VM.set_HVM_shadow_multiplier(vm, 4.0)
    assert x.VM.get_HVM_shadow_multiplier(vm) == 4.0
    assert int(x.VM.get_memory_overhead(vm)) > before
    assert int(x.VM.get_memory_overhead(vm)) == int(x.VM.compute_memory_overhead(vm))
    assert details(x.VM.wait_memory_target_live, vm) == [
        "VM_BAD_POWER_STATE", vm, "running", "halted"]
    assert details(x.VM.set_HVM_shadow_multiplier, vm, 0.5) == [
        "INVALID_VALUE", "multiplier", "0.5"]
    assert x.VM.get_HVM_shadow_multiplier(vm) == 4.0
    x.VM.set_has_vendor_device(vm, True)
    assert x.VM.get_has_vendor_device(vm) is True
    assert x.VM.get_hardware_platform_version(vm) == "2"
    x.VM.start(vm, False, False)
    assert details(x.VM.set_HVM_shadow_multiplier, vm, 2.0) == [
        "VM_BAD_POWER_STATE", vm, "halted", "running"]
    assert details(x.VM.set_has_vendor_device, vm, False) == [
        "VM_BAD_POWER_STATE", vm, "halted", "running"]
    assert x.VM.get_has_vendor_device(vm) is True
    # deprecated: accepted, changes nothing (the target follows the dynamic range)
    x.VM.set_memory_target_live(vm, str(32 * MiB))
    assert x.VM.get_memory_target(vm) == str(64 * MiB)
    x.VM.wait_memory_target_live(vm)
    metrics = x.VM.get_metrics(vm)
    assert abs(int(x.VM_metrics.get_memory_actual(metrics)) - 64 * MiB) <= MiB


def test_ha_restart_priority(x, vm):
    assert details(x.VM.set_ha_restart_priority, vm, "always") == [
        "INVALID_VALUE", "ha_restart_priority", "always"]
    x.VM.set_ha_restart_priority(vm, "restart")
    # a halted VM is not protected until it runs
    assert (x.VM.get_ha_restart_priority(vm), x.VM.get_ha_always_run(vm)) == ("restart", False)
    x.VM.set_ha_restart_priority(vm, "")
    x.VM.start(vm, False, False)
    x.VM.set_ha_always_run(vm, True)
    assert (x.VM.get_ha_restart_priority(vm), x.VM.get_ha_always_run(vm)) == ("restart", True)
    x.VM.set_ha_restart_priority(vm, "best-effort")
    assert (x.VM.get_ha_restart_priority(vm), x.VM.get_ha_always_run(vm)) == (
        "best-effort", False)
    x.VM.set_ha_always_run(vm, False)
    assert x.VM.get_ha_restart_priority(vm) == ""


def test_assert_agile_needs_shared_storage_and_networks(x, vm):
    x.VM.assert_agile(vm)                       # nothing attached: runs anywhere
    sr = x.pool.get_default_SR(x.pool.get_all()[0])
    vdi, vbd = add_disk(x, vm, sr, 16 * MiB)
    try:
        if x.SR.get_shared(sr):
            x.VM.assert_agile(vm)
        else:
            assert details(x.VM.assert_agile, vm) == [
                "HA_CONSTRAINT_VIOLATION_SR_NOT_SHARED", sr]
    finally:
        x.VBD.destroy(vbd)
        x.VDI.destroy(vdi)
    internal = x.network.create({"name_label": "internal", "name_description": "",
                                 "MTU": "1500", "other_config": {}})
    vif = x.VIF.create({"device": "0", "network": internal, "VM": vm, "MAC": "",
                        "MTU": "1500", "other_config": {}, "qos_algorithm_type": "",
                        "qos_algorithm_params": {}})
    assert details(x.VM.assert_agile, vm) == [
        "HA_CONSTRAINT_VIOLATION_NETWORK_NOT_SHARED", internal]
    x.VIF.destroy(vif)
    physical = next(n for n in x.network.get_all() if x.network.get_PIFs(n))
    vif = x.VIF.create({"device": "0", "network": physical, "VM": vm, "MAC": "",
                        "MTU": "1500", "other_config": {}, "qos_algorithm_type": "",
                        "qos_algorithm_params": {}})
    x.VM.assert_agile(vm)
    x.VIF.destroy(vif)
    x.network.destroy(internal)


def test_deprecated_and_removed(x, vm):
    rec = x.VM.get_boot_record(vm)
    assert rec["uuid"] == x.VM.get_uuid(vm) and rec["name_label"] == "config"
    assert x.VM.get_cooperative(vm) is True
    assert details(x.VM.snapshot_with_quiesce, vm, "q") == ["MESSAGE_REMOVED"]
    assert details(x.VM.query_services, vm) == ["NOT_IMPLEMENTED", "query_services"]


def test_secureboot_certificates_mark(x, vm):
    assert x.VM.get_secureboot_certificates_state(vm) == "ok"
    assert details(x.VM.update_secureboot_certificates_on_boot, vm, True) == [
        "OPERATION_NOT_ALLOWED",
        "Cannot set update_on_boot: VM.secureboot_certificates_state is not in a valid state"]
    assert x.VM.get_secureboot_certificates_state(vm) == "ok"


def test_call_host_plugin_runs_on_the_vms_host(x, vm):
    assert x.VM.call_host_plugin(vm, "echo", "hello", {"x": "halted"}) == "hello:halted"
    x.VM.start(vm, False, False)
    assert x.VM.call_host_plugin(vm, "echo", "hello", {"x": "running"}) == "hello:running"
    assert details(x.VM.call_host_plugin, vm, "nope", "f", {}) == [
        "XENAPI_MISSING_PLUGIN", "nope"]


def test_vm_groups(x, vm):
    g1 = x.VM_group.create({"name_label": "spread", "name_description": "",
                            "placement": "anti_affinity"})
    g2 = x.VM_group.create({"name_label": "other", "name_description": ""})
    assert x.VM_group.get_placement(g2) == "normal"
    x.VM.set_groups(vm, [g1])
    assert x.VM.get_groups(vm) == [g1] and x.VM_group.get_VMs(g1) == [vm]
    assert details(x.VM.set_groups, vm, [g1, g2]) == ["TOO_MANY_GROUPS"]
    assert x.VM.get_groups(vm) == [g1]
    x.VM.set_groups(vm, [g2])
    assert x.VM_group.get_VMs(g1) == [] and x.VM_group.get_VMs(g2) == [vm]
    template = x.VM.create(vm_create_record("tmpl", is_a_template=True))
    assert details(x.VM.set_groups, template, [g1]) == [
        "OPERATION_NOT_ALLOWED",
        "Control domains, templates, and snapshots cannot be added to VM groups."]
    x.VM.destroy(template)
    x.VM_group.destroy(g2)
    assert x.VM.get_groups(vm) == []
    x.VM.set_groups(vm, [g1])
    other = x.VM.create(vm_create_record("grouped", memory_mib=64, static_min_mib=32))
    x.VM.set_groups(other, [g1])
    x.VM.destroy(other)                         # a destroyed VM leaves its group
    assert x.VM_group.get_VMs(g1) == [vm]
    x.VM.set_groups(vm, [])
    x.VM_group.destroy(g1)
