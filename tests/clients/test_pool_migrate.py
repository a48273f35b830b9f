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

import hashlib
import json
import os
import socket
import subprocess
import threading
import time

import pytest
import XenAPI

from poolhosts import Host, domains, local_sr, pool, shared_sr, wait, with_disk  # noqa: F401
from vm_records import vm_create_record
from xo import NODE_DIR, require_node

NULL = "OpaqueRef:NULL"


def copies(host: Host, uuid: str) -> int:
    """How many domains of the VM (by its uuid, incoming/migrated-away names included) the
    host's simulated hypervisor has."""
    return sum(uuid in line for line in domains(host).splitlines())


def refs(x) -> dict[str, str]:
    return {h["address"]: ref for ref, h in x.host.get_all_records().items()}


def connect(pool) -> tuple:
    """The master's API (root's SDK session) and the host refs by address."""
    x = pool[0].session(pool[0].proc.password).xenapi
    return x, refs(x)


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
    x, hosts = connect(pool)
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
    # VM.restart_device_models is that localhost migration too (xapi's implementation)
    before = x.VM.get_domid(vm)
    x.VM.restart_device_models(vm)
    assert x.VM.get_resident_on(vm) == hosts[c.address] and x.VM.get_domid(vm) != before
    assert copies(c, uuid) == 1
    x.VM.pool_migrate(vm, hosts[a.address], {})
    assert copies(a, uuid) == 1 and copies(c, uuid) == 0
    x.VM.clean_shutdown(vm)
    with pytest.raises(XenAPI.Failure) as err:
        x.VM.restart_device_models(vm)
    assert err.value.details[0] == "VM_BAD_POWER_STATE"
    assert copies(a, uuid) == 0


def test_a_forwarded_migration_shows_its_progress_on_the_callers_task(pool):
    """Async.VM.pool_migrate asked of the master for a VM on B runs on B; its task lives on
    the master, and a client following it there sees the steps B reports (between 0 and 1),
    the VM's current_operations keyed by that task, then success at 1.0."""
    x, hosts = connect(pool)
    vm = running_vm(x, hosts[pool[1].address], "progress", memory_mib=1024)
    token = event_from(x, ["task", "VM"], "", 0)["token"]
    task = x.Async.VM.pool_migrate(vm, hosts[pool[2].address], {"live": "true"})
    progress: list[float] = []
    op_keys: set[str] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got = event_from(x, ["task", "VM"], token)
        token = got["token"]
        for e in got["events"]:
            snap = e.get("snapshot") or {}
            if e["class"] == "task" and e["ref"] == task:
                progress.append(float(snap["progress"]))
            elif e["class"].lower() == "vm" and e["ref"] == vm:
                op_keys |= set(snap["current_operations"])
        if x.task.get_status(task) != "pending":
            break
    rec = x.task.get_record(task)
    assert rec["status"] == "success" and rec["progress"] == 1.0, rec
    steps = [p for p in progress if 0 < p < 1]
    assert steps, f"the task went {progress}: no step in between"
    assert steps == sorted(steps), progress
    assert op_keys == {task}, op_keys


def test_task_cancel_stops_a_migration_and_the_vm_stays(pool):
    """task.cancel of a migration whose memory is streaming: the stream stops, the task ends
    `cancelled`, the VM runs on where it was in the same domain (one copy), and it migrates
    afterwards. Asked of the master for a VM on B, the call runs on B for the master's task
    (the cancellation is relayed to B); for a VM on the master, it runs there."""
    x, hosts = connect(pool)
    a, b, c = pool
    for src, dst in ((b, c), (a, b)):
        vm = running_vm(x, hosts[src.address], f"cancelled {src.address}", memory_mib=2048)
        domid, uuid = x.VM.get_domid(vm), x.VM.get_uuid(vm)
        task = x.Async.VM.pool_migrate(vm, hosts[dst.address], {"live": "true"})
        # the destination restores the incoming domain: the memory is on its way
        wait(lambda: copies(dst, uuid) == 1 or x.task.get_status(task) != "pending", 60,
             "the stream to start")
        assert x.task.get_status(task) == "pending", "the migration ended before the cancel"
        x.task.cancel(task)
        wait(lambda: x.task.get_status(task) not in ("pending", "cancelling"), 60,
             "the task to end")
        rec = x.task.get_record(task)
        assert rec["status"] == "cancelled", rec
        assert x.VM.get_resident_on(vm) == hosts[src.address]
        assert (x.VM.get_power_state(vm), x.VM.get_domid(vm)) == ("Running", domid)
        assert x.VM.get_current_operations(vm) == {}
        wait(lambda: copies(dst, uuid) == 0, 20, "the destination's copy to go")
        assert copies(src, uuid) == 1
        x.VM.pool_migrate(vm, hosts[dst.address], {"live": "true"})
        assert x.VM.get_resident_on(vm) == hosts[dst.address]
        assert copies(dst, uuid) == 1 and copies(src, uuid) == 0
        x.VM.hard_shutdown(vm)
        x.VM.destroy(vm)


def test_xo_connector_migrates_and_sees_it(pool):
    """Xen Orchestra's connector, pointed at a slave, follows the master, migrates the VM as
    XO does (Async call followed through its task) and its cache sees the VM move, Running
    throughout, the operation announced then cleared."""
    a, b, c = pool
    require_node()
    password = a.proc.password
    x, hosts = connect(pool)
    # event.from coalesces: a migration quicker than the connector's round trip between two
    # event.from calls would show it only the VM before and after. 1 GiB of memory to send
    # keeps the operation in current_operations long enough on a loaded machine too.
    vm = running_vm(x, hosts[b.address], "xo mover", memory_mib=1024)
    out = subprocess.run(["node", os.path.join(NODE_DIR, "xo_migrate.mjs"), c.url, "root",
                          password, vm, hosts[c.address]], capture_output=True, text=True,
                         timeout=90, cwd=NODE_DIR)
    steps = [json.loads(line) for line in out.stdout.splitlines()]
    done = [s for s in steps if s["step"] == "done"]
    assert done, (out.stdout, out.stderr)
    seen = done[0]["seen"]
    assert seen[0]["resident_on"] == hosts[b.address]
    assert seen[-1]["resident_on"] == hosts[c.address] and seen[-1]["current_operations"] == []
    assert all(v["power_state"] == "Running" for v in seen), seen
    assert any("pool_migrate" in v["current_operations"] for v in seen), seen
    assert copies(b, x.VM.get_uuid(vm)) == 0 and copies(c, x.VM.get_uuid(vm)) == 1


def details(fn, *args) -> list[str]:
    with pytest.raises(XenAPI.Failure) as err:
        fn(*args)
    return err.value.details


def state(x, vm: str) -> tuple:
    r = x.VM.get_record(vm)
    return r["power_state"], r["resident_on"], r["domid"], r["current_operations"]


def test_refusals_are_exact_and_change_nothing(pool):
    a, b, c = pool
    x, hosts = connect(pool)
    B, C = hosts[b.address], hosts[c.address]

    halted = x.VM.create(vm_create_record("halted"))
    assert details(x.VM.pool_migrate, halted, C, {}) == [
        "VM_BAD_POWER_STATE", halted, "running", "halted"]
    assert details(x.VM.assert_can_migrate, halted, {"host": C}, True, {}, {}, {}) == [
        "VM_BAD_POWER_STATE", halted, "running", "halted"]

    vm = running_vm(x, B)
    uuid = x.VM.get_uuid(vm)
    before = state(x, vm)

    def unchanged() -> None:
        assert state(x, vm) == before
        assert copies(b, uuid) == 1 and copies(c, uuid) == 0

    # a disabled destination; host.disable also keeps new VMs off it
    x.host.disable(C)
    assert details(x.VM.pool_migrate, vm, C, {"live": "true"}) == ["HOST_DISABLED", C]
    assert C not in x.VM.get_possible_hosts(vm)
    assert details(x.VM.assert_can_boot_here, vm, C) == ["HOST_DISABLED", C]
    unchanged()
    x.host.enable(C)
    assert sorted(x.VM.get_possible_hosts(vm)) == sorted(hosts.values())
    x.VM.assert_can_migrate(vm, {"host": C}, True, {}, {}, {})

    # a destination without the memory: C filled by another VM
    free = int(x.host.compute_free_memory(C))
    filler = running_vm(x, C, "filler", memory_mib=free // (1 << 20) - 64)
    left = int(x.host.compute_free_memory(C))
    err = details(x.VM.pool_migrate, vm, C, {"live": "true"})
    assert err == ["HOST_NOT_ENOUGH_FREE_MEMORY", str(128 << 20), str(left)]
    unchanged()
    x.VM.hard_shutdown(filler)

    # a disk on B's local SR, which C cannot see, and no vdi_map
    local_b = local_sr(x, B)
    disky = x.VM.create(vm_create_record("local disk"))
    with_disk(x, disky, local_b, "local")
    x.VM.start_on(disky, B, False, False)
    assert details(x.VM.pool_migrate, disky, C, {}) == ["VM_REQUIRES_SR", disky, local_b]
    net = next(p["network"] for p in x.PIF.get_all_records().values()
               if p["host"] == C and p["management"])
    dest = x.host.migrate_receive(C, net, {})
    assert dest["host"] == C
    assert details(x.VM.migrate_send, disky, dest, True, {}, {}, {}) == [
        "VM_REQUIRES_SR", disky, local_b]
    assert x.VM.get_resident_on(disky) == B
    # to its own host it can go (a localhost migration: the disk is handed over)
    x.VM.pool_migrate(disky, B, {"live": "true"})
    assert x.VM.get_resident_on(disky) == B and copies(b, x.VM.get_uuid(disky)) == 1
    x.VM.hard_shutdown(disky)

    # a VM in another operation: a 1 GiB VM's stream takes a while
    big = running_vm(x, B, "big", memory_mib=1024)
    task = x.Async.VM.pool_migrate(big, C, {"live": "true"})
    wait(lambda: x.VM.get_current_operations(big) != {}, 20, "the migration announced")
    (op_ref, op), = x.VM.get_current_operations(big).items()
    assert op == "pool_migrate"
    assert details(x.VM.pool_migrate, big, C, {}) == [
        "OTHER_OPERATION_IN_PROGRESS", "VM", big, "pool_migrate", op_ref]
    assert wait_task(x, task)["status"] == "success"
    assert x.VM.get_resident_on(big) == C

    # an unreachable destination: C stopped
    c.proc.stop()
    wait(lambda: not x.host_metrics.get_live(x.host.get_metrics(C)), 30, "C not live")
    assert details(x.VM.pool_migrate, vm, C, {}) == ["HOST_OFFLINE", C]
    unchanged()
    x.VM.hard_shutdown(vm)


def arm(host: Host, function: str) -> None:
    """Make the next call of `function` fail on the host's simulated hypervisor (its state
    file holds the faults)."""
    from xenlight_py.errors import ERROR_FAIL
    from serverproc import VENV_BIN
    subprocess.run([os.path.join(VENV_BIN, "python"), "-c",
                    "import sys; from xenlight_py import Context; "
                    "Context(backend='sim').sim.fail_next(sys.argv[1], int(sys.argv[2]))",
                    function, str(ERROR_FAIL)], check=True, timeout=60,
                   env={**os.environ, "XLSIM_STATE_FILE": str(host.work / "xlsim.state")})


#: (side, functions): where the fault is injected; each ends with the source's copy running
FAULTS = [
    ("source", ["libxl_domain_suspend/live"]),            # mid-stream, guest running
    ("source", ["libxl_domain_suspend/suspended"]),       # mid-stream, guest suspended
    ("dest", ["libxl_domain_create_restore/stream"]),     # restore fails mid-stream
    ("dest", ["libxl_domain_create_restore"]),            # restore fails at once
    ("source", ["libxl_domain_suspend/suspended", "libxl_domain_resume"]),  # rollback retried
    ("source", ["libxl_domain_rename"]),                  # renaming away, before the commit
    ("dest", ["libxl_domain_rename"]),                    # after the commit: taken back
    ("dest", ["libxl_domain_unpause"]),                   # after the commit: taken back
]


def test_faults_at_each_handshake_step_leave_one_copy_on_the_source(pool):
    a, b, c = pool
    x, hosts = connect(pool)
    B, C = hosts[b.address], hosts[c.address]
    vm = running_vm(x, B)
    uuid = x.VM.get_uuid(vm)
    domid = x.VM.get_domid(vm)
    for side, functions in FAULTS:
        for f in functions:
            arm(b if side == "source" else c, f)
        task = x.Async.VM.pool_migrate(vm, C, {"live": "true"})
        rec = wait_task(x, task)
        assert rec["status"] == "failure", (functions, rec)
        assert rec["error_info"][:4] == ["VM_MIGRATE_FAILED", vm, B, C], (functions, rec["error_info"])
        wait(lambda: x.VM.get_current_operations(vm) == {}, 10, "the operation cleared")
        assert state(x, vm) == ("Running", B, domid, {}), functions
        assert copies(b, uuid) == 1 and copies(c, uuid) == 0, (functions, domains(b),
                                                                 domains(c))
        assert uuid + "--" not in domains(b), domains(b)   # its own name back
        assert "pool_migrate" in x.VM.get_allowed_operations(vm)
    # after all that it still migrates
    x.VM.pool_migrate(vm, C, {"live": "true"})
    assert copies(b, uuid) == 0 and copies(c, uuid) == 1
    assert x.VM.get_resident_on(vm) == C
    x.VM.hard_shutdown(vm)


def test_migrate_send_with_a_shared_disk_and_evacuate(pool, tmp_path):
    """VM.migrate_send (intra-pool, the token of host.migrate_receive) moves a VM whose disk is
    on a shared SR: the disk's attachment passes from B to C. host.evacuate empties B, two
    VMs at a time; a VM whose disk only B sees blocks it, exactly."""
    a, b, c = pool
    x, hosts = connect(pool)
    A, B, C = hosts[a.address], hosts[b.address], hosts[c.address]
    sr = shared_sr(x, A, tmp_path / "shared")
    vm = x.VM.create(vm_create_record("disk mover"))
    vdi = with_disk(x, vm, sr)
    x.VM.start_on(vm, B, False, False)
    attach = tmp_path / "shared" / ".attach" / x.VDI.get_uuid(vdi)
    assert json.loads(attach.read_text())["hosts"] == {x.host.get_uuid(B): 1}
    net = next(p["network"] for p in x.PIF.get_all_records().values()
               if p["host"] == C and p["management"])
    dest = x.host.migrate_receive(C, net, {})
    x.VM.assert_can_migrate(vm, dest, True, {vdi: sr}, {}, {})
    assert x.VM.migrate_send(vm, dest, True, {vdi: sr}, {}, {}) == vm
    assert x.VM.get_resident_on(vm) == C and copies(c, x.VM.get_uuid(vm)) == 1
    assert json.loads(attach.read_text())["hosts"] == {x.host.get_uuid(C): 1}
    # a receiver's token is for one sender: a wrong one is refused, nothing moves
    bad = {**x.host.migrate_receive(B, net, {}), "token": "0" * 64}
    task = x.Async.VM.migrate_send(vm, bad, True, {}, {}, {})
    assert wait_task(x, task)["error_info"][0] == "VM_MIGRATE_FAILED"
    assert x.VM.get_resident_on(vm) == C and copies(c, x.VM.get_uuid(vm)) == 1

    # evacuation: B runs four VMs (one on the shared SR); then one only B can run
    movers = [running_vm(x, B, f"evacuee {i}") for i in range(3)] + [vm]
    x.VM.pool_migrate(vm, B, {"live": "true"})
    local_b = local_sr(x, B)
    stuck = x.VM.create(vm_create_record("stuck"))
    with_disk(x, stuck, local_b)
    x.VM.start_on(stuck, B, False, False)
    assert x.host.get_vms_which_prevent_evacuation(B) == {
        stuck: ["VM_REQUIRES_SR", stuck, local_b]}
    assert details(x.host.assert_can_evacuate, B) == [
        "CANNOT_EVACUATE_HOST", f"VM_REQUIRES_SR,{stuck},{local_b}"]
    assert details(x.host.evacuate, B, NULL, "2") == ["VM_REQUIRES_SR", stuck, local_b]
    assert all(x.VM.get_resident_on(m) == B for m in movers)     # nothing moved
    x.VM.hard_shutdown(stuck)

    x.host.disable(B)
    x.host.assert_can_evacuate(B)
    t0 = time.monotonic()
    x.host.evacuate(B, NULL, "2")
    print(f"evacuated {len(movers)} VMs in {(time.monotonic() - t0) * 1000:.0f} ms")
    assert x.host.get_vms_which_prevent_evacuation(B) == {}
    for m in movers:
        where = x.VM.get_resident_on(m)
        uuid = x.VM.get_uuid(m)
        assert where in (A, C) and x.VM.get_power_state(m) == "Running"
        assert copies(b, uuid) == 0
        assert copies(a, uuid) + copies(c, uuid) == 1
        assert copies(a if where == A else c, uuid) == 1
    # a disabled host gets no new VMs
    fresh = x.VM.create(vm_create_record("fresh"))
    x.VM.set_affinity(fresh, B)
    x.VM.start(fresh, False, False)
    assert x.VM.get_resident_on(fresh) != B
    assert details(x.VM.pool_migrate, fresh, B, {}) == ["HOST_DISABLED", B]


def test_master_killed_during_migrations(pool):
    """SIGKILL the master while four migrations it forwarded run between two slaves: each
    VM ends with exactly one running copy, where its record says, its operation cleared; a
    slave takes over with emergency_transition_to_master and clients go on migrating."""
    a, b, c = pool
    password = a.proc.password
    x, hosts = connect(pool)
    B, C = hosts[b.address], hosts[c.address]
    vms = [running_vm(x, B, f"kill test {i}", memory_mib=256) for i in range(4)]
    uuids = {vm: x.VM.get_uuid(vm) for vm in vms}
    for vm in vms:
        x.Async.VM.pool_migrate(vm, C, {"live": "true"})
    wait(lambda: any(x.VM.get_current_operations(vm) for vm in vms), 20, "a migration")
    a.proc.kill()                                   # SIGKILL the master mid-migrations
    xb = b.local_session(password).xenapi
    xb.pool.emergency_transition_to_master()
    xn = b.session(password).xenapi
    wait(lambda: all(xn.VM.get_current_operations(vm) == {} for vm in vms), 60,
         "the migrations to end")
    for vm in vms:
        rec = xn.VM.get_record(vm)
        assert rec["power_state"] == "Running"
        assert rec["resident_on"] in (B, C)
        here, there = (b, c) if rec["resident_on"] == B else (c, b)
        assert copies(here, uuids[vm]) == 1 and copies(there, uuids[vm]) == 0, vm
    # clients go on: the new master forwards migrations as the old one did
    for vm in vms:
        target = B if xn.VM.get_resident_on(vm) == C else C
        xn.VM.pool_migrate(vm, target, {"live": "true"})
        assert xn.VM.get_resident_on(vm) == target
        assert copies(b if target == B else c, uuids[vm]) == 1
        xn.VM.hard_shutdown(vm)


class Proxy:
    """A TCP relay in the path of a migration stream (as an eavesdropper on the management
    network would sit): forwards one connection to `upstream` and scans what the sender
    sends for `needles` (plain bytes of the stream), counting the bytes."""

    def __init__(self, upstream: str, needles: list[bytes]) -> None:
        self.upstream = upstream
        self.needles = needles
        self.found: list[bytes] = []
        self.sent = 0
        self.first = b""
        self.listener = socket.create_server(("127.0.0.14", 0))
        self.address = f"127.0.0.14:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        down, _ = self.listener.accept()
        host, _, port = self.upstream.rpartition(":")
        up = socket.create_connection((host, int(port)))

        def back() -> None:             # the receiver's answers, passed on unread
            while data := up.recv(1 << 16):
                down.sendall(data)
            down.shutdown(socket.SHUT_WR)
        t = threading.Thread(target=back, daemon=True)
        t.start()
        tail = b""
        keep = max(len(n) for n in self.needles)
        with down, up:
            while data := down.recv(1 << 20):
                if not self.first:
                    self.first = data[:8]
                self.sent += len(data)
                window = tail + data
                self.found += [n for n in self.needles if n in window and n not in self.found]
                tail = window[-keep:]
                up.sendall(data)
            up.shutdown(socket.SHUT_WR)
            t.join(30)


class Impostor:
    """A TLS server with a certificate of its own in place of a receiver: records what a
    sender writes to it after the handshake."""

    def __init__(self, tmp_path) -> None:
        import ssl
        from xenapi_impl.server.tls import generate_self_signed, server_context
        pem = str(tmp_path / "impostor.pem")
        generate_self_signed(pem)
        with open(pem) as f:
            cert = ssl.PEM_cert_to_DER_cert(f.read().split("-----BEGIN PRIVATE")[0])
        self.sha256 = hashlib.sha256(cert).hexdigest()
        self.context = server_context(pem)
        self.listener = socket.create_server(("127.0.0.14", 0))
        self.address = f"127.0.0.14:{self.listener.getsockname()[1]}"
        self.received: bytes | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        conn, _ = self.listener.accept()
        got = bytearray()
        try:
            with self.context.wrap_socket(conn, server_side=True) as tls:
                tls.settimeout(5)       # a sender that took it waits for an answer: hang up
                while data := tls.recv(1 << 16):
                    if len(got) < 1 << 20:
                        got += data
        except OSError:
            pass                        # the sender's abort after refusing our certificate
        self.received = bytes(got)


def test_the_stream_is_tls_pinned_to_the_destination(pool, tmp_path):
    """The memory stream crosses the network encrypted: the receiver refuses a client that
    speaks plain TCP even with the right token (nothing changes, the receiver stays open);
    a relay on the path sees a TLS handshake and no byte of the domain's plain stream (nor
    the token), and the migration through it succeeds; a receiver whose certificate is not
    the one recorded for the destination host gets nothing (no header, no token) and the
    migration fails exactly, the VM running on the source."""
    a, b, c = pool
    x, hosts = connect(pool)
    B, C = hosts[b.address], hosts[c.address]
    vm = running_vm(x, B, "over tls")
    uuid = x.VM.get_uuid(vm)
    before = state(x, vm)
    net = next(p["network"] for p in x.PIF.get_all_records().values()
               if p["host"] == C and p["management"])
    dest = x.host.migrate_receive(C, net, {})

    # plain TCP with the right token: refused, nothing moves
    host, _, port = dest["xenops"].rpartition(":")
    header = {"token": dest["token"], "vm": vm, "operation": "migrate_send", "op": before[3],
              "source": B, "vdis": {}}
    with socket.create_connection((host, int(port)), timeout=20) as plain:
        plain.sendall(json.dumps(header).encode() + b"\n" + b"LibxlFmt" + bytes(4096))
        try:
            while plain.recv(4096):     # a TLS alert at most, then the end (not a timeout)
                pass
        except ConnectionResetError:
            pass
    wait(lambda: "refused a migration connection" in c.proc.log(), 10, "the refusal logged")
    assert state(x, vm) == before
    assert copies(b, uuid) == 1 and copies(c, uuid) == 0

    # through a relay: the same receiver still takes the real sender
    proxy = Proxy(dest["xenops"], [b"LibxlFmt", dest["token"].encode(), uuid.encode(),
                                   b'"token"'])
    assert x.VM.migrate_send(vm, {**dest, "xenops": proxy.address}, True, {}, {}, {}) == vm
    proxy.thread.join(30)
    assert x.VM.get_resident_on(vm) == C
    assert copies(b, uuid) == 0 and copies(c, uuid) == 1
    assert proxy.first[:3] in (b"\x16\x03\x01", b"\x16\x03\x03"), proxy.first   # ClientHello
    assert proxy.sent > 128 << 20       # the guest's 128 MiB went through the relay
    assert proxy.found == []            # ... encrypted: none of the plain stream's bytes

    # a receiver presenting another certificate than the one recorded for B
    impostor = Impostor(tmp_path)
    back = x.host.migrate_receive(B, net, {})
    now = state(x, vm)
    pinned = x.host.get_other_config(B)["tls_sha256"]
    assert details(x.VM.migrate_send, vm, {**back, "xenops": impostor.address}, True, {}, {},
                   {}) == [
        "VM_MIGRATE_FAILED", vm, C, B,
        f"the destination's receiver: the receiver's TLS certificate is refused: its "
        f"certificate (SHA-256 {impostor.sha256}) is not the one recorded for it ({pinned})"]
    impostor.thread.join(30)
    assert impostor.received == b""     # not even the header with the token
    wait(lambda: x.VM.get_current_operations(vm) == {}, 10, "the operation cleared")
    assert state(x, vm) == now and now[:2] == ("Running", C)
    assert copies(b, uuid) == 0 and copies(c, uuid) == 1
    # the real B takes it
    x.VM.pool_migrate(vm, B, {"live": "true"})
    assert x.VM.get_resident_on(vm) == B and copies(b, uuid) == 1 and copies(c, uuid) == 0
    x.VM.hard_shutdown(vm)


@pytest.mark.parametrize("https", [True, False])
def test_localhost_migration_of_a_standalone_host(tmp_path, https):
    """One host (SQLite): to its own host the stream is TLS with the certificate it serves
    over HTTPS (a plain client with the token is refused); a host without HTTPS streams in
    plain TCP on its loopback only."""
    from serverproc import ServerProcess
    with ServerProcess(str(tmp_path), https=https) as srv:
        s = XenAPI.Session(srv.url)
        s.xenapi.login_with_password("root", srv.password, "1.0", "pytest")
        x = s.xenapi
        host = x.host.get_all()[0]
        vm = running_vm(x, host, "local")
        domid = x.VM.get_domid(vm)
        net = next(p["network"] for p in x.PIF.get_all_records().values() if p["management"])
        dest = x.host.migrate_receive(host, net, {})
        addr, _, port = dest["xenops"].rpartition(":")
        if https:
            with socket.create_connection((addr, int(port)), timeout=20) as plain:
                plain.sendall(json.dumps({"token": dest["token"]}).encode() + b"\n")
                try:
                    while plain.recv(4096):
                        pass
                except ConnectionResetError:
                    pass
            wait(lambda: "refused a migration connection" in srv.log(), 10, "the refusal")
        else:
            assert addr == "127.0.0.1"
        assert x.VM.migrate_send(vm, dest, True, {}, {}, {}) == vm
        assert x.VM.get_power_state(vm) == "Running" and x.VM.get_resident_on(vm) == host
        assert x.VM.get_domid(vm) != domid
        x.VM.pool_migrate(vm, host, {"live": "true"})
        assert x.VM.get_power_state(vm) == "Running"
        x.VM.hard_shutdown(vm)
        assert "Traceback" not in srv.log()


@pytest.fixture
def unix_pool(tmp_path_factory, pg_db):
    from poolhosts import running_pool
    # a directory without '_' (the SDK's Unix transport turns it into '/')
    yield from running_pool(tmp_path_factory.mktemp("unixpool"), pg_db.url, unix=True)


def local_root(host: Host):
    """The local superuser of a host, over its Unix socket."""
    s = XenAPI.Session("http://" + host.proc.unix_path.replace("/", "_"),
                       transport=XenAPI.UDSTransport())
    s.slave_local_login_with_password("root", "")
    return s.xenapi


def test_emergency_disabled_verification_still_encrypts(unix_pool, tmp_path):
    """A host whose TLS verification was emergency-disabled (the pool's on) does not check
    the destination's certificate, as its API calls do not: an impostor's is accepted (the
    migration then fails, the VM running on the source), and a migration through a relay is
    still TLS; re-enabled, the impostor is refused again."""
    a, b, c = unix_pool
    x, hosts = connect(unix_pool)
    B, C = hosts[b.address], hosts[c.address]
    vm = running_vm(x, B, "unverified")
    uuid = x.VM.get_uuid(vm)
    net = next(p["network"] for p in x.PIF.get_all_records().values()
               if p["host"] == C and p["management"])
    x.pool.enable_tls_verification()
    xb = local_root(b)
    xb.host.emergency_disable_tls_verification()
    dest = x.host.migrate_receive(C, net, {})
    proxy = Proxy(dest["xenops"], [b"LibxlFmt", dest["token"].encode()])
    x.VM.migrate_send(vm, {**dest, "xenops": proxy.address}, True, {}, {}, {})
    proxy.thread.join(30)
    assert proxy.first[:1] == b"\x16" and proxy.found == [] and proxy.sent > 128 << 20
    assert x.VM.get_resident_on(vm) == C and copies(c, uuid) == 1 and copies(b, uuid) == 0
    x.VM.pool_migrate(vm, B, {"live": "true"})
    # unverified: the impostor's handshake passes (it then gets the header and hangs up)
    impostor = Impostor(tmp_path)
    err = details(x.VM.migrate_send, vm, {**x.host.migrate_receive(C, net, {}),
                                          "xenops": impostor.address}, True, {}, {}, {})
    assert err[:4] == ["VM_MIGRATE_FAILED", vm, B, C]
    impostor.thread.join(60)
    assert impostor.received and b'"token"' in impostor.received
    assert x.VM.get_resident_on(vm) == B and copies(b, uuid) == 1 and copies(c, uuid) == 0
    # re-enabled: refused before anything is sent
    xb.host.emergency_reenable_tls_verification()
    impostor = Impostor(tmp_path)
    err = details(x.VM.migrate_send, vm, {**x.host.migrate_receive(C, net, {}),
                                          "xenops": impostor.address}, True, {}, {}, {})
    assert err[:4] == ["VM_MIGRATE_FAILED", vm, B, C] and "is refused" in err[4]
    impostor.thread.join(30)
    assert impostor.received == b""
    assert x.VM.get_resident_on(vm) == B and copies(b, uuid) == 1
    x.VM.hard_shutdown(vm)
