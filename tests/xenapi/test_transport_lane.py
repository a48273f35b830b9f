"""The RPC lane (server/fastrpc.py): plain calls answered without aiohttp, everything else handed
to aiohttp with the bytes not yet answered. Real loopback servers, raw sockets and http.client.

aiohttp names itself in a `Server` header; the lane sends none, which tells the tests who
answered."""
from __future__ import annotations

import asyncio
import gzip
import http.client
import json
import socket
import threading
import time
import xmlrpc.client as xc
from typing import Any

import pytest

from xenapi_impl.server import fastrpc
from xenapi_impl.server.fastrpc import LANE_MAX_BODY
from xenapi_impl.server.limits import TransportLimits
from xenapi_impl.server.replies import STREAM_OVER

from test_transport import SESSION, FakeDispatcher, ServerThread, loads, vm_records, xml_call


class AtOnce(FakeDispatcher):
    """Every call is run at once by the lane (server/eager.py), as the real dispatcher's generic
    reads are: those that wait (sleep, block) go on in a task."""

    def immediate(self, method: str) -> bool:
        return True


class NoTask(FakeDispatcher):
    """Every call is driven without a task (server/stepper.py), as the real dispatcher's
    generic writes on a host's own store are: each records whether it ran in one."""

    def __init__(self) -> None:
        super().__init__()
        self.in_task: list[bool] = []

    def light(self, method: str) -> bool:
        return True

    async def call(self, method: str, params: list, caller: Any) -> Any:
        self.in_task.append(asyncio.current_task() is not None)
        return await super().call(method, params, caller)


KINDS = ["in a task", "at once", "without a task"]


def lane_server(kind: str) -> ServerThread:
    dispatcher = {"at once": AtOnce, "without a task": NoTask}.get(kind)
    return ServerThread(dispatcher() if dispatcher else None).start(http=[("127.0.0.1", 0)])


@pytest.fixture(params=KINDS)
def both(request):
    """A server with the lane (the default) and one without it, same dispatcher behaviour; the
    lane's calls in tasks of their own, run at once, or driven without a task."""
    lane = lane_server(request.param)
    plain = ServerThread(fast=False).start(http=[("127.0.0.1", 0)])
    yield lane, plain
    lane.close()
    plain.close()


def request(path: str, body: bytes, headers: dict[str, str] | None = None,
            method: str = "POST", version: str = "1.1") -> bytes:
    lines = [f"{method} {path} HTTP/{version}", "Host: x", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Reader:
    """Reads HTTP responses off a raw socket, one at a time."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()

    def _fill(self) -> bool:
        data = self.sock.recv(1 << 16)
        self.buf += data
        return bool(data)

    def response(self) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buf:
            assert self._fill(), "connection closed before a response"
        head, rest = bytes(self.buf).split(b"\r\n\r\n", 1)
        self.buf = bytearray(rest)
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
        length = int(headers["content-length"])
        while len(self.buf) < length:
            assert self._fill(), "connection closed mid-body"
        body = bytes(self.buf[:length])
        del self.buf[:length]
        return int(status_line.split()[1]), headers, body

    def closed(self, wait: float = 10.0) -> bool:
        self.sock.settimeout(wait)
        try:
            while self._fill():
                pass
            return True
        except (TimeoutError, socket.timeout):
            return False
        except ConnectionResetError:
            return True


def connect(port: int) -> tuple[socket.socket, Reader]:
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    return s, Reader(s)


def by_lane(headers: dict[str, str]) -> bool:
    return "aiohttp" not in headers.get("server", "")


REQUESTS = [
    ("/", xml_call("echo", "a", 5, True, None, {"m": [1.5, "<&>"]})),
    ("/RPC2", xml_call("session.login_with_password", "root", "wrong")),
    ("/", xml_call("VM.get_all_records", SESSION)),
    ("/", xml_call("VM.no_such_call", SESSION)),
    ("/", xml_call("boom")),
    ("/", xml_call("unencodable")),
    ("/", b""),
    ("/", b"<methodCall><methodName>x"),
    ("/", b"<methodCall><methodName>echo</methodName><params><param><value>\xc3\x28</value>"
          b"</param></params></methodCall>"),
    ("/jsonrpc", b'{"jsonrpc":"2.0","method":"echo","params":["x",1],"id":7}'),
    ("/jsonrpc", b'{"method":"boom","params":[],"id":"s"}'),
    ("/jsonrpc", b'{"jsonrpc":"2.0","method":"echo","params":[]}'),
    ("/jsonrpc", b"{not json"),
    ("/jsonrpc", b""),
]


@pytest.mark.parametrize("path, body", REQUESTS)
def test_the_lane_answers_what_aiohttp_answers(both, path, body, caplog):
    lane, plain = both
    answers = []
    for srv in (lane, plain):
        s, r = connect(srv.port())
        with s:
            s.sendall(request(path, body, {"Content-Type": "text/xml"}))
            answers.append(r.response())
    (status, headers, reply), (status2, headers2, reply2) = answers
    assert by_lane(headers) and not by_lane(headers2)
    assert (status, reply) == (status2, reply2)
    for name in ("content-type", "access-control-allow-origin"):
        assert headers[name] == headers2[name]
    assert "date" in headers


def test_pipelined_requests_are_answered_in_order_across_a_hand_over(both):
    lane, _ = both
    s, r = connect(lane.port())
    with s:
        # a slow call first: the next ones wait for its reply; then an OPTIONS the lane hands
        # to aiohttp with the call after it still unread
        s.sendall(request("/", xml_call("sleep", 0.2)) + request("/", xml_call("echo", "b"))
                  + request("/", b"", {"Access-Control-Request-Method": "POST"}, "OPTIONS")
                  + request("/jsonrpc", b'{"method":"echo","params":["c"],"id":1}'))
        status, headers, body = r.response()
        assert by_lane(headers) and loads(body) == {"Status": "Success", "Value": "slept"}
        status, headers, body = r.response()
        assert by_lane(headers) and loads(body) == {"Status": "Success", "Value": ["b"]}
        status, headers, _ = r.response()
        assert status == 200 and not by_lane(headers) and "POST" in headers["allow"]
        status, headers, body = r.response()
        assert not by_lane(headers) and json.loads(body)["result"] == ["c"]


@pytest.mark.parametrize("kind", KINDS)
def test_thousands_of_pipelined_calls_are_answered_in_order(kind):
    """Calls run at once end inside the loop that frames the next: they do not nest, however
    many one read brings."""
    s = lane_server(kind)
    try:
        c, r = connect(s.port())
        with c:
            n = 3000
            c.sendall(b"".join(request("/", xml_call("echo", i)) for i in range(n)))
            for i in range(n):
                status, headers, body = r.response()
                assert status == 200 and by_lane(headers)
                assert loads(body) == {"Status": "Success", "Value": [str(i)]}
    finally:
        s.close()


def test_a_repeated_head_is_not_parsed_again_and_a_changed_one_is(monkeypatch):
    """A client sends the same head for each call of one size: the lane reuses what the last
    head said when the bytes are the same, and parses any other head (another path, length or
    header) as it comes."""
    parsed: list[bytes] = []
    real = fastrpc.RpcStream._parse
    monkeypatch.setattr(fastrpc.RpcStream, "_parse",
                        lambda self, raw: parsed.append(raw) or real(self, raw))
    s = lane_server("in a task")
    try:
        c, r = connect(s.port())
        with c:
            a, b = xml_call("echo", "aa"), xml_call("echo", "bb")     # one length: one head
            for body, value in ((a, "aa"), (b, "bb"), (a, "aa")):
                c.sendall(request("/", body))
                status, headers, reply = r.response()
                assert by_lane(headers) and loads(reply) == {"Status": "Success",
                                                             "Value": [value]}
            c.sendall(request("/jsonrpc", b'{"method":"echo","params":["cc"],"id":1}'))
            status, headers, reply = r.response()
            assert by_lane(headers) and json.loads(reply)["result"] == ["cc"]
            c.sendall(request("/", xml_call("echo", "longer")))
            assert loads(r.response()[2]) == {"Status": "Success", "Value": ["longer"]}
            c.sendall(request("/", a, {"Connection": "close"}))
            status, headers, reply = r.response()
            assert loads(reply) == {"Status": "Success", "Value": ["aa"]}
            assert r.closed()
        assert len(parsed) == 4 and b"Connection: close" in parsed[-1]
    finally:
        s.close()


@pytest.mark.parametrize("kind", KINDS)
def test_the_lane_forgets_each_call_once_answered(kind):
    """The lane keeps the calls in flight (to cancel them at stop) and drops each as it ends:
    after calls that waited, pipelined ones and failed ones, it holds none."""
    s = lane_server(kind)
    try:
        c, r = connect(s.port())
        with c:
            c.sendall(request("/", xml_call("sleep", 0.05))
                      + b"".join(request("/", xml_call("echo", i)) for i in range(50))
                      + request("/", xml_call("boom")))
            for _ in range(52):
                assert r.response()[0] == 200

            async def in_flight() -> int:
                return len(s.server.lane.tasks) + len(s.server.lane.steppers)
            assert s.run(in_flight()) == 0
            if kind == "without a task":
                assert s.dispatcher.in_task == [False] * 52
    finally:
        s.close()


def test_a_request_arriving_in_pieces_is_answered_by_the_lane(both):
    lane, _ = both
    s, r = connect(lane.port())
    with s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        data = request("/", xml_call("echo", "x" * 3000))
        for at in range(0, len(data), 97):
            s.sendall(data[at:at + 97])
            time.sleep(0.001)
        status, headers, body = r.response()
        assert by_lane(headers) and loads(body) == {"Status": "Success", "Value": ["x" * 3000]}


def test_what_the_lane_does_not_take_goes_to_aiohttp_on_the_same_connection(both):
    lane, _ = both
    c = http.client.HTTPConnection("127.0.0.1", lane.port(), timeout=30)
    try:
        c.request("POST", "/", xml_call("echo", "1"))
        r = c.getresponse()
        assert by_lane(dict((k.lower(), v) for k, v in r.getheaders()))
        assert loads(r.read())["Value"] == ["1"]
        # a compressed body is inflated by the aiohttp route
        c.request("POST", "/", gzip.compress(xml_call("echo", "2")), {"Content-Encoding": "gzip"})
        r = c.getresponse()
        assert not by_lane(dict((k.lower(), v) for k, v in r.getheaders()))
        assert loads(r.read())["Value"] == ["2"]
        c.request("POST", "/", xml_call("echo", "3"))       # aiohttp's for good now
        r = c.getresponse()
        assert loads(r.read())["Value"] == ["3"]
    finally:
        c.close()
    # bodies over the lane's size, HTTP/1.0, chunked bodies: answered, by aiohttp
    big = xml_call("echo", "y" * LANE_MAX_BODY)
    for data in (request("/", big), request("/", xml_call("echo", "4"), version="1.0"),
                 b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0"
                 b"\r\n\r\n" % (len(xml_call("echo", "5")), xml_call("echo", "5"))):
        s, r = connect(lane.port())
        with s:
            s.sendall(data)
            status, headers, body = r.response()
            assert status == 200 and not by_lane(headers)
            assert loads(body)["Status"] == "Success"


def test_connection_close_is_honoured(both):
    lane, _ = both
    s, r = connect(lane.port())
    with s:
        s.sendall(request("/", xml_call("echo", "z"), {"Connection": "close"}))
        status, headers, body = r.response()
        assert by_lane(headers) and headers["connection"] == "close"
        assert loads(body)["Value"] == ["z"]
        assert r.closed()


def test_a_large_reply_to_a_slow_reader_is_sent_whole_before_connection_close(both):
    lane, _ = both
    lane.dispatcher.records = vm_records(1200)          # about 900 kB of XML: one write
    for site in lane.server._sites:     # accepted sockets inherit it: the reply waits in the
        site._sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)    # server's buffer
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(30)
    s.connect(("127.0.0.1", lane.port()))
    r = Reader(s)
    with s:
        s.sendall(request("/", xml_call("VM.get_all_records", SESSION), {"Connection": "close"}))
        time.sleep(3)                 # longer than the grace a closing connection gets
        status, headers, body = r.response()
        assert by_lane(headers) and headers["connection"] == "close"
        assert len(loads(body)["Value"]) == 1200
        assert r.closed()


def test_a_client_that_half_closes_after_its_request_gets_the_reply(both):
    lane, _ = both
    s, r = connect(lane.port())
    with s:
        s.sendall(request("/", xml_call("sleep", 0.1)))
        s.shutdown(socket.SHUT_WR)
        status, headers, body = r.response()
        assert by_lane(headers) and loads(body)["Value"] == "slept"
        assert r.closed()


def test_a_reply_of_many_megabytes_arrives_whole_to_a_slow_reader(both):
    lane, _ = both
    lane.dispatcher.records = vm_records(20000)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)   # before connecting: the window
    s.settimeout(30)
    s.connect(("127.0.0.1", lane.port()))
    r = Reader(s)
    with s:
        s.sendall(request("/", xml_call("VM.get_all_records", SESSION)))
        time.sleep(0.5)                    # the server meets a full socket buffer first
        status, headers, body = r.response()
    assert by_lane(headers) and len(body) > 2 * STREAM_OVER
    assert len(loads(body)["Value"]) == 20000


def test_a_body_slower_than_the_body_timeout_gets_408_from_the_lane(caplog):
    s = ServerThread(limits=TransportLimits(body_timeout=0.5)).start(http=[("127.0.0.1", 0)])
    try:
        sock, r = connect(s.port())
        with sock:
            sock.sendall(request("/", xml_call("echo", "late"))[:-10])
            status, headers, body = r.response()
            assert status == 408 and by_lane(headers) and headers["connection"] == "close"
            assert loads(body) == {"Status": "Failure",
                                   "ErrorDescription": ["REQUEST_TIMEOUT", "0.5"]}
            assert r.closed()
        assert s.dispatcher.calls == []
    finally:
        s.close()


def test_the_lane_leaves_other_post_routes_to_aiohttp():
    from aiohttp import web

    async def upload(request: web.Request) -> web.Response:
        return web.Response(text=f"got {len(await request.read())}")

    s = ServerThread(routes=[("POST", "/import", upload)]).start(http=[("127.0.0.1", 0)])
    try:
        sock, r = connect(s.port())
        with sock:
            sock.sendall(request("/import", b"abc") + request("/", xml_call("echo", "after")))
            status, headers, body = r.response()
            assert body == b"got 3" and not by_lane(headers)
            status, headers, body = r.response()
            assert loads(body)["Value"] == ["after"]
    finally:
        s.close()


@pytest.mark.parametrize("kind", KINDS)
def test_stop_closes_idle_lane_connections_and_cancels_its_calls(kind):
    s = lane_server(kind)
    idle, idle_reader = connect(s.port())
    busy, busy_reader = connect(s.port())
    with idle, busy:
        idle.sendall(request("/", xml_call("echo", "i")))
        assert by_lane(idle_reader.response()[1])
        busy.sendall(request("/", xml_call("sleep", 3600)))
        while not any(c[0] == "sleep" for c in s.dispatcher.calls):
            time.sleep(0.01)
        t0 = time.monotonic()
        s.close(grace=0.2)
        assert time.monotonic() - t0 < 10
        assert idle_reader.closed() and busy_reader.closed()


def test_the_sdk_and_stdlib_clients_through_the_lane(both):
    lane, _ = both
    proxy = xc.ServerProxy(f"http://127.0.0.1:{lane.port()}", allow_none=True)
    threads = []
    results: list[object] = []

    def client(i: int) -> None:
        p = xc.ServerProxy(f"http://127.0.0.1:{lane.port()}", allow_none=True)
        for j in range(50):
            results.append(p.echo(i, j)["Value"] == [str(i), str(j)])

    for i in range(4):
        threads.append(threading.Thread(target=client, args=(i,)))
        threads[-1].start()
    for t in threads:
        t.join(30)
    assert results == [True] * 200
    assert proxy.session.login_with_password("root", "secret")["Value"] == SESSION


def test_a_bug_in_the_lane_drops_the_connection_instead_of_leaving_it_hanging(both, caplog):
    lane, _ = both

    def broken(agent):
        raise RuntimeError("lane bug")

    lane.server.lane.seen_agent = broken
    s, r = connect(lane.port())
    with s:
        s.sendall(request("/", xml_call("echo", "x")))
        assert r.closed()
    assert "internal error in the RPC lane" in caplog.text
