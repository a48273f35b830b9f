"""Live migration of a running VM to a host of the pool (or to its own host, a localhost
migration as in xapi): VM.pool_migrate, VM.migrate_send with host.migrate_receive,
VM.assert_can_migrate, and where a VM may run (VM.assert_can_boot_here,
VM.get_possible_hosts).

The source host (the VM's `resident_on`: the calls are routed there) decides and announces
the operation, asks the destination's agent for a receiver (`host.migrate_receive`: a
listener on the destination's address and a one-time token, handed out only over the pool's
authenticated TLS calls or to a caller allowed to migrate), connects over TLS (the receiver
serves the host's HTTPS certificate, the source pins the fingerprint the destination host
recorded, as the pool's calls do), and streams the domain through the binding
(xenlight_py/migration.py) into a local socket bridged to that TLS connection
(tlsbridge.py). The destination restores it paused and, once
the source clears it, records the move in ONE transaction (resident_on, domid, the
operation cleared; a stale record refuses it): that commit is the point of no return. Then
it unpauses and the source destroys its copy. Whatever fails before resumes the source's
copy and removes the destination's; the VM stays Running where it was throughout.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import ssl
from typing import Any, Callable

from ..errors import XenAPIError
from .context import Context, TaskCancelled
from ..store import NULL_REF, new_ref
from ..store.errors import StoreConflict, StoreError
from .host_agent import LocalAgent, _host_live, _srs_of, agent_for, stream_pin
from .message import new_message
from .registry import implements
from . import vdi_motion as motion
from .vm import (Attached, VmOps, _devices, _internal_ctx, _record_running, allowed_operations,
                 check_operation, hypervisor, txn_of)

log = logging.getLogger(__name__)

#: seconds a receiver waits for its sender to connect
ACCEPT_TIMEOUT = 60.0
HEADER_MAX = 4096
#: commits of the move refused as stale (another host wrote the VM or its metrics since the
#: read) tried again with a fresh read; the source clearing the operation ends the retries
COMMIT_TRIES = 10
#: xapi's message priority for VM_MIGRATED (informational)
MIGRATED_PRIORITY = 5


# --- where a VM may go --------------------------------------------------------------------
def _sees(store: Any, sr: str, host: str) -> bool:
    rec = store.get("SR", sr)
    return rec is not None and any(
        (p := store.get("PBD", pbd)) is not None and p["host"] == host
        and p["currently_attached"] for pbd in rec["PBDs"])


def _check_disks(store: Any, vm: str, host: str, vdi_map: dict[str, str]) -> None:
    """VM_REQUIRES_SR [vm, sr] for a disk on an SR `host` cannot see that vdi_map does not
    move, and for a disk the map sends to an SR `host` cannot see (as xapi's check that the
    destination sees the SRs of the map); HANDLE_INVALID for a map to no SR."""
    for _, vdi, sr in motion.disks(store, vm):
        target = vdi_map.get(vdi, sr)
        if store.get("SR", target) is None:
            raise XenAPIError("HANDLE_INVALID", "SR", target)
        if not _sees(store, target, host):
            raise XenAPIError("VM_REQUIRES_SR", vm, target)


async def free_memory(ctx: Context, host: str) -> int:
    """Bytes free on `host`'s hypervisor now (asked of that host)."""
    agent = agent_for(ctx.services, host)
    if agent is None:
        return await hypervisor(ctx).free_memory_kib() * 1024
    return int(await agent.call("host.compute_free_memory", [host]))


def _check_host(ctx: Context, host: str) -> None:
    h = ctx.services.store.get("host", host)
    if not h["enabled"]:
        raise XenAPIError("HOST_DISABLED", host)
    if not _host_live(ctx.services, host):
        raise XenAPIError("HOST_OFFLINE", host)


async def check_destination(ctx: Context, vm: str, host: str,
                            vdi_map: dict[str, str] | None = None) -> None:
    """The destination can take the running VM: enabled, live, sees its disks, has the
    memory (a localhost migration needs room for a second copy, as in xapi)."""
    _check_host(ctx, host)
    store = ctx.services.store
    _check_disks(store, vm, host, vdi_map or {})
    need = store.get("VM", vm)["memory_static_max"]
    free = await free_memory(ctx, host)
    if need > free:
        raise XenAPIError("HOST_NOT_ENOUGH_FREE_MEMORY", str(need), str(free))


@implements("VM.assert_can_boot_here")
async def assert_can_boot_here(ctx: Context, self: str, host: str) -> None:
    store = ctx.services.store
    if not _host_live(ctx.services, host):
        raise XenAPIError("HOST_NOT_LIVE")
    if not store.get("host", host)["enabled"]:
        raise XenAPIError("HOST_DISABLED", host)
    _check_disks(store, self, host, {})
    rec = store.get("VM", self)
    if rec["resident_on"] == host and rec["power_state"] in ("Running", "Paused"):
        return                          # it boots there already
    need = max(rec["memory_static_max"], rec["memory_dynamic_max"])
    h = store.get("host", host)
    m = store.get("host_metrics", h["metrics"])
    free = m["memory_free"] if m is not None else 0
    if need > free:
        raise XenAPIError("HOST_NOT_ENOUGH_FREE_MEMORY", str(need), str(free))


@implements("VM.get_possible_hosts")
async def get_possible_hosts(ctx: Context, vm: str) -> list[str]:
    out = []
    for host in ctx.services.store.records("host"):
        try:
            await assert_can_boot_here(ctx, vm, host)
        except XenAPIError:
            continue
        out.append(host)
    return out


# --- the source side ----------------------------------------------------------------------
def _live_option(options: dict[str, str]) -> bool:
    return options.get("live", "true").lower() != "false"


def _dest_host(ctx: Context, dest: dict[str, str]) -> str:
    host = dest.get("host", "")
    if ctx.services.store.get("host", host) is None:
        raise XenAPIError("HANDLE_INVALID", "host", host)
    return host


@implements("VM.pool_migrate")
async def pool_migrate(ctx: Context, vm: str, host: str, options: dict[str, str]) -> None:
    await migrate(ctx, vm, host, "pool_migrate", _live_option(options), None)


@implements("VM.restart_device_models")
async def restart_device_models(ctx: Context, self: str) -> None:
    """As xapi: a live migration of the running VM to its own host, whose new domain gets
    new device models (it runs on the host it is resident on: routed there)."""
    await migrate(ctx, self, ctx.services.host_ref, "pool_migrate", True, None)


@implements("VM.migrate_send")
async def migrate_send(ctx: Context, vm: str, dest: dict[str, str], live: bool,
                       vdi_map: dict[str, str], vif_map: dict[str, str],
                       options: dict[str, str], vgpu_map: dict[str, str],
                       vdi_format_map: dict[str, str]) -> str:
    """Intra-pool: the VM stays the same object (its ref is the result, as xapi's)."""
    await migrate(ctx, vm, _dest_host(ctx, dest), "migrate_send", live, dest, vdi_map)
    return vm


def vdi_vm(store: Any, vdi: str) -> str | None:
    """The running VM whose disk `vdi` is, if any."""
    rec = store.get("VDI", vdi)
    for vbd in rec["VBDs"] if rec is not None else ():
        b = store.get("VBD", vbd)
        if b is not None and b["currently_attached"]:
            return b["VM"]
    return None


@implements("VDI.pool_migrate")
async def vdi_pool_migrate(ctx: Context, vdi: str, sr: str, options: dict[str, str]) -> str:
    """As xapi: the disk of a running VM moved to `sr` by a migration of the VM to its own
    host with that vdi_map (copied while the guest runs, the last changes while its domain
    is stopped, before the commit: see vdi_motion.py); the new VDI is the result."""
    store = ctx.services.store
    vm = vdi_vm(store, vdi)
    if vm is None:
        raise XenAPIError("VDI_NEEDS_VM_FOR_MIGRATE", vdi)
    vbd = next(b for b in store.get("VDI", vdi)["VBDs"] if store.get("VBD", b)["VM"] == vm)
    await migrate(ctx, vm, ctx.services.host_ref, "migrate_send", True, None, {vdi: sr})
    return store.get("VBD", vbd)["VDI"]


@implements("VM.assert_can_migrate")
async def assert_can_migrate(ctx: Context, vm: str, dest: dict[str, str], live: bool,
                             vdi_map: dict[str, str], vif_map: dict[str, str],
                             options: dict[str, str], vgpu_map: dict[str, str]) -> None:
    check_operation(ctx, vm, "migrate_send", ("Running",))
    await check_destination(ctx, vm, _dest_host(ctx, dest), vdi_map)


async def _progress(ctx: Context, value: float) -> None:
    if ctx.task is not None:
        await ctx.task.set_progress(value)


async def migrate(ctx: Context, vm: str, host: str, op: str, live: bool,
                  dest: dict[str, str] | None, vdi_map: dict[str, str] | None = None) -> None:
    """Check, announce `op` (committed: every host's clients see it), move the domain; the
    destination's commit clears the operation. A failure clears it here and raises
    VM_MIGRATE_FAILED [vm, source, destination, reason]; the VM runs here as before."""
    services = ctx.services
    rec = check_operation(ctx, vm, op, ("Running",))
    await check_destination(ctx, vm, host, vdi_map)
    ops = VmOps.of(services).busy
    if vm in ops:                       # announced by another call while we checked
        check_operation(ctx, vm, op, ("Running",))
    _raise_if_cancelled(ctx)
    op_ref = ctx.task.ref if ctx.task is not None else new_ref()
    ops[vm] = (op, op_ref)
    moved = motion.moves(services.store, vm, vdi_map or {})
    made: dict[str, str] = {}
    try:
        ctx.txn.update("VM", vm, {"current_operations": {op_ref: op}, "allowed_operations": []})
        await ctx.txn.commit()
        await _progress(ctx, 0.1)
        try:
            pre: motion.Precopied | None = None
            if moved:                   # pass 1 while the guest runs; pass 2 in _move
                await motion.make_copies(ctx, moved, made)
                try:
                    pre = await motion.precopy(ctx, moved, made)
                except (motion.CopyFailed, XenAPIError) as exc:
                    raise XenAPIError("VM_MIGRATE_FAILED", vm, services.host_ref, host,
                                      f"copying the disks while the VM runs: {exc}") from None
                await _progress(ctx, 0.15)
            _raise_if_cancelled(ctx)
            await _move(ctx, vm, rec["domid"], host, op_ref, live, dest, moved, made, pre)
        except BaseException:
            if moved:                   # the VM runs here on its own disks: never the copies
                await _repoint(services, {vbd: old for vbd, (old, _) in moved.items()})
                await motion.discard(ctx, list(made.values()))
            await _abandon(ctx, vm, op_ref)
            raise
        await services.store.catch_up()
        if moved:                       # the VBDs point at the copies now
            await motion.discard(ctx, [vdi for vdi, _ in moved.values()])
        txn = txn_of(ctx)
        src = services.store.get("host", services.host_ref)["name_label"]
        dst = services.store.get("host", host)["name_label"]
        new_message(services, txn, "VM_MIGRATED", MIGRATED_PRIORITY, "VM", rec["uuid"],
                    f"VM '{rec['name_label']}' migrated from host '{src}' to host '{dst}'")
        await txn.commit()
    finally:
        ops.pop(vm, None)


async def _rewrite(ctx: Context, vm: str,
                   change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> None:
    """Write `change(record)` to the VM as the record stands now; another host's write to it
    in between (the destination taking its commit back) refuses ours as stale: read again."""
    for _ in range(20):
        await ctx.services.store.catch_up()
        txn = txn_of(ctx)
        rec = txn.get("VM", vm)
        values = change(rec) if rec is not None else None
        if not values:
            return
        txn.update("VM", vm, values)
        txn.update("VM", vm, {"allowed_operations": allowed_operations(txn.get("VM", vm))})
        try:
            await txn.commit()
            return
        except StoreConflict:
            await asyncio.sleep(0.05)
    log.error("VM %s: could not record the end of its migration", vm)


async def _abandon(ctx: Context, vm: str, op_ref: str) -> None:
    """The migration failed: the operation is cleared (the record still says here)."""
    def change(rec: dict[str, Any]) -> dict[str, Any] | None:
        if op_ref not in rec["current_operations"]:
            return None
        return {"current_operations": {k: v for k, v in rec["current_operations"].items()
                                       if k != op_ref}}
    await _rewrite(ctx, vm, change)


def _management_network(store: Any, host: str) -> str:
    for rec in store.records("PIF").values():
        if rec["host"] == host and rec["management"]:
            return rec["network"]
    return NULL_REF


async def _receiver(ctx: Context, host: str, dest: dict[str, str] | None) -> dict[str, str]:
    if dest is not None and dest.get("xenops") and dest.get("token"):
        return dest
    args = [host, _management_network(ctx.services.store, host), {}]
    agent = agent_for(ctx.services, host)
    if agent is None:
        return await LocalAgent(ctx).call("host.migrate_receive", args)
    return await agent.call("host.migrate_receive", args)


def _loopback(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr.strip("[]")).is_loopback
    except ValueError:
        return False


class StreamRefused(Exception):
    """A receiver could not be reached, or not over TLS with the certificate pinned for its
    host (the reason)."""


async def open_stream(services: Any, host: str, address: str) -> socket.socket:
    """A connected, blocking socket to the receiver at `address` on `host` (its memory or a
    disk's): TLS pinned to `host`'s recorded certificate (host_agent.stream_pin), bridged to
    a local socket for the binding (tlsbridge.py). Plain TCP only to a receiver of this host
    when it serves no HTTPS (a standalone host: its receivers listen on the loopback only).
    StreamRefused: nothing was sent."""
    from .. import tlsbridge
    if host == services.host_ref and getattr(services, "tls", None) is None:
        pin, secure = None, False
    else:
        try:
            pin, secure = stream_pin(services, host), True
        except XenAPIError:
            raise StreamRefused("no certificate is recorded for the destination") from None
    addr, _, port = address.rpartition(":")
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    if not secure and not _loopback(addr):
        raise StreamRefused(f"a plain stream goes to this host's loopback only, not {addr}")
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await asyncio.wait_for(asyncio.get_running_loop().sock_connect(
            sock, (addr.strip("[]"), int(port))), 10)
        if secure:
            bridge = await tlsbridge.connect(sock, pin)
            return bridge.local
    except tlsbridge.PinMismatch as exc:
        sock.close()
        raise StreamRefused(f"the receiver's TLS certificate is refused: {exc}") from None
    except (OSError, ValueError, asyncio.TimeoutError, ssl.SSLError) as exc:
        sock.close()
        how = " over TLS" if secure else ""
        raise StreamRefused(f"cannot reach the receiver{how}: {exc}") from None
    except BaseException:
        sock.close()
        raise
    sock.setblocking(True)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


async def _move(ctx: Context, vm: str, domid: int, host: str, op_ref: str, live: bool,
                dest: dict[str, str] | None, moved: dict[str, tuple[str, str]],
                vdis: dict[str, str], pre: motion.Precopied | None) -> None:
    """`moved` {vbd: (vdi, sr)}: disks pre-copied into `vdis` {vbd: new vdi} (`pre`: what
    pass 1 left), brought up to date while both copies of the domain are stopped, before the
    commit (a storage motion's pass 2)."""
    from ..xen.hypervisor import MigrationError, MigrationUndefined
    services = ctx.services
    source = services.host_ref
    hv = hypervisor(ctx)

    def failed(why: str) -> XenAPIError:
        return XenAPIError("VM_MIGRATE_FAILED", vm, source, host, why)

    op = VmOps.of(services).busy[vm][0]
    receiver = await _receiver(ctx, host, dest)
    try:
        sock = await open_stream(services, host, receiver["xenops"])
    except StreamRefused as exc:
        raise failed(f"the destination's receiver: {exc}") from None
    # this host's attachments of the disks, released once the copy here is gone (a localhost
    # migration's receiver records its own under the same VM)
    mine = services.vm_devices.pop(vm, [])
    try:
        header = {"token": receiver["token"], "vm": vm, "operation": op, "op": op_ref,
                  "source": source, "vdis": vdis}
        sock.sendall(json.dumps(header).encode() + b"\n")
        await _progress(ctx, 0.2)
        fill = None if pre is None else functools.partial(motion.finish, ctx, moved, vdis, pre)
        watch = asyncio.get_running_loop().create_task(_cancel_watch(ctx, sock))
        try:
            if ctx.task is not None:
                ctx.task.check_cancelled()
            await hv.migrate_send(domid, sock, live, fill)
        finally:
            watch.cancel()
    except MigrationUndefined as exc:
        if not await _settle(ctx, vm, domid, op_ref, source):
            services.vm_devices[vm] = mine
            _raise_if_cancelled(ctx)
            raise failed(str(exc)) from None
    except (MigrationError, OSError, TaskCancelled) as exc:
        services.vm_devices[vm] = mine
        await _reclaim(ctx, vm, domid, source)
        _raise_if_cancelled(ctx)
        raise failed(str(exc)) from None
    finally:
        sock.close()
    await _progress(ctx, 0.9)
    att = Attached(ctx)
    att.vdis = mine
    await att.detach_all()


#: how often a running stream looks at its task's cancellation token
CANCEL_POLL = 0.1


async def _cancel_watch(ctx: Context, sock: socket.socket) -> None:
    """task.cancel during the stream: shut the stream down, so that the migration fails as
    a broken stream does (the domain resumes here, the destination drops its copy), or, if
    the destination committed meanwhile, ends as done: the same outcome rules as a fault."""
    task = ctx.task
    if task is None:
        return
    while not task.cancelled:
        await asyncio.sleep(CANCEL_POLL)
    log.info("migration cancelled by its task %s: stopping the stream", task.ref)
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _raise_if_cancelled(ctx: Context) -> None:
    """A migration that failed because its task was cancelled ends `cancelled`."""
    if ctx.task is not None:
        ctx.task.check_cancelled()


async def _reclaim(ctx: Context, vm: str, domid: int, source: str) -> None:
    """The copy here runs again: if the destination's record of the move stayed (it could
    not take it back itself), the record comes back here."""
    def change(rec: dict[str, Any]) -> dict[str, Any] | None:
        if rec["resident_on"] == source and rec["domid"] == domid:
            return None
        return {"resident_on": source, "domid": domid, "power_state": "Running"}
    await _rewrite(ctx, vm, change)


async def _settle(ctx: Context, vm: str, domid: int, op_ref: str, source: str) -> bool:
    """The link broke after this host cleared the destination: the record decides. Committed
    there (resident_on or domid moved): destroy the suspended copy here (True). Else clear
    the operation here (the destination's commit, needing it, is then refused; of two such
    writes the later is refused as stale) and resume the copy here (False)."""
    hv = hypervisor(ctx)
    for _ in range(50):
        await ctx.services.store.catch_up()
        rec = ctx.services.store.get("VM", vm)
        if rec["resident_on"] != source or rec["domid"] != domid:
            await hv.destroy(domid)
            return True
        if op_ref not in rec["current_operations"]:
            break
        txn = txn_of(ctx)
        cur = {k: v for k, v in rec["current_operations"].items() if k != op_ref}
        txn.update("VM", vm, {"current_operations": cur})
        txn.update("VM", vm, {"allowed_operations": allowed_operations(txn.get("VM", vm))})
        try:
            await txn.commit()
            break
        except StoreError:
            await asyncio.sleep(0.1)      # refused: the destination wrote first; look again
    await hv.rename(domid, rec["uuid"])
    await hv.resume_in_place(domid)
    return False


# --- the destination side -----------------------------------------------------------------
@implements("host.migrate_receive")
async def migrate_receive(ctx: Context, host: str, network: str,
                          options: dict[str, str]) -> dict[str, str]:
    """A receiver for one incoming VM on this host (or a disk's copy): a listener on the
    host's address that speaks TLS with the host's HTTPS certificate, and the token the
    sender must present first, inside TLS."""
    services = ctx.services
    if host != services.host_ref:
        raise XenAPIError("HOST_OFFLINE", host)
    h = ctx.txn.get("host", host)
    if not h["enabled"]:
        raise XenAPIError("HOST_DISABLED", host)
    disk = options.get("vdi")            # a disk's copy in a storage motion (vdi_motion.py)
    if disk is not None:
        motion.check_target(ctx, disk)
    address = h["address"] or "127.0.0.1"
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    # TLS with the certificate this host serves over HTTPS; a host serving none is standalone
    # (pool hosts need --https): only itself migrates to it, over its loopback
    served = getattr(services, "tls", None)
    tls = served.context if served is not None else None
    if tls is None:
        address = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.bind((address, 0))
        listener.listen(4)
        listener.setblocking(False)
    except OSError as exc:
        listener.close()
        raise XenAPIError("VM_MIGRATE_CONTACT_REMOTE_SERVICE_FAILED") from exc
    token = secrets.token_hex(32)
    port = listener.getsockname()[1]
    handle = _incoming if disk is None else motion.receiver_for(disk)
    task = asyncio.get_running_loop().create_task(
        _accept(services, listener, token, handle, tls))
    receivers: set[Any] | None = getattr(services, "migration_receivers", None)
    if receivers is None:
        receivers = services.migration_receivers = set()
    receivers.add(task)
    task.add_done_callback(receivers.discard)
    where = f"[{address}]:{port}" if family == socket.AF_INET6 else f"{address}:{port}"
    out = {"host": host, "xenops": where, "token": token, "session_id": "", "master": ""}
    if disk is not None:
        out["vdi_passes"] = "2"         # it takes pass 2 into a copy (a sender checks)
    return out


async def _read_header(sock: socket.socket) -> dict[str, Any] | None:
    """The sender's first line (byte by byte: what follows is the domain's stream)."""
    loop = asyncio.get_running_loop()
    buf = b""
    while len(buf) < HEADER_MAX:
        b = await loop.sock_recv(sock, 1)
        if not b:
            return None
        if b == b"\n":
            try:
                header = json.loads(buf)
            except ValueError:
                return None
            return header if isinstance(header, dict) else None
        buf += b
    return None


async def _accept(services: Any, listener: socket.socket, token: str,
                  handle: Callable[[Any, socket.socket, dict[str, Any]], Any],
                  tls: ssl.SSLContext | None) -> None:
    """The first connection that completes a TLS handshake with this host's certificate and
    presents the token is the sender; others are refused (closed) and change nothing."""
    from .. import tlsbridge
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(ACCEPT_TIMEOUT):
            while True:
                conn, peer = await loop.sock_accept(listener)
                if tls is not None:
                    try:
                        bridge = await tlsbridge.accept(conn, tls)
                    except (ssl.SSLError, OSError, TimeoutError) as exc:
                        log.warning("refused a migration connection from %s: no TLS (%s)",
                                    peer, exc)
                        conn.close()
                        continue
                    conn = bridge.local         # the decrypted stream
                    conn.setblocking(False)
                header = await _read_header(conn)
                if header is not None and hmac.compare_digest(
                        str(header.get("token", "")).encode(), token.encode()):
                    break
                log.warning("refused a migration connection from %s: wrong token", peer)
                conn.close()
    except TimeoutError:
        log.warning("no migration sender connected within %gs", ACCEPT_TIMEOUT)
        return
    finally:
        listener.close()
    try:
        await handle(services, conn, header)
    except Exception as exc:  # noqa: BLE001 - the sender reports the failure to its client
        log.warning("incoming migration of %s failed: %s", header.get("vm", "a disk"), exc)
    finally:
        conn.close()


async def _incoming(services: Any, sock: socket.socket, header: dict[str, Any]) -> None:
    """Restore the VM's domain here, record the move at the commit point, run it. The VM
    counts as busy here meanwhile, so that this host's pump leaves the incoming domain to
    the migration (a rolled back one dies here without the VM halting)."""
    vm, op, op_ref, source = (str(header.get(k)) for k in ("vm", "operation", "op", "source"))
    vdis = header.get("vdis") or {}
    if not isinstance(vdis, dict):
        raise RuntimeError("a bad migration header")
    busy = VmOps.of(services).busy
    mine = vm not in busy               # a localhost migration: the source's entry
    if mine:
        busy[vm] = (op, op_ref)
    try:
        await _restore(services, sock, vm, op_ref, source, vdis)
    finally:
        if mine:
            busy.pop(vm, None)


async def _restore(services: Any, sock: socket.socket, vm: str, op_ref: str,
                   source: str, vdis: dict[str, str]) -> None:
    """`vdis` {vbd: vdi}: the copies the VM's disks moved to (the VBDs point at them from the
    commit on)."""
    from ..xen import config
    await services.store.catch_up()
    ctx = _internal_ctx(services, "host.migrate_receive", services.store.transaction())
    rec = ctx.txn.get("VM", vm)
    if rec is None or op_ref not in rec["current_operations"] or rec["resident_on"] != source:
        raise RuntimeError(f"no migration of {vm} from {source} is in progress")
    hv = hypervisor(ctx)
    att = Attached(ctx, handover=True)
    committed = []

    async def commit(domid: int) -> None:
        info = await hv.domain_info(domid)
        for attempt in range(COMMIT_TRIES):
            await services.store.catch_up()
            cctx = _internal_ctx(services, "host.migrate_receive", txn_of(ctx))
            now = cctx.txn.get("VM", vm)
            if now is None or op_ref not in now["current_operations"] or \
                    now["resident_on"] != source:
                raise RuntimeError("the migration was abandoned by its source")
            _record_running(cctx, cctx.txn, vm, domid, False, info)
            for vbd, vdi in vdis.items():
                cctx.txn.update("VBD", vbd, {"VDI": vdi})
            cur = {k: v for k, v in now["current_operations"].items() if k != op_ref}
            cctx.txn.update("VM", vm, {"current_operations": cur})
            cctx.txn.update("VM", vm, {"allowed_operations": allowed_operations(
                cctx.txn.get("VM", vm))})
            try:
                await cctx.txn.commit()
            except StoreConflict:
                # the source's monitor wrote the VM's metrics meanwhile: read them again
                if attempt == COMMIT_TRIES - 1:
                    raise
                await asyncio.sleep(0.01)
                continue
            committed.append(domid)
            return

    old = {vbd: ctx.txn.get("VBD", vbd)["VDI"] for vbd in vdis}
    for vbd, vdi in vdis.items():         # this read only: attach the copies here
        ctx.txn.update("VBD", vbd, {"VDI": vdi})
    try:
        disks, nics = await _devices(ctx, ctx.txn, vm, att)
        phys = await hv.physinfo()
        cfg = config.build(rec, disks, nics, nr_cpus=phys.nr_cpus)
        sock.setblocking(True)
        await hv.migrate_receive(cfg, sock, commit)
    except BaseException:
        with contextlib.suppress(Exception):
            sock.shutdown(socket.SHUT_RDWR)
        if committed:
            # recorded here, but the copy here could not run and is gone: the source
            # resumes its own, so the record goes back to it
            back = {"resident_on": source, "domid": rec["domid"],
                    "power_state": rec["power_state"]}
            await _rewrite(ctx, vm, lambda now: back if now["domid"] == committed[0] else None)
            if old:
                await _repoint(services, old)
        await att.detach_all()
        raise
    services.vm_devices[vm] = att.vdis
    monitor = getattr(services, "monitor", None)
    if monitor is not None:
        monitor.declare_vm(vm)


async def _repoint(services: Any, vdis: dict[str, str]) -> None:
    """The VBDs back on their original VDIs (a move taken back after its commit)."""
    for _ in range(20):
        await services.store.catch_up()
        txn = services.transaction()
        for vbd, vdi in vdis.items():
            txn.update("VBD", vbd, {"VDI": vdi})
        try:
            await txn.commit()
            return
        except StoreConflict:
            await asyncio.sleep(0.05)
    log.error("could not point the VBDs %s back at their disks", sorted(vdis))


# --- evacuation: every VM off a host, by live migration -----------------------------------
def evacuation_plan(ctx: Context, host: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    """xapi's plan: each VM running on `host` (dom0 aside) -> another enabled live host that
    sees its disks and has the memory (counting what the plan already puts there), or the
    error that stops it (VM_REQUIRES_SR [vm, sr] when no other host sees a disk,
    HOST_NOT_ENOUGH_FREE_MEMORY [vm] when none has the room)."""
    services, store = ctx.services, ctx.services.store
    free: dict[str, int] = {}
    for ref, h in store.records("host").items():
        if ref == host or not h["enabled"] or not _host_live(services, ref):
            continue
        m = store.get("host_metrics", h["metrics"])
        free[ref] = m["memory_free"] if m is not None else 0
    plan: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for ref, rec in sorted(store.records("VM").items()):
        if rec["resident_on"] != host or rec["is_control_domain"] \
                or rec["power_state"] not in ("Running", "Paused"):
            continue
        if rec["power_state"] != "Running":
            errors[ref] = ["VM_BAD_POWER_STATE", ref, "running", "paused"]
            continue
        need = rec["memory_static_max"]
        fits, lacking = [], None
        for h in free:
            sr = next((sr for sr in _srs_of(store, ref) if not _sees(store, sr, h)), None)
            if sr is not None:
                lacking = sr
            elif free[h] >= need:
                fits.append(h)
        if not fits:
            errors[ref] = ["VM_REQUIRES_SR", ref, lacking] if lacking is not None \
                else ["HOST_NOT_ENOUGH_FREE_MEMORY", ref]
            continue
        target = max(fits, key=lambda h: free[h])
        free[target] -= need
        plan[ref] = target
    return plan, errors


@implements("host.get_vms_which_prevent_evacuation")
async def get_vms_which_prevent_evacuation(ctx: Context, self: str) -> dict[str, list[str]]:
    return evacuation_plan(ctx, self)[1]


@implements("host.assert_can_evacuate")
async def assert_can_evacuate(ctx: Context, host: str) -> None:
    errors = [",".join(e) for e in evacuation_plan(ctx, host)[1].values()]
    if errors:
        raise XenAPIError("CANNOT_EVACUATE_HOST", "|".join(errors))


#: VMs migrated at once when the caller leaves evacuate_batch_size 0
EVACUATE_BATCH = 4


@implements("host.evacuate")
async def evacuate(ctx: Context, host: str, network: str, evacuate_batch_size: int) -> None:
    """Migrate every VM off `host`, `evacuate_batch_size` at a time, each as a VM.pool_migrate
    carried out by `host`'s agent; the plan's first error if one cannot go (nothing moved
    then). A migration that fails ends the evacuation with its error once the rest is done."""
    plan, errors = evacuation_plan(ctx, host)
    for code_and_params in errors.values():
        raise XenAPIError(*code_and_params)
    services = ctx.services
    sem = asyncio.Semaphore(evacuate_batch_size if evacuate_batch_size > 0 else EVACUATE_BATCH)
    done = 0

    async def one(vm: str, target: str) -> None:
        nonlocal done
        async with sem:
            _raise_if_cancelled(ctx)        # cancelled: the migrations under way finish
            args = [vm, target, {"live": "true"}]
            agent = agent_for(services, host)
            if agent is not None:
                await agent.call("VM.pool_migrate", args)
            else:
                vctx = Context(services, ctx.caller, "VM.pool_migrate",
                               services.store.transaction(), ctx.session_ref, ctx.session)
                try:
                    await pool_migrate(vctx, *args)
                finally:
                    vctx.txn.rollback()
            done += 1
            await _progress(ctx, done / len(plan))

    results = await asyncio.gather(*(one(vm, t) for vm, t in plan.items()),
                                   return_exceptions=True)
    await services.store.catch_up()
    for r in results:
        if isinstance(r, BaseException):
            raise r
