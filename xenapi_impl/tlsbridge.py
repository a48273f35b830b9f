"""Host-to-host streams over TLS, pinned as the pool's API calls are, for code that needs a
plain file descriptor: libxl writes a domain's memory into a socket and reads it from one.

The TLS handshake runs on the event loop (`connect` on the sending host, pinning the
receiver's certificate by its SHA-256 fingerprint; `accept` on the receiving host, with the
certificate its HTTPS server serves). Then a `Bridge` hands its user one end of a local
socketpair (`Bridge.local`) and two threads pump bytes between the other end and the TLS
connection, encrypting on the way out and decrypting on the way in. The TLS state is an
`ssl.SSLObject` over memory buffers behind a lock (one OpenSSL connection must not be driven
by two threads at once); the TCP socket itself is blocking, and its writes hold a second
lock, taken first, from encrypting to sent (records must leave in the order they were made).
Threads rather than the event loop: measured faster (bench/RESULTS.md), and hundreds of MiB
of a memory stream do not queue behind, or delay, the API's own work on the loop.

End of stream both ways, so that neither side hangs on a peer that dropped:
- the user closes (or shuts down for writing) its end: what it wrote is sent, then TLS's
  close_notify and a TCP half-close; the peer's user reads EOF;
- the peer's close_notify or its TCP EOF: the user reads EOF (its writes still go out);
- an error on the TCP side (reset, the send timeout, a dead peer found by TCP keepalive) or
  the user's end gone (its writes fail): the whole bridge is torn down, the user's reads see
  EOF and its writes fail, the peer's TCP connection is closed.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import socket
import ssl
import struct
import threading
from typing import Callable

log = logging.getLogger(__name__)

#: bytes read from either side at a time
CHUNK = 256 * 1024
#: seconds a handshake may take
HANDSHAKE_TIMEOUT = 10.0
#: seconds a send to the peer may block (a peer that takes no data for that long is gone);
#: reads have no timeout: a stream may be idle while the hosts work (a disk copied before the
#: commit), and TCP keepalive finds a peer whose host died
SEND_TIMEOUT = 120.0
#: seconds the bridge waits, once its user closed, for the peer to close its side
CLOSE_GRACE = 30.0
KEEPALIVE = (10, 5, 3)          # idle s, interval s, probes: a dead peer found in ~25 s


class PinMismatch(Exception):
    """The peer's certificate is not the one pinned for it."""


def sha256_hex(der: bytes) -> str:
    """A certificate's SHA-256 fingerprint as the pool records it (lowercase hex)."""
    return hashlib.sha256(der).hexdigest()


def normalize_fingerprint(fp: str) -> str:
    """`AB:CD:...` (Certificate records) or `abcd...` (host.other_config) -> `abcd...`."""
    return fp.replace(":", "").strip().lower()


def client_context() -> ssl.SSLContext:
    """TLS 1.2+ without CA verification: the peer is checked by its pinned fingerprint."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


_CLIENT: ssl.SSLContext | None = None


def _client() -> ssl.SSLContext:
    global _CLIENT
    if _CLIENT is None:
        _CLIENT = client_context()
    return _CLIENT


def _tune(sock: socket.socket) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    idle, interval, count = KEEPALIVE
    with contextlib.suppress(AttributeError, OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, interval)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, count)


async def _handshake(sock: socket.socket, obj: ssl.SSLObject, inc: ssl.MemoryBIO,
                     out: ssl.MemoryBIO) -> None:
    loop = asyncio.get_running_loop()
    while True:
        try:
            obj.do_handshake()
            done = True
        except ssl.SSLWantReadError:
            done = False
        data = out.read()
        if data:
            await loop.sock_sendall(sock, data)
        if done:
            return
        chunk = await loop.sock_recv(sock, 65536)
        if not chunk:
            raise ConnectionError("the peer closed the connection during the TLS handshake")
        inc.write(chunk)


async def connect(sock: socket.socket, pin: str | None,
                  timeout: float = HANDSHAKE_TIMEOUT) -> "Bridge":
    """TLS over the connected (non-blocking) TCP `sock` as a client; the peer's leaf
    certificate must have the SHA-256 fingerprint `pin` (None: not verified, the pool's
    emergency exception). PinMismatch, ssl.SSLError, OSError, TimeoutError; `sock` is the
    caller's to close on failure."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = _client().wrap_bio(inc, out, server_side=False)
    async with asyncio.timeout(timeout):
        await _handshake(sock, obj, inc, out)
    if pin is not None:
        der = obj.getpeercert(binary_form=True) or b""
        got = sha256_hex(der)
        if not hmac.compare_digest(got, normalize_fingerprint(pin)):
            raise PinMismatch(f"its certificate (SHA-256 {got}) is not the one recorded "
                              f"for it ({normalize_fingerprint(pin)})")
    return Bridge(sock, obj, inc, out)


async def accept(sock: socket.socket, context: ssl.SSLContext,
                 timeout: float = HANDSHAKE_TIMEOUT) -> "Bridge":
    """TLS over the accepted (non-blocking) TCP `sock` as the server, with `context` (the
    host's HTTPS certificate). ssl.SSLError (e.g. a client speaking plain TCP), OSError,
    TimeoutError; `sock` is the caller's to close on failure."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = context.wrap_bio(inc, out, server_side=True)
    async with asyncio.timeout(timeout):
        await _handshake(sock, obj, inc, out)
    return Bridge(sock, obj, inc, out)


class Bridge:
    """A TLS connection seen as a plain socket: `local` (blocking, the user's; closing it
    ends the stream). The pump threads start at once and close the TCP socket when done."""

    def __init__(self, sock: socket.socket, obj: ssl.SSLObject, inc: ssl.MemoryBIO,
                 out: ssl.MemoryBIO) -> None:
        self._sock = sock
        self._obj, self._inc, self._out = obj, inc, out
        self._tls = threading.Lock()        # the SSLObject and its buffers
        self._send = threading.Lock()       # writes to the TCP socket
        self.local, self._near = socket.socketpair()
        sock.setblocking(True)
        _tune(sock)
        # a send timeout at the socket level; recv stays without one (see SEND_TIMEOUT)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO,
                        struct.pack("ll", int(SEND_TIMEOUT), 0))
        self._broken = threading.Event()
        self._down_done = threading.Event()
        self._up = threading.Thread(target=self._pump_up, name="tls-bridge-out", daemon=True)
        self._down = threading.Thread(target=self._pump_down, name="tls-bridge-in",
                                      daemon=True)
        self._up.start()
        self._down.start()

    @property
    def cipher(self) -> tuple[str, str, int] | None:
        return self._obj.cipher()

    def _flush(self, step: Callable[[], object] | None = None) -> None:
        """Run `step` on the TLS state (encrypting), then send what TLS has for the peer.
        Records carry implicit sequence numbers: whoever takes bytes out of the outgoing
        buffer sends them before anyone takes more (both under the send lock, taken
        first)."""
        with self._send:
            with self._tls:
                if step is not None:
                    step()
                wire = self._out.read()
            if wire:
                self._sock.sendall(wire)

    def _break(self, why: BaseException | str) -> None:
        """Tear everything down: the user's reads see EOF and its writes fail; the peer's
        TCP connection is closed."""
        if not self._broken.is_set():
            self._broken.set()
            log.debug("TLS bridge torn down: %s", why)
        for s in (self._near, self._sock):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def _pump_up(self) -> None:
        """The user's bytes -> TLS -> the peer."""
        buf = memoryview(bytearray(CHUNK))
        try:
            while True:
                n = self._near.recv_into(buf)
                if not n:
                    break
                self._flush(lambda: self._obj.write(buf[:n]))
            # the user is done writing: close_notify and a TCP half-close
            self._flush(self._close_notify)
            self._sock.shutdown(socket.SHUT_WR)
        except (OSError, ssl.SSLError) as exc:
            self._break(exc)
            self._finish()
            return
        # wait for the peer's side to end; a peer that never closes is cut off
        if not self._down_done.wait(CLOSE_GRACE):
            self._break("the peer did not close its side")
        self._finish()

    def _close_notify(self) -> None:
        with contextlib.suppress(ssl.SSLError):     # WantRead: the peer's comes later
            self._obj.unwrap()

    def _pump_down(self) -> None:
        """The peer's bytes -> TLS -> the user. Decrypted into a buffer of its own (reading
        records into new bytes objects halves the throughput)."""
        raw = memoryview(bytearray(CHUNK))
        buf = memoryview(bytearray(CHUNK))
        try:
            eof = False
            while not eof:
                n = self._sock.recv_into(raw)
                with self._tls:
                    if n:
                        self._inc.write(raw[:n])
                    else:
                        self._inc.write_eof()
                        eof = True
                while True:                     # until TLS has no more for the user
                    full = False
                    off = 0
                    with self._tls:
                        while True:
                            if off == len(buf):
                                full = True
                                break
                            try:
                                got = self._obj.read(len(buf) - off, buf[off:])
                            except ssl.SSLWantReadError:
                                break
                            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                                eof = True      # close_notify, or the TCP stream ended
                                break
                            if not got:
                                eof = True
                                break
                            off += got
                        answer = self._out.pending  # e.g. a key update's answer
                    if answer:
                        self._flush()
                    if off:
                        self._near.sendall(buf[:off])
                    if not full:
                        break
            self._near.shutdown(socket.SHUT_WR)
        except (OSError, ssl.SSLError) as exc:
            self._break(exc)
        finally:
            self._down_done.set()

    def _finish(self) -> None:
        """Both directions ended (the up pump runs this last)."""
        self._down_done.wait()
        with contextlib.suppress(OSError):
            self._sock.close()
        with contextlib.suppress(OSError):
            self._near.close()
