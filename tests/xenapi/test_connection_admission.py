"""The connection cap's admission order (server/connections.py), step by step on one loop.

The loop's order of callbacks decides these cases, so they are driven directly: a connection
is a Connection with a transport that records what the guard does to it, and a request in
progress is the guard's own middleware running a handler that has not returned.
"""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

from xenapi_impl.server import connections as c
from xenapi_impl.server.connections import Connection, ConnectionGuard
from xenapi_impl.server.limits import TransportLimits


class Transport(asyncio.Transport):
    """Records the guard's doings: bytes written, paused, closed."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port, self.written, self.paused, self.closed = port, b"", False, False

    def get_extra_info(self, name, default=None):
        return ("127.0.0.1", self.port) if name == "peername" else default

    def write(self, data) -> None:
        self.written += bytes(data)

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True


class Inner(asyncio.Protocol):
    """Stands for aiohttp's protocol: the guard hands it the admitted connections."""


def connect(guard: ConnectionGuard, port: int) -> tuple[Connection, Transport]:
    conn = guard.protocol_factory(Inner)()
    transport = Transport(port)
    conn.connection_made(transport)
    return conn, transport


async def busy(guard: ConnectionGuard, transport: Transport, done: asyncio.Event) -> None:
    """A request whose handler runs until `done` (the middleware marks the connection busy)."""
    async def handler(_request):
        await done.wait()
    await guard.middleware(SimpleNamespace(transport=transport), handler)


def test_room_left_by_a_closed_connection_goes_to_the_one_waiting_not_a_newcomer():
    async def main():
        guard = ConnectionGuard(TransportLimits(), max_connections=2)
        done = asyncio.Event()
        a, ta = connect(guard, 1001)
        _b, tb = connect(guard, 1002)
        handlers = [asyncio.create_task(busy(guard, t, done)) for t in (ta, tb)]
        await asyncio.sleep(0)
        assert a.phase == c.BUSY and len(guard) == 2
        w, tw = connect(guard, 1003)            # at the cap, nothing idle: it waits
        assert w.phase == c.WAITING and tw.paused
        a.connection_lost(None)                 # a request ends, its client leaves...
        n, tn = connect(guard, 1004)            # ...and a newcomer arrives in the same step
        assert n.phase == c.WAITING             # behind the one that waited first
        await asyncio.sleep(0)
        assert w.phase == c.IDLE and not tw.paused and tw.written == b""   # w is in
        assert len(guard) == 2
        handlers.append(asyncio.create_task(busy(guard, tw, done)))     # w's request runs
        await asyncio.sleep(c.ADMIT_WAIT + 0.1)  # no room for n: refused, clearly
        assert n.phase == c.REFUSED
        assert tn.written.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
        assert tn.written.endswith(b"too many connections (at most 2)\n")
        assert w.phase == c.BUSY and tw.written == b""
        done.set()
        await asyncio.gather(*handlers)
    asyncio.run(main())


def test_a_newcomer_is_let_in_at_once_while_there_is_room_for_it_and_the_waiting():
    async def main():
        guard = ConnectionGuard(TransportLimits(), max_connections=3)
        done = asyncio.Event()
        conns = [connect(guard, 1000 + i) for i in range(3)]
        handlers = [asyncio.create_task(busy(guard, t, done)) for _c, t in conns]
        await asyncio.sleep(0)
        w, _tw = connect(guard, 1010)
        assert w.phase == c.WAITING
        conns[0][0].connection_lost(None)
        conns[1][0].connection_lost(None)       # two went: room for w and one more
        n, tn = connect(guard, 1011)
        assert n.phase == c.IDLE and tn.written == b""
        await asyncio.sleep(0)
        assert w.phase == c.IDLE and len(guard) == 3
        done.set()
        await asyncio.gather(*handlers)
    asyncio.run(main())


def test_at_the_cap_with_nobody_waiting_the_longest_idle_connection_makes_room():
    async def main():
        guard = ConnectionGuard(TransportLimits(), max_connections=2)
        done = asyncio.Event()
        _old, t_old = connect(guard, 1001)      # idle, the longest
        _b, tb = connect(guard, 1002)
        handler = asyncio.create_task(busy(guard, tb, done))
        await asyncio.sleep(0)
        n, tn = connect(guard, 1003)
        assert n.phase == c.IDLE and t_old.closed and not tn.written
        assert len(guard) == 2
        done.set()
        await handler
    asyncio.run(main())
