"""Storage motion inside the pool: the disks of a running VM copied to another SR as it
migrates (`VM.migrate_send` with a `vdi_map`, `VDI.pool_migrate`), as xapi's storage motion;
where xapi mirrors the guest's writes, this copies in two passes (a pre-copy, then a delta).

For each disk the map moves: a VDI is made on the target SR (on a host that has it plugged,
the destination for a local SR). Each pass, that host opens a receiver for it
(`host.migrate_receive` with `options["vdi"]`: a listener and a one-time token, over TLS
pinned to that host, as the memory's) and the source host streams into it
(storage/copypass.py); the receiver answers once the image is synced.
- Pass 1 (`precopy`), before the memory stream, while the guest runs: the receiver empties
  the copy, the source sends every 64 KiB block of the image's data extents that is not all
  zeros (holes stay holes) and keeps a digest of the bytes it sent for each block.
- Pass 2 (`finish`), after the memory stream, while the domain is suspended on the source
  and restored paused on the destination, before the commit (xenlight_py.migrate_send's
  `before_commit`: the guest writes nothing meanwhile): the source reads its data extents
  again, hashes every block and sends only those whose digest differs from pass 1's (changed
  or new data), and zeros for the blocks pass 1 sent that hold no data now (punched as holes
  where the file system can); the receiver writes them into the copy as pass 1 left it, and
  answers before it releases the copy and records its size. Only this pass is part of the
  downtime, but it still reads and hashes all of the disk's data (no dirty-block tracking:
  its time grows with the data, not with what changed), plus a receiver's set-up.
The VBDs are pointed at the new VDIs in the destination's commit (api/vm_migrate.py); then
the source VDIs are destroyed. Before that commit any failure (of either pass too) fails the
migration with VM_MIGRATE_FAILED and destroys the copies; the VM keeps running on the source
(pass 1) or resumes there (pass 2) on its own disks.

Stream (inside TLS, vm_migrate.open_stream): the header line (JSON: the token, `pass` 1 or 2),
then the pass's frames (storage/copypass.py); the receiver answers `OK\n` or `ERR <reason>\n`.
A receiver says it takes pass 2 (`vdi_passes` "2" in host.migrate_receive's result): an older
one would empty the copy, so pass 2 is never sent to it (the migration fails instead).
"""
from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from dataclasses import dataclass
from typing import Any

from ..errors import XenAPIError
from ..storage.copypass import Digests, receive_pass, send_pass
from ..store import NULL_REF
from .context import Context
from .host_agent import agent_for, sr_host
from .internal_calls import call_as
from .vdi_image import close_image, refresh_sizes

log = logging.getLogger(__name__)


class CopyFailed(Exception):
    """A disk could not be copied (the reason): the migration fails before its commit."""


#: tries (0.2 s apart) to destroy a VDI still in use a moment after a failed motion
DISCARD_TRIES = 25
#: seconds either side waits for the other while a disk streams
STREAM_TIMEOUT = 120.0
#: seconds before its accept timeout that a receiver opened ahead is not used any more
RECEIVER_MARGIN = 15.0


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


@dataclass
class Precopied:
    """What pass 1 leaves for pass 2: {vbd: digests of the blocks sent}, and {vbd: (host,
    receiver)} opened for pass 2 before the memory stream (their set-up then is not part of
    the downtime) at `opened` (time.monotonic())."""
    sent: dict[str, Digests]
    receivers: dict[str, tuple[str, dict[str, str]]]
    opened: float


async def precopy(ctx: Context, moved: dict[str, tuple[str, str]],
                  made: dict[str, str]) -> Precopied:
    """Pass 1, while the guest runs: each moved disk's data streamed into its copy (emptied
    first); then pass 2's receivers opened."""
    sent = {}
    for vbd, (vdi, sr) in sorted(moved.items()):
        t0 = time.monotonic()
        host, receiver = await _receiver(ctx, sr, made[vbd])
        sent[vbd] = await _send(ctx, vdi, host, receiver, None)
        log.info("VDI %s -> %s: pass 1 in %.0f ms", vdi, made[vbd],
                 (time.monotonic() - t0) * 1000)
    opened = time.monotonic()
    receivers = {vbd: await _receiver(ctx, sr, made[vbd], True)
                 for vbd, (_, sr) in sorted(moved.items())}
    return Precopied(sent, receivers, opened)


async def finish(ctx: Context, moved: dict[str, tuple[str, str]], made: dict[str, str],
                 pre: Precopied) -> None:
    """Pass 2, the guest stopped: into each copy as pass 1 left it, the blocks that differ
    from what pass 1 sent (changed, new data, or zeros now)."""
    from .vm_migrate import ACCEPT_TIMEOUT
    fresh = time.monotonic() - pre.opened < ACCEPT_TIMEOUT - RECEIVER_MARGIN
    for vbd, (vdi, sr) in sorted(moved.items()):
        t0 = time.monotonic()
        # a receiver opened before the memory stream, unless it may have stopped waiting
        host, receiver = pre.receivers[vbd] if fresh else \
            await _receiver(ctx, sr, made[vbd], True)
        await _send(ctx, vdi, host, receiver, pre.sent[vbd])
        log.info("VDI %s -> %s: pass 2 in %.0f ms", vdi, made[vbd],
                 (time.monotonic() - t0) * 1000)


async def _receiver(ctx: Context, sr: str, vdi: str,
                    second: bool = False) -> tuple[str, dict[str, str]]:
    """(host, receiver) for a pass into `vdi` (the `second`), on a host that has its SR `sr`
    plugged."""
    from .vm_migrate import _management_network
    host = sr_host(ctx, sr)
    host = ctx.services.host_ref if host == NULL_REF else host
    receiver = await _on_sr(ctx, sr, "host.migrate_receive", [
        host, _management_network(ctx.services.store, host), {"vdi": vdi}])
    if second and receiver.get("vdi_passes") != "2":
        # an older host would empty the copy: never a second pass into it
        raise CopyFailed("the copy's host does not take a second pass")
    return host, receiver


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
            answer, digests = await asyncio.to_thread(send_pass, sock, header, path, size,
                                                        sent)
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
        held: tuple[Any, str, str] | None = None
        which = header.get("pass", 1)
        try:
            if which not in (1, 2):
                raise ValueError(f"no such pass of a disk's copy: {which!r}")
            sock.setblocking(True)
            sock.settimeout(STREAM_TIMEOUT)
            # in pass 2 the incoming domain holds the copy already (restored paused): a
            # handover
            held = await _held_image(ctx, vdi)
            size = services.store.get("VDI", vdi)["virtual_size"]
            await asyncio.to_thread(receive_pass, sock, held[2], size, which == 1)
            if which == 1:
                await close_image(ctx, held[0], held[1])
        except (OSError, ValueError, XenAPIError) as exc:
            log.warning("receiving the image of VDI %s failed: %s", vdi, exc)
            answer = f"ERR {exc}\n".encode()
            if held is not None:
                await _release(ctx, vdi, held)
        try:
            sock.sendall(answer)
            if answer != b"OK\n":
                # read what the sender still sends, so that it reads our reason (unread
                # data would reset the connection under it)
                sock.shutdown(socket.SHUT_WR)
                await asyncio.to_thread(_drain, sock)
        except OSError:
            pass
        if answer == b"OK\n" and held is not None:
            # pass 2 answers first (the guest is stopped until the sender hears it; the
            # restored domain holds the copy): the release and the sizes after
            if which == 2:
                await _release(ctx, vdi, held)
            try:
                await refresh_sizes(ctx, vdi, held[0])
            except (OSError, XenAPIError) as exc:
                log.warning("VDI %s: sizes not refreshed after its copy: %s", vdi, exc)
    return receive


async def _release(ctx: Context, vdi: str, held: tuple[Any, str, str]) -> None:
    try:
        await close_image(ctx, held[0], held[1])
    except XenAPIError as exc:
        log.warning("VDI %s: could not detach the copy's image: %s", vdi, exc)


def _drain(sock: socket.socket) -> None:
    while sock.recv(1 << 20):
        pass
