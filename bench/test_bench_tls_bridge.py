"""The TLS bridge of migration streams (xenapi_impl/tlsbridge.py): throughput of a one-way
stream from one plain socket to another through a sender's and a receiver's bridge over TCP
on the loopback, against the alternatives, to pick the pump and to know its cost:

  plain     the stream over plain TCP (what migrations sent before TLS)
  threads   tlsbridge.Bridge on both sides: an SSLObject behind a lock, two blocking pump
            threads per side (what the toolstack uses)
  asyncio   the same pump on an event loop (one loop thread, as a server's): asyncio's TLS
            transport (open_connection / start_server with ssl) and sock_recv/sock_sendall
            on the socketpair ends

The writer and the reader of the plain ends are threads (as libxl's is). MiB/s to
extra_info. Reproduce: .venv/bin/python -m pytest bench/test_bench_tls_bridge.py
--benchmark-only -s --benchmark-columns=min,median,max
"""
from __future__ import annotations

import asyncio
import hashlib
import re
import socket
import ssl
import threading
from pathlib import Path
from typing import Any, Callable

import pytest

from benchsize import size

from xenapi_impl import tlsbridge
from xenapi_impl.server.tls import generate_self_signed, server_context

MIB = size(512, 4)
ROUNDS = size(5, 1)
CHUNK = tlsbridge.CHUNK


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, str]:
    pem = str(tmp_path_factory.mktemp("tls") / "host.pem")
    generate_self_signed(pem)
    block = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----",
                      Path(pem).read_text(), re.S)
    assert block is not None
    return server_context(pem), hashlib.sha256(
        ssl.PEM_cert_to_DER_cert(block.group(0))).hexdigest()


def _transfer(a: socket.socket, b: socket.socket) -> None:
    """MIB MiB written into `a`, read from `b` (threads), then both closed."""
    blob = bytes(range(256)) * (CHUNK // 256)
    got = [0]

    def read() -> None:
        while data := b.recv(CHUNK):
            got[0] += len(data)
    t = threading.Thread(target=read)
    t.start()
    for _ in range(MIB * (1 << 20) // len(blob)):
        a.sendall(blob)
    a.close()
    t.join()
    b.close()
    assert got[0] == MIB << 20


def _plain(cert: Any) -> tuple[socket.socket, socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as srv:
        a = socket.create_connection(srv.getsockname())
        b, _ = srv.accept()
    return a, b


def _threads(cert: Any) -> tuple[socket.socket, socket.socket]:
    context, pin = cert

    async def pair() -> tuple[tlsbridge.Bridge, tlsbridge.Bridge]:
        loop = asyncio.get_running_loop()
        srv = socket.create_server(("127.0.0.1", 0))
        srv.setblocking(False)

        async def accept() -> tlsbridge.Bridge:
            conn, _ = await loop.sock_accept(srv)
            return await tlsbridge.accept(conn, context)
        task = loop.create_task(accept())
        raw = socket.socket()
        raw.setblocking(False)
        await loop.sock_connect(raw, srv.getsockname())
        client = await tlsbridge.connect(raw, pin)
        server = await task
        srv.close()
        return client, server
    client, server = asyncio.run(pair())
    return client.local, server.local


class _AsyncioPump:
    """Both sides' pumps on one event loop in a thread of its own."""

    def __init__(self, cert: Any) -> None:
        self.context, self.pin = cert
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def pair(self) -> tuple[socket.socket, socket.socket]:
        return asyncio.run_coroutine_threadsafe(self._pair(), self.loop).result()

    async def _pump(self, near: socket.socket, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()

        async def up() -> None:
            while data := await loop.sock_recv(near, CHUNK):
                writer.write(data)
                await writer.drain()
            writer.close()

        async def down() -> None:
            while data := await reader.read(CHUNK):
                await loop.sock_sendall(near, data)
            near.shutdown(socket.SHUT_WR)
        await asyncio.gather(up(), down(), return_exceptions=True)
        near.close()

    async def _pair(self) -> tuple[socket.socket, socket.socket]:
        client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client.check_hostname, client.verify_mode = False, ssl.CERT_NONE
        sides: list[socket.socket] = []
        accepted = asyncio.get_running_loop().create_future()

        async def serve(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            local, near = socket.socketpair()
            near.setblocking(False)
            accepted.set_result(local)
            await self._pump(near, r, w)
        server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=self.context)
        port = server.sockets[0].getsockname()[1]
        r, w = await asyncio.open_connection("127.0.0.1", port, ssl=client,
                                             server_hostname="")
        der = w.get_extra_info("ssl_object").getpeercert(binary_form=True)
        assert hashlib.sha256(der).hexdigest() == self.pin
        local, near = socket.socketpair()
        near.setblocking(False)
        asyncio.get_running_loop().create_task(self._pump(near, r, w))
        sides = [local, await accepted]
        server.close()
        return sides[0], sides[1]


@pytest.mark.parametrize("kind", ["plain", "threads", "asyncio"])
def test_tls_bridge_throughput(benchmark: Any, cert: Any, kind: str) -> None:
    pump = _AsyncioPump(cert) if kind == "asyncio" else None
    make: Callable[[Any], tuple[socket.socket, socket.socket]] = {
        "plain": _plain, "threads": _threads,
        "asyncio": lambda c: pump.pair()}[kind]      # type: ignore[union-attr]
    pairs = []

    def setup() -> tuple[tuple[socket.socket, socket.socket], dict[str, Any]]:
        pairs.append(make(cert))
        return pairs[-1], {}
    benchmark.pedantic(_transfer, setup=setup, rounds=ROUNDS, iterations=1)
    benchmark.extra_info["MiB_per_s_median"] = round(MIB / benchmark.stats.stats.median, 1)
    print(kind, benchmark.extra_info)
