"""A VM built from scratch through the official XenAPI Python SDK against the real server
process (sim backend): its whole life cycle, with event.from seeing every power state."""
from __future__ import annotations

import os
import subprocess
import time

import pytest
import XenAPI
from sdk import details
from serverproc import VENV_BIN, ServerProcess
from vm_records import vm_create_record

NULL = "OpaqueRef:NULL"
MiB = 1 << 20


@pytest.fixture
def x(server):
    s = XenAPI.Session(server.url)
    s.xenapi.login_with_password("root", server.password, "1.0", "pytest-vm")
    yield s.xenapi
    s.xenapi.session.logout()


def vm_record(name: str) -> dict:
    return vm_create_record(name, static_max_mib=512, vcpus=2, PV_args="console=hvc0")


class Watcher:
    """event.from on one VM: the power state its latest event reports."""

    def __init__(self, x, vm: str) -> None:
        self.x, self.vm = x, vm
        self.token = x.event_from([f"vm/{vm}"], "", 0.0)["token"]

    def expect(self, state: str) -> dict:
        for _ in range(20):
            got = self.x.event_from([f"vm/{self.vm}"], self.token, 5.0)
            self.token = got["token"]
            snaps = [e["snapshot"] for e in got["events"] if e["ref"] == self.vm]
            if snaps and snaps[-1]["power_state"] == state:
                return snaps[-1]
        pytest.fail(f"event.from never reported {state}")


def wait_task(x, task: str) -> str:
    while x.task.get_status(task) == "pending":
        time.sleep(0.05)
    return x.task.get_status(task)


def test_vm_life_cycle(x):
    host = x.host.get_all()[0]
    sr = x.pool.get_default_SR(x.pool.get_all()[0])
    vm = x.VM.create(vm_record("sdk-vm"))
    vdi = x.VDI.create({"SR": sr, "virtual_size": str(64 * MiB), "type": "user",
                        "sharable": False, "read_only": False, "other_config": {},
                        "name_label": "root", "name_description": ""})
    vbd = x.VBD.create({"VM": vm, "VDI": vdi, "userdevice": "0", "bootable": True,
                        "mode": "RW", "type": "Disk", "empty": False, "other_config": {},
                        "qos_algorithm_type": "", "qos_algorithm_params": {}})
    net = x.network.create({"name_label": "sdk-net", "name_description": "", "MTU": "1500",
                            "other_config": {}})
    vif = x.VIF.create({"device": "0", "network": net, "VM": vm, "MAC": "", "MTU": "1500",
                        "other_config": {}, "qos_algorithm_type": "",
                        "qos_algorithm_params": {}})
    w = Watcher(x, vm)

    task = x.Async.VM.start(vm, False, False)
    assert task.startswith("OpaqueRef:")
    assert wait_task(x, task) == "success"
    snap = w.expect("Running")
    assert snap["resident_on"] == host and int(snap["domid"]) > 0
    assert x.VBD.get_currently_attached(vbd) and x.VIF.get_currently_attached(vif)
    metrics = x.VM_metrics.get_record(x.VM.get_metrics(vm))
    assert metrics["VCPUs_number"] == "2" and metrics["memory_actual"] == str(256 * MiB)
    assert len(x.VM.get_consoles(vm)) == 1
    assert details(x.VM.start, vm, False, False) == \
        ["VM_BAD_POWER_STATE", vm, "halted", "running"]

    x.VM.pause(vm)
    w.expect("Paused")
    x.VM.unpause(vm)
    w.expect("Running")

    x.VM.suspend(vm)
    snap = w.expect("Suspended")
    assert snap["suspend_VDI"] != NULL
    assert x.VDI.get_type(snap["suspend_VDI"]) == "suspend"
    x.VM.resume(vm, False, False)
    snap = w.expect("Running")
    assert snap["suspend_VDI"] == NULL

    domid = x.VM.get_domid(vm)
    x.VM.clean_reboot(vm)
    assert x.VM.get_domid(vm) != domid and x.VM.get_power_state(vm) == "Running"

    x.VM.clean_shutdown(vm)
    snap = w.expect("Halted")
    assert snap["resident_on"] == NULL and snap["consoles"] == []
    assert not x.VBD.get_currently_attached(vbd)
    assert "start" in x.VM.get_allowed_operations(vm)

    x.VM.start(vm, False, False)
    w.expect("Running")
    assert details(x.VM.destroy, vm) == ["VM_BAD_POWER_STATE", vm, "halted,suspended",
                                         "running"]
    x.VM.hard_shutdown(vm)
    w.expect("Halted")

    metrics = x.VM.get_metrics(vm)
    x.VM.destroy(vm)
    assert details(x.VM.get_record, vm) == ["HANDLE_INVALID", "VM", vm]
    assert details(x.VBD.get_record, vbd) == ["HANDLE_INVALID", "VBD", vbd]
    assert details(x.VIF.get_record, vif) == ["HANDLE_INVALID", "VIF", vif]
    assert details(x.VM_metrics.get_record, metrics) == ["HANDLE_INVALID", "VM_metrics", metrics]
    assert x.VDI.get_record(vdi)["VBDs"] == []           # the disk stays


def test_task_failure_reports_precise_error(x):
    vm = x.VM.create(vm_record("bad-vm") | {"PV_kernel": ""})
    task = x.Async.VM.start(vm, False, False)
    assert wait_task(x, task) == "failure"
    assert x.task.get_error_info(task) == [
        "VALUE_NOT_SUPPORTED", "PV_kernel", "", "a PV VM needs PV_kernel or PV_bootloader"]
    assert x.VM.get_power_state(vm) == "Halted"
    x.VM.destroy(vm)


def xenlight(state: str, *args: str) -> str:
    """The binding's xl-like CLI on the simulated host the server uses (shared state file)."""
    env = {**os.environ, "XLSIM_STATE_FILE": state}
    return subprocess.run([os.path.join(VENV_BIN, "xenlight"), "--backend", "sim", *args],
                          env=env, check=True, capture_output=True, text=True).stdout


def test_restart_after_sigkill_resyncs(tmp_path, monkeypatch):
    state = str(tmp_path / "xlsim.state")
    monkeypatch.setenv("XLSIM_STATE_FILE", state)    # domains outlive the server process
    srv = ServerProcess(str(tmp_path)).start()
    try:
        x = XenAPI.Session(srv.url)
        x.xenapi.login_with_password("root", srv.password, "1.0", "pytest-vm")
        a = x.xenapi.VM.create(vm_record("keeps-running"))
        b = x.xenapi.VM.create(vm_record("domain-vanishes"))
        for vm in (a, b):
            x.xenapi.VM.start(vm, False, False)
        dom_a, dom_b = x.xenapi.VM.get_domid(a), x.xenapi.VM.get_domid(b)
        cfg = tmp_path / "stray.cfg"
        cfg.write_text('name = "stray"\nkernel = "/boot/vmlinuz"\nmemory = 64\n')
        xenlight(state, "create", str(cfg))           # a domain no VM knows
        srv.kill()
        xenlight(state, "destroy", dom_b)             # gone while the server was down

        srv.start()
        x = XenAPI.Session(srv.url)
        x.xenapi.login_with_password("root", srv.password, "1.0", "pytest-vm")
        ra, rb = x.xenapi.VM.get_record(a), x.xenapi.VM.get_record(b)
        assert ra["power_state"] == "Running" and ra["domid"] == dom_a
        assert ra["current_operations"] == {} and "clean_shutdown" in ra["allowed_operations"]
        assert rb["power_state"] == "Halted" and rb["resident_on"] == NULL
        msgs = [m for m in x.xenapi.message.get_all_records().values()
                if m["name"] == "UNKNOWN_DOMAIN"]
        assert len(msgs) == 1 and "no VM" in msgs[0]["body"]
        listing = xenlight(state, "list")
        assert "stray" in listing                     # reported, never destroyed
        x.xenapi.VM.clean_shutdown(a)
        assert x.xenapi.VM.get_power_state(a) == "Halted"
        x.xenapi.VM.start(b, False, False)            # and the halted one starts again
        assert x.xenapi.VM.get_power_state(b) == "Running"
        x.xenapi.VM.hard_shutdown(b)
    finally:
        srv.stop()
