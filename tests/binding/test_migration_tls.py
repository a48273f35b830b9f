"""libxl's migration stream carried over TLS by xenapi_impl/tlsbridge.py (as the toolstack
sends it between hosts): the binding reads and writes a plain socket, the bridge pumps it
through a pinned TLS connection. On the simulator, in one process (localhost migration):
the commit; a restore failing at the destination and a TCP connection cut mid-stream (a
relay resets both sides) each end both sides promptly (no hang: EOF and errors cross the
bridge) with exactly one copy, running on the source."""
from __future__ import annotations

import asyncio
import hashlib
import re
import socket
import ssl
import struct
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from xenlight_py import Context, DomainConfig, MigrationFailed
from xenlight_py.errors import ERROR_FAIL
from xenlight_py.migration import migrate_receive, migrate_send
from xenapi_impl import tlsbridge
from xenapi_impl.server.tls import generate_self_signed, server_context

MEM = 64


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, str]:
    pem = str(tmp_path_factory.mktemp("tls") / "host.pem")
    generate_self_signed(pem)
    with open(pem) as f:
        block = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", f.read(),
                          re.S)
    assert block is not None
    return server_context(pem), hashlib.sha256(ssl.PEM_cert_to_DER_cert(block.group(0))).hexdigest()


class Relay:
    """Forwards one TCP connection; after `cut` bytes from the sender resets both sides."""

    def __init__(self, port: int, cut: int | None) -> None:
        self.port, self.cut = port, cut
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = self.listener.getsockname()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        down, _ = self.listener.accept()
        up = socket.create_connection(("127.0.0.1", self.port))

        def back() -> None:
            try:
                while data := up.recv(1 << 16):
                    down.sendall(data)
            except OSError:
                pass
        threading.Thread(target=back, daemon=True).start()
        sent = 0
        try:
            while data := down.recv(1 << 16):
                up.sendall(data)
                sent += len(data)
                if self.cut is not None and sent >= self.cut:
                    break
        except OSError:
            pass
        for s in (down, up):            # a reset, as a dropped link's peer would see
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            try:
                s.shutdown(socket.SHUT_RDWR)    # wakes `back`, so that close resets
            except OSError:
                pass
            s.close()


def tls_pair(cert: tuple[ssl.SSLContext, str], cut: int | None = None
             ) -> tuple[tlsbridge.Bridge, tlsbridge.Bridge]:
    """(sender's bridge, receiver's bridge), through a Relay."""
    context, pin = cert

    async def pair() -> tuple[tlsbridge.Bridge, tlsbridge.Bridge]:
        loop = asyncio.get_running_loop()
        listener = socket.create_server(("127.0.0.1", 0))
        listener.setblocking(False)
        relay = Relay(listener.getsockname()[1], cut)

        async def server() -> tlsbridge.Bridge:
            conn, _ = await loop.sock_accept(listener)
            return await tlsbridge.accept(conn, context)
        accepting = loop.create_task(server())
        raw = socket.socket()
        raw.setblocking(False)
        await loop.sock_connect(raw, relay.address)
        client = await tlsbridge.connect(raw, pin)
        listener.close()
        return client, await accepting
    return asyncio.run(pair())


def migrate_over(ctx: Context, domid: int, cfg: DomainConfig, pair: Any
                 ) -> tuple[BaseException | None, Any]:
    """migrate_send here, migrate_receive in a thread, over the bridges; both must end."""
    client, server = pair
    got: dict[str, Any] = {}

    def receive() -> None:
        try:
            got["domid"] = migrate_receive(ctx, server.local, cfg)
        except MigrationFailed as e:
            got["error"] = e
        finally:
            server.local.close()

    t = threading.Thread(target=receive, daemon=True)
    t.start()
    err = None
    t0 = time.monotonic()
    try:
        migrate_send(ctx, domid, client.local)
    except MigrationFailed as e:
        err = e
    finally:
        client.local.close()
    t.join(60)
    assert not t.is_alive(), "the receiver hangs"
    assert time.monotonic() - t0 < 60
    return err, got.get("domid", got.get("error"))


def vm(ctx: Context) -> tuple[int, DomainConfig]:
    cfg = DomainConfig(name="vm", kernel="/boot/vmlinuz", memory=MEM, vcpus=2)
    domid = ctx.create_domain(cfg)
    ctx.sim.set_load(domid, 0.5)
    return domid, cfg


def guests(ctx: Context) -> list[tuple[int, str]]:
    return [(d.domid, ctx.domid_to_name(d.domid)) for d in ctx.list_domains() if d.domid]


def test_commit_over_tls(ctx: Context, cert: Any) -> None:
    domid, cfg = vm(ctx)
    boot = ctx.sim.guest_state(domid).boot_id
    err, new = migrate_over(ctx, domid, cfg, tls_pair(cert))
    assert err is None and isinstance(new, int)
    assert guests(ctx) == [(new, "vm")] and ctx.domain_info(new).running
    assert ctx.sim.guest_state(new).boot_id == boot


def test_restore_failure_crosses_the_bridge(ctx: Context, cert: Any) -> None:
    domid, cfg = vm(ctx)
    ctx.sim.fail_next("libxl_domain_create_restore/stream", ERROR_FAIL)
    err, theirs = migrate_over(ctx, domid, cfg, tls_pair(cert))
    assert isinstance(err, MigrationFailed) and isinstance(theirs, MigrationFailed)
    assert guests(ctx) == [(domid, "vm")] and ctx.domain_info(domid).running


@pytest.mark.parametrize("cut", [1 << 10, 8 << 20])   # in the handshake's wake, mid-stream
def test_a_connection_cut_mid_stream_ends_both_sides(ctx: Context, cert: Any,
                                                      cut: int) -> None:
    domid, cfg = vm(ctx)
    err, theirs = migrate_over(ctx, domid, cfg, tls_pair(cert, cut))
    assert isinstance(err, MigrationFailed), err
    assert isinstance(theirs, MigrationFailed), theirs
    assert guests(ctx) == [(domid, "vm")] and ctx.domain_info(domid).running
