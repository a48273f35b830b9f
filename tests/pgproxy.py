"""A TCP proxy in front of a private PostgreSQL that can cut a connection around a COMMIT: the
fault that leaves a client not knowing whether its transaction was committed.

It reads PostgreSQL's wire protocol just far enough to find message boundaries: the untyped
startup message, then typed messages (a type byte and a length). Connect with
`sslmode=disable&gssencmode=disable`, so that the startup message comes first."""
from __future__ import annotations

import asyncio
import struct


class CommitCutter:
    """Forwards 127.0.0.1:`port` to PostgreSQL's TCP port. Armed with `cut("reply")`, the next
    commit of the store's (a simple query that notifies and ends in COMMIT) is forwarded, the server's answer is read up to its
    ReadyForQuery (so the COMMIT was made) and then dropped with both sockets; with
    `cut("request")` the query is dropped instead (so nothing was committed). `refuse`: new
    connections are closed at once (a database that is not back yet)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.armed: str | None = None
        self.refuse = False
        self.cuts = 0
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.Task[None]] = set()

    async def start(self) -> "CommitCutter":
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def url(self, user: str, database: str) -> str:
        return (f"postgresql://{user}@127.0.0.1:{self.port}/{database}"
                "?sslmode=disable&gssencmode=disable")

    def cut(self, where: str) -> None:
        assert where in ("reply", "request")
        self.armed = where

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for t in list(self._conns):
            t.cancel()
        await asyncio.gather(*self._conns, return_exceptions=True)

    async def _serve(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter
                     ) -> None:
        if self.refuse:
            cwriter.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        try:
            sreader, swriter = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            cwriter.close()
            self._conns.discard(task)
            return
        cut = asyncio.Event()               # set: drop the server's answer, then both sides

        async def upstream() -> None:
            n = struct.unpack("!I", await creader.readexactly(4))[0]
            swriter.write(struct.pack("!I", n) + await creader.readexactly(n - 4))
            while True:
                head = await creader.readexactly(5)
                body = await creader.readexactly(struct.unpack("!I", head[1:])[0] - 4)
                if head[:1] == b"Q" and self.armed is not None and b"pg_notify" in body \
                        and body.rstrip(b"\0").rstrip().endswith(b"COMMIT"):
                    where, self.armed = self.armed, None
                    self.cuts += 1
                    if where == "request":
                        return
                    cut.set()
                swriter.write(head + body)
                await swriter.drain()

        async def downstream() -> None:
            while True:
                head = await sreader.readexactly(5)
                body = await sreader.readexactly(struct.unpack("!I", head[1:])[0] - 4)
                if cut.is_set():
                    if head[:1] == b"Z":        # the COMMIT was run: its answer goes nowhere
                        return
                    continue
                cwriter.write(head + body)
                await cwriter.drain()

        tasks = [asyncio.ensure_future(upstream()), asyncio.ensure_future(downstream())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for w in (cwriter, swriter):
                w.close()
            self._conns.discard(task)
