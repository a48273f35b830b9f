"""The `xenapi-server` command: first start, user management, clean SIGTERM, backend errors."""
from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import threading
import time

import pytest
import XenAPI

from serverproc import SERVER, ServerProcess


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([SERVER, *args], input=stdin, capture_output=True, text=True,
                          timeout=60)


def test_first_start_generates_a_private_admin_password(tmp_path):
    with ServerProcess(str(tmp_path)) as srv:
        pw_file = srv.db + ".root-password"
        assert stat.S_IMODE(os.stat(pw_file).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(srv.db).st_mode) == 0o600
        assert pw_file in srv.log()                     # the log says where it is
        assert srv.password not in srv.log()            # but never the password itself
        assert len(srv.password) >= 20
        s = XenAPI.Session(srv.url)
        s.xenapi.login_with_password("root", srv.password)
        host = s.xenapi.host.get_all()[0]
        rec = s.xenapi.host.get_record(host)
        assert rec["name_label"] and rec["API_version_major"] == "2"
        host_uuid = rec["uuid"]
        s.xenapi.session.logout()
    # second start: same host uuid, no new password
    mtime = os.stat(pw_file).st_mtime_ns
    with ServerProcess(str(tmp_path)) as srv:
        s = XenAPI.Session(srv.url)
        s.xenapi.login_with_password("root", srv.password)
        assert s.xenapi.host.get_record(s.xenapi.host.get_all()[0])["uuid"] == host_uuid
        assert "generated the password" not in srv.log()
    assert os.stat(pw_file).st_mtime_ns == mtime


def test_user_commands(tmp_path):
    db = str(tmp_path / "u.db")
    r = run_cli("user", "add", "ops", "--role", "pool-operator", "--password-stdin", "--db", db,
                stdin="pw-1\n")
    assert r.returncode == 0, r.stderr
    assert run_cli("user", "list", "--db", db).stdout.splitlines() == ["ops\tpool-operator"]
    bad = run_cli("user", "add", "x", "--role", "emperor", "--password-stdin", "--db", db,
                  stdin="pw\n")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    empty = run_cli("user", "add", "x", "--role", "read-only", "--password-stdin", "--db", db,
                    stdin="\n")
    assert empty.returncode == 1 and "no password" in empty.stderr
    assert run_cli("user", "list", "--db", db).stdout.splitlines() == ["ops\tpool-operator"]
    with ServerProcess(str(tmp_path), db=db) as srv:
        # users made before the first start: no generated password
        assert not os.path.exists(db + ".root-password")
        s = XenAPI.Session(srv.url)
        s.xenapi.login_with_password("ops", "pw-1")
        # a password changed while the server runs takes effect at once
        assert run_cli("user", "passwd", "ops", "--password-stdin", "--db", db,
                       stdin="pw-2\n").returncode == 0
        s2 = XenAPI.Session(srv.url)
        with pytest.raises(XenAPI.Failure):
            s2.xenapi.login_with_password("ops", "pw-1")
        s2.xenapi.login_with_password("ops", "pw-2")
    assert run_cli("user", "del", "ops", "--db", db).returncode == 0
    assert run_cli("user", "del", "ops", "--db", db).returncode == 1


def test_sigterm_lets_calls_in_flight_finish_and_closes_the_database(tmp_path):
    srv = ServerProcess(str(tmp_path)).start()
    s = XenAPI.Session(srv.url)
    s.xenapi.login_with_password("root", srv.password)
    token = s.xenapi.event_from(["network"], "", 0.0)["token"]
    result: dict = {}

    def blocked_call() -> None:
        try:
            result["value"] = s.xenapi.event_from(["network"], token, 3.0)
        except Exception as exc:     # noqa: BLE001
            result["error"] = exc

    t = threading.Thread(target=blocked_call)
    t.start()
    time.sleep(0.5)                 # let the call reach the server and block there
    srv.proc.send_signal(signal.SIGTERM)
    t.join(30)
    assert srv.stop() == 0
    assert "value" in result, result            # the call in flight got its answer
    assert result["value"]["events"] == []
    log = srv.log()
    assert "stopping" in log and "database closed" in log
    con = sqlite3.connect(srv.db)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_one_server_per_database(tmp_path):
    with ServerProcess(str(tmp_path)) as srv:
        r = run_cli("serve", "--backend", "sim", "--db", srv.db, "--http", "127.0.0.1:0")
        assert r.returncode == 1 and "in use by another xenapi-server" in r.stderr
        assert XenAPI.Session(srv.url).xenapi.login_with_password("root", srv.password) is None


def test_backend_xen_fails_clearly_without_xen(tmp_path):
    if os.path.exists("/proc/xen/capabilities"):
        pytest.skip("this host runs Xen")
    r = run_cli("serve", "--backend", "xen", "--db", str(tmp_path / "x.db"), "--http",
                "127.0.0.1:0")
    assert r.returncode == 1
    assert "backend 'xen' needs a Xen dom0" in r.stderr
    assert not os.path.exists(tmp_path / "x.db")       # nothing was created


def test_usage_errors(tmp_path):
    r = run_cli("serve", "--backend", "sim", "--db", str(tmp_path / "x.db"))
    assert r.returncode == 2 and "at least one of --http" in r.stderr
    r = run_cli("serve", "--backend", "sim", "--db", str(tmp_path / "nodir" / "x.db"),
                "--http", "127.0.0.1:0")
    assert r.returncode == 1 and "does not exist" in r.stderr
    r = run_cli("serve", "--backend", "sim", "--db", str(tmp_path / "x.db"), "--http", "nope")
    assert r.returncode == 2 and "HOST:PORT" in r.stderr


def test_log_file_receives_the_log_and_host_get_log_reads_it(tmp_path):
    logfile = tmp_path / "server.log"
    with ServerProcess(str(tmp_path), extra=["--log-file", str(logfile)]) as srv:
        s = XenAPI.Session(srv.url)
        s.xenapi.login_with_password("root", srv.password)
        host = s.xenapi.host.get_all()[0]
        text = logfile.read_text()
        assert "database" in text and "listening on http://127.0.0.1:" in text
        assert "session opened for root" in s.xenapi.host.get_log(host)
    assert run_cli("serve", "--backend", "sim", "--db", str(tmp_path / "x.db"), "--http",
                   "127.0.0.1:0", "--log-file", str(tmp_path / "no" / "dir.log")).returncode == 2
