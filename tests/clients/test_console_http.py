"""The guest's text console at its console record's location (CONNECT as Xen Orchestra and
XenCenter open it, a websocket, a plain GET) and `GET /`, through the real server."""
from __future__ import annotations

import asyncio
import base64
import http.client
import socket
import urllib.parse

import aiohttp
import pytest
import XenAPI

from serverproc import ServerProcess

BANNER = "Linux version 6.1.0-sim"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    with ServerProcess(str(tmp_path_factory.mktemp("console"))) as s:
        yield s


@pytest.fixture(scope="module")
def running(srv):
    s = XenAPI.Session(srv.url)
    s.xenapi.login_with_password("root", srv.password, "1.0", "console-test")
    x = s.xenapi
    t = x.VM.get_by_name_label("Generic Linux PV")[0]
    vm = x.VM.clone(t, "console-vm")
    x.VM.provision(vm)
    x.VM.set_is_a_template(vm, False)
    x.VM.start(vm, False, False)
    [con] = x.VM.get_consoles(vm)
    yield s, vm, x.console.get_record(con)
    x.VM.hard_shutdown(vm)
    s.xenapi.session.logout()


def test_location_is_a_url_like_xapis(running):
    _s, _vm, con = running
    url = urllib.parse.urlsplit(con["location"])
    assert url.scheme == "https" and url.path == "/console"
    assert urllib.parse.parse_qs(url.query)["uuid"] == [con["uuid"]]
    assert con["protocol"] == "vt100"


def _target(con):
    url = urllib.parse.urlsplit(con["location"])
    return url.path + "?" + url.query


def test_connect_as_xen_orchestra_does(srv, running):
    """XO: CONNECT <path?query> HTTP/1.0 with the session in a cookie, then raw bytes."""
    s, _vm, con = running
    sock = socket.create_connection(("127.0.0.1", srv.ports["http"]), timeout=10)
    sock.sendall(f"CONNECT {_target(con)} HTTP/1.0\r\nHost: 127.0.0.1\r\n"
                 f"Cookie: session_id={s._session}\r\n\r\n".encode())
    data = b""
    while BANNER.encode() not in data:
        chunk = sock.recv(4096)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].split()[1] == b"200"
    assert b"Transfer-Encoding" not in head
    assert body.startswith(b"[") or BANNER.encode() in body
    sock.sendall(b"\r\n")                 # input is taken (and dropped)
    sock.close()
    # without a session: refused
    sock = socket.create_connection(("127.0.0.1", srv.ports["http"]), timeout=10)
    sock.sendall(f"CONNECT {_target(con)} HTTP/1.0\r\n\r\n".encode())
    assert sock.recv(100).split()[1] == b"401"
    sock.close()


def test_websocket_and_plain_get(srv, running):
    s, _vm, con = running

    async def ws():
        url = f"{srv.url}{_target(con)}&session_id={s._session}"
        async with aiohttp.ClientSession() as client:
            async with client.ws_connect(url, protocols=("binary",)) as w:
                msg = await asyncio.wait_for(w.receive(), 10)
                return msg.data

    got = asyncio.run(ws())
    assert BANNER in (got.decode() if isinstance(got, bytes) else got)

    conn = http.client.HTTPConnection("127.0.0.1", srv.ports["http"], timeout=10)
    auth = base64.b64encode(f"root:{srv.password}".encode()).decode()
    conn.request("GET", _target(con), headers={"Authorization": "Basic " + auth})
    r = conn.getresponse()
    assert r.status == 200 and BANNER in r.read().decode()
    conn.request("GET", "/console?uuid=00000000-0000-0000-0000-000000000000&session_id="
                 + s._session)
    r = conn.getresponse()
    assert r.status == 404
    r.read()
    conn.close()


def test_root_page_names_the_endpoints(srv):
    conn = http.client.HTTPConnection("127.0.0.1", srv.ports["http"], timeout=10)
    conn.request("GET", "/")
    r = conn.getresponse()
    page = r.read().decode()
    assert r.status == 200 and r.getheader("Content-Type").startswith("text/html")
    for path in ("/export_raw_vdi", "/import_raw_vdi", "/export", "/import", "/console",
                 "/rrd_updates", "/jsonrpc"):
        assert path in page
    conn.request("GET", "/", headers={"Accept": "text/plain"})
    r = conn.getresponse()
    assert r.read().decode().startswith("XenAPI server")
    conn.close()
