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

NULL = "OpaqueRef:NULL"
MiB = 1 << 20
PLUGIN = """#!/bin/sh
# a dom0 plugin: argv[1] is the function, the args map comes as KEY=VALUE lines on stdin
"""


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
