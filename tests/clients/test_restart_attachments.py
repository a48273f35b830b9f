"""A restart never strands a disk: after SIGTERM, SIGKILL, or a SIGKILL in the middle of 50
concurrent starts, the SRs' attachment records say exactly what the hypervisor's domains
hold, so every VM that is halted can start again (the real server process, the simulated
host's state shared across restarts, the official SDK)."""
from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import XenAPI
from serverproc import VENV_BIN, ServerProcess

TEMPLATE = "Debian Bookworm 12"


def login(srv: ServerProcess):
    s = XenAPI.Session(srv.url)
    s.xenapi.login_with_password("root", srv.password, "1.0", "pytest-restart")
    return s.xenapi


def install(x, name: str) -> str:
    """As installers do: clone the template, provision its disk, make it a VM."""
    tpl = x.VM.get_by_name_label(TEMPLATE)[0]
    vm = x.VM.clone(tpl, name)
    x.VM.provision(vm)
    x.VM.set_is_a_template(vm, False)
    return vm


def attach_records(srv: ServerProcess) -> set[str]:
    """VDI uuids the default file SR records as attached (its `.attach/` directory)."""
    path = os.path.join(srv.db + ".sr", "local", ".attach")
    return {n for n in os.listdir(path) if not n.startswith(".")} if os.path.isdir(path) else set()


def disk_uuids(x, vm: str) -> set[str]:
    return {x.VDI.get_uuid(x.VBD.get_VDI(b)) for b in x.VM.get_VBDs(vm)
            if not x.VBD.get_empty(b)}


def domains(state: str) -> dict[str, int]:
    """Domain name -> count on the simulated host (the server names domains after VM uuids)."""
    out = subprocess.run([os.path.join(VENV_BIN, "xenlight"), "--backend", "sim", "list"],
                         env={**os.environ, "XLSIM_STATE_FILE": state}, check=True,
                         capture_output=True, text=True).stdout
    names: dict[str, int] = {}
    for line in out.splitlines()[1:]:
        name = line.split()[0]
        names[name] = names.get(name, 0) + 1
    return names


def wait_tasks(x, tasks: list[str], limit: float = 120) -> dict[str, str]:
    deadline = time.monotonic() + limit
    status = {}
    for t in tasks:
        while (s := x.task.get_status(t)) == "pending" and time.monotonic() < deadline:
            time.sleep(0.05)
        status[t] = s
    return status


@pytest.fixture
def host(tmp_path, monkeypatch):
    state = str(tmp_path / "xlsim.state")
    monkeypatch.setenv("XLSIM_STATE_FILE", state)       # domains outlive the server process
    srv = ServerProcess(str(tmp_path))
    srv.state = state
    yield srv
    if srv.proc is not None and srv.proc.poll() is None:
        srv.stop()


def restart(srv: ServerProcess, sig: int) -> None:
    assert srv.proc is not None
    srv.proc.send_signal(sig)
    srv.proc.wait(30)
    srv.start()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_running_vm_keeps_its_disk_and_starts_again_after_a_restart(host, sig):
    srv = host.start()
    x = login(srv)
    vm = install(x, "web01")
    other = install(x, "halted-one")          # never started: holds nothing
    x.VM.start(vm, False, False)
    domid = x.VM.get_domid(vm)
    disks = disk_uuids(x, vm)
    assert disks and attach_records(srv) == disks

    restart(srv, sig)
    assert "cannot be attached again" not in srv.log()
    x = login(srv)
    rec = x.VM.get_record(vm)
    assert rec["power_state"] == "Running" and rec["domid"] == domid
    assert all(x.VBD.get_currently_attached(b) for b in rec["VBDs"])
    assert attach_records(srv) == disks          # held once, by the running domain

    x.VM.clean_shutdown(vm)
    assert attach_records(srv) == set()
    for v in (vm, other):                        # both start again, and stop cleanly
        x.VM.start(v, False, False)
        assert x.VM.get_power_state(v) == "Running"
    assert attach_records(srv) == disks | disk_uuids(x, other)

    restart(srv, sig)                            # a second restart finds it all in order
    x = login(srv)
    assert "resync: released" not in srv.log() and "resync: reattached" not in srv.log()
    for v in (vm, other):
        x.VM.hard_shutdown(v)
        x.VM.start(v, False, False)
        x.VM.hard_shutdown(v)
    assert attach_records(srv) == set()


def test_stale_attachment_of_a_halted_vm_is_released(host):
    """What the previous process left behind (a crash between attach and the domain) is
    released, whatever record it left: the VM starts."""
    srv = host.start()
    x = login(srv)
    vm = install(x, "orphan")
    (vdi,) = disk_uuids(x, vm)
    srv.kill()
    path = os.path.join(srv.db + ".sr", "local", ".attach")
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, vdi), "w") as f:
        f.write('{"rw": true, "count": 1}')
    srv.start()
    x = login(srv)
    assert f"resync: released: {vdi}" in srv.log()
    x.VM.start(vm, False, False)
    x.VM.hard_shutdown(vm)
    assert attach_records(srv) == set()


def test_sigkill_during_50_concurrent_starts(host):
    srv = host.start()
    x = login(srv)
    vms = [install(x, f"vm{i:02d}") for i in range(50)]
    uuids = {x.VM.get_uuid(v): v for v in vms}
    tasks = [x.Async.VM.start(v, False, False) for v in vms]
    # Kill once the first few are through: the rest are cut short at every step.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and sum(
            s == "success" for s in map(x.task.get_status, tasks[:10])) < 2:
        time.sleep(0.01)
    srv.kill()
    srv.start()
    x = login(srv)

    running = {u for u, v in uuids.items() if x.VM.get_power_state(v) == "Running"}
    held = domains(host.state)
    assert {u for u in held if u in uuids} == running          # records match the hypervisor
    assert all(held[u] == 1 for u in running)                  # and no VM runs twice
    # Every attachment is a running VM's disk, each exactly once.
    assert attach_records(srv) == set().union(*(disk_uuids(x, uuids[u]) for u in running))

    for u in running:
        x.VM.hard_shutdown(uuids[u])
    assert attach_records(srv) == set()
    status = wait_tasks(x, [x.Async.VM.start(v, False, False) for v in vms])
    failed = {t: x.task.get_error_info(t) for t, s in status.items() if s != "success"}
    assert failed == {}
    held = domains(host.state)
    assert all(held.get(u) == 1 for u in uuids)                # all 50 run, once each
    for v in vms:
        x.VM.hard_shutdown(v)
    assert attach_records(srv) == set()
