"""Connection guard: caps, idle/header/send timeouts and clear refusals for every connection
the transport accepts.

aiohttp's keep-alive timer closes idle connections with `transport.close()`, which waits for
unsent data: a client that never reads keeps its socket and its reply forever. It has no
header deadline and no connection cap. So each connection is served through a `Connection`
that records what phase it is in and passes its events on (to the RPC lane, fastrpc.py, or to
aiohttp's protocol once the lane hands it over); one sweeper task enforces the deadlines
and aborts (never politely closes) connections that overstay, which frees the descriptor and
the buffered reply at once. The body deadline is the request handler's (http.py; the lane's own
timer in fastrpc.py), since only it reads the body. At the connection cap a new connection
first takes the place of the longest idle one; if none is idle it waits, unread, up to
ADMIT_WAIT for one to go (connections whose clients just closed them count until the loop
reads their EOF), then gets HTTP 503.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web

from ..api.caller import Caller
from ..ratelimit import RateLimitedLog
from . import unixsock
from .limits import TransportLimits

log = logging.getLogger(__name__)

# Phases of a connection.
IDLE = 0        # no request in progress and no byte of the next one
HEADERS = 1     # bytes of a request arrived, its handler has not started
BUSY = 2        # a handler is running (reading the body, calling, replying)
CLOSING = 3     # being closed by us: aborted if not gone after CLOSE_GRACE
REFUSED = 4     # over a cap: the refusal is being written, what the client sends is dropped
WAITING = 5     # at the connection cap: not read yet, admitted if a connection goes soon
DELEGATED = 6   # served by an RPC worker process (workers.py): not read here, no deadline here

CLOSE_GRACE = 2.0        # seconds a closing connection may take to flush before it is aborted
MAX_LINGERING = 16       # refusals kept open to be read before the socket closes
#: at the connection cap a new connection waits this long for one to go before it is refused:
#: connections the clients just closed are counted until the loop reads their EOF, and a loop
#: may accept first (uvloop does, every time)
ADMIT_WAIT = 0.25
MAX_WAITING = 16         # connections waiting so at once; beyond, refused at once
#: connections asyncio accepts in one go, before any of them reaches the guard: the
#: descriptors kept out of the cap (limits.FD_RESERVE) must cover a batch
ACCEPT_BATCH = 32
_RESET = struct.pack("ii", 1, 0)     # SO_LINGER on, 0 s: close() sends a reset


class Stream(Protocol):
    """What serves a connection before (or instead of) aiohttp: the RPC lane (fastrpc.py)."""

    def data_received(self, data: bytes) -> None: ...
    def eof_received(self) -> bool | None: ...
    def connection_lost(self, exc: Exception | None) -> None: ...
    def pause_writing(self) -> None: ...
    def resume_writing(self) -> None: ...


class Connection(asyncio.Protocol):
    """One accepted connection: records its phase and write stalls, and passes its events to
    the RPC lane's stream, or once the lane has handed it over, to aiohttp's protocol (made
    only then)."""

    __slots__ = ("guard", "factory", "inner", "stream", "transport", "address", "phase",
                 "since", "paused_since", "early")

    def __init__(self, guard: "ConnectionGuard", factory: Callable[[], asyncio.Protocol]) -> None:
        self.guard = guard
        self.factory = factory
        self.inner: asyncio.Protocol | None = None     # aiohttp's, once handed over
        self.stream: Stream | None = None
        self.transport: asyncio.Transport | None = None
        self.address: str | None = None      # TCP peer host; None on the Unix socket
        self.phase = IDLE
        self.since = time.monotonic()
        self.paused_since: float | None = None
        self.early: list[bytes] = []         # read while WAITING (reading is paused then)

    def _target(self) -> Any:
        return self.stream if self.stream is not None else self.inner

    def _start(self) -> None:
        """Admitted: an RPC worker serves it, or the lane, or aiohttp if the server has no
        lane."""
        delegate = self.guard.delegate
        if delegate is not None and not self.early and delegate(self):
            self.phase = DELEGATED
            return
        lane = self.guard.lane
        if lane is not None:
            self.stream = lane(self)
        else:
            self.hand_over(b"")

    def hand_over(self, pending: bytes) -> None:
        """Give the connection to aiohttp for good, with the bytes not yet answered."""
        self.stream = None
        self.inner = inner = self.factory()
        inner.connection_made(self.transport)   # type: ignore[arg-type]
        if self.paused_since is not None:
            inner.pause_writing()
        if pending:
            inner.data_received(pending)

    def take_back(self, pending: bytes) -> None:
        """The worker this connection was delegated to gave it back (a request only this
        process answers): aiohttp serves it from here on, `pending` first."""
        assert self.transport is not None and self.phase == DELEGATED
        self.phase, self.since = (HEADERS if pending else IDLE), time.monotonic()
        self.hand_over(pending)
        self.transport.resume_reading()

    def close(self) -> None:
        """Close once what is written has gone (the sweeper aborts it if it does not go)."""
        self.guard._close(self)

    def abort(self) -> None:
        """Drop the connection at once (a reset), whatever is unsent."""
        self.guard._abort(self)

    def caller(self) -> Caller:
        return transport_caller(self.transport)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if self.guard._admit(self):
            self._start()

    def data_received(self, data: bytes) -> None:
        if self.phase == REFUSED:
            return
        if self.phase == WAITING:
            self.early.append(data)
            return
        if self.phase == IDLE:
            self.phase, self.since = HEADERS, time.monotonic()
        self._target().data_received(data)

    def eof_received(self) -> bool | None:
        if self.phase in (REFUSED, WAITING):
            return None                       # the client read the refusal and left: close
        return self._target().eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        admitted = self.phase not in (REFUSED, WAITING)
        self.guard._forget(self)
        if admitted:
            target = self._target()
            if target is not None:
                target.connection_lost(exc)

    def pause_writing(self) -> None:
        self.paused_since = time.monotonic()
        if self.phase != REFUSED:
            self._target().pause_writing()

    def resume_writing(self) -> None:
        self.paused_since = None
        if self.phase != REFUSED:
            self._target().resume_writing()


def transport_caller(transport: asyncio.BaseTransport | None) -> Caller:
    """Who is at the other end of `transport`: TCP peer address (http or https), or the Unix
    socket peer's uid and pid."""
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None and sock.family == socket.AF_UNIX:
        try:
            pid, uid, _gid = unixsock.peer_credentials(sock)
        except OSError:
            return Caller("unix", "uid=? pid=?", local_superuser=False)
        return Caller("unix", f"uid={uid} pid={pid}", local_superuser=(uid == 0))
    peer = transport.get_extra_info("peername") if transport is not None else None
    secure = transport is not None and transport.get_extra_info("sslcontext") is not None
    if isinstance(peer, tuple) and len(peer) >= 2:
        host = peer[0]
        text = f"[{host}]:{peer[1]}" if ":" in host else f"{host}:{peer[1]}"
    else:
        text = str(peer)
    return Caller("https" if secure else "http", text, local_superuser=False)


class ConnectionGuard:
    """Admits, tracks and times out the connections of one HttpServer."""

    def __init__(self, limits: TransportLimits, *, max_connections: int | None = None,
                 limiter: RateLimitedLog | None = None,
                 lane: Callable[[Connection], Stream] | None = None) -> None:
        self.limits = limits
        #: makes the stream that serves a new connection before aiohttp (the RPC lane)
        self.lane = lane
        #: passes a new connection to an RPC worker; False if it stays here (workers.py)
        self.delegate: Callable[[Connection], bool] | None = None
        #: asks the RPC workers to drop their longest idle connection each, at the cap
        self.evict_delegated: Callable[[], None] | None = None
        self.max_connections = max_connections or limits.max_connections
        self.limiter = limiter or RateLimitedLog(log)
        self._conns: dict[Connection, None] = {}        # admitted and not yet lost, oldest first
        self._by_transport: dict[Any, Connection] = {}
        self._per_address: dict[str, int] = {}
        self._refused: dict[Connection, float] = {}
        self._waiting: dict[Connection, asyncio.TimerHandle] = {}   # oldest first
        self._sweeper: asyncio.Task[None] | None = None
        self.refusals = 0
        self.timeouts = 0

    def __len__(self) -> int:
        return len(self._conns)

    # -- wiring ----------------------------------------------------------------------------

    def protocol_factory(self, inner: Callable[[], asyncio.Protocol]
                         ) -> Callable[[], asyncio.Protocol]:
        """What to give loop.create_server instead of aiohttp's own factory."""
        return lambda: Connection(self, inner)

    @web.middleware
    async def middleware(self, request: web.Request,
                         handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                         ) -> web.StreamResponse:
        """Marks the connection busy while a handler runs, idle once it has answered."""
        conn = self._by_transport.get(request.transport)
        if conn is not None and conn.phase in (IDLE, HEADERS):
            conn.phase = BUSY
        try:
            return await handler(request)
        finally:
            if conn is not None and conn.phase == BUSY:
                conn.phase, conn.since = IDLE, time.monotonic()

    def close_after_reply(self, request: web.Request) -> None:
        """Close the connection of `request` now that its reply is written, without waiting
        for the rest of its body (aiohttp would linger for it up to 10 s)."""
        conn = self._by_transport.get(request.transport)
        if conn is not None:
            self._close(conn)
        elif request.transport is not None:
            request.transport.close()

    def start(self) -> None:
        lim = self.limits
        tick = min(lim.idle_timeout, lim.header_timeout, lim.send_timeout) / 4
        self._sweeper = asyncio.get_running_loop().create_task(
            self._sweep(min(max(tick, 0.05), 1.0)))

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        for conn in list(self._refused) + list(self._waiting):
            self._abort(conn)
        for conn in list(self._conns):
            if conn.inner is None:      # the lane's: aiohttp's shutdown does not know them
                self._close(conn)

    # -- admission ---------------------------------------------------------------------------

    def _admit(self, conn: Connection) -> bool:
        transport = conn.transport
        assert transport is not None
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and peer:
            conn.address = str(peer[0])
        lim = self.limits
        if conn.address is not None and \
                self._per_address.get(conn.address, 0) >= lim.max_connections_per_address:
            self._refuse(conn, 429, "Too Many Requests",
                         f"too many connections from {conn.address} (at most "
                         f"{lim.max_connections_per_address})")
            return False
        # The ones already waiting count as in: the room a closed connection leaves is theirs
        # (it is given out on the loop's next step), so a newcomer accepted meanwhile queues
        # behind them. Taking it instead had a waiting request refused at its ADMIT_WAIT
        # while the newcomer was served.
        if (len(self._conns) + len(self._waiting) >= self.max_connections
                and (self._waiting or not self._evict_idle(delegated=True))):
            if len(self._waiting) < MAX_WAITING:
                self._wait(conn)
            else:
                self._refuse_full(conn)
            return False
        self._enter(conn)
        return True

    def _enter(self, conn: Connection) -> None:
        transport = conn.transport
        self._conns[conn] = None
        self._by_transport[transport] = conn
        if conn.address is not None:
            self._per_address[conn.address] = self._per_address.get(conn.address, 0) + 1

    def _wait(self, conn: Connection) -> None:
        """Hold a connection over the cap, unread, until one goes or ADMIT_WAIT ends."""
        assert conn.transport is not None
        conn.phase, conn.since = WAITING, time.monotonic()
        conn.transport.pause_reading()
        self._waiting[conn] = asyncio.get_running_loop().call_later(
            ADMIT_WAIT, self._give_up, conn)

    def _admit_waiting(self) -> None:
        """Connections went: let in the ones waiting, oldest first."""
        while self._waiting and len(self._conns) < self.max_connections:
            conn = next(iter(self._waiting))
            self._waiting.pop(conn).cancel()
            self._let_in(conn)

    def _let_in(self, conn: Connection) -> None:
        transport = conn.transport
        if transport is None or transport.is_closing():
            return
        self._enter(conn)
        conn.phase, conn.since = IDLE, time.monotonic()
        conn._start()
        if conn.phase == DELEGATED:
            return
        early, conn.early = conn.early, []
        for data in early:
            conn.data_received(data)
        transport.resume_reading()

    def _give_up(self, conn: Connection) -> None:
        """ADMIT_WAIT is over: room made by dropping an idle connection, or the refusal."""
        if self._waiting.pop(conn, None) is None:
            return
        if len(self._conns) < self.max_connections or self._evict_idle():
            self._let_in(conn)
        else:
            self._refuse_full(conn)

    def _refuse_full(self, conn: Connection) -> None:
        if conn.transport is not None and conn.phase == WAITING:
            conn.transport.resume_reading()       # the client's EOF ends the refusal
        self._refuse(conn, 503, "Service Unavailable",
                     f"too many connections (at most {self.max_connections})")

    def _evict_idle(self, delegated: bool = False) -> bool:
        """Make room by dropping the connection idle (or stuck in its headers) longest. If
        none here is, and `delegated`, the RPC workers are asked to drop their longest idle
        one each: the room comes when they have (the new connection waits for it)."""
        victim = min((c for c in self._conns if c.phase in (IDLE, HEADERS)),
                     key=lambda c: c.since, default=None)
        if victim is None:
            if delegated and self.evict_delegated is not None:
                self.evict_delegated()
            return False
        self.limiter.warning("connection cap", "connection cap (%d) reached: closing the "
                             "longest idle connection, from %s", self.max_connections,
                             victim.address or "the Unix socket")
        self._abort(victim)
        return True

    def _refuse(self, conn: Connection, status: int, reason: str, text: str) -> None:
        self.refusals += 1
        self.limiter.warning("refused connection", "refused a connection: %s", text)
        conn.phase, conn.since = REFUSED, time.monotonic()
        body = (text + "\n").encode()
        transport = conn.transport
        assert transport is not None
        transport.write(b"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                        b"Connection: close\r\nRetry-After: 5\r\n\r\n%s"
                        % (status, reason.encode(), len(body), body))
        # Closing at once would answer the request the client is sending with a reset, and
        # most clients then report the reset, not the refusal: so finish writing, keep reading
        # (and dropping) for a moment, close on the client's EOF or after CLOSE_GRACE.
        if transport.can_write_eof() and len(self._refused) < MAX_LINGERING:
            transport.write_eof()
            self._refused[conn] = conn.since
        else:
            transport.close()

    # -- timeouts ----------------------------------------------------------------------------

    async def _sweep(self, tick: float) -> None:
        while True:
            await asyncio.sleep(tick)
            try:
                self._enforce(time.monotonic())
            except Exception:       # noqa: BLE001 - the sweeper must survive; say why
                log.exception("connection sweep failed")

    def _enforce(self, now: float) -> None:
        lim = self.limits
        for conn, since in list(self._refused.items()):
            if now - since > CLOSE_GRACE:
                self._abort(conn)
        for conn in list(self._conns):
            age = now - conn.since
            if conn.paused_since is not None and now - conn.paused_since > lim.send_timeout:
                self._timed_out(conn, "send", "the client did not read its reply")
            elif conn.phase == CLOSING:
                if age > CLOSE_GRACE:
                    self._abort(conn)
            elif conn.phase == IDLE and age > lim.idle_timeout:
                self.timeouts += 1
                self._close(conn)   # quietly: idle keep-alive connections are normal
            elif conn.phase == HEADERS and age > lim.header_timeout:
                self._timed_out(conn, "header", "request headers incomplete")

    def _timed_out(self, conn: Connection, which: str, why: str) -> None:
        self.timeouts += 1
        self.limiter.warning(f"{which} timeout", "%s timeout: %s from %s; connection closed",
                             which, why, conn.address or "the Unix socket")
        self._abort(conn)

    def _close(self, conn: Connection) -> None:
        """Close once what is written has gone; the sweeper aborts it if it does not go."""
        transport = conn.transport
        if transport is None:
            return
        if transport.get_write_buffer_size():
            self._abort(conn)
            return
        conn.phase, conn.since = CLOSING, time.monotonic()
        transport.close()

    def _abort(self, conn: Connection) -> None:
        transport = conn.transport
        if transport is not None:
            # asyncio's abort() drops its own buffer but then closes the socket normally,
            # leaving the kernel to deliver its send queue (megabytes, to a client that does
            # not read) for minutes; a zero linger makes the close a reset that frees it.
            sock = transport.get_extra_info("socket")
            if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
            transport.abort()
        self._forget(conn)

    def _forget(self, conn: Connection) -> None:
        self._refused.pop(conn, None)
        waiting = self._waiting.pop(conn, None)
        if waiting is not None:
            waiting.cancel()
        if self._conns.pop(conn, 0) is None:     # it was admitted: present with value None
            if self._waiting:           # after the caller is done (an eviction makes room
                asyncio.get_running_loop().call_soon(self._admit_waiting)    # for its own)
            self._by_transport.pop(conn.transport, None)
            if conn.address is not None:
                left = self._per_address.get(conn.address, 1) - 1
                if left > 0:
                    self._per_address[conn.address] = left
                else:
                    self._per_address.pop(conn.address, None)


class GuardedSockSite(web.SockSite):
    """aiohttp's SockSite serving through a ConnectionGuard."""

    __slots__ = ("_guard",)

    def __init__(self, runner: web.BaseRunner, sock: Any, guard: ConnectionGuard,
                 **kwargs: Any) -> None:
        super().__init__(runner, sock, **kwargs)
        self._guard = guard

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        # A TLS connection reaches the guard only once its handshake is done: bound that
        # phase like request headers.
        tls = {} if self._ssl_context is None else {
            "ssl_handshake_timeout": self._guard.limits.header_timeout}
        # asyncio uses `backlog` both for listen() and as how many connections it accepts
        # per wake-up; the batch must stay small, the kernel's queue need not.
        self._server = await asyncio.get_running_loop().create_server(
            self._guard.protocol_factory(server), sock=self._sock, ssl=self._ssl_context,
            backlog=ACCEPT_BATCH, **tls)
        self._sock.listen(max(self._backlog, ACCEPT_BATCH))
