"""The local Unix socket: xapi_local-style clients, permissions, peer credentials, path rules."""
from __future__ import annotations

import itertools
import os
import shutil
import socket
import stat
import xmlrpc.client as xc

import pytest
import XenAPI

from test_transport import SESSION, ServerThread
from xenapi_impl.server import unixsock

_counter = itertools.count()


@pytest.fixture
def sockdir():
    # tmp_path holds the test's name, with underscores: a socket there would be unreachable
    # for the SDK (see unixsock.validate_path), so use our own directory.
    d = f"/tmp/xapi-test-{os.getpid()}-{next(_counter)}"
    yield d
    shutil.rmtree(d, ignore_errors=True)


def local_session(path: str) -> XenAPI.Session:
    """What XenAPI.xapi_local() does, for a socket at `path` instead of /var/lib/xcp/xapi."""
    return XenAPI.Session("http://" + path.replace("/", "_") + "/", transport=XenAPI.UDSTransport())


def test_sdk_over_unix_socket_is_local_superuser(sockdir):
    path = f"{sockdir}/run/xapi"
    s = ServerThread().start(unix=path)
    try:
        st = os.stat(path)
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
        assert os.path.isdir(f"{sockdir}/run")
        assert s.server.endpoints[0].transport == "unix" and s.server.endpoints[0].host == path
        session = local_session(path)
        session.xenapi.login_with_password("root", "secret")
        assert session.handle == SESSION
        session.xenapi.VM.get_all_records()
        caller = s.dispatcher.calls[-1][2]
        assert caller.transport == "unix"
        assert caller.peer == f"uid={os.getuid()} pid={os.getpid()}"
        assert caller.local_superuser is (os.getuid() == 0)
    finally:
        s.close()
    assert not os.path.exists(path)   # removed on stop


def _call_as(uid: int, path: str, body: bytes) -> tuple[str, bytes]:
    """POST `body` over the Unix socket from a forked child running as `uid`.

    ("ok", raw HTTP response) or ("error", errno name). The child only makes system calls and
    leaves with os._exit, so forking beside the server thread is safe.
    """
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            try:
                c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                c.connect(path)
                c.sendall(b"POST / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                          b"Content-Type: text/xml\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
                data = b""
                while chunk := c.recv(65536):
                    data += chunk
                os.write(w, b"ok:" + data)
            except OSError as e:
                os.write(w, b"error:" + (errno_name(e.errno)).encode())
        finally:
            os._exit(0)
    os.close(w)
    out = b""
    while chunk := os.read(r, 65536):
        out += chunk
    os.close(r)
    os.waitpid(pid, 0)
    kind, _, rest = out.partition(b":")
    return kind.decode(), rest


def errno_name(n: int) -> str:
    import errno
    return errno.errorcode.get(n, str(n))


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to run a client as another uid")
def test_other_uids_are_ordinary_callers(sockdir):
    path = f"{sockdir}/xapi"
    s = ServerThread(unix_mode=0o660).start(unix=path)
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
        os.chown(path, -1, 65534)  # let the client's group in (test set-up only)
        os.chmod(sockdir, 0o755)
        kind, raw = _call_as(65534, path, xc.dumps((), "whoami").encode())
        assert kind == "ok", raw
        (reply,), _ = xc.loads(raw.partition(b"\r\n\r\n")[2])
        assert reply["Value"]["local_superuser"] is False
        assert reply["Value"]["peer"].startswith("uid=65534 ")
        # Mode 0600 (the default) keeps other users out entirely.
        os.chmod(path, 0o600)
        assert _call_as(65534, path, xc.dumps((), "whoami").encode()) == ("error", b"EACCES")
    finally:
        s.close()


def test_underscore_path_refused_before_listening(sockdir):
    s = ServerThread()
    try:
        with pytest.raises(unixsock.UnixSocketError, match=r"contains '_'.*xapi_local"):
            s.run(s.server.start(http=[("127.0.0.1", 0)], unix=f"{sockdir}/var_lib/xapi"))
        assert s.server.endpoints == []
        assert not os.path.exists(f"{sockdir}/var_lib")
    finally:
        s.close()


def test_socket_path_rules(sockdir):
    with pytest.raises(unixsock.UnixSocketError, match="too long"):
        unixsock.validate_path("/tmp/" + "x" * 120)
    with pytest.raises(unixsock.UnixSocketError, match="empty"):
        unixsock.validate_path("")
    with pytest.raises(unixsock.UnixSocketError, match="grants access to others"):
        unixsock.listen(f"{sockdir}/s", mode=0o666)
    os.makedirs(sockdir)
    regular = f"{sockdir}/file"
    open(regular, "w").close()
    with pytest.raises(unixsock.UnixSocketError, match="not a socket"):
        unixsock.listen(regular)
    assert os.path.isfile(regular)


def test_stale_socket_replaced_live_one_refused(sockdir):
    path = f"{sockdir}/xapi"
    os.makedirs(sockdir)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()                      # the file stays, nobody listens
    s = ServerThread().start(unix=path)
    try:
        assert xc.ServerProxy("http://" + path.replace("/", "_") + "/",
                              transport=XenAPI.UDSTransport()).echo("x")["Value"] == ["x"]
        other = ServerThread()
        try:
            with pytest.raises(unixsock.UnixSocketError, match="in use"):
                other.run(other.server.start(unix=path))
        finally:
            other.close()
        # The refused second server did not remove the live socket.
        assert stat.S_ISSOCK(os.stat(path).st_mode)
    finally:
        s.close()
