"""Storage motion inside the pool (api/vdi_motion.py), through the real path: three
`xenapi-server` processes on a real PostgreSQL, the official SDK.

What it proves: VM.migrate_send with a vdi_map moves a running VM from B to C with its disk
copied from B's local SR to C's (the data identical, holes kept, the VBD on the new VDI, the
old VDI and its image gone, the VM running on C only); VDI.pool_migrate moves the disk of a
running VM to another SR of its own host; writes made to the disk after the copy's first pass
(while the memory streams) reach the copy; the refusals are exact and change nothing; a fault
before the commit (making the copy, either pass of it, restoring the memory) leaves the VM
running on B with its original disk and no copy behind."""
from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import time
from contextlib import contextmanager

import pytest

from poolhosts import domains, local_sr, pool, shared_sr, with_disk  # noqa: F401
from serverproc import VENV_BIN
from test_pool_migrate import arm, connect, copies, details, wait_task
from vm_records import vm_create_record

MiB = 1 << 20
#: (offset, bytes) written into the disk before it moves: data at its start, middle, end
PATTERN = [(0, b"boot sector " * 100), (5 * MiB + 7, os.urandom(3 * MiB)),
           (64 * MiB - 4096, b"\xa5" * 4096)]


def image(host, x, vdi: str) -> pathlib.Path:
    """The image file of `vdi` in the file SRs under the host's directory."""
    loc = x.VDI.get_location(vdi)
    found = [p for p in host.work.rglob(loc + ".img")]
    assert len(found) == 1, found
    return found[0]


def write_pattern(path: pathlib.Path) -> None:
    with open(path, "r+b") as f:
        for off, data in PATTERN:
            f.seek(off)
            f.write(data)


def assert_pattern(path: pathlib.Path) -> None:
    assert path.stat().st_size == 64 * MiB
    with open(path, "rb") as f:
        for off, data in PATTERN:
            f.seek(off)
            assert f.read(len(data)) == data, off
        f.seek(MiB * 20)
        assert f.read(MiB) == bytes(MiB)          # untouched parts read as zeros
    # holes stay holes: far less than the 64 MiB is allocated
    assert path.stat().st_blocks * 512 < 16 * MiB


def disky_vm(x, host: str, sr: str, memory_mib: int = 128) -> tuple[str, str]:
    vm = x.VM.create(vm_create_record("disk mover", memory_mib=memory_mib))
    vdi = with_disk(x, vm, sr)
    return vm, vdi


def test_migrate_send_copies_a_local_disk_to_the_destinations_sr(pool):
    a, b, c = pool
    x, hosts = connect(pool)
    B, C = hosts[b.address], hosts[c.address]
    local_b, local_c = local_sr(x, B), local_sr(x, C)
    vm, vdi = disky_vm(x, B, local_b)
    old_image = image(b, x, vdi)
    write_pattern(old_image)
    x.VM.start_on(vm, B, False, False)
    uuid = x.VM.get_uuid(vm)
    net = next(p["network"] for p in x.PIF.get_all_records().values()
               if p["host"] == C and p["management"])
    dest = x.host.migrate_receive(C, net, {})
    # without a map C cannot see the disk; with one it can go
    assert details(x.VM.assert_can_migrate, vm, dest, True, {}, {}, {}) == [
        "VM_REQUIRES_SR", vm, local_b]
    x.VM.assert_can_migrate(vm, dest, True, {vdi: local_c}, {}, {})
    t0 = time.monotonic()
    task = x.Async.VM.migrate_send(vm, dest, True, {vdi: local_c}, {}, {})
    rec = wait_task(x, task, 120)
    assert rec["status"] == "success", rec["error_info"]
    print(f"migrate_send of a 128 MiB VM with a 64 MiB disk ({sum(len(d) for _, d in PATTERN)}"
          f" bytes of data) B -> C: {(time.monotonic() - t0) * 1000:.0f} ms")

    assert x.VM.get_resident_on(vm) == C and x.VM.get_power_state(vm) == "Running"
    assert copies(b, uuid) == 0 and copies(c, uuid) == 1
    vbd, = x.VM.get_VBDs(vm)
    new = x.VBD.get_VDI(vbd)
    assert new != vdi
    assert x.VDI.get_SR(new) == local_c
    assert x.VBD.get_currently_attached(vbd)
    assert x.VDI.get_virtual_size(new) == str(64 * MiB)
    assert vdi not in x.VDI.get_all()                    # the old VDI is gone, its image too
    assert not old_image.exists()
    assert_pattern(image(c, x, new))
    assert x.VM.get_current_operations(vm) == {}
    assert "migrate_send" in x.VM.get_allowed_operations(vm)
    # it runs on: a plain migration back to B with a map to B's SR
    x.VM.migrate_send(vm, x.host.migrate_receive(B, net, {}), True, {new: local_b}, {}, {})
    back = x.VBD.get_VDI(vbd)
    assert x.VM.get_resident_on(vm) == B and x.VDI.get_SR(back) == local_b
    assert_pattern(image(b, x, back))
    assert copies(b, uuid) == 1 and copies(c, uuid) == 0
    x.VM.hard_shutdown(vm)


def test_vdi_pool_migrate_moves_a_running_vms_disk(pool, tmp_path):
    a, b, c = pool
    x, hosts = connect(pool)
    B = hosts[b.address]
    local_b = local_sr(x, B)
    shared = shared_sr(x, hosts[a.address], tmp_path / "shared")
    vm, vdi = disky_vm(x, B, local_b)
    write_pattern(image(b, x, vdi))
    # not the disk of a running VM
    assert details(x.VDI.pool_migrate, vdi, shared, {}) == ["VDI_NEEDS_VM_FOR_MIGRATE", vdi]
    x.VM.start_on(vm, B, False, False)
    uuid = x.VM.get_uuid(vm)
    new = x.VDI.pool_migrate(vdi, shared, {})
    assert x.VDI.get_SR(new) == shared
    vbd, = x.VM.get_VBDs(vm)
    assert x.VBD.get_VDI(vbd) == new and x.VBD.get_currently_attached(vbd)
    assert x.VM.get_resident_on(vm) == B and x.VM.get_power_state(vm) == "Running"
    assert copies(b, uuid) == 1
    assert vdi not in x.VDI.get_all()
    assert_pattern(tmp_path / "shared" / (x.VDI.get_location(new) + ".img"))
    x.VM.hard_shutdown(vm)


def test_refusals_and_faults_leave_the_vm_and_its_disk_as_before(pool):
    a, b, c = pool
    x, hosts = connect(pool)
    A, B, C = hosts[a.address], hosts[b.address], hosts[c.address]
    local_a, local_b, local_c = local_sr(x, A), local_sr(x, B), local_sr(x, C)
    vm, vdi = disky_vm(x, B, local_b)
    old_image = image(b, x, vdi)
    write_pattern(old_image)
    x.VM.start_on(vm, B, False, False)
    uuid = x.VM.get_uuid(vm)
    domid = x.VM.get_domid(vm)
    vdis = set(x.VDI.get_all())

    def unchanged() -> None:
        r = x.VM.get_record(vm)
        assert (r["power_state"], r["resident_on"], r["domid"], r["current_operations"]) == (
            "Running", B, domid, {})
        vbd, = r["VBDs"]
        assert x.VBD.get_VDI(vbd) == vdi
        extra = {v: x.VDI.get_record(v) for v in set(x.VDI.get_all()) - vdis}
        assert set(x.VDI.get_all()) == vdis, extra        # no copy left behind
        assert copies(b, uuid) == 1 and copies(c, uuid) == 0
        line, = [ln for ln in domains(b).splitlines() if uuid in ln]
        assert line.split()[4][2:4] == "--", line         # neither paused nor suspended
        assert_pattern(old_image)

    # a map to an SR the destination cannot see: A's local SR for C
    assert details(x.VM.migrate_send, vm, {"host": C}, True, {vdi: local_a}, {}, {}) == [
        "VM_REQUIRES_SR", vm, local_a]
    assert details(x.VM.assert_can_migrate, vm, {"host": C}, True, {vdi: local_a}, {}, {}) == [
        "VM_REQUIRES_SR", vm, local_a]
    # a map to no SR
    bad = "OpaqueRef:00000000-0000-0000-0000-000000000000"
    assert details(x.VM.migrate_send, vm, {"host": C}, True, {vdi: bad}, {}, {}) == [
        "HANDLE_INVALID", "SR", bad]
    unchanged()

    # faults injected into C's and B's simulators: before the copy is filled (C cannot
    # restore the memory), after it is filled but before the commit (B cannot rename its
    # copy away), after the commit (C cannot unpause: the move is taken back, the VBD points
    # at the original disk again)
    for side, function in (("dest", "libxl_domain_create_restore"),
                           ("source", "libxl_domain_rename"),
                           ("dest", "libxl_domain_unpause")):
        arm(c if side == "dest" else b, function)
        task = x.Async.VM.migrate_send(vm, {"host": C}, True, {vdi: local_c}, {}, {})
        rec = wait_task(x, task, 120)
        assert rec["status"] == "failure", (function, rec["error_info"])
        assert rec["error_info"][:4] == ["VM_MIGRATE_FAILED", vm, B, C], (function, rec["error_info"], vm, B, C)
        unchanged()
        images = {x.VDI.get_location(v) + ".img" for v in x.VDI.get_all()
                  if x.VDI.get_SR(v) == local_c}
        leftover = [p for p in c.work.rglob("*.img") if p.name not in images]
        assert leftover == [], (function, leftover)

    # a fault in pass 1, while the VM runs: B cannot read the disk (its image swapped for a
    # directory for the time of the attempt)
    moved_away = old_image.with_name(".away")
    os.replace(old_image, moved_away)
    old_image.mkdir()
    try:
        task = x.Async.VM.migrate_send(vm, {"host": C}, True, {vdi: local_c}, {}, {})
        rec = wait_task(x, task, 120)
    finally:
        old_image.rmdir()
        os.replace(moved_away, old_image)
    assert rec["status"] == "failure", rec["error_info"]
    assert rec["error_info"][:4] == ["VM_MIGRATE_FAILED", vm, B, C], rec["error_info"]
    assert "copying the disks while the VM runs" in rec["error_info"][4], rec["error_info"]
    unchanged()

    # after all that it moves
    x.VM.migrate_send(vm, {"host": C}, True, {vdi: local_c}, {}, {})
    vbd, = x.VM.get_VBDs(vm)
    assert x.VM.get_resident_on(vm) == C
    assert_pattern(image(c, x, x.VBD.get_VDI(vbd)))
    x.VM.hard_shutdown(vm)



_SUSPENDED = """
import json, sys
from xenlight_py import Context
c = Context(backend="sim")
for name in sys.stdin:
    out = None
    for d in c.list_domains():
        if d.domid and c.domid_to_name(d.domid) == name.strip():
            out = d.shutdown
    print(json.dumps(out), flush=True)
"""


class Suspended:
    """A process that tells whether a host's simulated domain (by name) is shut down
    (suspended, for a migrating one): answers in milliseconds, while a host is stopped."""

    def __init__(self, host) -> None:
        self.proc = subprocess.Popen(
            [os.path.join(VENV_BIN, "python"), "-c", _SUSPENDED], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True,
            env={**os.environ, "XLSIM_STATE_FILE": str(host.work / "xlsim.state")})

    def __call__(self, name: str) -> bool | None:
        self.proc.stdin.write(name + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


@contextmanager
def between_the_passes(b, c, uuid: str, start):
    """Inside: `start()` (which starts the migration, and returns its task) was called, the
    disk's first pass has copied the PATTERN to C's new image, and C's server is stopped
    (SIGSTOP) before B's domain suspended: the memory stream waits on C, so the second pass
    cannot have read the source yet and reads it only after the block. Yields (the task, C's
    new image)."""
    suspended = Suspended(b)
    try:
        assert suspended(uuid) is False         # the reader is up before the migration starts
        before = set(c.work.rglob("*.img"))
        task = start()
        deadline = time.monotonic() + 60
        while True:
            assert time.monotonic() < deadline, "the first pass never copied the pattern"
            new = [p for p in c.work.rglob("*.img") if p not in before]
            if new and has_pattern(new[0]):
                break
            time.sleep(0.001)
        os.kill(c.proc.proc.pid, signal.SIGSTOP)
        try:
            # B's memory stream is not done (else its domain would be suspended already):
            # C has not restored it, nor said so, nor can until it continues
            assert suspended(uuid) is False, "the memory stream ended before C was stopped"
            yield task, new[0]
        finally:
            os.kill(c.proc.proc.pid, signal.SIGCONT)
    finally:
        suspended.close()


def has_pattern(path: pathlib.Path) -> bool:
    with open(path, "rb") as f:
        for off, data in PATTERN:
            f.seek(off)
            if f.read(len(data)) != data:
                return False
    return True


#: what the test writes into the source after the first pass: new data over the copied
#: pattern, zeros over its boot sector, data where there was a hole
LATER = [(5 * MiB + 7 + 4096, os.urandom(100_000)), (0, bytes(len(PATTERN[0][1]))),
         (40 * MiB + 3, b"written after the first pass")]


def write_later(path: pathlib.Path) -> bytes:
    """LATER written into the image; its content afterwards."""
    with open(path, "r+b") as f:
        for off, data in LATER:
            f.seek(off)
            f.write(data)
    return path.read_bytes()


def test_writes_after_the_first_pass_reach_the_copy(pool):
    """A VM with 1 GiB of memory moves B -> C with its disk: the first pass copies the disk
    while the VM runs; then, while the memory streams, the disk is written (by this test, as
    the guest would); those writes reach C through the second pass. The same with C's copy
    unwritable for the second pass: the migration fails and leaves the VM on B, its disk
    with the writes, no copy."""
    a, b, c = pool
    x, hosts = connect(pool)
    B, C = hosts[b.address], hosts[c.address]
    local_b, local_c = local_sr(x, B), local_sr(x, C)
    vm, vdi = disky_vm(x, B, local_b, memory_mib=1024)
    source = image(b, x, vdi)
    write_pattern(source)
    x.VM.start_on(vm, B, False, False)
    uuid = x.VM.get_uuid(vm)
    vdis = set(x.VDI.get_all())

    def start() -> str:
        return x.Async.VM.migrate_send(vm, {"host": C}, True, {vdi: local_c}, {}, {})

    # the second pass cannot write: C's copy becomes /dev/full
    with between_the_passes(b, c, uuid, start) as (task, copy):
        expected = write_later(source)
        full = copy.with_name(".full")
        os.symlink("/dev/full", full)
        os.replace(full, copy)
    rec = wait_task(x, task, 120)
    assert rec["status"] == "failure", rec["error_info"]
    assert rec["error_info"][:4] == ["VM_MIGRATE_FAILED", vm, B, C], rec["error_info"]
    assert "No space left on device" in rec["error_info"][4], rec["error_info"]
    assert x.VM.get_resident_on(vm) == B and x.VM.get_power_state(vm) == "Running"
    assert x.VBD.get_VDI(x.VM.get_VBDs(vm)[0]) == vdi
    assert set(x.VDI.get_all()) == vdis
    assert not copy.exists() and not copy.is_symlink()
    assert copies(b, uuid) == 1 and copies(c, uuid) == 0
    assert source.read_bytes() == expected

    # it moves, with what was written between the passes
    write_pattern(source)
    with between_the_passes(b, c, uuid, start) as (task, copy):
        expected = write_later(source)
        assert copy.read_bytes() != expected        # the first pass copied the old data
    rec = wait_task(x, task, 120)
    assert rec["status"] == "success", rec["error_info"]
    vbd, = x.VM.get_VBDs(vm)
    new = x.VBD.get_VDI(vbd)
    assert x.VDI.get_SR(new) == local_c and x.VM.get_resident_on(vm) == C
    assert image(c, x, new) == copy and copy.read_bytes() == expected
    assert not source.exists()
    x.VM.hard_shutdown(vm)
