"""RPC workers: the transport's work on more cores of dom0, the store in one process.

With `--rpc-workers N` the server starts N worker processes (worker.py). The server still
accepts every connection and admits it through its connection guard (caps per address and in
all), then passes a plain HTTP connection's descriptor to the worker with the fewest
connections. The worker reads the requests, parses the HTTP and the XML-RPC/JSON-RPC body, and
sends the decoded call over its relay (relay.py). The server dispatches it, against the one
store, sessions and event queue it alone holds, encodes the result (records' encodings are
memoized here, so a warm record costs a lookup) and sends the reply body back, which the worker
writes. So every call is ordered and consistent exactly as without workers, while HTTP framing,
request parsing and socket I/O run on other cores.

The server's event loop must be asyncio's: a connection is passed from connection_made, with
its reading paused before it ever starts, while uvloop starts reading after connection_made
whatever the protocol asked. The workers run asyncio's loop too.

Not passed: TLS connections (their TLS state cannot move between processes once the handshake
is done, and a request for another route must come back here) and the Unix socket. A request
the worker's lane does not take comes back here (Connection.take_back), with the bytes read;
aiohttp serves the connection from then on. A worker that dies takes its connections with it
(their clients see them close) and is started again; until one is ready, connections are
served here.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from ..api.caller import Caller
from ..wire import jsonrpc
from . import relay
from .connections import DELEGATED, Connection

log = logging.getLogger(__name__)

RESTART_DELAY = 1.0     # seconds before a worker that died is started again
EXIT_WAIT = 5.0         # seconds a stopping worker may take past the grace before it is killed

Respond = Callable[[tuple[str, list[Any], jsonrpc.JsonRequest, bool], Caller],
                   Awaitable[list[bytes]]]


class _Worker:
    """One worker process and its two sockets."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.proc: subprocess.Popen[bytes] | None = None
        self.relay: relay.FrameProtocol | None = None
        self.channel: socket.socket | None = None      # connections go here (SCM_RIGHTS)
        self.ready = False
        self.conns: dict[int, Connection] = {}
        self.gone: asyncio.Future[None] | None = None


class WorkerPool:
    """The server's RPC workers: starts them, passes them connections, answers their calls."""

    def __init__(self, count: int, respond: Respond, settings: relay.Settings, *,
                 seen_agent: Callable[[str | None], None]) -> None:
        if count < 1:
            raise ValueError("an RPC worker pool needs at least one worker")
        self.respond = respond
        self.settings = settings
        self.seen_agent = seen_agent
        self.workers = [_Worker(i) for i in range(count)]
        self.tasks: set[asyncio.Task[None]] = set()
        self.ids = itertools.count(1)
        self.stopping = False

    async def start(self) -> None:
        """Start every worker; they take connections once each says it is ready."""
        for w in self.workers:
            await self._spawn(w)

    async def _spawn(self, w: _Worker) -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        channel, their_channel = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            w.proc = subprocess.Popen(
                [sys.executable, "-m", "xenapi_impl.server.worker", str(theirs.fileno()),
                 str(their_channel.fileno())],
                pass_fds=(theirs.fileno(), their_channel.fileno()), stdin=subprocess.DEVNULL)
        except BaseException:
            ours.close()
            channel.close()
            raise
        finally:
            theirs.close()
            their_channel.close()
        channel.setblocking(False)
        w.channel = channel
        w.gone = loop.create_future()
        protocol = relay.FrameProtocol(lambda kind, ident, payload: self._frame(w, kind, ident,
                                                                                payload),
                                       lambda: self._lost(w))
        w.relay = protocol
        await loop.connect_accepted_socket(lambda: protocol, ours)
        protocol.send(relay.CONFIG, 0, relay.dumps(self.settings))

    # -- connections ------------------------------------------------------------------------

    def delegate(self, conn: Connection) -> bool:
        """Pass a newly admitted plain TCP connection to the least busy ready worker."""
        if self.stopping:
            return False
        transport = conn.transport
        if transport is None or transport.get_extra_info("sslcontext") is not None:
            return False
        sock = transport.get_extra_info("socket")
        if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
            return False
        w = min((w for w in self.workers if w.ready), key=lambda w: len(w.conns), default=None)
        if w is None or w.channel is None:
            return False
        cid = next(self.ids)
        transport.pause_reading()
        if not relay.pass_fd(w.channel, relay.CONNECTION, cid, sock.fileno()):
            transport.resume_reading()
            return False
        w.conns[cid] = conn
        return True

    def evict(self) -> None:
        """At the connection cap with nothing idle here: each worker holding connections
        drops its longest idle one (if it has one); the server's slot frees when its CLOSED
        comes."""
        for w in self.workers:
            if w.ready and w.conns and w.relay is not None:
                w.relay.send(relay.EVICT)

    # -- the workers' frames ---------------------------------------------------------------------

    def _frame(self, w: _Worker, kind: int, ident: int, payload: bytes) -> None:
        if kind == relay.CALL:
            task = asyncio.get_running_loop().create_task(self._serve(w, ident, payload))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        elif kind == relay.CLOSED:
            conn = w.conns.pop(ident, None)
            if conn is not None and conn.transport is not None and conn.phase == DELEGATED:
                conn.transport.close()
        elif kind == relay.BACK:
            conn = w.conns.pop(ident, None)
            if conn is not None and conn.transport is not None and conn.phase == DELEGATED:
                if conn.transport.is_closing():
                    return
                conn.take_back(bytes(payload))
        elif kind == relay.AGENT:
            self.seen_agent(payload.decode("latin-1"))
        elif kind == relay.READY:
            w.ready = True
            log.info("RPC worker %d (pid %d) serving", w.index,
                     w.proc.pid if w.proc is not None else 0)

    async def _serve(self, w: _Worker, ident: int, payload: bytes) -> None:
        try:
            method, params, req, xml, who = relay.loads(payload)
            caller = Caller(*who)
        except Exception:       # noqa: BLE001 - our own worker sent it: a bug, said as one
            log.exception("RPC worker %d sent a call that cannot be read", w.index)
            reply = [jsonrpc.encode_failure(jsonrpc.UNKNOWN_REQUEST, ["INTERNAL_ERROR",
                                            "unreadable call from the RPC worker"])]
        else:
            reply = await self.respond((method, params, req or jsonrpc.UNKNOWN_REQUEST, xml),
                                       caller)
        if w.relay is None:
            return
        if sum(len(c) for c in reply) > relay.FILE_OVER and w.channel is not None:
            fd = await asyncio.to_thread(relay.reply_file, reply)   # the loop goes on meanwhile
            try:
                if w.channel is not None and relay.pass_fd(w.channel, relay.REPLY_FILE, ident, fd):
                    return
            finally:
                os.close(fd)
        if w.relay is not None:
            w.relay.send_chunks(relay.REPLY, ident, reply)

    def _lost(self, w: _Worker) -> None:
        """The worker's relay closed: it exited (or died). Its connections end with it."""
        w.ready = False
        w.relay = None
        if w.channel is not None:
            w.channel.close()
            w.channel = None
        for conn in w.conns.values():
            if conn.transport is not None and conn.phase == DELEGATED:
                conn.transport.close()
        w.conns.clear()
        asyncio.get_running_loop().create_task(self._reap(w))

    async def _reap(self, w: _Worker) -> None:
        proc = w.proc
        status = None
        if proc is not None:
            for _ in range(200):            # it closed the relay: it is exiting
                status = proc.poll()
                if status is not None:
                    break
                await asyncio.sleep(0.01)
            else:
                proc.kill()
                status = await asyncio.to_thread(proc.wait)
        if w.gone is not None and not w.gone.done():
            w.gone.set_result(None)
        if self.stopping:
            return
        log.warning("RPC worker %d exited (status %s); starting it again in %.0fs", w.index,
                    status, RESTART_DELAY)
        await asyncio.sleep(RESTART_DELAY)
        if not self.stopping:
            try:
                await self._spawn(w)
            except OSError as e:
                log.error("cannot start RPC worker %d again: %s", w.index, e)

    async def stop(self, grace: float) -> None:
        """Stop the workers: each finishes its calls in flight (up to `grace`; this process
        keeps answering them meanwhile), closes its connections and exits."""
        self.stopping = True
        waits = []
        for w in self.workers:
            if w.relay is not None and w.relay.send(relay.STOP, 0, relay.dumps(grace)):
                assert w.gone is not None
                waits.append(w.gone)
            elif w.gone is not None:
                waits.append(w.gone)
        if waits:
            _, late = await asyncio.wait(waits, timeout=max(grace, 0.0) + EXIT_WAIT)
            for w in self.workers:
                if w.gone in late and w.proc is not None:
                    log.warning("RPC worker %d did not stop; killing it", w.index)
                    w.proc.kill()
                    await asyncio.to_thread(w.proc.wait)
        tasks = [t for t in self.tasks if not t.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=1)
