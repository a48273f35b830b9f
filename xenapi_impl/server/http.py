"""The XenAPI HTTP transport (aiohttp): XML-RPC on every POST path but /jsonrpc, JSON-RPC on
/jsonrpc, over TCP, TLS and a Unix socket.

The transport reads the body (bounded), decodes it with the wire codecs, awaits
`dispatcher.call(method, params, caller)` and encodes the result or the failure. A client never
sees a stack trace or an HTML error page: bad requests get a well-formed failure in the protocol
they used, XenAPIError becomes its description, and anything else becomes INTERNAL_ERROR with
the traceback logged here. What a client does wrong (an oversized, slow or badly encoded body,
an unparsable request) gets an HTTP 4xx and a rate-limited line in the log, never a traceback.

Connections go through a ConnectionGuard (connections.py): caps, idle/header/send timeouts.
"""
from __future__ import annotations

import asyncio
import logging
import resource
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from ..api.caller import Caller
from ..errors import XenAPIError
from ..ratelimit import RateLimitedLog
from ..wire import jsonrpc, xmlrpc
from . import inflate, relay, tls, unixsock
from .useragents import UserAgents
from .connections import ConnectionGuard, GuardedSockSite, transport_caller
from .fastrpc import RpcLane, never
from .replies import STREAM_OVER, content_type, joined, pieces
from .limits import TransportLimits, connection_cap
from .ratelog import ClientErrorLogger
from .workers import WorkerPool

DEFAULT_MAX_BODY = TransportLimits.max_body
# Transport failures; not in xapi's catalogue (xapi has no such limits), sent with an HTTP 4xx.
TOO_LARGE = "REQUEST_ENTITY_TOO_LARGE"          # [limit in bytes]
TIMED_OUT = "REQUEST_TIMEOUT"                    # [seconds the body may take]
BAD_ENCODING = "INVALID_CONTENT_ENCODING"        # [Content-Encoding, what is wrong] (400, 415)
BAD_BODY = "INVALID_REQUEST_BODY"                # [what is wrong] (e.g. broken chunking)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = logging.getLogger(__name__)


class Dispatcher(Protocol):
    async def call(self, method: str, params: list[Any], caller: Caller) -> Any: ...

    # optional: `immediate(method) -> bool`, a call that never waits (fastrpc.py runs it at
    # once), and `light(method) -> bool`, a call that never needs its task (fastrpc.py drives
    # it without one: stepper.py); without them every call runs in a task of its own


@dataclass(frozen=True)
class Endpoint:
    """One listening endpoint: transport "http"/"https" with host and port, or "unix" with path."""
    transport: str
    host: str
    port: int = 0

    @property
    def url(self) -> str:
        if self.transport == "unix":
            return f"unix:{self.host}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.transport}://{host}:{self.port}/"


async def _cors(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Access-Control-Allow-Origin"] = "*"


class HttpServer:
    """Serves one dispatcher on any number of HTTP, HTTPS and Unix socket endpoints."""

    def __init__(self, dispatcher: Dispatcher, *, limits: TransportLimits | None = None,
                 max_body: int | None = None, logger: logging.Logger | None = None,
                 unix_mode: int = 0o600, fast: bool = True, workers: int = 0) -> None:
        limits = limits or TransportLimits()
        if max_body is not None:
            if max_body <= 0:
                raise ValueError("max_body must be positive")
            limits = replace(limits, max_body=max_body)
        self._dispatcher = dispatcher
        self.limits = limits
        self._max_body = limits.max_body
        self._log = logger or logging.getLogger("xenapi_impl.server.http")
        self._limiter = RateLimitedLog(self._log)
        self.guard: ConnectionGuard | None = None
        self._unix_mode = unix_mode
        self._extra: list[tuple[str, str, Handler]] = []
        self._connect: list[tuple[str, Handler]] = []
        self._runner: web.AppRunner | None = None
        self._sites: list[web.BaseSite] = []
        self._endpoints: list[Endpoint] = []
        self._unix_path: str | None = None
        self._inflight: set[asyncio.Task[Any]] = set()
        #: answer plain RPC calls in the lane (fastrpc.py); False: everything through aiohttp
        self.fast = fast
        self.lane: RpcLane | None = None
        #: RPC worker processes to start (workers.py)
        self.workers = workers
        self.pool: WorkerPool | None = None
        #: the HTTPS certificate (tls.ServedCertificate), once started with HTTPS
        self.certificate: tls.ServedCertificate | None = None
        #: the clients' User-Agents (host.get_tracked_user_agents)
        services = getattr(dispatcher, "services", None)
        self.user_agents = getattr(services, "user_agents", None) or UserAgents()

    # -- configuration ---------------------------------------------------------------------

    def add_route(self, method: str, path: str, handler: Handler) -> None:
        """An extra aiohttp route (e.g. GET /rrd_updates), matched before the RPC routes.

        The handler may call `caller_of(request)` to learn who is calling.
        """
        if self._runner is not None:
            raise RuntimeError("add_route must be called before start()")
        self._extra.append((method.upper(), path, handler))

    def add_connect(self, path: str, handler: Handler) -> None:
        """A route for HTTP CONNECT to `path` (e.g. /console?uuid=...: what XenCenter and Xen
        Orchestra send). aiohttp takes a CONNECT target for an authority and routes it nowhere,
        so these are matched on `request.raw_path` before routing."""
        if self._runner is not None:
            raise RuntimeError("add_connect must be called before start()")
        self._connect.append((path, handler))

    @property
    def endpoints(self) -> list[Endpoint]:
        """Where the server listens, with the real ports when port 0 was asked for."""
        return list(self._endpoints)

    def ports(self, transport: str = "http") -> list[int]:
        return [e.port for e in self._endpoints if e.transport == transport]

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, *, http: Iterable[tuple[str, int]] = (),
                    https: Iterable[tuple[str, int]] = (), cert: str | None = None,
                    key: str | None = None, unix: str | None = None) -> None:
        """Listen on every endpoint given. HTTPS needs `cert`: an existing PEM (key inside, in
        `key`, or in `<name>.key` beside it), or a path where a self-signed one is generated.

        Raises ValueError, tls.CertificateError, unixsock.UnixSocketError or OSError (address in
        use) before anything listens when an endpoint cannot be set up.
        """
        if self._runner is not None:
            raise RuntimeError("server already started")
        http, https = list(http), list(https)
        if not (http or https or unix):
            raise ValueError("no endpoint to listen on: give http, https or unix")
        ssl_ctx = None
        if https:
            if cert is None:
                raise ValueError("HTTPS needs a certificate path (generated there on first start)")
            self.certificate = tls.ServedCertificate(cert, key)
            ssl_ctx = self.certificate.context
        if unix is not None:
            unixsock.validate_path(unix)

        # Bind everything first so that a failure leaves nothing listening.
        bound: list[tuple[str, socket.socket]] = []
        try:
            for host, port in http:
                bound.append(("http", _tcp_listen(host, port)))
            for host, port in https:
                bound.append(("https", _tcp_listen(host, port)))
            if unix is not None:
                bound.append(("unix", unixsock.listen(unix, self._unix_mode)))
                self._unix_path = unixsock.validate_path(unix)
        except BaseException:
            for _, s in bound:
                s.close()
            if self._unix_path is not None:
                unixsock.remove(self._unix_path)
                self._unix_path = None
            raise

        fd_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        # POST paths of the other routes: the lane (here or in a worker) leaves them to aiohttp
        reserved = tuple(path for method, path, _ in self._extra if method == "POST")
        self.lane = RpcLane(decode, self.respond, failure, immediate=getattr(
                                self._dispatcher, "immediate", never),
                            light=getattr(self._dispatcher, "light", never),
                            max_body=self._max_body,
                            body_timeout=self.limits.body_timeout, reserved=reserved,
                            seen_agent=self.user_agents.seen, limiter=self._limiter
                            ) if self.fast else None
        guard = ConnectionGuard(self.limits, limiter=self._limiter, max_connections=connection_cap(
            self.limits.max_connections, fd_limit), lane=self.lane)
        app = web.Application(client_max_size=self._max_body, middlewares=[guard.middleware])
        app.on_response_prepare.append(_cors)
        if self._connect:
            app.middlewares.append(_connect_routes(list(self._connect)))
        for method, path, handler in self._extra:
            app.router.add_route(method, path, handler)
        app.router.add_route("OPTIONS", "/{tail:.*}", self._options)
        app.router.add_route("POST", "/jsonrpc", self._jsonrpc)
        app.router.add_route("POST", "/{tail:.*}", self._xmlrpc)
        # Graceful draining is done in stop(); aiohttp only cancels what outlives it.
        # aiohttp's keep-alive timer is only a backstop: the guard closes idle connections
        # first, and aborts those whose client does not read. Lingering (reading the rest of a
        # body the handler did not want) is bounded by the body timeout.
        runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=0.1,
            keepalive_timeout=self.limits.idle_timeout + 5, auto_decompress=False,
            lingering_time=min(10.0, self.limits.body_timeout),
            logger=ClientErrorLogger(logging.getLogger("aiohttp.server"), self._limiter))
        try:
            await runner.setup()
            self._runner = runner
            self.guard = guard
            guard.start()
            if self.workers:
                self.pool = self._pool(guard.max_connections, reserved)
                guard.delegate = self.pool.delegate
                guard.evict_delegated = self.pool.evict
                await self.pool.start()
            for transport, s in bound:
                site = GuardedSockSite(runner, s, guard,
                                       ssl_context=ssl_ctx if transport == "https" else None)
                await site.start()
                self._sites.append(site)
                if transport == "unix":
                    assert self._unix_path is not None
                    self._endpoints.append(Endpoint("unix", self._unix_path))
                else:
                    host, port = s.getsockname()[:2]
                    self._endpoints.append(Endpoint(transport, host, port))
        except BaseException:
            if self.pool is not None:
                await self.pool.stop(0)
                self.pool = None
            await guard.stop()
            self.guard = None
            await runner.cleanup()
            for _, s in bound:
                s.close()
            if self._unix_path is not None:
                unixsock.remove(self._unix_path)
            self._runner = None
            self._sites.clear()
            self._endpoints.clear()
            self._unix_path = None
            raise
        for e in self._endpoints:
            self._log.info("listening on %s", e.url)

    async def stop(self, grace: float = 10.0) -> None:
        """Stop accepting, let calls in flight finish for up to `grace` seconds, then close
        (cancelling what is left, e.g. long event.from waits) and remove the Unix socket."""
        runner = self._runner
        if runner is None:
            return
        for site in self._sites:
            await site.stop()
        pool, self.pool = self.pool, None
        workers = asyncio.ensure_future(pool.stop(grace)) if pool is not None else None
        lane_calls = self.lane.in_flight() if self.lane is not None else []
        pending = {t for t in self._inflight if not t.done()} | set(lane_calls)
        if pending:
            _, late = await asyncio.wait(pending, timeout=max(grace, 0.0))
            if late:
                self._log.warning("cancelling %d call(s) still running after %.1fs", len(late), grace)
        if workers is not None:
            await workers
        if self.lane is not None:
            await self.lane.cancel()        # aiohttp's cleanup cancels its own
        if self.guard is not None:
            await self.guard.stop()
            self.guard = None
        await runner.cleanup()
        if self._unix_path is not None:
            unixsock.remove(self._unix_path)
        self._runner = None
        self._sites.clear()
        self._endpoints.clear()
        self._unix_path = None

    def _pool(self, max_connections: int, reserved: tuple[str, ...]) -> WorkerPool:
        if not isinstance(asyncio.get_running_loop(), asyncio.SelectorEventLoop):
            raise ValueError("RPC workers need asyncio's event loop (workers.py says why)")
        settings = relay.Settings(
            limits=self.limits, max_body=self._max_body, max_connections=max_connections,
            reserved=reserved, log_level=logging.getLogger().getEffectiveLevel())
        return WorkerPool(self.workers, self.respond, settings, seen_agent=self.user_agents.seen)

    # -- handlers --------------------------------------------------------------------------

    async def _options(self, request: web.Request) -> web.Response:
        wanted = request.headers.get("Access-Control-Request-Headers")
        return web.Response(status=200, headers={
            "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
            "Access-Control-Allow-Headers": wanted or "Content-Type, Authorization",
            "Access-Control-Max-Age": "86400",
            "Allow": "POST, GET, OPTIONS",
        })

    async def _read_body(self, request: web.Request) -> bytes:
        """The request body, decoded; BodyRejected if it is too large (before or after
        inflating: a compression bomb stops at the limit), too slow or badly encoded.

        aiohttp's own decompression is off (inflate.py says why); the body is read as it came,
        bounded by the limit as it arrives, then inflated off the event loop.
        """
        limit = self._max_body
        length = request.content_length
        if length is not None and length > limit:
            raise BodyRejected(413, [TOO_LARGE, str(limit)])
        body = bytearray()
        try:
            async with asyncio.timeout(self.limits.body_timeout):
                while chunk := await request.content.readany():
                    body += chunk
                    if len(body) > limit:
                        raise BodyRejected(413, [TOO_LARGE, str(limit)])
        except TimeoutError:
            raise BodyRejected(408, [TIMED_OUT, f"{self.limits.body_timeout:g}"]) from None
        except (HttpProcessingError, RequestPayloadError) as e:    # e.g. broken chunking
            what = " ".join(str(getattr(e, "message", "") or e).split())[:200]
            raise BodyRejected(400, [BAD_BODY, what]) from None
        encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding in ("", "identity"):
            return bytes(body)
        if encoding not in inflate.ENCODINGS:
            raise BodyRejected(415, [BAD_ENCODING, encoding, "unsupported content encoding"])
        try:
            return await inflate.inflate_async(bytes(body), encoding, limit)
        except inflate.TooLarge:
            raise BodyRejected(413, [TOO_LARGE, str(limit)]) from None
        except inflate.InflateError:
            raise BodyRejected(400, [BAD_ENCODING, encoding,
                                     f"the body is not valid {encoding} data"]) from None

    async def _reject(self, request: web.Request, rejected: "BodyRejected", body: bytes,
                      content_type: str) -> web.StreamResponse:
        """Answer a refused body and close; a body too slow to wait for is not drained."""
        self._limiter.warning("rejected request", "rejected a request from %s: HTTP %d %s",
                              caller_of(request).peer, rejected.status,
                              " ".join(rejected.description))
        response = web.Response(status=rejected.status, body=body,
                                headers={"Content-Type": content_type})
        response.force_close()
        if rejected.status != 408:
            return response         # aiohttp drains what is left, so the client reads this
        await response.prepare(request)
        await response.write_eof()
        if self.guard is not None:
            self.guard.close_after_reply(request)
        return response

    async def _call(self, method: str, params: list[Any], caller: Caller) -> tuple[bool, Any]:
        """(True, result) or (False, description); never raises but for cancellation."""
        try:
            return True, await self._dispatcher.call(method, params, caller)
        except XenAPIError as e:
            return False, e.description
        except Exception as e:
            self._log.exception("internal error in %s from %s", method, caller.peer)
            return False, ["INTERNAL_ERROR", str(e) or type(e).__name__]

    async def _xmlrpc(self, request: web.Request) -> web.StreamResponse:
        return await self._rpc(request, xml=True)

    async def _jsonrpc(self, request: web.Request) -> web.StreamResponse:
        return await self._rpc(request, xml=False)

    async def _rpc(self, request: web.Request, *, xml: bool) -> web.StreamResponse:
        """One call through aiohttp: read the body, answer it; every outcome a well-formed
        reply."""
        ctype = content_type(xml)
        task = asyncio.current_task()
        assert task is not None
        self._inflight.add(task)
        try:
            try:
                caller = caller_of(request)
                self.user_agents.seen(request.headers.get("User-Agent"))
                try:
                    body = await self._read_body(request)
                except BodyRejected as rejected:
                    return await self._reject(request, rejected,
                                              failure(xml, rejected.description), ctype)
                out = await self.answer(body, xml, caller)
            except ConnectionError:     # the client left mid-request: nobody to answer
                response = web.Response(status=400)
                response.force_close()
                return response
            except Exception as e:
                self._log.exception("internal error in the transport")
                out = [failure(xml, ["INTERNAL_ERROR", str(e) or type(e).__name__])]
            return await _send(request, out, ctype)
        finally:
            self._inflight.discard(task)

    async def answer(self, body: bytes, xml: bool, caller: Caller) -> list[bytes]:
        """The reply to one request body (XML-RPC, or JSON-RPC if not `xml`): decode,
        dispatch, encode. Every outcome is a well-formed reply; raises only if cancelled."""
        call = decode(body, xml)
        if isinstance(call, bytes):
            return [call]
        return await self.respond(call, caller)

    async def respond(self, call: "Call", caller: Caller) -> list[bytes]:
        """The encoded reply to a decoded call: what an RPC worker (workers.py) asks for."""
        method, params, req, xml = call
        try:
            ok, value = await self._call(method, params, caller)
            if not ok:
                return [failure(xml, value, req)]
            try:
                return (xmlrpc.encode_success_chunks(value) if xml
                        else jsonrpc.encode_success_chunks(req, value))
            except Exception as e:
                self._log.exception("cannot encode the result of %s", method)
                return [failure(xml, ["INTERNAL_ERROR", f"cannot encode the result: {e}"], req)]
        except Exception as e:
            self._log.exception("internal error in the transport handling %s", method)
            return [failure(xml, ["INTERNAL_ERROR", str(e) or type(e).__name__], req)]


#: a decoded call: method, params, the JSON-RPC request (its id and version), xml
Call = tuple[str, list[Any], jsonrpc.JsonRequest, bool]


def decode(body: bytes, xml: bool) -> Call | bytes:
    """The call a request body (XML-RPC, or JSON-RPC if not `xml`) makes, or the failure reply
    to send if it makes none (INTERNAL_ERROR, logged, if the decoder itself fails)."""
    try:
        if xml:
            try:
                method, params = xmlrpc.parse_request(body)
            except XenAPIError as e:
                return failure(True, e.description)
            return method, params, jsonrpc.UNKNOWN_REQUEST, True
        try:
            req = jsonrpc.parse_request(body)
        except jsonrpc.JsonRpcRequestError as e:
            return failure(False, e.description, e.request, e.rpc_code)
        except XenAPIError as e:
            return failure(False, e.description)
        return req.method, req.params, req, False
    except Exception as e:
        log.exception("internal error in the transport decoding a request")
        return failure(xml, ["INTERNAL_ERROR", str(e) or type(e).__name__])


def failure(xml: bool, description: list[str],
            request: jsonrpc.JsonRequest = jsonrpc.UNKNOWN_REQUEST,
            rpc_code: int = jsonrpc.XENAPI_FAILURE) -> bytes:
    """A failure reply: XML-RPC, or JSON-RPC to `request` (what is known of it; nothing for a
    body refused before it was decoded)."""
    if xml:
        return xmlrpc.encode_failure(description)
    return jsonrpc.encode_failure(request, description, rpc_code)


class BodyRejected(Exception):
    """A request body the transport refuses: HTTP `status` and the failure to send."""

    def __init__(self, status: int, description: list[str]) -> None:
        super().__init__(status, description)
        self.status = status
        self.description = description


def _connect_routes(routes: list[tuple[str, Handler]]) -> Any:
    @web.middleware
    async def connect(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "CONNECT":
            return await handler(request)
        path = request.raw_path.split("?", 1)[0]
        for prefix, h in routes:
            if path == prefix:
                return await h(request)
        return web.Response(status=404, text="no such CONNECT target\n")
    return connect


def _reply(body: bytes, ctype: str) -> web.Response:
    # Content-Type set as a raw header: aiohttp would otherwise add "; charset=...".
    return web.Response(body=body, headers={"Content-Type": ctype})


async def _send(request: web.Request, chunks: list[bytes], ctype: str
                ) -> web.StreamResponse:
    """Reply with the concatenation of `chunks`; a large body in pieces (replies.py)."""
    length = sum(len(c) for c in chunks)
    if length <= STREAM_OVER:
        return _reply(joined(chunks), ctype)
    response = web.StreamResponse(headers={"Content-Type": ctype})
    response.content_length = length
    await response.prepare(request)
    try:
        for piece in pieces(chunks):
            await response.write(piece)
        await response.write_eof()
    except ConnectionError as e:
        # The client went away mid-reply (or was dropped); nothing left to tell it. The
        # exception stays in aiohttp's drain future, and through its traceback this frame
        # and `chunks`, in a cycle only a full garbage collection would free: cut it here.
        e.__traceback__ = None
    return response


def caller_of(request: web.Request) -> Caller:
    """Who sent `request`: TCP peer address, or the Unix socket peer's uid and pid."""
    return transport_caller(request.transport)


def _tcp_listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket (IPv4 or IPv6 after the host's form), SO_REUSEADDR set."""
    if not 0 <= port <= 65535:
        raise ValueError(f"port {port} out of range")
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    if not infos:
        raise ValueError(f"cannot resolve listen address {host!r}")
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(addr)
        sock.listen(511)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock
