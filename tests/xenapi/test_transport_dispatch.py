"""The transport with the real dispatcher (model, store, sessions) in place of the fake one:
the dispatcher plugs into HttpServer as it is, and real clients see the real behaviour."""
from __future__ import annotations

import json
import os
import xmlrpc.client as xc

import pytest
import XenAPI
from harness import PASSWORD, Harness

from test_transport import ServerThread, post
from xenapi_impl.server.http import HttpServer


@pytest.fixture
def real():
    st = ServerThread()  # its loop thread; the server is replaced below

    async def make() -> Harness:
        return await Harness().start()

    harness = st.run(make())
    st.server = HttpServer(harness.dispatcher)   # the real Dispatcher, no adapter
    sockdir = f"/tmp/xapi-dispatch-{os.getpid()}"
    st.start(http=[("127.0.0.1", 0)], unix=f"{sockdir}/xapi")
    st.sock = f"{sockdir}/xapi"
    yield st
    st.run(harness.close())
    st.close()
    if os.path.isdir(sockdir):
        os.rmdir(sockdir)


def test_python_sdk_against_the_real_dispatcher(real):
    session = XenAPI.Session(f"http://127.0.0.1:{real.port()}")
    session.xenapi.login_with_password("root", PASSWORD, "2.21", "pytest")
    pools = session.xenapi.pool.get_all()
    assert len(pools) == 1 and pools[0].startswith("OpaqueRef:")
    hosts = session.xenapi.host.get_all_records()
    host = next(iter(hosts.values()))
    assert isinstance(host["API_version_major"], str)   # int64 as a string in XML-RPC
    with pytest.raises(XenAPI.Failure) as info:
        session.xenapi.VM.get_record("OpaqueRef:NULL")
    assert info.value.details[0] == "HANDLE_INVALID"
    # The SDK's event_from spelling reaches event.from.
    token = session.xenapi.event.inject("pool", pools[0])
    reply = session.xenapi.event_from(["pool"], "", 0.1)
    assert "valid_ref_counts" in reply and isinstance(token, str)
    session.xenapi.session.logout()


def test_list_methods_bare_and_bad_login(real):
    proxy = xc.ServerProxy(f"http://127.0.0.1:{real.port()}/")
    methods = proxy.system.listMethods()
    assert isinstance(methods, list) and "VM.get_all_records" in methods
    reply = proxy.session.login_with_password("root", "wrong")
    assert reply["Status"] == "Failure"
    assert reply["ErrorDescription"][0] == "SESSION_AUTHENTICATION_FAILED"


def test_jsonrpc_against_the_real_dispatcher(real):
    def call(method, params, rid):
        body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": rid}).encode()
        return json.loads(post(real.port(), "/jsonrpc", body)[2])

    login = call("session.login_with_password", ["root", PASSWORD], 0)
    session = login["result"]
    records = call("host.get_all_records", [session], 1)["result"]
    host = next(iter(records.values()))
    assert isinstance(host["API_version_major"], int)   # a number in JSON-RPC
    bad = call("VM.get_record", [session], 2)
    assert bad["error"]["message"] == "MESSAGE_PARAMETER_COUNT_MISMATCH"


@pytest.mark.skipif(os.getuid() != 0, reason="the local superuser is uid 0")
def test_unix_socket_caller_is_the_local_superuser(real):
    session = XenAPI.Session("http://" + real.sock.replace("/", "_") + "/", transport=XenAPI.UDSTransport())
    session.xenapi.login_with_password("root", "")   # no password on the local socket
    assert session.xenapi.pool.get_all()
