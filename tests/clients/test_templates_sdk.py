"""Templates, VM copies and live changes through the official XenAPI Python SDK against the
real server process (sim backend; the simulated host's state file is shared with the
binding's `xenlight` CLI, so the tests read the domains the server made)."""
from __future__ import annotations

import os
import subprocess
import time

import pytest
import XenAPI
from sdk import details
from serverproc import VENV_BIN, ServerProcess

from xenapi_impl.api.templates import BUILTIN, template_uuid

NULL = "OpaqueRef:NULL"
MiB = 1 << 20


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    work = tmp_path_factory.mktemp("tpl")
    state = str(work / "xlsim.state")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XLSIM_STATE_FILE", state)
        with ServerProcess(str(work)) as server:
            server.state = state
            yield server


@pytest.fixture
def x(srv):
    s = XenAPI.Session(srv.url)
    s.xenapi.login_with_password("root", srv.password, "1.0", "pytest-templates")
    yield s.xenapi
    s.xenapi.session.logout()


def xenlight(srv, *args: str) -> str:
    env = {**os.environ, "XLSIM_STATE_FILE": srv.state}
    return subprocess.run([os.path.join(VENV_BIN, "xenlight"), "--backend", "sim", *args],
                          env=env, check=True, capture_output=True, text=True).stdout


def domain_row(srv, domid: str) -> list[str]:
    """`xenlight list` columns (name, id, mem MiB, vCPUs online, state, time) of a domain."""
    for line in xenlight(srv, "list").splitlines()[1:]:
        cols = line.split()
        if cols[1] == str(domid):
            return cols
    raise AssertionError(f"domain {domid} not listed")


def image(x, vdi: str) -> str:
    rec = x.VDI.get_record(vdi)
    pbd = x.SR.get_PBDs(rec["SR"])[0]
    return os.path.join(x.PBD.get_device_config(pbd)["path"], rec["location"] + ".img")


def disks(x, vm: str) -> list[str]:
    return [x.VBD.get_VDI(b) for b in x.VM.get_VBDs(vm) if x.VBD.get_type(b) == "Disk"]


def write(x, vdi: str, data: bytes) -> None:
    with open(image(x, vdi), "r+b") as fh:
        fh.seek(MiB)
        fh.write(data)


def read(x, vdi: str, n: int) -> bytes:
    with open(image(x, vdi), "rb") as fh:
        fh.seek(MiB)
        return fh.read(n)


def install(x, name: str, template: str = "Generic Linux PV") -> str:
    """What `xe vm-install` does: clone the template, provision its disks, make it a VM."""
    t = x.VM.get_by_name_label(template)[0]
    vm = x.VM.clone(t, name)
    x.VM.provision(vm)
    x.VM.set_is_a_template(vm, False)
    return vm


def test_templates_listed(x):
    tpl = {r["name_label"]: r for r in x.VM.get_all_records().values()
           if r["is_a_template"] and not r["is_a_snapshot"]}
    assert set(BUILTIN) <= set(tpl)
    for name in BUILTIN:
        r = tpl[name]
        assert r["uuid"] == template_uuid(name) and r["is_default_template"] is True
        assert r["other_config"]["default_template"] == "true"
        assert "provision" in r["allowed_operations"]
    t = x.VM.get_by_uuid(template_uuid("Other install media"))
    assert details(x.VM.start, t, False, False) == ["VM_IS_TEMPLATE", t]


def test_install_start_and_live_changes(srv, x):
    vm = install(x, "sdk-web")
    [vdi] = disks(x, vm)
    assert os.path.exists(image(x, vdi))
    assert x.VDI.get_virtual_size(vdi) == str(BUILTIN["Generic Linux PV"][5])
    x.VM.set_VCPUs_max(vm, "4")
    x.VM.set_VCPUs_at_startup(vm, "2")
    x.VM.set_memory_limits(vm, str(128 * MiB), str(512 * MiB), str(256 * MiB),
                           str(512 * MiB))
    task = x.Async.VM.start(vm, False, False)
    for _ in range(600):
        if x.task.get_status(task) != "pending":
            break
        time.sleep(0.05)
    assert x.task.get_status(task) == "success"
    domid = x.VM.get_domid(vm)
    assert domain_row(srv, domid)[3] == "2"
    assert details(x.VM.set_is_a_template, vm, True) == [
        "VM_BAD_POWER_STATE", vm, "halted", "running"]

    x.VM.set_VCPUs_number_live(vm, "3")
    assert domain_row(srv, domid)[3] == "3"
    assert x.VM.get_VCPUs_at_startup(vm) == "3"
    assert x.VM_metrics.get_VCPUs_number(x.VM.get_metrics(vm)) == "3"
    x.VM.set_memory_dynamic_range(vm, str(256 * MiB), str(384 * MiB))
    assert x.VM.get_memory_target(vm) == str(384 * MiB)
    assert details(x.VM.set_memory_dynamic_range, vm, str(64 * MiB), str(384 * MiB)) == [
        "MEMORY_CONSTRAINT_VIOLATION", "Memory limits must satisfy: static_min <= "
        "dynamic_min <= dynamic_max <= static_max"]
    assert details(x.VM.set_VCPUs_max, vm, "8") == [
        "VM_BAD_POWER_STATE", vm, "halted", "running"]
    x.VM.add_to_VCPUs_params_live(vm, "mask", "0,1")
    vcpus = [line for line in xenlight(srv, "vcpu-list").splitlines()
             if line.split()[1:2] == [domid]]
    assert len(vcpus) == 4 and all("0-1 /" in line for line in vcpus)
    x.VM.hard_shutdown(vm)


def test_copy_snapshot_revert(srv, x):
    vm = install(x, "sdk-data")
    [vdi] = disks(x, vm)
    write(x, vdi, b"original")
    cp = x.VM.copy(vm, "sdk-data-copy", NULL)
    [cvdi] = disks(x, cp)
    assert cvdi != vdi and read(x, cvdi, 8) == b"original"
    cl = x.VM.clone(vm, "sdk-data-clone")
    [clvdi] = disks(x, cl)
    assert read(x, clvdi, 8) == b"original"

    x.VM.start(vm, False, False)
    snap = x.VM.snapshot(vm, "before-change", [])
    srec = x.VM.get_record(snap)
    assert srec["is_a_snapshot"] is True and srec["snapshot_of"] == vm
    assert x.VM.get_snapshots(vm) == [snap]
    x.VM.hard_shutdown(vm)
    write(x, vdi, b"modified")
    x.VM.revert(snap)
    [now] = disks(x, vm)
    assert read(x, now, 8) == b"original"
    assert read(x, cvdi, 8) == b"original"        # the copy never shared the disk
    x.VM.start(vm, False, False)
    assert x.VM.get_power_state(vm) == "Running"
    assert details(x.VM.revert, snap) == ["VM_BAD_POWER_STATE", vm, "halted", "running"]
    x.VM.hard_shutdown(vm)
