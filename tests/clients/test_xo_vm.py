"""Xen Orchestra's connector (npm `xen-api`, see node/package.json) starts VMs against the real
server as xo-server does: VM.start(ref, false, false) and Async.VM.start followed through task
events, and Async.VM.start_on paused then VM.unpause; its object cache (fed only by event.from)
must show each state, in both transports.
Every state it reports is checked again through the official Python SDK while the script
holds (it goes on to its next step only when told to)."""
from __future__ import annotations

import os
import subprocess
import uuid

import pytest
import XenAPI
from vm_records import vm_create_record
from xo import NODE_DIR, proceed, read_step, require_node

SCRIPT = os.path.join(NODE_DIR, "xo_vm.mjs")
NULL = "OpaqueRef:NULL"

require_node()


def vm_record(name: str) -> dict:
    """A minimal PV VM with the fields WIRE.md lists as required by VM.create."""
    return vm_create_record(name, memory_mib=128, static_min_mib=64)


@pytest.fixture
def sdk(server):
    s = XenAPI.Session(server.url)
    s.xenapi.login_with_password("root", server.password, "1.0", "pytest-xo-vm")
    yield s.xenapi
    s.xenapi.session.logout()


@pytest.mark.parametrize("transport,path", [("auto", "/jsonrpc"), ("xml-rpc", "/xmlrpc")])
def test_xo_starts_vms(server, sdk, transport, path):
    tag = uuid.uuid4().hex[:8]
    sync_vm = sdk.VM.create(vm_record(f"xo-sync-{tag}"))
    async_vm = sdk.VM.create(vm_record(f"xo-async-{tag}"))
    host = sdk.host.get_all()[0]
    proc = subprocess.Popen(["node", SCRIPT, server.url, "root", server.password, transport,
                             sync_vm, async_vm], cwd=NODE_DIR, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = read_step(proc)
        assert ready["step"] == "ready"
        assert [v["power_state"] for v in ready["vms"]] == ["Halted", "Halted"]
        assert ready["vms"][0]["id"] == sdk.VM.get_uuid(sync_vm)      # cached by uuid
        proceed(proc)

        started = read_step(proc)
        assert started["step"] == "sync"
        # void: "" in XML-RPC; JSON-RPC 1.0 (WIRE.md) allows null
        voids = ("",) if transport == "xml-rpc" else ("", None)
        assert started["result"] in voids
        vm = started["vm"]
        sync_domid = vm["domid"]
        assert vm["ref"] == sync_vm and vm["resident_on"] == host
        assert sdk.VM.get_power_state(sync_vm) == "Running"
        assert str(vm["domid"]) == sdk.VM.get_domid(sync_vm) and int(vm["domid"]) > 0
        proceed(proc)

        started = read_step(proc)
        assert started["step"] == "async"
        assert started["result"] == ""                  # the task's result: void
        vm = started["vm"]
        assert vm["ref"] == async_vm and vm["resident_on"] == host
        assert sdk.VM.get_power_state(async_vm) == "Running"
        assert str(vm["domid"]) == sdk.VM.get_domid(async_vm) and vm["domid"] != sync_domid
        proceed(proc)

        again = read_step(proc)
        assert again["step"] == "again"
        # the error reaches XO through the task's error_info, as xapi reports it
        assert again["code"] == "VM_BAD_POWER_STATE" and again["fromTask"] is True
        assert again["params"] == [async_vm, "halted", "running"]
        assert sdk.VM.get_power_state(async_vm) == "Running"
        proceed(proc)

        halted = read_step(proc)
        assert halted["step"] == "halted"
        assert [v["power_state"] for v in halted["vms"]] == ["Halted", "Halted"]
        assert [v["resident_on"] for v in halted["vms"]] == [NULL, NULL]
        assert sdk.VM.get_power_state(sync_vm) == sdk.VM.get_power_state(async_vm) == "Halted"
        proceed(proc)

        paused = read_step(proc)
        assert paused["step"] == "paused" and paused["host"] == host
        assert paused["vm"]["resident_on"] == host
        assert str(paused["vm"]["domid"]) == sdk.VM.get_domid(sync_vm)
        proceed(proc)
        unpaused = read_step(proc)
        assert unpaused["step"] == "unpaused"
        assert unpaused["vm"]["power_state"] == "Running"
        assert unpaused["vm"]["domid"] == paused["vm"]["domid"]     # the same domain, resumed
        assert unpaused["final"]["power_state"] == "Halted"
        assert sdk.VM.get_power_state(sync_vm) == "Halted"
        proceed(proc)

        done = read_step(proc)
        assert done["step"] == "done"
        assert path in done["paths"]
        other = "/xmlrpc" if path == "/jsonrpc" else "/jsonrpc"
        assert other not in done["paths"]             # auto mode never fell back
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for vm in (sync_vm, async_vm):
            if sdk.VM.get_power_state(vm) != "Halted":
                sdk.VM.hard_shutdown(vm)
            sdk.VM.destroy(vm)
