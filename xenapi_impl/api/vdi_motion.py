"""Storage motion inside the pool: the disks of a running VM copied to another SR as it
migrates (`VM.migrate_send` with a `vdi_map`, `VDI.pool_migrate`), as xapi's storage motion.

For each disk the map moves: a VDI is made on the target SR (on a host that has it plugged,
the destination for a local SR), that host opens a receiver for it (`host.migrate_receive`
with `options["vdi"]`: a listener and a one-time token, over TLS pinned to that host, as the
memory's), and the source host streams the disk's data extents into it (holes stay holes);
the receiver answers once the image is synced. No mirror: the copy runs after the memory
stream, while the domain is suspended on the source and restored paused on the destination
and before the commit (xenlight_py.migrate_send's `before_commit`), so the guest writes
nothing during it (the copy's time is part of the downtime). The VBDs are pointed at the
new VDIs in the destination's commit (api/vm_migrate.py); then the source VDIs are
destroyed. Before that commit any failure destroys the copies and the source's domain
resumes with its disks.

Stream (inside TLS, vm_migrate.open_stream): the header line (JSON, the token), then frames
`offset:u64 length:u64 data`, ended by a frame of length 0; the receiver answers `OK\n` or
`ERR <reason>\n`.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import struct
from typing import Any

from ..errors import XenAPIError
from ..storage.sparse import SEND, data_extents, empty_image, write_sparse
from ..store import NULL_REF
from .context import Context
from .host_agent import agent_for, sr_host
from .internal_calls import call_as
from .vdi_image import close_image, refresh_sizes

log = logging.getLogger(__name__)

FRAME = struct.Struct(">QQ")


class CopyFailed(Exception):
    """A disk could not be copied (the reason): the migration fails before its commit."""
#: tries (0.2 s apart) to destroy a VDI still in use a moment after a failed motion
DISCARD_TRIES = 25
#: seconds either side waits for the other while a disk streams
STREAM_TIMEOUT = 120.0


def disks(store: Any, vm: str) -> list[tuple[str, str, str]]:
    """(vbd, vdi, sr) of each of the VM's disks (empty drives aside)."""
    out = []
    for vbd in store.get("VM", vm)["VBDs"]:
        b = store.get("VBD", vbd)
        if b is None or b["empty"] or b["VDI"] == NULL_REF:
            continue
        out.append((vbd, b["VDI"], store.get("VDI", b["VDI"])["SR"]))
    return out


def moves(store: Any, vm: str, vdi_map: dict[str, str]) -> dict[str, tuple[str, str]]:
    """{vbd: (vdi, target SR)} for the VM's disks the map sends to another SR."""
    return {vbd: (vdi, vdi_map[vdi]) for vbd, vdi, sr in disks(store, vm)
            if vdi_map.get(vdi, sr) != sr}


async def _on_sr(ctx: Context, sr: str, method: str, args: list[Any]) -> Any:
    """`method` run on a host that has `sr` plugged (this one if it has)."""
    from .registry import IMPLEMENTATIONS
    agent = agent_for(ctx.services, sr_host(ctx, sr))
    if agent is None:
        return await call_as(ctx, method, IMPLEMENTATIONS[method], *args)
    return await agent.call(method, args)


async def discard(ctx: Context, vdis: list[str]) -> None:
    """Destroy VDIs (the copies of a failed motion, the originals of a done one); a failure
    is logged: the VM's state does not depend on it."""
    for vdi in vdis:
        # a destination taking its commit back may hold the copy a moment longer
        for attempt in range(DISCARD_TRIES):
            await ctx.services.store.catch_up()
            rec = ctx.services.store.get("VDI", vdi)
            if rec is None:
                break
            try:
                await _on_sr(ctx, rec["SR"], "VDI.destroy", [vdi])
                break
            except XenAPIError as exc:
                if exc.code != "VDI_IN_USE" or attempt == DISCARD_TRIES - 1:
                    log.warning("could not destroy VDI %s after a storage motion: %s",
                                vdi, exc)
                    break
                await asyncio.sleep(0.2)


async def make_copies(ctx: Context, moved: dict[str, tuple[str, str]],
                      made: dict[str, str]) -> None:
    """An empty VDI for each moved disk on its target SR: `made` gets {vbd: new vdi} as
    they are made (for the caller to discard on failure)."""
    store = ctx.services.store
    for vbd, (vdi, sr) in sorted(moved.items()):
        rec = store.get("VDI", vdi)
        new = await _on_sr(ctx, sr, "VDI.create", [{
            "SR": sr, "virtual_size": rec["virtual_size"], "type": rec["type"],
            "sharable": rec["sharable"], "read_only": rec["read_only"],
            "other_config": rec["other_config"], "name_label": rec["name_label"],
            "name_description": rec["name_description"]}])
        made[vbd] = new


async def fill_copies(ctx: Context, moved: dict[str, tuple[str, str]],
                      made: dict[str, str]) -> None:
    """Each moved disk's data streamed into its copy, by the host that has the copy's SR."""
    from .vm_migrate import _management_network
    store = ctx.services.store
    for vbd, (vdi, sr) in sorted(moved.items()):
        new = made[vbd]
        target = sr_host(ctx, sr)
        target = ctx.services.host_ref if target == NULL_REF else target
        receiver = await _on_sr(ctx, sr, "host.migrate_receive", [
            target, _management_network(store, target), {"vdi": new}])
        await _send(ctx, vdi, target, receiver)


async def _send(ctx: Context, vdi: str, host: str, receiver: dict[str, str]) -> None:
    from .vm_migrate import StreamRefused, open_stream
    try:
        sock = await open_stream(ctx.services, host, receiver["xenops"])
    except StreamRefused as exc:
        raise CopyFailed(f"the disk's receiver: {exc}") from None
    try:
        sock.settimeout(STREAM_TIMEOUT)
        drv, uuid, path = await _held_image(ctx, vdi)
        try:
            size = ctx.services.store.get("VDI", vdi)["virtual_size"]
            header = json.dumps({"token": receiver["token"]}).encode() + b"\n"
            answer = await asyncio.to_thread(_stream, sock, header, path, size)
        finally:
            await close_image(ctx, drv, uuid)
    except OSError as exc:
        raise CopyFailed(f"the disk's stream broke: {exc}") from None
    finally:
        sock.close()
    if answer != "OK":
        raise CopyFailed(answer or "the receiver closed the stream")


async def _held_image(ctx: Context, vdi: str) -> tuple[Any, str, str]:
    """(driver, uuid, path) of a disk a stopped domain holds read-write (the source's
    suspended one, the destination's restored one): attached as a migration's destination
    attaches it (a handover: the holder keeps its attachment). Detach with `close_image`."""
    from .pbd import attached_driver, call
    rec = ctx.services.store.get("VDI", vdi)
    drv = attached_driver(ctx, rec["SR"])
    info = await call(ctx, drv.vdi_attach, rec["uuid"], True, handover=True)
    return drv, rec["uuid"], info.pdev_path


def _stream(sock: socket.socket, header: bytes, path: str, size: int) -> str:
    """Send the image's data extents (in a worker thread); the receiver's answer."""
    sock.sendall(header)
    fd = os.open(path, os.O_RDONLY)
    try:
        for off, length in data_extents(fd, size) or [(0, size)]:
            end = off + length
            while off < end:
                data = os.pread(fd, min(SEND, end - off), off)
                if not data:
                    break
                sock.sendall(FRAME.pack(off, len(data)) + data)
                off += len(data)
    finally:
        os.close(fd)
    sock.sendall(FRAME.pack(0, 0))
    line = sock.makefile("rb").readline(4096).decode(errors="replace").strip()
    return line[3:].strip() if line.startswith("ERR") else line


# --- the receiving host ---------------------------------------------------------------------
def check_target(ctx: Context, vdi: str) -> None:
    """A VDI a receiver may fill: on an SR plugged here, not in use by a VM."""
    from .pbd import attached_driver
    from .vdi import _in_use
    rec = ctx.txn.get("VDI", vdi)
    if rec is None:
        raise XenAPIError("HANDLE_INVALID", "VDI", vdi)
    attached_driver(ctx, rec["SR"])
    _in_use(ctx, vdi, "migrate_receive")


def receiver_for(vdi: str) -> Any:
    """The handler of an accepted disk stream into `vdi` (see vm_migrate._accept)."""
    async def receive(services: Any, sock: socket.socket, header: dict[str, Any]) -> None:
        from .vm import _internal_ctx
        ctx = _internal_ctx(services, "host.migrate_receive",
                            services.model.relations.wrap(services.store.transaction()))
        answer = b"OK\n"
        try:
            sock.setblocking(True)
            sock.settimeout(STREAM_TIMEOUT)
            # the incoming domain holds the copy already (restored paused, as a handover)
            drv, uuid, path = await _held_image(ctx, vdi)
            try:
                size = services.store.get("VDI", vdi)["virtual_size"]
                await asyncio.to_thread(_fill, sock, path, size)
            finally:
                await close_image(ctx, drv, uuid)
            await refresh_sizes(ctx, vdi, drv)
        except (OSError, ValueError, XenAPIError) as exc:
            log.warning("receiving the image of VDI %s failed: %s", vdi, exc)
            answer = f"ERR {exc}\n".encode()
        try:
            sock.sendall(answer)
            if answer != b"OK\n":
                # read what the sender still sends, so that it reads our reason (unread
                # data would reset the connection under it)
                sock.shutdown(socket.SHUT_WR)
                await asyncio.to_thread(_drain, sock)
        except OSError:
            pass
    return receive


def _drain(sock: socket.socket) -> None:
    while sock.recv(1 << 20):
        pass


def _recv_exact(f: Any, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise ValueError("the disk's stream ended early")
    return data


def _fill(sock: socket.socket, path: str, size: int) -> None:
    """Write the frames into the image, emptied first (in a worker thread)."""
    f = sock.makefile("rb")
    fd = os.open(path, os.O_RDWR)
    try:
        empty_image(fd, size)
        while True:
            off, length = FRAME.unpack(_recv_exact(f, FRAME.size))
            if length == 0:
                break
            if off + length > size:
                raise ValueError(f"a frame beyond the disk's end ({off}+{length})")
            write_sparse(fd, off, _recv_exact(f, length))
        os.fsync(fd)
    finally:
        os.close(fd)
