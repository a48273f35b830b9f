"""Transport tests on a real loopback server with real clients (stdlib xmlrpc.client, the XenAPI
SDK, raw HTTP). The helpers here (fake dispatcher, server thread) are shared by test_transport_*.py."""
from __future__ import annotations

import asyncio
import http.client
import json
import logging
import socket
import threading
import xmlrpc.client as xc
from typing import Any

import pytest
import XenAPI
from aiohttp import web

from xenapi_impl.api.caller import Caller
from xenapi_impl.errors import XenAPIError
from xenapi_impl.server.http import HttpServer
from xenapi_impl.values import Bare, Record

SESSION = "OpaqueRef:11111111-2222-3333-4444-555555555555"


def vm_records(n: int) -> dict[str, Record]:
    return {f"OpaqueRef:vm-{i}": Record(uuid=f"uuid-{i}", name_label=f"vm {i} <&>", power_state="Halted",
                                        memory_static_max=2**32, VCPUs_max=2, is_a_template=False,
                                        other_config={"k": "v"}, VBDs=[], HVM_shadow_multiplier=1.0)
            for i in range(n)}


class FakeDispatcher:
    """Answers a handful of methods the way the real dispatcher would shape them.

    It stands in for xenapi_impl.server.dispatch.Dispatcher (same `call` signature) so that the
    transport is tested on its own.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, list, Caller]] = []
        self.records = vm_records(3)
        self.gate: asyncio.Event | None = None

    def _gate(self) -> asyncio.Event:
        if self.gate is None:  # created on the server's loop
            self.gate = asyncio.Event()
        return self.gate

    async def call(self, method: str, params: list, caller: Caller) -> Any:
        self.calls.append((method, params, caller))
        if method == "session.login_with_password":
            if len(params) not in (2, 3, 4):
                raise XenAPIError("MESSAGE_PARAMETER_COUNT_MISMATCH", method, 2, len(params))
            if params[:2] == ["root", "secret"]:
                return SESSION
            raise XenAPIError("SESSION_AUTHENTICATION_FAILED", params[0],
                              "Authentication failure")
        if method == "system.listMethods":
            return Bare(["VM.get_all_records", "session.login_with_password"])
        if method == "echo":
            return params
        if method == "boom":
            raise RuntimeError("kaput")
        if method == "unencodable":
            return {"x": object()}
        if method == "sleep":
            await asyncio.sleep(float(params[0]))
            return "slept"
        if method == "block":      # waits until some other call says "release"
            await self._gate().wait()
            return "released"
        if method == "release":
            self._gate().set()
            return "ok"
        if method == "whoami":
            return {"transport": caller.transport, "peer": caller.peer,
                    "local_superuser": caller.local_superuser}
        if params[:1] != [SESSION]:
            raise XenAPIError("SESSION_INVALID", str(params[:1] and params[0]))
        if method == "VM.get_all_records":
            return self.records
        if method == "session.logout":
            return None
        raise XenAPIError("MESSAGE_METHOD_UNKNOWN", method)


class ServerThread:
    """An HttpServer on its own event loop thread, so blocking clients can call it."""

    def __init__(self, dispatcher: Any = None, *, routes=(), **server_kwargs: Any) -> None:
        self.dispatcher = dispatcher or FakeDispatcher()
        self.server = HttpServer(self.dispatcher, **server_kwargs)
        for method, path, handler in routes:
            self.server.add_route(method, path, handler)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def start(self, **kwargs: Any) -> ServerThread:
        self.run(self.server.start(**kwargs))
        return self

    def port(self, transport: str = "http") -> int:
        return self.server.ports(transport)[0]

    def close(self, grace: float = 1.0) -> None:
        try:
            self.run(self.server.stop(grace))
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            self.loop.close()


# -- fixtures and helpers -------------------------------------------------------------------

@pytest.fixture
def srv():
    s = ServerThread().start(http=[("127.0.0.1", 0)])
    yield s
    s.close()


def post(port: int, path: str, body: bytes, headers: dict | None = None,
         conn: http.client.HTTPConnection | None = None) -> tuple[int, dict, bytes]:
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    if conn is None:
        c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def xml_call(method: str, *params: Any) -> bytes:
    return xc.dumps(params, method, allow_none=True).encode()


def loads(body: bytes) -> Any:
    (value,), _ = xc.loads(body)
    return value


# -- XML-RPC --------------------------------------------------------------------------------

def test_stdlib_client_on_every_xmlrpc_path(srv):
    for path in ("/", "/RPC2", "/xmlrpc", "/json", "/any/thing"):
        proxy = xc.ServerProxy(f"http://127.0.0.1:{srv.port()}{path}", allow_none=True)
        reply = proxy.echo("a", 5, True, None, {"m": [1.5]})
        assert reply == {"Status": "Success", "Value": ["a", "5", True, "", {"m": [1.5]}]}


def test_content_type_and_cors_exact(srv):
    status, headers, body = post(srv.port(), "/", xml_call("echo", "x"))
    assert status == 200
    assert headers["content-type"] == "text/xml"
    assert headers["access-control-allow-origin"] == "*"
    assert body.startswith(b'<?xml version="1.0"?><methodResponse>')
    status, headers, _ = post(srv.port(), "/jsonrpc", b'{"method":"echo","params":[],"id":1}')
    assert headers["content-type"] == "application/json"
    assert headers["access-control-allow-origin"] == "*"


def test_xenapi_sdk_session(srv):
    session = XenAPI.Session(f"http://127.0.0.1:{srv.port()}")
    session.xenapi.login_with_password("root", "secret", "2.21", "pytest")
    records = session.xenapi.VM.get_all_records()
    assert set(records) == {"OpaqueRef:vm-0", "OpaqueRef:vm-1", "OpaqueRef:vm-2"}
    assert records["OpaqueRef:vm-1"]["name_label"] == "vm 1 <&>"
    assert records["OpaqueRef:vm-1"]["memory_static_max"] == str(2**32)
    with pytest.raises(XenAPI.Failure) as info:
        session.xenapi.VM.no_such_call()
    assert info.value.details == ["MESSAGE_METHOD_UNKNOWN", "VM.no_such_call"]
    session.xenapi.session.logout()
    login = srv.dispatcher.calls[0]
    assert login[0] == "session.login_with_password"
    assert login[1] == ["root", "secret", "2.21", "pytest"]
    assert login[2].transport == "http" and login[2].peer.startswith("127.0.0.1:")
    assert login[2].local_superuser is False
    assert [c[0] for c in srv.dispatcher.calls][-1] == "session.logout"


def test_xenapi_sdk_login_failure(srv):
    session = XenAPI.Session(f"http://127.0.0.1:{srv.port()}")
    with pytest.raises(XenAPI.Failure) as info:
        session.xenapi.login_with_password("root", "wrong")
    assert info.value.details == ["SESSION_AUTHENTICATION_FAILED", "root", "Authentication failure"]


def test_list_methods_is_bare(srv):
    proxy = xc.ServerProxy(f"http://127.0.0.1:{srv.port()}/")
    assert proxy.system.listMethods() == ["VM.get_all_records", "session.login_with_password"]


def test_method_names_pass_through_unchanged(srv):
    proxy = xc.ServerProxy(f"http://127.0.0.1:{srv.port()}/", allow_none=True)
    proxy.VM_get_name_label(SESSION, "r")
    getattr(proxy, "Async.VM.start")(SESSION, "r", False, False)
    proxy.event_from(SESSION, ["*"], "", 60.1)
    assert [c[0] for c in srv.dispatcher.calls] == ["VM_get_name_label", "Async.VM.start", "event_from"]
    assert srv.dispatcher.calls[2][1] == [SESSION, ["*"], "", 60.1]


def test_unexpected_exception_is_internal_error_and_logged(srv, caplog):
    caplog.set_level(logging.ERROR, logger="xenapi_impl.server.http")
    status, headers, body = post(srv.port(), "/", xml_call("boom"))
    assert status == 200 and headers["content-type"] == "text/xml"
    assert loads(body) == {"Status": "Failure", "ErrorDescription": ["INTERNAL_ERROR", "kaput"]}
    assert b"Traceback" not in body
    records = [r for r in caplog.records if r.name == "xenapi_impl.server.http"]
    assert records and records[-1].exc_info is not None and "boom" in records[-1].getMessage()


def test_unencodable_result_is_internal_error(srv, caplog):
    caplog.set_level(logging.ERROR, logger="xenapi_impl.server.http")
    reply = loads(post(srv.port(), "/", xml_call("unencodable"))[2])
    assert reply["Status"] == "Failure" and reply["ErrorDescription"][0] == "INTERNAL_ERROR"
    reply = json.loads(post(srv.port(), "/jsonrpc", b'{"method":"unencodable","params":[],"id":3}')[2])
    assert reply["error"][0] == "INTERNAL_ERROR" and reply["id"] == 3


def test_a_bug_below_the_transport_still_gets_a_well_formed_reply(srv, monkeypatch, caplog):
    import xenapi_impl.server.http as transport

    def broken(body):
        raise ValueError("decoder bug")

    monkeypatch.setattr(transport.xmlrpc, "parse_request", broken)
    monkeypatch.setattr(transport.jsonrpc, "parse_request", broken)
    status, headers, body = post(srv.port(), "/", xml_call("echo"))
    assert status == 200 and headers["content-type"] == "text/xml"
    assert loads(body) == {"Status": "Failure", "ErrorDescription": ["INTERNAL_ERROR", "decoder bug"]}
    status, headers, body = post(srv.port(), "/jsonrpc", b'{"method":"echo","params":[],"id":1}')
    assert status == 200 and headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["data"] == ["decoder bug"]


@pytest.mark.parametrize("body, code", [
    (b"", "XMLRPC_UNMARSHAL_FAILURE"),
    (b"<methodCall><methodName>x", "XMLRPC_UNMARSHAL_FAILURE"),
    (b"not xml at all", "XMLRPC_UNMARSHAL_FAILURE"),
    (b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaa">]><methodCall><methodName>&a;</methodName></methodCall>',
     "XMLRPC_UNMARSHAL_FAILURE"),
    (b"<methodCall><methodName>echo</methodName><params><param><value>\xc3\x28</value></param></params></methodCall>",
     "INVALID_VALUE"),
])
def test_malformed_xml_gets_a_well_formed_failure(srv, body, code):
    status, headers, reply = post(srv.port(), "/", body, {"Content-Type": "text/xml"})
    assert status == 200 and headers["content-type"] == "text/xml"
    value = loads(reply)
    assert value["Status"] == "Failure" and value["ErrorDescription"][0] == code
    assert srv.dispatcher.calls == []


def test_body_limit():
    s = ServerThread(max_body=2048).start(http=[("127.0.0.1", 0)])
    try:
        big = xml_call("echo", "x" * 4096)
        status, headers, body = post(s.port(), "/", big)
        assert status == 413 and headers["content-type"] == "text/xml"
        assert loads(body) == {"Status": "Failure",
                               "ErrorDescription": ["REQUEST_ENTITY_TOO_LARGE", "2048"]}
        # Chunked, so the size is only known while reading.
        c = http.client.HTTPConnection("127.0.0.1", s.port(), timeout=30)
        c.request("POST", "/jsonrpc", body=iter([b'{"method":"echo","params":["', b"y" * 4096, b'"],"id":1}']),
                  encode_chunked=True)
        r = c.getresponse()
        assert r.status == 413 and r.getheader("Content-Type") == "application/json"
        assert json.loads(r.read())["error"]["data"] == ["2048"]
        c.close()
        # Under the limit all is well, and nothing reached the dispatcher before.
        assert loads(post(s.port(), "/", xml_call("echo", "x" * 100))[2])["Status"] == "Success"
        assert [c[0] for c in s.dispatcher.calls] == ["echo"]
    finally:
        s.close()


def test_large_replies_arrive_whole(srv):
    big = "0123456789abcdef" * (3 * 65536)          # 3 MiB: written in chunks
    status, headers, body = post(srv.port(), "/", xml_call("echo", big))
    assert status == 200 and headers["content-type"] == "text/xml"
    assert headers["access-control-allow-origin"] == "*"
    assert int(headers["content-length"]) == len(body)
    assert loads(body) == {"Status": "Success", "Value": [big]}
    status, headers, body = post(srv.port(), "/jsonrpc",
                                 json.dumps({"method": "echo", "params": [big], "id": 1}).encode())
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"result": [big], "error": None, "id": 1}


def test_gzip_requests_and_decompressed_size_limit():
    import gzip
    s = ServerThread(max_body=100_000).start(http=[("127.0.0.1", 0)])
    try:
        t = xc.Transport()
        t.encode_threshold = 10          # the stdlib client gzips request bodies over this
        proxy = xc.ServerProxy(f"http://127.0.0.1:{s.port()}/", transport=t)
        assert proxy.echo("x" * 1000) == {"Status": "Success", "Value": ["x" * 1000]}
        # A small compressed body that inflates past the limit is refused like a large one.
        bomb = gzip.compress(xml_call("echo", "a" * 5_000_000))
        assert len(bomb) < 100_000
        status, _, body = post(s.port(), "/", bomb, {"Content-Encoding": "gzip"})
        assert status == 413
        assert loads(body)["ErrorDescription"] == ["REQUEST_ENTITY_TOO_LARGE", "100000"]
        assert [c[0] for c in s.dispatcher.calls] == ["echo"]
    finally:
        s.close()


# -- JSON-RPC -------------------------------------------------------------------------------

def test_jsonrpc_1_and_2(srv):
    port = srv.port()
    login1 = json.dumps({"method": "session.login_with_password", "params": ["root", "secret"], "id": 0})
    status, _, body = post(port, "/jsonrpc", login1.encode(), {"Content-Type": "application/json"})
    assert status == 200 and json.loads(body) == {"result": SESSION, "error": None, "id": 0}
    req2 = {"jsonrpc": "2.0", "method": "VM.get_all_records", "params": [SESSION], "id": "abc"}
    reply = json.loads(post(port, "/jsonrpc", json.dumps(req2).encode())[2])
    assert reply["jsonrpc"] == "2.0" and reply["id"] == "abc"
    assert reply["result"]["OpaqueRef:vm-2"]["memory_static_max"] == 2**32   # a number in JSON
    bad = {"jsonrpc": "2.0", "method": "VM.get_all_records", "params": ["OpaqueRef:nope"], "id": 5}
    assert json.loads(post(port, "/jsonrpc", json.dumps(bad).encode())[2]) == {
        "jsonrpc": "2.0", "error": {"code": 1, "message": "SESSION_INVALID", "data": ["OpaqueRef:nope"]},
        "id": 5}
    bad1 = {"method": "VM.get_all_records", "params": ["OpaqueRef:nope"], "id": 6}
    assert json.loads(post(port, "/jsonrpc", json.dumps(bad1).encode())[2]) == {
        "result": None, "error": ["SESSION_INVALID", "OpaqueRef:nope"], "id": 6}
    listing = json.loads(post(port, "/jsonrpc", b'{"jsonrpc":"2.0","method":"system.listMethods","id":1}')[2])
    assert listing == {"jsonrpc": "2.0", "result": ["VM.get_all_records", "session.login_with_password"], "id": 1}


def test_jsonrpc_protocol_errors_over_http(srv):
    status, headers, body = post(srv.port(), "/jsonrpc", b"{oops")
    assert status == 200 and headers["content-type"] == "application/json"
    reply = json.loads(body)
    assert reply["id"] is None and reply["error"]["code"] == -32700
    reply = json.loads(post(srv.port(), "/jsonrpc", b'{"jsonrpc":"2.0","method":"echo","id":null}')[2])
    assert reply["error"] == {"code": -32600, "message": "JSONRPC_INVALID_REQUEST",
                              "data": ["id must be an integer or a string"]}
    assert srv.dispatcher.calls == []


def test_a_session_from_xmlrpc_works_over_jsonrpc(srv):
    session = XenAPI.Session(f"http://127.0.0.1:{srv.port()}")
    session.xenapi.login_with_password("root", "secret")
    req = {"jsonrpc": "2.0", "method": "VM.get_all_records", "params": [session.handle], "id": 1}
    assert "result" in json.loads(post(srv.port(), "/jsonrpc", json.dumps(req).encode())[2])


# -- HTTP behaviour -------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/RPC2", "/jsonrpc", "/xmlrpc"])
def test_options_preflight(srv, path):
    c = http.client.HTTPConnection("127.0.0.1", srv.port(), timeout=30)
    c.request("OPTIONS", path, headers={"Origin": "http://xo.example",
                                        "Access-Control-Request-Method": "POST",
                                        "Access-Control-Request-Headers": "content-type, x-custom"})
    r = c.getresponse()
    r.read()
    assert r.status == 200
    assert r.getheader("Access-Control-Allow-Origin") == "*"
    assert "POST" in r.getheader("Access-Control-Allow-Methods")
    assert r.getheader("Access-Control-Allow-Headers") == "content-type, x-custom"
    c.close()
    assert srv.dispatcher.calls == []


def test_keep_alive_one_connection_many_calls(srv):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port(), timeout=30)
    peers = set()
    for i in range(50):
        body = xml_call("whoami") if i % 2 else json.dumps({"method": "whoami", "params": [], "id": i}).encode()
        path = "/" if i % 2 else "/jsonrpc"
        status, headers, reply = post(srv.port(), path, body, conn=conn)
        assert status == 200 and headers.get("connection", "").lower() != "close"
        value = loads(reply)["Value"] if i % 2 else json.loads(reply)["result"]
        peers.add(value["peer"])
    conn.close()
    assert len(peers) == 1   # every call came over the same client socket


def test_calls_run_concurrently_and_replies_do_not_mix(srv):
    port = srv.port()
    blocked: dict[str, Any] = {}

    def blocker() -> None:
        blocked["reply"] = loads(post(port, "/", xml_call("block"))[2])

    t = threading.Thread(target=blocker)
    t.start()
    while not any(c[0] == "block" for c in srv.dispatcher.calls):
        threading.Event().wait(0.01)
    # While one call waits inside the dispatcher, many others are served, each its own answer.
    results: dict[int, Any] = {}

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for j in range(10):
            results[i * 100 + j] = loads(post(port, "/", xml_call("echo", i, j), conn=conn)[2])
        conn.close()

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert results == {i * 100 + j: {"Status": "Success", "Value": [str(i), str(j)]}
                       for i in range(8) for j in range(10)}
    assert t.is_alive()   # still waiting: it was not serialised before the others
    assert loads(post(port, "/", xml_call("release"))[2])["Value"] == "ok"
    t.join(timeout=30)
    assert blocked["reply"] == {"Status": "Success", "Value": "released"}


def test_tcp_nodelay_and_extra_routes():
    async def nodelay(request: web.Request) -> web.Response:
        sock = request.transport.get_extra_info("socket")
        flag = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        return web.Response(text=str(flag))

    async def custom_post(request: web.Request) -> web.Response:
        return web.Response(text="custom")

    s = ServerThread(routes=[("GET", "/nodelay", nodelay), ("POST", "/custom", custom_post)])
    s.start(http=[("127.0.0.1", 0)])
    try:
        c = http.client.HTTPConnection("127.0.0.1", s.port(), timeout=30)
        c.request("GET", "/nodelay")
        assert c.getresponse().read() != b"0"
        c.close()
        # An extra POST route takes precedence over the XML-RPC catch-all.
        assert post(s.port(), "/custom", b"x")[2] == b"custom"
        with pytest.raises(RuntimeError, match="before start"):
            s.server.add_route("GET", "/late", nodelay)
    finally:
        s.close()


def test_ports_and_endpoints_reported():
    s = ServerThread().start(http=[("127.0.0.1", 0), ("::1", 0)])
    try:
        eps = s.server.endpoints
        assert [(e.transport, e.host) for e in eps] == [("http", "127.0.0.1"), ("http", "::1")]
        assert all(e.port > 0 for e in eps)
        assert eps[1].url == f"http://[::1]:{eps[1].port}/"
        c = xc.ServerProxy(f"http://[::1]:{eps[1].port}/")
        assert c.echo("v6") == {"Status": "Success", "Value": ["v6"]}
    finally:
        s.close()


def test_start_refuses_bad_configuration_and_listens_nowhere():
    s = ServerThread()
    try:
        with pytest.raises(ValueError, match="no endpoint"):
            s.run(s.server.start())
        with pytest.raises(ValueError, match="HTTPS needs a certificate"):
            s.run(s.server.start(http=[("127.0.0.1", 0)], https=[("127.0.0.1", 0)]))
        assert s.server.endpoints == []
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(OSError):
            s.run(s.server.start(http=[("127.0.0.1", 0), ("127.0.0.1", busy.getsockname()[1])]))
        busy.close()
        assert s.server.endpoints == []
    finally:
        s.close()


def test_graceful_stop_lets_calls_finish():
    s = ServerThread().start(http=[("127.0.0.1", 0)])
    port = s.port()
    result: dict[str, Any] = {}

    def slow_client() -> None:
        result["reply"] = loads(post(port, "/", xml_call("sleep", 0.5))[2])

    t = threading.Thread(target=slow_client)
    t.start()
    while not s.dispatcher.calls:   # the call is in flight
        threading.Event().wait(0.01)
    s.close(grace=30)
    t.join(timeout=30)
    assert result["reply"] == {"Status": "Success", "Value": "slept"}
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)


def test_stop_cancels_calls_beyond_grace():
    s = ServerThread().start(http=[("127.0.0.1", 0)])
    port = s.port()
    outcome: dict[str, Any] = {}

    def stuck_client() -> None:
        try:
            outcome["reply"] = post(port, "/", xml_call("sleep", 3600))
        except (ConnectionError, http.client.HTTPException) as e:
            outcome["error"] = e

    t = threading.Thread(target=stuck_client)
    t.start()
    while not s.dispatcher.calls:
        threading.Event().wait(0.01)
    s.close(grace=0.2)
    t.join(timeout=30)
    assert not t.is_alive() and "error" in outcome
