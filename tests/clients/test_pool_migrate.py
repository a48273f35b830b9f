"""Live migration between the hosts of a pool, through the real path: three `xenapi-server`
processes (each its own simulated host) on a real PostgreSQL, driven with the official SDK and
Xen Orchestra's connector (tests/clients/poolhosts.py).

What it proves: VM.pool_migrate / VM.migrate_send move a running VM's domain from one host's
simulator to another's (and to its own host: localhost migration); a client following
event.from on a third host sees the operation announced, resident_on and domid change,
power_state Running throughout, the operation cleared, a VM_MIGRATED message and the task's
success; every refusal is exact and changes nothing; a fault injected at each step of the
handshake leaves exactly one running copy, on the source, and the task fails with
VM_MIGRATE_FAILED; host.evacuate empties a host; SIGKILL of the master during migrations
loses and duplicates no VM.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time

import pytest
import XenAPI

from poolhosts import Host, domains, pool, wait  # noqa: F401
from vm_records import vm_create_record
from xo import NODE_DIR, require_node

NULL = "OpaqueRef:NULL"


def copies(host: Host, uuid: str) -> int:
    """How many domains of the VM (by its uuid, incoming/migrated-away names included) the
    host's simulated hypervisor has."""
    return sum(uuid in line for line in domains(host).splitlines())


def refs(x) -> dict[str, str]:
    return {h["address"]: ref for ref, h in x.host.get_all_records().items()}


def running_vm(x, host: str, name: str = "mover", memory_mib: int = 128) -> str:
    vm = x.VM.create(vm_create_record(name, memory_mib=memory_mib))
    x.VM.start_on(vm, host, False, False)
    return vm


def event_from(x, classes: list[str], token: str, timeout: float = 1.0) -> dict:
    return getattr(x.event, "from")(classes, token, str(timeout))


def follow(x, until, timeout: float = 30) -> list[dict]:
    """Events of VMs, tasks and messages seen by `x` until `until(events)` holds."""
    token = event_from(x, ["VM", "task", "message"], "", 0)["token"]
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while not until(seen):
        assert time.monotonic() < deadline, "timed out following events"
        got = event_from(x, ["VM", "task", "message"], token)
        token = got["token"]
        seen += got["events"]
    return seen


def task_done(task: str):
    return lambda evs: any(e["class"] == "task" and e["ref"] == task
                           and e.get("snapshot", {}).get("status") not in (None, "pending")
                           for e in evs)


def wait_task(x, task: str, timeout: float = 60) -> dict:
    wait(lambda: x.task.get_status(task) != "pending", timeout, "the task")
    return x.task.get_record(task)


def test_pool_migrate_seen_by_a_client_on_another_host(pool):
    a, b, c = pool
    password = a.proc.password
    x = a.session(password).xenapi
    hosts = refs(x)
    vm = running_vm(x, hosts[b.address])
    uuid = x.VM.get_uuid(vm)
    domid = x.VM.get_domid(vm)
    assert "pool_migrate" in x.VM.get_allowed_operations(vm)
    assert copies(b, uuid) == 1 and copies(c, uuid) == 0

    # a client of C (a slave) follows the events while the master is asked
    xc = c.local_session(password).xenapi
    out: dict = {}
    started = threading.Event()

    def watch() -> None:
        token = event_from(xc, ["VM", "task", "message"], "", 0)["token"]
        started.set()
        seen: list[dict] = []
        deadline = time.monotonic() + 60
        while not any(e["class"] == "message" and e["snapshot"]["name"] == "VM_MIGRATED"
                      for e in seen) and time.monotonic() < deadline:
            got = event_from(xc, ["VM", "task", "message"], token)
            token, seen = got["token"], seen + got["events"]
        out["events"] = seen

    t = threading.Thread(target=watch)
    t.start()
    started.wait(10)
    t0 = time.monotonic()
    task = x.Async.VM.pool_migrate(vm, hosts[c.address], {"live": "true"})
    rec = wait_task(x, task)
    took = time.monotonic() - t0
    t.join(70)
    assert rec["status"] == "success", rec
    assert rec["progress"] == 1.0
    print(f"pool_migrate of a 128 MiB VM B -> C: {took * 1000:.0f} ms")

    vms = [e["snapshot"] for e in out["events"] if e["class"].lower() == "vm" and e["ref"] == vm]
    assert vms, out
    assert all(s["power_state"] == "Running" for s in vms), [s["power_state"] for s in vms]
    assert any("pool_migrate" in s["current_operations"].values() for s in vms)
    last = vms[-1]
    assert last["resident_on"] == hosts[c.address] and last["current_operations"] == {}
    assert int(last["domid"]) >= 1
    msgs = [e["snapshot"] for e in out["events"] if e["class"] == "message"
            and e["snapshot"]["name"] == "VM_MIGRATED"]
    assert msgs and msgs[0]["obj_uuid"] == uuid
    # the domain moved: exactly one copy, on C
    assert copies(b, uuid) == 0 and copies(c, uuid) == 1
    assert x.VM.get_resident_on(vm) == hosts[c.address]
    assert x.VM.get_power_state(vm) == "Running"
    assert "pool_migrate" in x.VM.get_allowed_operations(vm)
    # operations now run on C, and it can come back (the SDK's sync call, to the same host too)
    x.VM.pause(vm)
    x.VM.unpause(vm)
    x.VM.pool_migrate(vm, hosts[c.address], {"live": "true"})     # localhost migration
    assert x.VM.get_resident_on(vm) == hosts[c.address] and x.VM.get_domid(vm) != domid
    assert copies(c, uuid) == 1
    x.VM.pool_migrate(vm, hosts[a.address], {})
    assert copies(a, uuid) == 1 and copies(c, uuid) == 0
    x.VM.clean_shutdown(vm)
    assert copies(a, uuid) == 0
