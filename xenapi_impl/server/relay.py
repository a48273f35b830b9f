"""The frames between the server and its RPC workers (workers.py, worker.py).

One Unix stream socket per worker carries frames: a kind, an id and a payload. A second socket
(SOCK_SEQPACKET) carries descriptors (SCM_RIGHTS, which asyncio's transports cannot send), one
per message with what it is and an id: the server's connections for the worker to serve, and
large reply bodies, written into a memfd that the worker maps and sends from (never copied
through the stream).
Both sockets are a socketpair made by the server and inherited by the worker, so nothing else
can speak on them; that is why the calls may be pickled.
"""
from __future__ import annotations

import asyncio
import os
import pickle
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .limits import TransportLimits
from .replies import IOV_MAX, advance

HEAD = struct.Struct("<BIQ")        # kind, id, payload length
PASSED = struct.Struct("<BI")       # what a passed descriptor is, and its id
CONNECTION = 1          # an accepted connection; id: the server's for it
REPLY_FILE = 2          # a memfd holding a reply body; id: the call's


@dataclass(frozen=True)
class Settings:
    """What the server tells a worker when it starts (CONFIG)."""
    limits: TransportLimits
    max_body: int
    max_connections: int
    reserved: tuple[str, ...]       # POST paths of the server's other routes: given back
    log_level: int


# worker -> server
READY = 1       # the worker serves: id 0, no payload
CALL = 2        # id: the call's; payload: pickled (method, params, JSON-RPC request, xml, caller)
CLOSED = 3      # id: a connection the worker has closed (the server closes its copy)
BACK = 4        # id: a connection given back; payload: the bytes read and not answered
AGENT = 5       # a client's User-Agent header, as host.get_tracked_user_agents counts them
# server -> worker
CONFIG = 11     # payload: pickled worker settings (Settings)
REPLY = 12      # id: the call's; payload: the encoded reply body
STOP = 13       # stop taking requests, finish the calls in flight, close, exit
EVICT = 14      # the server is at its connection cap: drop the longest idle connection, if any


def dumps(value: Any) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


loads = pickle.loads

FrameHandler = Callable[[int, int, bytes], None]     # a large payload comes as a bytearray

#: reply bodies larger than this go to the worker in a memfd, not through the stream
FILE_OVER = 1 << 20
SCRATCH = 256 * 1024        # where frames are read into, unless one is larger than this
LARGE = 64 * 1024           # payloads this large are read straight into a buffer of their own


class FrameProtocol(asyncio.BufferedProtocol):
    """Splits the stream into frames for `on_frame(kind, id, payload)`; `send` writes one.

    Read as a buffered protocol: a large payload (a reply of many records) is read by the
    kernel straight into one buffer of its size, handed on as that bytearray, never copied."""

    def __init__(self, on_frame: FrameHandler, on_lost: Callable[[], None]) -> None:
        self.on_frame = on_frame
        self.on_lost = on_lost
        self.transport: asyncio.Transport | None = None
        self._scratch = bytearray(SCRATCH)
        self._have = 0                      # bytes in _scratch not yet taken as frames
        self._large: bytearray | None = None    # the large payload being read, its head:
        self._large_head = (0, 0)
        self._large_at = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def get_buffer(self, sizehint: int) -> memoryview:
        if self._large is not None:
            return memoryview(self._large)[self._large_at:]
        return memoryview(self._scratch)[self._have:]

    def buffer_updated(self, nbytes: int) -> None:
        if self._large is not None:
            self._large_at += nbytes
            if self._large_at == len(self._large):
                payload, self._large = self._large, None
                self.on_frame(*self._large_head, payload)   # type: ignore[arg-type]
            return
        self._have += nbytes
        self._frames()

    def _frames(self) -> None:
        buf, have, size = self._scratch, self._have, HEAD.size
        pos = 0
        while have - pos >= size:
            kind, ident, length = HEAD.unpack_from(buf, pos)
            start, end = pos + size, pos + size + length
            if end <= have:
                pos = end
                self.on_frame(kind, ident, bytes(buf[start:end]))
                continue
            if length >= LARGE:
                large = bytearray(length)
                large[:have - start] = buf[start:have]
                self._large, self._large_head, self._large_at = large, (kind, ident), have - start
                pos = have
            break
        rest = have - pos
        if pos and rest:
            buf[:rest] = buf[pos:have]
        self._have = rest

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.on_lost()

    def send(self, kind: int, ident: int = 0, payload: bytes = b"") -> bool:
        """Write one frame; False if the other side is gone."""
        return self.send_chunks(kind, ident, [payload])

    def send_chunks(self, kind: int, ident: int, chunks: list[bytes]) -> bool:
        """One frame whose payload is the concatenation of `chunks` (a reply body)."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return False
        length = sum(len(c) for c in chunks)
        if length < LARGE:
            transport.write(HEAD.pack(kind, ident, length) + b"".join(chunks))
        else:       # piece by piece: what does not go at once is copied once, into the buffer
            transport.write(HEAD.pack(kind, ident, length))
            for chunk in chunks:
                transport.write(chunk)
        return True

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def pass_fd(channel: socket.socket, what: int, ident: int, fd: int) -> bool:
    """Send a descriptor to the worker at the other end of `channel`; False if it could not
    go (the worker is gone or not reading)."""
    try:
        return socket.send_fds(channel, [PASSED.pack(what, ident)], [fd]) > 0
    except OSError:
        return False


def received_fds(channel: socket.socket) -> list[tuple[int, int, int]]:
    """(what, id, descriptor) of each descriptor waiting on `channel`."""
    out: list[tuple[int, int, int]] = []
    while True:
        try:
            msg, fds, _flags, _addr = socket.recv_fds(channel, PASSED.size, 1)
        except (BlockingIOError, InterruptedError):
            return out
        if not msg and not fds:
            raise EOFError("the server closed the descriptor channel")
        if len(msg) == PASSED.size and len(fds) == 1:
            out.append((*PASSED.unpack(msg), fds[0]))
        else:
            for fd in fds:
                os.close(fd)


def reply_file(chunks: list[bytes]) -> int:
    """A memfd holding the concatenation of `chunks` (written with writev: not joined)."""
    fd = os.memfd_create("xenapi-reply", os.MFD_CLOEXEC)
    try:
        views = [memoryview(c) for c in chunks if c]
        i = 0
        while i < len(views):
            i = advance(views, i, os.writev(fd, views[i:i + IOV_MAX]))
    except BaseException:
        os.close(fd)
        raise
    return fd
