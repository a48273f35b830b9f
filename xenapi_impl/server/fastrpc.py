"""The RPC lane: plain XML-RPC and JSON-RPC calls answered straight from the connection's
protocol, without aiohttp's per-request objects.

Nearly every call a XenAPI client makes (the SDKs, Xen Orchestra, Ansible, xe) is a POST of a
small body with a Content-Length on a keep-alive HTTP/1.1 connection. Through aiohttp each such
call cost the server several times the call itself (request and response objects, routing,
middlewares, the body stream; bench/RESULTS.md). So every connection starts in this lane: its
requests are framed here, their heads parsed by httptools (llhttp, the parser aiohttp itself
uses), their bodies decoded and answered by `decode` and `HttpServer.respond`, the functions
the aiohttp route calls too. A generic read (`Dispatcher.immediate`) is answered at once, in
the turn of the loop that read it (eager.py); a generic write on this host's store
(`Dispatcher.light`) is driven without a task (stepper.py); any other call runs in a task.
The first request the lane does not take (another method or path, a chunked, compressed or
`Expect` body, an Upgrade, HTTP/1.0, a head the parser refuses, a body over LANE_MAX_BODY)
hands the connection, with every byte not yet answered, to aiohttp for good: what the lane does
not do (limits, inflating, the other routes, clear refusals of bad requests) aiohttp still
does.

Requests on one connection are answered in order: the next is not read before the reply to
the previous one is written. A body still arriving waits at most the body timeout, then gets
the transport's 408, as through aiohttp.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

import httptools

from ..api.caller import Caller
from ..ratelimit import RateLimitedLog
from . import eager
from .connections import BUSY, HEADERS, IDLE, Connection
from .replies import IOV_MAX, STREAM_OVER, advance, content_type, joined, pieces
from .stepper import Stepper

if TYPE_CHECKING:
    from .http import Call

log = logging.getLogger(__name__)

#: a head longer than this is left to aiohttp (which refuses an oversized one)
LANE_MAX_HEAD = 16 * 1024
#: a body larger than this goes through aiohttp, which streams it against the body limit
LANE_MAX_BODY = 256 * 1024
#: headers whose presence means the request is not the lane's (an Upgrade makes httptools raise)
_NOT_OURS = frozenset({b"transfer-encoding", b"expect", b"upgrade"})
_IDENTITY = frozenset({b"", b"identity"})
_JSON_PATH = b"/jsonrpc"
_CTYPE = {xml: content_type(xml).encode() for xml in (True, False)}

#: a request body -> the call it makes, or the failure reply to send instead (http.decode)
Decode = Callable[[bytes, bool], "Call | bytes"]
Respond = Callable[["Call", Caller], Awaitable[list[bytes]]]
Failure = Callable[[bool, list[str]], bytes]


class _Head:
    """httptools' callbacks for one request head: its target and the headers the lane reads."""

    __slots__ = ("url", "length", "agent", "foreign")

    def __init__(self) -> None:
        self.url = b""
        self.length: bytes | None = None
        self.agent: bytes | None = None
        self.foreign = False       # something only aiohttp handles

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"content-length":
            if self.length is not None:
                self.foreign = True        # twice: aiohttp refuses it
            self.length = value
        elif name == b"user-agent":
            self.agent = value
        elif name == b"content-encoding":
            if value.strip().lower() not in _IDENTITY:
                self.foreign = True
        elif name in _NOT_OURS:
            self.foreign = True


def never(_method: str) -> bool:
    """No call of any method (RpcLane's default for `immediate` and `light`)."""
    return False


class RpcLane:
    """One per HttpServer: what its connections' RPC streams share."""

    def __init__(self, decode: Decode, respond: Respond, failure: Failure, *,
                 max_body: int, body_timeout: float, reserved: Iterable[str],
                 seen_agent: Callable[[str | None], None], limiter: RateLimitedLog,
                 immediate: Callable[[str], bool] = never, light: Callable[[str], bool] = never
                 ) -> None:
        self.decode = decode
        self.respond = respond
        self.failure = failure
        #: whether a method's calls never wait: those run at once, in the read's turn of the
        #: loop (eager.py), the others in a task of their own
        self.immediate = immediate
        #: whether a method's calls never need a task of their own: those are driven without
        #: one (stepper.py), the others run in a task
        self.light = light
        self.max_body = min(max_body, LANE_MAX_BODY)
        self.body_timeout = body_timeout
        #: POST paths of other routes (imports, the pool's calls): aiohttp's
        self.reserved = frozenset(p.encode() for p in reserved)
        self.seen_agent = seen_agent
        self.limiter = limiter
        self.tasks: set[asyncio.Task[None]] = set()
        self.steppers: set[Stepper] = set()
        self._date_at = -1
        self._date = b""

    def __call__(self, conn: Connection) -> "RpcStream":
        return RpcStream(self, conn)

    def date(self) -> bytes:
        now = int(time.time())
        if now != self._date_at:
            self._date_at, self._date = now, formatdate(now, usegmt=True).encode()
        return self._date

    def head(self, status: bytes, ctype: bytes, length: int, keep_alive: bool) -> bytes:
        return b"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nDate: %s\r\n" \
            b"Access-Control-Allow-Origin: *\r\n%s\r\n" % (
                status, ctype, length, self.date(), b"" if keep_alive else b"Connection: close\r\n")

    async def cancel(self) -> None:
        """Cancel the calls still running (the server is stopping) and wait for them."""
        for t in [*self.tasks, *self.steppers]:
            t.cancel()          # (nothing for one that has ended)
        pending = self.in_flight()
        if pending:
            await asyncio.wait(pending, timeout=5)

    def in_flight(self) -> list[asyncio.Future[Any]]:
        """The calls still running, as futures to wait for (a server stopping)."""
        return [*(t for t in self.tasks if not t.done()),
                *(s.finished() for s in self.steppers if not s.done())]


class RpcStream:
    """The lane's side of one connection, until it hands the connection to aiohttp."""

    __slots__ = ("lane", "conn", "buf", "busy", "framing", "head", "timer", "drained", "eof",
                 "closed", "_caller", "last_raw", "last_head")

    def __init__(self, lane: RpcLane, conn: Connection) -> None:
        self.lane = lane
        self.conn = conn
        self.buf = b""                    # received, not yet answered (usually one whole request)
        self.busy = False                  # a call is running or its reply being written
        self.framing = False               # in _next's loop (a call run at once ends in it)
        #: the head parsed while its body arrives: (body offset, length, xml, keep-alive, agent)
        self.head: tuple[int, int, bool, bool, bytes | None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.drained: asyncio.Future[None] | None = None
        self.eof = False
        self.closed = False
        self._caller: Caller | None = None
        #: the last request head parsed, and what it said (_parse_head)
        self.last_raw = b""
        self.last_head: tuple[int, int, bool, bool, bytes | None] | None = None

    # -- the connection's events -------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self.buf = self.buf + data if self.buf else data
        if not self.busy:
            self._next()

    def eof_received(self) -> bool | None:
        self.eof = True
        return True if self.busy else None      # keep the socket to write the reply

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self._resume()

    def pause_writing(self) -> None:
        if self.drained is None:
            self.drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        self._resume()

    def _resume(self) -> None:
        drained, self.drained = self.drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    # -- framing -------------------------------------------------------------------------------

    def _next(self) -> None:
        """Start the calls the buffer holds, one at a time, while they are whole; hand over
        what is not ours. A call answered at once (a read) ends inside this loop, which then
        takes the next one: a client's pipelined reads do not nest."""
        if self.framing:
            return
        self.framing = True
        try:
            while not self.busy and not self.closed and self._start():
                pass
        finally:
            self.framing = False

    def _start(self) -> bool:
        """Start the call the buffer holds if it is whole; False if there is none."""
        if not self.buf:                   # (a head being waited on is in the buffer)
            return False
        conn = self.conn
        if self.head is None:
            self.head = self._parse_head()
            if self.head is None:
                return False
        start, length, xml, keep_alive, agent = self.head
        end = start + length
        if len(self.buf) < end:
            if self.timer is None:         # headers in, body on its way: the body deadline
                conn.phase = BUSY
                self.timer = asyncio.get_running_loop().call_later(
                    self.lane.body_timeout, self._late, xml)
            return False
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        body = self.buf[start:end]
        self.buf = self.buf[end:]
        self.head = None
        self.busy = True
        conn.phase = BUSY
        lane = self.lane
        call = lane.decode(body, xml)
        coro = self._serve(call, xml, keep_alive, agent)
        loop = asyncio.get_running_loop()
        if isinstance(call, bytes) or lane.immediate(call[0]):
            task = eager.start(loop, coro)
        elif lane.light(call[0]):
            Stepper(loop, coro, lane.steppers).start()
            return True
        else:
            task = loop.create_task(coro)
        if task is not None:
            lane.tasks.add(task)
            task.add_done_callback(lane.tasks.discard)
        return True

    def _parse_head(self) -> tuple[int, int, bool, bool, bytes | None] | None:
        buf = self.buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > LANE_MAX_HEAD:
                self._hand_over()
            return None
        last = self.last_raw
        if len(last) == end + 4 and buf.startswith(last):
            # a client sends the same head for each call of the same size (its fields, and
            # so what they say, are the bytes): one compare instead of a parse
            return self.last_head
        raw = buf[:end + 4]
        parsed = self._parse(raw)
        if parsed is not None:
            self.last_raw, self.last_head = raw, parsed
        return parsed

    def _parse(self, raw: bytes) -> tuple[int, int, bool, bool, bytes | None] | None:
        head = _Head()
        parser = httptools.HttpRequestParser(head)
        try:
            parser.feed_data(raw)
            ours = parser.get_method() == b"POST" and parser.get_http_version() == "1.1"
            keep_alive = parser.should_keep_alive()
        except Exception:          # noqa: BLE001 - malformed or an Upgrade: aiohttp answers it
            ours = False
        path = head.url.split(b"?", 1)[0]
        length = head.length
        if not ours or head.foreign or length is None or not length.isdigit() \
                or not path.startswith(b"/") or path in self.lane.reserved \
                or int(length) > self.lane.max_body:
            self._hand_over()
            return None
        return len(raw), int(length), path != _JSON_PATH, keep_alive, head.agent

    def _hand_over(self) -> None:
        pending, self.buf = self.buf, b""
        self.closed = True
        self.conn.hand_over(pending)

    # -- answering ---------------------------------------------------------------------------

    def caller(self) -> Caller:
        if self._caller is None:
            self._caller = self.conn.caller()
        return self._caller

    async def _serve(self, call: Call | bytes, xml: bool, keep_alive: bool, agent: bytes | None
                     ) -> None:
        """Answer a decoded call (or send the failure `decode` made of its body)."""
        lane = self.lane
        try:
            lane.seen_agent(agent.decode("latin-1") if agent is not None else None)
            chunks = [call] if isinstance(call, bytes) else await lane.respond(call,
                                                                                self.caller())
            await self._write(b"200 OK", chunks, xml, keep_alive and not self.eof)
        except Exception:       # noqa: BLE001 - a bug here must not leave the client hanging
            log.exception("internal error in the RPC lane")
            self.conn.abort()
            return
        if self.closed:
            return
        if not keep_alive or self.eof:
            await self._flush()
            self.conn.close()
            return
        conn = self.conn
        self.busy = False
        conn.phase, conn.since = (HEADERS if self.buf else IDLE), time.monotonic()
        if self.buf:
            self._next()

    async def _write(self, status: bytes, chunks: list[bytes], xml: bool, keep_alive: bool
                     ) -> None:
        transport = self.conn.transport
        if transport is None or transport.is_closing():
            return
        length = sum(map(len, chunks))
        head = self.lane.head(status, _CTYPE[xml], length, keep_alive)
        if length <= STREAM_OVER:
            transport.write(head + joined(chunks))
            return
        sock = transport.get_extra_info("socket")
        if sock is not None and transport.get_extra_info("sslcontext") is None \
                and not transport.get_write_buffer_size():
            await self._gather([head, *chunks], sock)
            return
        transport.write(head)
        for piece in pieces(chunks):
            if self.closed or transport.is_closing():
                return
            transport.write(piece)
            if self.drained is not None:
                await self.drained

    async def _gather(self, chunks: list[bytes], sock: socket.socket) -> None:
        """Send a large body straight from its chunks with sendmsg (gather): neither joined
        nor copied into asyncio's buffer, which holds nothing now. Through a duplicate of the
        socket's descriptor (asyncio lends no way to send); while the socket is full the
        connection counts as paused, so the guard's send timeout applies as to any reply."""
        views = [memoryview(c) for c in chunks if c]
        loop = asyncio.get_running_loop()
        conn = self.conn
        with socket.socket(fileno=os.dup(sock.fileno())) as raw:
            fd = raw.fileno()
            i = 0
            while i < len(views):
                if self.closed:
                    return
                try:
                    sent = raw.sendmsg(views[i:i + IOV_MAX])
                except (BlockingIOError, InterruptedError):
                    self.drained = waiting = loop.create_future()
                    conn.paused_since = time.monotonic()
                    loop.add_writer(fd, self._resume)
                    try:
                        await waiting
                    finally:
                        loop.remove_writer(fd)
                        conn.paused_since = None
                    continue
                except OSError:         # the client is gone (reset): nobody to answer
                    conn.abort()
                    return
                i = advance(views, i, sent)

    async def _flush(self) -> None:
        """Wait until the reply has all left: closing earlier would cut a large reply to a
        client that reads slowly (one that stops reading meets the send timeout)."""
        transport = self.conn.transport
        if transport is None or transport.is_closing():
            return
        transport.set_write_buffer_limits(high=0)      # paused while anything is unsent
        if self.drained is not None:
            await self.drained

    def _late(self, xml: bool) -> None:
        """The body did not arrive within the body timeout: 408, as aiohttp's route answers."""
        self.timer = None
        lane = self.lane
        description = ["REQUEST_TIMEOUT", f"{lane.body_timeout:g}"]
        lane.limiter.warning("rejected request", "rejected a request from %s: HTTP 408 %s",
                             self.caller().peer, " ".join(description))
        self.busy = True                   # nothing more is read from this connection
        transport = self.conn.transport
        if transport is not None and not transport.is_closing():
            body = lane.failure(xml, description)
            transport.write(lane.head(b"408 Request Timeout", _CTYPE[xml], len(body), False)
                            + body)
        self.conn.close()
