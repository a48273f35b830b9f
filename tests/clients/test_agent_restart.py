"""host.restart_agent and host.shutdown_agent through a real server and the official SDK:
after the reference's 10 s pause the server executes itself again (same process id, same
port, same database: a new login sees what was written before) or stops with status 0. A
SIGTERM during restart_agent's pause stops it: the restart does not bring it back."""
from __future__ import annotations

import signal
import socket
import time

import pytest
import XenAPI
from serverproc import ServerProcess


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def login(url: str, password: str):
    s = XenAPI.Session(url)
    s.xenapi.login_with_password("root", password, "1.0", "pytest-agent")
    return s


def test_restart_agent_then_shutdown_agent(tmp_path):
    port = free_port()
    srv = ServerProcess(str(tmp_path), http=False, extra=["--http", f"127.0.0.1:{port}"])
    with srv:
        url = f"http://127.0.0.1:{port}"
        s = login(url, srv.password)
        x = s.xenapi
        pool = x.pool.get_all()[0]
        x.pool.set_name_label(pool, "before-restart")
        host = x.host.get_all()[0]
        with pytest.raises(XenAPI.Failure) as e:
            x.host.restart_agent("OpaqueRef:nope")
        assert e.value.details[:2] == ["HANDLE_INVALID", "host"]
        pid = srv.proc.pid
        started = time.monotonic()
        x.host.restart_agent(host)
        assert time.monotonic() - started < 5          # the pause comes after the answer
        x.pool.get_name_label(pool)                    # still serving during the pause
        deadline = time.monotonic() + 60
        while "restarting: exec" not in srv.log():
            assert time.monotonic() < deadline, srv.log()
            time.sleep(0.2)
        assert time.monotonic() - started >= 9
        while True:                                     # serving again, same port
            try:
                s2 = login(url, srv.password)
                break
            except (OSError, XenAPI.Failure):
                assert time.monotonic() < deadline, srv.log()
                time.sleep(0.2)
        assert srv.proc.pid == pid and srv.proc.poll() is None
        assert s2.xenapi.pool.get_name_label(pool) == "before-restart"
        s2.xenapi.host.shutdown_agent()
        assert srv.proc.wait(timeout=60) == 0


def test_sigterm_during_the_restart_pause_stops_the_server(tmp_path):
    """A service manager's stop (SIGTERM) while host.restart_agent's pause runs: the server
    stops with status 0 and does not execute itself again (it came back in its own place)."""
    srv = ServerProcess(str(tmp_path))
    with srv:
        x = login(srv.url, srv.password).xenapi
        x.host.restart_agent(x.host.get_all()[0])
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(timeout=60) == 0
        log = srv.log()
    assert "restarting: exec" not in log, log
    assert "not restarting: SIGTERM/SIGINT received while the restart was pending" in log
