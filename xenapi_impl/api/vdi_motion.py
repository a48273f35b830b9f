"""Storage motion inside the pool: the disks of a running VM copied to another SR as it
migrates (`VM.migrate_send` with a `vdi_map`, `VDI.pool_migrate`), as xapi's storage motion;
where xapi mirrors the guest's writes, this copies in two passes (a pre-copy, then a delta).

For each disk the map moves: a VDI is made on the target SR (on a host that has it plugged,
the destination for a local SR). Each pass, that host opens a receiver for it
(`host.migrate_receive` with `options["vdi"]`: a listener and a one-time token, over TLS
pinned to that host, as the memory's) and the source host streams into it; the receiver
answers once the image is synced.
- Pass 1 (`precopy`), before the memory stream, while the guest runs: the receiver empties
  the copy, the source sends every 64 KiB block of the image's data extents that is not all
  zeros (holes stay holes) and keeps a digest (BLAKE2b) of the bytes it sent for each block.
- Pass 2 (`finish`), after the memory stream, while the domain is suspended on the source
  and restored paused on the destination, before the commit (xenlight_py.migrate_send's
  `before_commit`: the guest writes nothing meanwhile): the source reads its data extents
  again, hashes every block and sends only those whose digest differs from pass 1's (changed
  or new data), and zeros for the blocks pass 1 sent that hold no data now (punched as holes
  where the file system can); the receiver writes them into the copy as pass 1 left it. Only
  this pass is part of the downtime, but it still reads and hashes all of the disk's data
  (no dirty-block tracking: the time grows with the data, not with what changed).
The VBDs are pointed at the new VDIs in the destination's commit (api/vm_migrate.py); then
the source VDIs are destroyed. Before that commit any failure (of either pass too) fails the
migration with VM_MIGRATE_FAILED and destroys the copies; the VM keeps running on the source
(pass 1) or resumes there (pass 2) on its own disks.

Stream (inside TLS, vm_migrate.open_stream): the header line (JSON: the token, `pass` 1 or 2),
then frames `offset:u64 length:u64 data`, where a length with its top bit (HOLE) set carries
no data (that range reads as zeros), ended by a frame of length 0; the receiver answers
`OK\n` or `ERR <reason>\n`.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import socket
import struct
from typing import Any

from ..errors import XenAPIError
from ..storage.sparse import SEND, data_extents, empty_image, punch, write_sparse
from ..store import NULL_REF
from .context import Context
from .host_agent import agent_for, sr_host
from .internal_calls import call_as
from .vdi_image import close_image, refresh_sizes

log = logging.getLogger(__name__)

FRAME = struct.Struct(">QQ")
#: a frame's length with this bit: the range reads as zeros (no data follows)
HOLE = 1 << 63
#: the unit pass 2 compares (by digest) and resends
BLOCK = 64 << 10
DIGEST_SIZE = 16
#: block index -> digest of the bytes sent for it (blocks of zeros are not listed)
Digests = dict[int, bytes]


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


async def precopy(ctx: Context, moved: dict[str, tuple[str, str]],
                  made: dict[str, str]) -> dict[str, Digests]:
    """Pass 1, while the guest runs: each moved disk's data streamed into its copy (emptied
    first). {vbd: the digests of the blocks sent}, for `finish`."""
    return await _copy_pass(ctx, moved, made, None)


async def finish(ctx: Context, moved: dict[str, tuple[str, str]], made: dict[str, str],
                 sent: dict[str, Digests]) -> None:
    """Pass 2, the guest stopped: into each copy as pass 1 left it, the blocks that differ
    from what pass 1 sent (changed, new data, or zeros now)."""
    await _copy_pass(ctx, moved, made, sent)


async def _copy_pass(ctx: Context, moved: dict[str, tuple[str, str]], made: dict[str, str],
                     sent: dict[str, Digests] | None) -> dict[str, Digests]:
    """One pass over every moved disk, each by a receiver on a host that has the copy's SR."""
    from .vm_migrate import _management_network
    store = ctx.services.store
    out = {}
    for vbd, (vdi, sr) in sorted(moved.items()):
        new = made[vbd]
        target = sr_host(ctx, sr)
        target = ctx.services.host_ref if target == NULL_REF else target
        receiver = await _on_sr(ctx, sr, "host.migrate_receive", [
            target, _management_network(store, target), {"vdi": new}])
        out[vbd] = await _send(ctx, vdi, target, receiver,
                               None if sent is None else sent[vbd])
    return out


async def _send(ctx: Context, vdi: str, host: str, receiver: dict[str, str],
                sent: Digests | None) -> Digests:
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
            header = json.dumps({"token": receiver["token"],
                                 "pass": 1 if sent is None else 2}).encode() + b"\n"
            answer, digests = await asyncio.to_thread(_stream, sock, header, path, size, sent)
        finally:
            await close_image(ctx, drv, uuid)
    except OSError as exc:
        raise CopyFailed(f"the disk's stream broke: {exc}") from None
    finally:
        sock.close()
    if answer != "OK":
        raise CopyFailed(answer or "the receiver closed the stream")
    return digests


async def _held_image(ctx: Context, vdi: str) -> tuple[Any, str, str]:
    """(driver, uuid, path) of a disk a domain may hold read-write (the source's running or
    suspended one, the destination's restored one): attached as a migration's destination
    attaches it (a handover: the holder keeps its attachment). Detach with `close_image`."""
    from .pbd import attached_driver, call
    rec = ctx.services.store.get("VDI", vdi)
    drv = attached_driver(ctx, rec["SR"])
    info = await call(ctx, drv.vdi_attach, rec["uuid"], True, handover=True)
    return drv, rec["uuid"], info.pdev_path


def _digest(block: memoryview | bytes) -> bytes:
    return hashlib.blake2b(block, digest_size=DIGEST_SIZE).digest()


_ZERO_DIGESTS: dict[int, bytes] = {}


def _zero_digest(n: int) -> bytes:
    """The digest of n zero bytes (a block of zeros is not data: never sent as such)."""
    d = _ZERO_DIGESTS.get(n)
    if d is None:
        d = _ZERO_DIGESTS[n] = _digest(bytes(n))
    return d


def block_runs(extents: list[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    """(start, end) of the whole blocks that the data extents touch, merged."""
    runs: list[list[int]] = []
    for off, length in extents:
        start = off - off % BLOCK
        end = min(size, -(-(off + length) // BLOCK) * BLOCK)
        if runs and start <= runs[-1][1]:
            runs[-1][1] = max(runs[-1][1], end)
        else:
            runs.append([start, end])
    return [(a, b) for a, b in runs]


def _frame(sock: socket.socket, off: int, data: memoryview) -> None:
    sock.sendall(FRAME.pack(off, len(data)))
    sock.sendall(data)


def _send_blocks(sock: socket.socket, off: int, data: memoryview, sent: Digests | None,
                 digests: Digests) -> None:
    """Frames for the blocks of `data` (read at `off`, a block boundary) that hold data and,
    in pass 2, differ from what pass 1 sent; their digests into `digests`."""
    run = -1                                  # where the blocks still to send begin
    for pos in range(0, len(data), BLOCK):
        block = data[pos:pos + BLOCK]
        d = _digest(block)
        i = (off + pos) // BLOCK
        send = d != _zero_digest(len(block))
        if send:
            digests[i] = d
            send = sent is None or sent.get(i) != d
        if send and run < 0:
            run = pos
        elif not send and run >= 0:
            _frame(sock, off + run, data[run:pos])
            run = -1
    if run >= 0:
        _frame(sock, off + run, data[run:])


def _send_holes(sock: socket.socket, blocks: list[int], size: int) -> None:
    """Zero frames for blocks pass 1 sent that hold no data now, runs coalesced."""
    i = 0
    while i < len(blocks):
        j = i
        while j + 1 < len(blocks) and blocks[j + 1] == blocks[j] + 1:
            j += 1
        start, end = blocks[i] * BLOCK, min(size, (blocks[j] + 1) * BLOCK)
        sock.sendall(FRAME.pack(start, HOLE | (end - start)))
        i = j + 1


def _stream(sock: socket.socket, header: bytes, path: str, size: int,
            sent: Digests | None) -> tuple[str, Digests]:
    """Send one pass (in a worker thread): pass 1 (`sent` None) every block of the image's
    data extents that is not all zeros, pass 2 only what differs from `sent`. The receiver's
    answer and the digests of the image's data blocks as read now."""
    sock.sendall(header)
    digests: Digests = {}
    fd = os.open(path, os.O_RDONLY)
    try:
        extents = data_extents(fd, size)
        for start, end in block_runs([(0, size)] if extents is None else extents, size):
            off = start
            while off < end:
                data = os.pread(fd, min(SEND, end - off), off)
                if not data:
                    break
                _send_blocks(sock, off, memoryview(data), sent, digests)
                off += len(data)
    finally:
        os.close(fd)
    if sent is not None:
        _send_holes(sock, sorted(set(sent) - set(digests)), size)
    sock.sendall(FRAME.pack(0, 0))
    line = sock.makefile("rb").readline(4096).decode(errors="replace").strip()
    return (line[3:].strip() if line.startswith("ERR") else line), digests


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
            which = header.get("pass", 1)
            if which not in (1, 2):
                raise ValueError(f"no such pass of a disk's copy: {which!r}")
            sock.setblocking(True)
            sock.settimeout(STREAM_TIMEOUT)
            # in pass 2 the incoming domain holds the copy already (restored paused): a
            # handover
            drv, uuid, path = await _held_image(ctx, vdi)
            try:
                size = services.store.get("VDI", vdi)["virtual_size"]
                await asyncio.to_thread(_fill, sock, path, size, which == 1)
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


def _fill(sock: socket.socket, path: str, size: int, first: bool) -> None:
    """Write the frames into the image (in a worker thread): pass 1 (`first`) empties it
    first, pass 2 writes into what pass 1 left."""
    f = sock.makefile("rb")
    fd = os.open(path, os.O_RDWR)
    try:
        if first:
            empty_image(fd, size)
        while True:
            off, length = FRAME.unpack(_recv_exact(f, FRAME.size))
            if length == 0:
                break
            zeros = bool(length & HOLE)
            length &= ~HOLE
            if off + length > size:
                raise ValueError(f"a frame beyond the disk's end ({off}+{length})")
            if zeros:
                punch(fd, off, length)
            elif first:
                write_sparse(fd, off, _recv_exact(f, length))
            else:                   # over older data: every byte written, zeros too
                _write_all(fd, off, _recv_exact(f, length))
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, off: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, off)
        view, off = view[n:], off + n
