"""RPC workers (`--rpc-workers N`, server/workers.py): real server processes on loopback whose
plain HTTP connections are served by worker processes, every call dispatched by the server.

Which process serves a connection is read from /proc: the server keeps a copy of every
connection it passed, so a delegated connection's socket is open in the server and in one
worker; one given back is open in the server alone."""
from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
import xmlrpc.client as xc

import pytest
import XenAPI

from poolhosts import wait
from serverproc import ServerProcess

WORKERS = 2


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(c) for c in f.read().split()]


def woken(watcher, vm: str, write) -> list[dict]:
    """The events an event.from on VMs, blocked through `watcher`, gets when `write()` runs."""
    token = watcher.event_from(["vm"], "", 0.0)["token"]
    got: list = []
    waiter = threading.Thread(target=lambda: got.append(watcher.event_from(["vm"], token, 30.0)))
    waiter.start()
    time.sleep(0.3)
    write()
    waiter.join(15)
    assert not waiter.is_alive() and got
    return [e for e in got[0]["events"] if e["ref"] == vm]


def start(tmp_path, *extra: str) -> ServerProcess:
    srv = ServerProcess(str(tmp_path), https=True,
                        extra=["--rpc-workers", str(WORKERS), *extra]).start()
    wait(lambda: srv.log().count("RPC worker") >= WORKERS and
         len(children(srv.proc.pid)) == WORKERS, what="the RPC workers")
    return srv


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = start(tmp_path_factory.mktemp("workers"))
    yield s
    assert s.stop() == 0


def holders(srv: ServerProcess, sock: socket.socket) -> set[int]:
    """The processes (the server and its workers) that hold the server's end of `sock`."""
    client_port = sock.getsockname()[1]
    server_port = sock.getpeername()[1]
    inode = None
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if int(local.split(":")[1], 16) == server_port and \
                    int(remote.split(":")[1], 16) == client_port:
                inode = fields[9]
    assert inode is not None
    found = set()
    for pid in [srv.proc.pid, *children(srv.proc.pid)]:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    found.add(pid)
            except FileNotFoundError:
                pass
    return found


def post(path: str, body: bytes, extra: str = "") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
            ).encode() + body


def read_response(sock: socket.socket, buf: bytearray) -> tuple[int, dict[str, str], bytes]:
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        assert data, "closed before a response"
        buf += data
    head, rest = bytes(buf).split(b"\r\n\r\n", 1)
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        data = sock.recv(65536)
        assert data, "closed mid-body"
        rest += data
    buf[:] = rest[length:]
    return int(status.split()[1]), headers, rest[:length]


def login(srv: ServerProcess) -> XenAPI.Session:
    s = XenAPI.Session(srv.url)
    s.xenapi.login_with_password("root", srv.password)
    return s


def xml_call(method: str, *params) -> bytes:
    return xc.dumps(params, method).encode()


def test_calls_are_served_by_a_worker_and_dispatched_by_the_server(srv):
    s = login(srv)
    try:
        vms = s.xenapi.VM.get_all()
        record = s.xenapi.VM.get_record(vms[0])
        assert record["uuid"] == s.xenapi.VM.get_uuid(vms[0])
        with pytest.raises(XenAPI.Failure) as e:
            s.xenapi.VM.get_record("OpaqueRef:nope")
        assert e.value.details == ["HANDLE_INVALID", "VM", "OpaqueRef:nope"]
        # one store: a write through one worker's connection is read through the other's
        t = login(srv)
        try:
            s.xenapi.VM.set_name_description(vms[0], "written via a worker")
            assert t.xenapi.VM.get_name_description(vms[0]) == "written via a worker"
        finally:
            t.xenapi.session.logout()
    finally:
        s.xenapi.session.logout()

    sock = socket.create_connection(("127.0.0.1", srv.ports["http"]))
    buf = bytearray()
    sock.sendall(post("/", xml_call("session.login_with_password", "root", srv.password)))
    status, headers, body = read_response(sock, buf)
    assert status == 200 and "server" not in headers      # the lane's reply, no aiohttp
    session = xc.loads(body)[0][0]["Value"]
    held = holders(srv, sock)
    workers = set(children(srv.proc.pid))
    assert srv.proc.pid in held and len(held & workers) == 1, (held, workers)
    # JSON-RPC and bad requests get the same replies a server without workers gives
    sock.sendall(post("/jsonrpc", json.dumps({"jsonrpc": "2.0", "id": 7, "method":
                                              "VM.get_all", "params": [session]}).encode()))
    status, _, body = read_response(sock, buf)
    reply = json.loads(body)
    assert status == 200 and reply["id"] == 7 and len(reply["result"]) >= 1
    sock.sendall(post("/jsonrpc", b"{not json"))
    status, _, body = read_response(sock, buf)
    assert json.loads(body)["error"]["code"] == -32700
    sock.sendall(post("/", b"<methodCall><methodName>VM.get_all"))
    status, _, body = read_response(sock, buf)
    assert status == 200 and b"faultCode" not in body and b"Status" in body
    sock.close()


def test_other_routes_come_back_to_the_server_in_order(srv):
    """A GET pipelined behind a call: the worker answers the call, gives the connection back
    with the GET, the server answers it and every request after it."""
    s = login(srv)
    session = s._session
    sock = socket.create_connection(("127.0.0.1", srv.ports["http"]))
    buf = bytearray()
    sock.sendall(post("/", xml_call("VM.get_all", session)))
    read_response(sock, buf)
    assert len(holders(srv, sock)) == 2
    get = f"GET /rrd_updates?session_id={session}&start=0 HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    sock.sendall(post("/", xml_call("host.get_all", session)) + get +
                 post("/", xml_call("pool.get_all", session)))
    status, _, body = read_response(sock, buf)
    assert status == 200 and b"OpaqueRef:" in body
    status, headers, body = read_response(sock, buf)
    assert status == 200 and b"<xport>" in body and "server" in headers     # aiohttp's
    status, _, body = read_response(sock, buf)
    assert status == 200 and xc.loads(body)[0][0]["Status"] == "Success"
    wait(lambda: holders(srv, sock) == {srv.proc.pid}, what="the worker's copy closed")
    sock.sendall(post("/", xml_call("VM.get_all", session)))
    assert read_response(sock, buf)[0] == 200
    sock.close()
    s.xenapi.session.logout()


def test_a_reply_of_megabytes_comes_whole_through_a_worker(srv):
    """A reply over relay.FILE_OVER goes to the worker in a memfd: the same bytes as the
    server answers itself (on its TLS port)."""
    import ssl
    s = login(srv)
    try:
        vm = s.xenapi.VM.get_all()[0]
        for i in range(8):                  # 8 x 200 KB: a record of about 1.6 MB
            s.xenapi.VM.add_to_other_config(vm, f"big{i}", f"{i}" * 200_000)
        body = xml_call("VM.get_record", s._session, vm)
        sock = socket.create_connection(("127.0.0.1", srv.ports["http"]))
        buf = bytearray()
        sock.sendall(post("/", body) * 2)   # twice, pipelined
        via_worker = [read_response(sock, buf) for _ in range(2)]
        assert len(holders(srv, sock)) == 2
        sock.close()
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        tls = ctx.wrap_socket(socket.create_connection(("127.0.0.1", srv.ports["https"])))
        buf = bytearray()
        tls.sendall(post("/", body))
        direct = read_response(tls, buf)
        tls.close()
        assert len(direct[2]) > 1_600_000
        for status, _, reply in via_worker:
            assert status == 200 and reply == direct[2]
        record = xc.loads(direct[2])[0][0]["Value"]
        assert record["other_config"]["big7"] == "7" * 200_000
    finally:
        for i in range(8):
            s.xenapi.VM.remove_from_other_config(vm, f"big{i}")
        s.xenapi.session.logout()


def test_event_wait_through_a_worker_is_woken_by_a_write(srv):
    s, t = login(srv), login(srv)
    try:
        vm = s.xenapi.VM.get_all()[0]
        events = woken(s.xenapi, vm, lambda: t.xenapi.VM.set_name_description(vm, "wake"))
        assert any(e["snapshot"]["name_description"] == "wake" for e in events)
    finally:
        s.xenapi.session.logout()
        t.xenapi.session.logout()


def test_connection_close_ends_the_connection(srv):
    """The worker closing its copy ends nothing: the server closes its own on CLOSED."""
    sock = socket.create_connection(("127.0.0.1", srv.ports["http"]))
    buf = bytearray()
    sock.sendall(post("/", xml_call("VM.get_all", "OpaqueRef:none"), "Connection: close\r\n"))
    status, headers, body = read_response(sock, buf)
    assert status == 200 and headers.get("connection") == "close"
    assert b"SESSION_INVALID" in body
    sock.settimeout(10)
    assert sock.recv(1) == b""          # EOF
    sock.close()


def test_tls_stays_with_the_server_and_agents_are_tracked(srv):
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", srv.ports["https"]))
    sock = ctx.wrap_socket(raw)
    buf = bytearray()
    sock.sendall(post("/", xml_call("session.login_with_password", "root", srv.password),
                      "User-Agent: worker-probe/4.2\r\n"))
    assert read_response(sock, buf)[0] == 200
    sock.close()
    plain = socket.create_connection(("127.0.0.1", srv.ports["http"]))
    buf = bytearray()
    plain.sendall(post("/", xml_call("session.login_with_password", "root", srv.password),
                       "User-Agent: via-worker/1.5\r\n"))
    session = xc.loads(read_response(plain, buf)[2])[0][0]["Value"]
    assert len(holders(srv, plain)) == 2
    plain.sendall(post("/", xml_call("host.get_all", session)))
    host = xc.loads(read_response(plain, buf)[2])[0][0]["Value"][0]
    plain.sendall(post("/", xml_call("host.get_tracked_user_agents", session, host)))
    agents = xc.loads(read_response(plain, buf)[2])[0][0]["Value"]
    assert agents.get("via-worker") == "1.5" and agents.get("worker-probe") == "4.2"
    plain.close()


def test_a_dead_worker_is_replaced_and_service_goes_on(tmp_path):
    srv = start(tmp_path)
    try:
        s = login(srv)
        sock = socket.create_connection(("127.0.0.1", srv.ports["http"]))
        buf = bytearray()
        sock.sendall(post("/", xml_call("VM.get_all", s._session)))
        read_response(sock, buf)
        victim = (holders(srv, sock) - {srv.proc.pid}).pop()
        os.kill(victim, signal.SIGKILL)
        sock.settimeout(10)
        try:                                # its connections end with it
            assert sock.recv(1) == b""
        except ConnectionResetError:
            pass
        sock.close()
        # new connections are served meanwhile, and the worker is started again
        t = login(srv)
        assert t.xenapi.VM.get_all()
        t.xenapi.session.logout()
        wait(lambda: len(children(srv.proc.pid)) == WORKERS and
             victim not in children(srv.proc.pid) and
             srv.log().count(" serving") >= WORKERS + 1, what="the worker started again")
        assert "exited (status -9); starting it again" in srv.log()
        assert s.xenapi.VM.get_all()        # the SDK reconnects
        s.xenapi.session.logout()
    finally:
        pids = children(srv.proc.pid)
        assert srv.stop() == 0
    for pid in pids:                        # no worker outlives the server
        assert not os.path.exists(f"/proc/{pid}") or \
            open(f"/proc/{pid}/stat").read().split()[2] == "Z"


def test_sigterm_lets_a_call_in_flight_through_a_worker_finish(tmp_path):
    srv = start(tmp_path)
    s = login(srv)
    token = s.xenapi.event_from(["vm"], "", 0.0)["token"]
    got: list = []

    def wait() -> None:
        try:
            got.append(s.xenapi.event_from(["vm"], token, 1.5))
        except Exception as e:          # noqa: BLE001 - recorded for the assertion
            got.append(e)
    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.3)
    pids = children(srv.proc.pid)
    assert srv.stop() == 0
    waiter.join(10)
    assert got and isinstance(got[0], dict) and got[0]["events"] == [], got
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}") or \
            open(f"/proc/{pid}/stat").read().split()[2] == "Z"


def test_the_worker_count_and_the_event_loop_are_checked(tmp_path):
    for extra in (["--rpc-workers", "-1"], ["--rpc-workers", "65"], ["--rpc-workers", "two"],
                  ["--rpc-workers", "2", "--event-loop", "uvloop"]):
        srv = ServerProcess(str(tmp_path), extra=extra)
        with pytest.raises(RuntimeError, match="rpc-workers"):
            srv.start()


def test_a_pool_whose_hosts_serve_through_workers(tmp_path, pg_db):
    """Each host of a PostgreSQL pool with a worker: logins, reads, a write made through a
    slave's worker (the slave forwards it to the master), and an event.from waiting in the
    master's worker woken by it."""
    from poolhosts import running_pool
    hosts_gen = running_pool(tmp_path, pg_db.url, extra=("--rpc-workers", "1"))
    master, slave, _ = next(hosts_gen)
    try:
        password = master.proc.password
        for h in (master, slave):
            wait(lambda: h.proc.log().count("RPC worker 0") >= 1, what="the host's worker")
        x = master.session(password)
        local = slave.local_session(password)
        try:
            template = next(ref for ref, r in x.xenapi.VM.get_all_records().items()
                            if r["is_a_template"])
            vm = x.xenapi.VM.clone(template, "via workers")
            events = woken(x.xenapi, vm, lambda: local.xenapi.VM.set_name_description(
                vm, "written on the slave"))
            assert any(e["snapshot"]["name_description"] == "written on the slave"
                       for e in events)
            assert x.xenapi.VM.get_name_description(vm) == "written on the slave"
            assert local.xenapi.VM.get_name_description(vm) == "written on the slave"
        finally:
            x.xenapi.session.logout()
            local.xenapi.session.logout()
        # the slave's plain HTTP connections are its worker's
        sock = socket.create_connection((slave.address, slave.port))
        buf = bytearray()
        sock.sendall(post("/", xml_call("session.slave_local_login_with_password", "root",
                                        password)))
        assert xc.loads(read_response(sock, buf)[2])[0][0]["Status"] == "Success"
        assert len(holders(slave.proc, sock)) == 2
        sock.close()
    finally:
        for _ in hosts_gen:
            pass


def test_at_the_connection_cap_a_worker_drops_its_longest_idle_connection(tmp_path):
    """All connections passed to workers and idle: a new one still gets in, as without
    workers, the workers dropping their longest idle connection to make room."""
    srv = start(tmp_path, "--max-connections", "8", "--max-connections-per-address", "100")
    try:
        idle = []
        for _ in range(8):
            sock = socket.create_connection(("127.0.0.1", srv.ports["http"]))
            buf = bytearray()
            sock.sendall(post("/", xml_call("VM.get_all", "OpaqueRef:none")))
            read_response(sock, buf)            # answered: idle now, and a worker's
            idle.append(sock)
        assert all(len(holders(srv, sock)) == 2 for sock in idle)
        s = login(srv)                          # the ninth
        assert s.xenapi.VM.get_all()
        s.xenapi.session.logout()
        dropped = 0
        for sock in idle:
            sock.settimeout(0.5)
            try:
                dropped += sock.recv(1) == b""
            except ConnectionResetError:
                dropped += 1
            except TimeoutError:
                pass
            sock.close()
        assert dropped >= 1
        assert "closing the longest idle connection" in srv.log()
    finally:
        assert srv.stop() == 0
