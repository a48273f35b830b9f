"""An RPC worker process (`python -m xenapi_impl.server.worker RELAY_FD CONN_FD`).

The server (workers.py) passes it accepted connections. It serves them as the server's own RPC
lane would (fastrpc.py, with a connection guard of its own for the deadlines), up to the
decoded call; the call goes to the server over the relay (relay.py), which dispatches it
against the one store and sends the encoded reply back. A request the lane does not take (an
import, a console, anything for aiohttp) gives the connection back to the server with the bytes
not yet answered. The worker exits when the server tells it to (STOP: in-flight calls finish
first) or when the relay closes (the server is gone); SIGTERM and SIGINT are the server's to
act on, not the worker's.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import mmap
import os
import signal
import socket
import sys
from typing import Any

from ..api.caller import Caller
from ..logconfig import FORMAT
from ..ratelimit import RateLimitedLog
from . import relay
from .connections import ConnectionGuard, Connection
from .fastrpc import RpcLane
from .http import Call, decode, failure

log = logging.getLogger(__name__)

GIVE_BACK_POLL = 0.005      # seconds between looks at a reply still unsent before giving back


class Worker:
    def __init__(self, relay_sock: socket.socket, conn_sock: socket.socket) -> None:
        self.relay_sock = relay_sock
        self.conn_sock = conn_sock
        self.relay = relay.FrameProtocol(self._frame, self._lost)
        self.calls: dict[int, asyncio.Future[Any]] = {}     # bytes, bytearray or a mapping
        self.ids = itertools.count(1)
        self.lane: RpcLane | None = None
        self.guard: ConnectionGuard | None = None
        self.settings: asyncio.Future[relay.Settings] | None = None
        self.finished: asyncio.Future[None] | None = None
        self.adopting: set[asyncio.Task[None]] = set()
        self._agent: str | None = None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self.settings = loop.create_future()
        self.finished = loop.create_future()
        await loop.connect_accepted_socket(lambda: self.relay, self.relay_sock)
        settings = await self.settings
        logging.getLogger().setLevel(settings.log_level)
        limiter = RateLimitedLog(log)
        # every call here waits for the server's reply: none is run at once or without a task
        self.lane = RpcLane(decode, self.respond, failure,
                            max_body=settings.max_body,
                            body_timeout=settings.limits.body_timeout, reserved=settings.reserved,
                            seen_agent=self._seen_agent, limiter=limiter)
        self.guard = ConnectionGuard(settings.limits, limiter=limiter, lane=self.lane,
                                     max_connections=settings.max_connections)
        self.guard.start()
        self.conn_sock.setblocking(False)
        loop.add_reader(self.conn_sock.fileno(), self._connections)
        self.relay.send(relay.READY)
        await self.finished

    # -- calls ----------------------------------------------------------------------------

    async def respond(self, call: Call, caller: Caller) -> list[bytes]:
        """As HttpServer.respond: the call decoded here, dispatched and encoded by the
        server."""
        method, params, req, xml = call
        ident = next(self.ids)
        future = asyncio.get_running_loop().create_future()
        sent = self.relay.send(relay.CALL, ident, relay.dumps(
            (method, params, None if xml else req, xml,
             (caller.transport, caller.peer, caller.local_superuser))))
        if not sent:
            return [failure(xml, ["INTERNAL_ERROR", "the server is stopping"], req)]
        self.calls[ident] = future
        try:
            return [await future]
        finally:
            self.calls.pop(ident, None)

    def _seen_agent(self, header: str | None) -> None:
        if header and header != self._agent:        # the usual case, one client kind: once
            self._agent = header
            self.relay.send(relay.AGENT, 0, header.encode("latin-1", "replace"))

    # -- the server's frames ------------------------------------------------------------------

    def _frame(self, kind: int, ident: int, payload: bytes) -> None:
        if kind == relay.REPLY:
            future = self.calls.get(ident)
            if future is not None and not future.done():
                future.set_result(payload)
        elif kind == relay.CONFIG:
            assert self.settings is not None
            if not self.settings.done():
                self.settings.set_result(relay.loads(payload))
        elif kind == relay.EVICT:
            if self.guard is not None:
                self.guard._evict_idle()        # its CLOSED frees the server's slot
        elif kind == relay.STOP:
            asyncio.get_running_loop().create_task(self._stop(relay.loads(payload)))

    def _lost(self) -> None:
        """The server is gone: nobody to answer the calls; drop everything and exit."""
        for future in self.calls.values():
            if not future.done():
                future.cancel()
        if self.guard is not None:
            for conn in list(self.guard._conns):
                conn.abort()
        self._finish()

    def _finish(self) -> None:
        if self.finished is not None and not self.finished.done():
            self.finished.set_result(None)

    async def _stop(self, grace: float) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_reader(self.conn_sock.fileno())
        if self.lane is not None:
            pending = self.lane.in_flight()
            if pending:
                await asyncio.wait(pending, timeout=max(grace, 0.0))
            await self.lane.cancel()
        if self.guard is not None:
            await self.guard.stop()
            for _ in range(100):         # their CLOSED frames go before the relay closes
                if not len(self.guard):
                    break
                await asyncio.sleep(0.01)
        self.relay.close()
        self._finish()

    # -- connections ----------------------------------------------------------------------------

    def _connections(self) -> None:
        """Descriptors from the server: connections to serve, reply bodies in memfds."""
        loop = asyncio.get_running_loop()
        try:
            received = relay.received_fds(self.conn_sock)
        except (EOFError, OSError):
            loop.remove_reader(self.conn_sock.fileno())
            return
        for what, ident, fd in received:
            if what == relay.REPLY_FILE:
                self._reply_file(ident, fd)
                continue
            task = loop.create_task(self._adopt(ident, socket.socket(fileno=fd)))
            self.adopting.add(task)
            task.add_done_callback(self.adopting.discard)

    def _reply_file(self, ident: int, fd: int) -> None:
        """A reply body in a memfd: mapped, and sent from the mapping (no copy here)."""
        try:
            future = self.calls.get(ident)
            if future is None or future.done():
                return
            try:
                body = mmap.mmap(fd, os.fstat(fd).st_size, prot=mmap.PROT_READ)
            except (OSError, ValueError) as e:
                future.set_exception(e)
                return
            future.set_result(body)
        finally:
            os.close(fd)

    async def _adopt(self, cid: int, sock: socket.socket) -> None:
        try:
            sock.setblocking(False)
            await asyncio.get_running_loop().connect_accepted_socket(
                lambda: _Delegated(self, cid), sock)
        except OSError:
            sock.close()
            self.relay.send(relay.CLOSED, cid)


class _Delegated(Connection):
    """A connection the server passed: says CLOSED when it ends here, unless given back."""

    __slots__ = ("worker", "cid", "given_back")

    def __init__(self, worker: Worker, cid: int) -> None:
        assert worker.guard is not None
        super().__init__(worker.guard, lambda: _GiveBack(worker, self))
        self.worker = worker
        self.cid = cid
        self.given_back = False

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if not self.given_back:
            self.worker.relay.send(relay.CLOSED, self.cid)


class _GiveBack(asyncio.Protocol):
    """What the lane hands a connection over to here: once the replies already written have
    left, the server gets the connection back with the bytes read and not answered. This
    process's copy of the socket is then closed, which ends nothing: the server holds one."""

    def __init__(self, worker: Worker, conn: _Delegated) -> None:
        self.worker = worker
        self.conn = conn
        self.pending = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.pause_reading()
        asyncio.get_running_loop().call_soon(self._give_back)

    def data_received(self, data: bytes) -> None:
        self.pending += data

    def _give_back(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if transport.get_write_buffer_size():
            asyncio.get_running_loop().call_later(GIVE_BACK_POLL, self._give_back)
            return
        self.conn.given_back = True
        self.worker.relay.send(relay.BACK, self.conn.cid, bytes(self.pending))
        transport.close()

    def eof_received(self) -> bool | None:
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m xenapi_impl.server.worker RELAY_FD CONN_FD", file=sys.stderr)
        return 2
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.INFO, format=FORMAT.replace(
        "%(levelname)s", "%(levelname)s rpc-worker[%(process)d]"))
    worker = Worker(socket.socket(fileno=int(args[0])), socket.socket(fileno=int(args[1])))
    asyncio.run(worker.run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
