"""Live migration through libxl's calls (suspend LIVE into a socket, create_restore paused
from it, commit or roll back), on the simulator: between two hosts in two processes (this
one, and tests/binding/mighost.py with a state file of its own) over TCP, and on one host
(localhost migration). After a commit exactly one copy runs, on the destination, with the
guest's state continued; after any injected fault exactly one copy runs, on the source."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from xenlight_py import (Context, DiskConfig, DomainConfig, MigrationFailed, ShutdownReason, XenlightError,
                         migrate, migrate_send)
from xenlight_py.errors import ERROR_FAIL

MEM = 64                                  # MiB: the stream carries every page
UUID = "3f2a1c4e-8b7d-4e6f-9a01-23456789abcd"


def vm_config(name: str = "vm", disk: str | None = None) -> DomainConfig:
    return DomainConfig(name=name, kernel="/boot/vmlinuz", memory=MEM, vcpus=2, uuid=UUID,
                        disks=[DiskConfig("xvda", disk)] if disk else [])


class Host:
    """The other host: mighost.py in its own process, with its own state file."""

    def __init__(self, state: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("mighost.py")), str(state)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def start(self, op: str, **kw: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, **kw}) + "\n")
        self.proc.stdin.flush()

    def result(self) -> Any:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, "the other host died"
        answer = json.loads(line)
        if "error" in answer:
            raise RemoteError(answer)
        return answer["ok"]

    def call(self, op: str, **kw: Any) -> Any:
        self.start(op, **kw)
        return self.result()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


class RemoteError(Exception):
    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__(answer["msg"])
        self.kind, self.rc = answer["error"], answer["rc"]


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    h = Host(tmp_path_factory.mktemp("host-b") / "host.state")
    try:
        yield h
    finally:
        h.close()


@pytest.fixture
def host_b(remote: Host) -> Host:
    remote.call("configure")
    return remote


def running_vm(ctx: Context, name: str = "vm") -> int:
    domid = ctx.create_domain(vm_config(name))
    ctx.sim.set_load(domid, 0.5)
    time.sleep(0.02)                       # it has run a while: uptime > 0
    return domid


def guests(ctx: Context) -> list[int]:
    return [d.domid for d in ctx.list_domains() if d.domid]


def send_to(ctx: Context, domid: int, host: Host, cfg: DomainConfig) -> Any:
    """Migrate domid from this process to host over TCP; returns (error, remote answer)."""
    port = host.call("listen")
    host.start("receive", cfg={"name": cfg.name, "memory": cfg.memory, "vcpus": cfg.vcpus,
                               "uuid": cfg.uuid,
                               "disk": cfg.disks[0].target if cfg.disks else None})
    err = None
    with socket.create_connection(("127.0.0.1", port)) as conn:
        try:
            migrate_send(ctx, domid, conn)
        except MigrationFailed as e:
            err = e
    try:
        return err, host.result()
    except RemoteError as e:
        return err, e


def test_two_hosts_commit(ctx: Context, host_b: Host, image: Any) -> None:
    shared = image("shared/vm.img")          # storage both hosts see
    cfg = vm_config(disk=shared)
    domid = ctx.create_domain(cfg)
    ctx.sim.set_load(domid, 0.5)
    time.sleep(0.02)
    before = ctx.sim.guest_state(domid)
    free_a, free_b = ctx.free_memory(), host_b.call("free")
    with ctx.events([domid], timeout=10) as events:
        err, new = send_to(ctx, domid, host_b, cfg)
        assert err is None and isinstance(new, int)
        seen = [events.get(5), events.get(5)]
    # The source saw its copy suspend (not a guest shutdown), then destroyed.
    assert [e.kind for e in seen] == ["shutdown", "death"]
    assert seen[0].suspended and seen[0].reason == ShutdownReason.SUSPEND
    assert not seen[1].suspended
    # Exactly one copy runs: on B, unpaused, same uuid and name, the guest continued.
    assert guests(ctx) == []
    [b] = host_b.call("list")
    assert (b["domid"], b["name"], b["uuid"]) == (new, "vm", UUID)
    assert b["running"] and not b["paused"] and not b["shutdown"]
    assert (b["vcpus"], b["memkb"], b["disk"]) == (2, MEM * 1024, shared)
    after = host_b.call("guest", domid=new)
    assert after["boot_id"] == before.boot_id
    assert after["uptime_ns"] >= before.uptime_ns and after["resumes"] == 1
    # Memory: B holds the guest now, A has it back.
    assert host_b.call("free") == free_b - MEM * 1024
    assert ctx.free_memory() == free_a + MEM * 1024

    # And back again, B -> this host (the receiver in a thread here).
    with socket.create_server(("127.0.0.1", 0)) as srv:
        got: dict[str, Any] = {}

        def receive() -> None:
            from xenlight_py.migration import migrate_receive
            conn, _ = srv.accept()
            with conn:
                got["domid"] = migrate_receive(ctx, conn, cfg)

        t = threading.Thread(target=receive)
        t.start()
        host_b.call("send", domid=new, port=srv.getsockname()[1])
        t.join()
    back = got["domid"]
    assert host_b.call("list") == [] and guests(ctx) == [back]
    assert ctx.sim.guest_state(back).boot_id == before.boot_id
    assert ctx.sim.guest_state(back).resumes == 2
    assert ctx.domain_info(back).running and ctx.domid_to_name(back) == "vm"
    assert ctx.disk(back, "xvda").target == shared
    assert ctx.free_memory() == free_a and host_b.call("free") == free_b


def test_two_hosts_memory_until_the_commit(ctx: Context, host_b: Host) -> None:
    """The bare libxl steps across two processes: B's free memory drops when its restore
    builds the domain; A's rises only when A destroys its suspended copy."""
    domid = running_vm(ctx)
    free_a, free_b = ctx.free_memory(), host_b.call("free")
    port = host_b.call("listen")
    host_b.start("restore", cfg={"name": "vm--incoming", "memory": MEM, "vcpus": 2})
    with socket.create_connection(("127.0.0.1", port)) as conn:
        ctx.suspend(domid, conn, live=True)
    new = host_b.result()
    [b] = host_b.call("list")
    assert b["paused"] and not b["running"] and b["name"] == "vm--incoming"
    assert host_b.call("free") == free_b - MEM * 1024
    info = ctx.domain_info(domid)
    assert info.shutdown and info.shutdown_reason == ShutdownReason.SUSPEND
    assert ctx.free_memory() == free_a                   # both hosts hold a copy
    host_b.call("unpause", domid=new)
    ctx.destroy(domid)
    assert ctx.free_memory() == free_a + MEM * 1024
    assert host_b.call("list")[0]["running"]


# (side, function): where the fault is injected; each must end with the source running.
FAULTS = [
    ("a", ["libxl_domain_suspend/live"]),                       # mid-stream, guest running
    ("a", ["libxl_domain_suspend/suspended"]),                  # mid-stream, guest suspended
    ("b", ["libxl_domain_create_restore/stream"]),              # restore fails mid-stream
    ("b", ["libxl_domain_create_restore"]),                     # restore fails at once
    ("a", ["libxl_domain_suspend/suspended", "libxl_domain_resume"]),  # the rollback's resume
    ("b", ["libxl_domain_unpause"]),                            # the commit's unpause
    ("b", ["libxl_domain_rename"]),                             # the commit's rename
]


@pytest.mark.parametrize("side,functions", FAULTS, ids=[",".join(f) for _, f in FAULTS])
def test_two_hosts_fault_rolls_back(ctx: Context, host_b: Host, side: str,
                                    functions: list[str]) -> None:
    domid = running_vm(ctx)
    boot = ctx.sim.guest_state(domid).boot_id
    free_a, free_b = ctx.free_memory(), host_b.call("free")
    for f in functions:
        if side == "a":
            ctx.sim.fail_next(f, ERROR_FAIL)
        else:
            host_b.call("fail", function=f, rc=ERROR_FAIL)
    err, remote_answer = send_to(ctx, domid, host_b, vm_config())
    assert isinstance(err, MigrationFailed) and err.rc == ERROR_FAIL
    assert isinstance(remote_answer, RemoteError) and remote_answer.kind == "MigrationFailed"
    # Exactly one copy runs: the source's, under its own name; nothing left on B.
    assert host_b.call("list") == [] and host_b.call("free") == free_b
    assert guests(ctx) == [domid]
    info = ctx.domain_info(domid)
    assert info.running and not info.paused and not info.shutdown
    assert ctx.domid_to_name(domid) == "vm"
    assert ctx.sim.guest_state(domid).boot_id == boot
    assert ctx.free_memory() == free_a
    ctx.sim.clear_faults()
    # The domain can still migrate after the rollback.
    err, new = send_to(ctx, domid, host_b, vm_config())
    assert err is None and guests(ctx) == [] and [b["domid"] for b in host_b.call("list")] == [new]


def test_localhost_migration(ctx: Context) -> None:
    """xl migrate VM localhost: one host holds both copies until the commit; the incoming one
    is NAME--incoming, the outgoing one NAME--migratedaway."""
    domid = running_vm(ctx)
    before = ctx.sim.guest_state(domid)
    free0 = ctx.free_memory()
    names: list[set[str]] = []
    real_unpause = ctx.unpause

    def unpause(d: int) -> None:             # the commit point: see both copies first
        names.append({ctx.domid_to_name(x) for x in guests(ctx)})
        assert ctx.free_memory() == free0 - MEM * 1024
        real_unpause(d)

    ctx.unpause = unpause  # type: ignore[method-assign]
    new = migrate(ctx, domid, ctx, vm_config())
    del ctx.unpause
    assert names == [{"vm--migratedaway", "vm"}]     # the incoming copy renamed just before
    assert guests(ctx) == [new] and new != domid
    assert ctx.domid_to_name(new) == "vm" and ctx.domain_info(new).uuid == UUID
    assert ctx.domain_info(new).running
    after = ctx.sim.guest_state(new)
    assert after.boot_id == before.boot_id and after.uptime_ns >= before.uptime_ns
    assert ctx.free_memory() == free0
    assert "PM: suspending for migration" in ctx.sim.guest_console(new)


def test_no_live_migration_without_shadow_paging(ctx: Context) -> None:
    """A hypervisor built without shadow paging (Debian's Xen 4.17) has no log-dirty mode
    for PV guests: a live migration fails before anything moves, as on that real Xen
    (libxc "Failed to enable logdirty", libxl ERROR_GUEST_TIMEDOUT), the guest running on
    untouched; a non-live one (suspend, then the stream) works."""
    ctx.sim.configure(shadow_paging=0)
    domid = running_vm(ctx)
    boot = ctx.sim.guest_state(domid).boot_id
    with pytest.raises(MigrationFailed, match="Failed to enable logdirty") as e:
        migrate(ctx, domid, ctx, vm_config())
    assert e.value.rc == -8
    assert guests(ctx) == [domid] and ctx.domain_info(domid).running
    new = migrate(ctx, domid, ctx, vm_config(), live=False)
    assert guests(ctx) == [new] and ctx.sim.guest_state(new).boot_id == boot


def test_localhost_names_before_commit(ctx: Context) -> None:
    """Suspend LIVE into a socket and restore from it by hand: before the commit the source
    is suspended, the incoming copy paused under its temporary name."""
    domid = running_vm(ctx)
    a, b = socket.socketpair()
    t = threading.Thread(target=ctx.suspend, args=(domid, a), kwargs={"live": True})
    t.start()
    new = ctx.create_restore(vm_config("vm--incoming"), b, paused=True)
    t.join()
    src, dst = ctx.domain_info(domid), ctx.domain_info(new)
    assert src.shutdown and src.shutdown_reason == ShutdownReason.SUSPEND
    assert dst.paused and not dst.running and dst.cpu_time == 0
    assert ctx.domid_to_name(new) == "vm--incoming"
    # Roll back instead: one running copy, the source's.
    ctx.destroy(new)
    ctx.resume(domid)
    assert guests(ctx) == [domid] and ctx.domain_info(domid).running
    a.close()
    b.close()


def test_localhost_needs_memory_for_two_copies(ctx: Context) -> None:
    ctx.sim.configure(total_memkb=4 * 1024 * 1024 + 100 * 1024)   # dom0 4 GiB + 100 MiB
    domid = running_vm(ctx)
    with pytest.raises(MigrationFailed) as e:
        migrate(ctx, domid, ctx, vm_config())
    assert e.value.rc == ERROR_FAIL
    assert guests(ctx) == [domid] and ctx.domain_info(domid).running


@pytest.mark.parametrize("functions", [f for _, f in FAULTS], ids=[",".join(f) for _, f in FAULTS])
def test_localhost_fault_rolls_back(ctx: Context, functions: list[str]) -> None:
    domid = running_vm(ctx)
    for f in functions:
        ctx.sim.fail_next(f, ERROR_FAIL)
    with pytest.raises(MigrationFailed):
        migrate(ctx, domid, ctx, vm_config())
    assert guests(ctx) == [domid] and ctx.domain_info(domid).running
    assert ctx.domid_to_name(domid) == "vm"


def test_suspend_to_pipe_and_restore_from_it(ctx: Context) -> None:
    """Any fd: a pipe (no seek); ints and objects with fileno() both work."""
    domid = running_vm(ctx)
    boot = ctx.sim.guest_state(domid).boot_id
    r, w = os.pipe()

    def write() -> None:
        try:
            ctx.suspend(domid, w, live=True)
        finally:
            os.close(w)                       # the reader sees the end even on a failure

    t = threading.Thread(target=write)
    t.start()
    with open(r, "rb", closefd=True) as f:
        new = ctx.create_restore(vm_config("copy"), f)
    t.join()
    assert ctx.domain_info(new).running and ctx.sim.guest_state(new).boot_id == boot


def test_suspend_to_closed_peer_leaves_the_guest_running(ctx: Context) -> None:
    domid = running_vm(ctx)
    a, b = socket.socketpair()
    b.close()
    with pytest.raises(XenlightError) as e:
        ctx.suspend(domid, a, live=True)
    assert e.value.rc == ERROR_FAIL and "writing the stream" in str(e.value)
    assert ctx.domain_info(domid).running
    a.close()
    with pytest.raises(XenlightError):
        ctx.suspend(domid, True)                  # a bool is not an fd


def test_truncated_stream_restores_nothing(ctx: Context, tmp_path: Path) -> None:
    domid = running_vm(ctx)
    img = tmp_path / "vm.img"
    ctx.save(domid, img)
    data = img.read_bytes()
    assert data[:8] == b"LibxlFmt"
    free0 = ctx.free_memory()
    for cut in (0, 24, len(data) // 2, len(data) - 8):
        img.write_bytes(data[:cut])
        with pytest.raises(XenlightError) as e:
            ctx.create_restore(vm_config(), img)
        assert e.value.rc == ERROR_FAIL
        assert guests(ctx) == [] and ctx.free_memory() == free0
    img.write_bytes(data)
    assert ctx.domain_info(ctx.create_restore(vm_config(), img)).running


def receiving(ctx: Context, sock: socket.socket, out: dict[str, Any],
              commit: Any = None) -> threading.Thread:
    """migrate_receive on `sock` in a thread: out["domid"] or out["error"]."""
    from xenlight_py import migrate_receive

    def receive() -> None:
        try:
            out["domid"] = migrate_receive(ctx, sock, vm_config(), commit)
        except MigrationFailed as e:
            out["error"] = e
        finally:
            sock.close()

    t = threading.Thread(target=receive)
    t.start()
    return t


@pytest.mark.parametrize("refuse", [False, True], ids=["committed", "commit-refused"])
def test_receiver_commit_hook(ctx: Context, refuse: bool) -> None:
    """migrate_receive's `commit(domid)` runs after the sender cleared the receiver and before
    the incoming copy is unpaused (a toolstack records the move there); if it raises, the copy
    is destroyed and the sender resumes its own: one running copy, the source's."""
    domid = running_vm(ctx)
    a, b = socket.socketpair()
    seen: list[tuple[int, str, bool]] = []
    out: dict[str, Any] = {}

    def commit(new: int) -> None:
        seen.append((new, ctx.domid_to_name(domid), ctx.domain_info(new).paused))
        if refuse:
            raise RuntimeError("the record moved")

    t = receiving(ctx, b, out, commit)
    try:
        migrate_send(ctx, domid, a)
    except MigrationFailed as e:
        out["sent"] = e
    a.close()
    t.join()
    assert len(seen) == 1
    new, source_name, paused = seen[0]
    assert source_name == "vm--migratedaway" and paused     # cleared, not yet running
    if refuse:
        assert isinstance(out["error"], MigrationFailed) and "sent" in out
        assert guests(ctx) == [domid] and ctx.domain_info(domid).running
        assert ctx.domid_to_name(domid) == "vm"
    else:
        assert out["domid"] == new and guests(ctx) == [new]
        assert ctx.domain_info(new).running and ctx.domid_to_name(new) == "vm"


@pytest.mark.parametrize("refuse", [False, True], ids=["went-on", "refused"])
def test_sender_before_commit_hook(ctx: Context, refuse: bool) -> None:
    """migrate_send's `before_commit()` runs once both copies are stopped (the source's
    suspended under its own name, the receiver's restored paused), before the commit (a
    toolstack copies the disks there); if it raises, the sender resumes its copy and the
    receiver destroys its own: one running copy, the source's."""
    domid = running_vm(ctx)
    a, b = socket.socketpair()
    seen: list[tuple[str, bool, list[int]]] = []
    out: dict[str, Any] = {}

    def before_commit() -> None:
        others = [d for d in guests(ctx) if d != domid]
        seen.append((ctx.domid_to_name(domid), ctx.domain_info(domid).shutdown,
                     [ctx.domain_info(d).paused for d in others]))
        if refuse:
            raise RuntimeError("the disk could not be copied")

    t = receiving(ctx, b, out)
    try:
        migrate_send(ctx, domid, a, True, before_commit)
    except MigrationFailed as e:
        out["sent"] = e
    a.close()
    t.join()
    assert seen == [("vm", True, [True])]       # suspended here, paused there, not committed
    if refuse:
        assert "the disk could not be copied" in str(out["sent"])
        assert "error" in out
        assert guests(ctx) == [domid] and ctx.domain_info(domid).running
        assert ctx.domid_to_name(domid) == "vm"
    else:
        assert "sent" not in out and guests(ctx) == [out["domid"]]
        assert ctx.domain_info(out["domid"]).running
