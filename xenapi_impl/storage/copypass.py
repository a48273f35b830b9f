"""A disk image copied over a stream in two passes (storage motion, api/vdi_motion.py): pass 1
while the image may still change, pass 2 only what changed since.

Pass 1 sends every block (BLOCK bytes, aligned) of the image's data extents that is not all
zeros, and the sender keeps a digest of the bytes it sent for each (not re-read); the receiver
empties its image first. Pass 2 reads the data extents again and sends only the blocks whose
digest differs from pass 1's (changed or new data), then a zero range for each run of blocks
pass 1 sent that hold no data now; the receiver writes into its image as pass 1 left it (zero
ranges are punched as holes where the file system can). Hashing runs on several threads
(hashlib releases the GIL), since in pass 2 it is most of the guest's downtime.

Frames: `offset:u64 length:u64 data`; a length with its top bit (HOLE) set carries no data
(the range reads as zeros); a frame of length 0 ends the pass. Functions here are blocking:
run them in a worker thread.
"""
from __future__ import annotations

import hashlib
import os
import socket
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from .sparse import SEND, data_extents, empty_image, punch, write_sparse

FRAME = struct.Struct(">QQ")
#: a frame's length with this bit: the range reads as zeros (no data follows)
HOLE = 1 << 63
#: the unit pass 2 compares (by digest) and resends
BLOCK = 64 << 10
#: block index -> digest of the bytes sent for it (blocks of zeros are not listed)
Digests = dict[int, bytes]
#: threads hashing a chunk's blocks
THREADS = min(4, os.cpu_count() or 1)

_CHOSEN: list[Callable[[Any], Any]] = []
_POOL: list[ThreadPoolExecutor] = []
_ZERO_DIGESTS: dict[int, bytes] = {}


def _blake2b(data: Any) -> Any:
    return hashlib.blake2b(data, digest_size=16)


def _hasher() -> Callable[[Any], Any]:
    """The faster here of SHA-256 (hardware-accelerated on most CPUs, through OpenSSL) and
    BLAKE2b, picked once per process (both passes of a copy run in one process)."""
    if not _CHOSEN:
        sample = memoryview(os.urandom(BLOCK))
        best: tuple[float, Callable[[Any], Any]] | None = None
        for h in (hashlib.sha256, _blake2b):
            t0 = time.perf_counter()
            for _ in range(16):
                h(sample).digest()
            took = time.perf_counter() - t0
            if best is None or took < best[0]:
                best = (took, h)
        assert best is not None
        _CHOSEN.append(best[1])
    return _CHOSEN[0]


def _pool() -> ThreadPoolExecutor:
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(THREADS, thread_name_prefix="copypass-hash"))
    return _POOL[0]


def _zero_digest(n: int) -> bytes:
    """The digest of n zero bytes (a block of zeros is not data: never sent as such)."""
    d = _ZERO_DIGESTS.get(n)
    if d is None:
        d = _ZERO_DIGESTS[n] = _hasher()(bytes(n)).digest()
    return d


def _digests(data: memoryview) -> list[bytes]:
    """The digest of each block of `data`, hashed on the pool's threads."""
    h = _hasher()
    starts = range(0, len(data), BLOCK)

    def some(first: int, last: int) -> list[bytes]:
        return [h(data[p:p + BLOCK]).digest() for p in starts[first:last]]
    n = len(starts)
    if n < 2 * THREADS:
        return some(0, n)
    step = -(-n // THREADS)
    parts = _pool().map(lambda i: some(i, i + step), range(0, n, step))
    return [d for part in parts for d in part]


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
    for k, d in enumerate(_digests(data)):
        pos = k * BLOCK
        i = (off + pos) // BLOCK
        send = d != _zero_digest(min(BLOCK, len(data) - pos))
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


def send_pass(sock: socket.socket, header: bytes, path: str, size: int,
              sent: Digests | None) -> tuple[str, Digests]:
    """Send one pass of the image at `path` after the `header` line: pass 1 (`sent` None) or
    pass 2 (`sent`: pass 1's digests). The receiver's answer (its reason after ERR) and the
    digests of the image's data blocks as read now."""
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


def _recv_exact(f: Any, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise ValueError("the disk's stream ended early")
    return data


def _write_all(fd: int, off: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, off)
        view, off = view[n:], off + n


def receive_pass(sock: Any, path: str, size: int, first: bool) -> None:
    """Write one pass's frames from `sock` (after its header line) into the image at `path`,
    synced: pass 1 (`first`) empties the image first, pass 2 writes into what pass 1 left.
    ValueError: a bad or cut stream."""
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
