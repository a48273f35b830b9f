"""Living with the server on a dom0, through the real `xenapi-server serve` process: systemd's
readiness and watchdog messages, the TOML config file under the flags, the log file reopened
after logrotate moved it, the HTTPS certificate generated beside the database, `make run`
keeping its database, and the files in contrib/ that wire these up."""
from __future__ import annotations

import os
import socket
import ssl
import stat
import subprocess
import time
from pathlib import Path

import pytest
import XenAPI

from serverproc import SERVER, ServerProcess
from xenapi_impl.cli import CliError, _parse_args
from xenapi_impl.server import sdnotify

REPO = Path(__file__).resolve().parents[2]


def _login(url: str, password: str) -> XenAPI.Session:
    s = XenAPI.Session(url)
    s.xenapi.login_with_password("root", password)
    return s


def _network(name: str) -> dict:
    return {"name_label": name, "name_description": "", "MTU": "1500", "other_config": {},
            "bridge": "", "managed": True, "tags": []}


# -- sd_notify -------------------------------------------------------------------------------

class NotifySocket:
    """What systemd listens on: a Unix datagram socket; collects the messages."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.messages: list[str] = []

    def count(self, line: str) -> int:
        return sum(line in m.splitlines() for m in self.messages)

    def wait_for(self, line: str, timeout: float = 30, count: int = 1) -> list[str]:
        deadline = time.monotonic() + timeout
        while self.count(line) < count:
            left = deadline - time.monotonic()
            assert left > 0, f"no {line} within {timeout}s; got {self.messages}"
            self.sock.settimeout(left)
            self.messages.append(self.sock.recv(4096).decode())
        return self.messages

    def close(self) -> None:
        self.sock.close()


def test_sd_notify_ready_watchdog_stopping(tmp_path: Path) -> None:
    """Under Type=notify: READY=1 once serving (the server answers by then), WATCHDOG=1 every
    WatchdogSec/2 while it runs, STOPPING=1 at SIGTERM, and a clean exit."""
    path = str(tmp_path / "notify")
    listener = NotifySocket(path)
    # WATCHDOG_PID emptied: pytest itself may run under a service with a watchdog
    srv = ServerProcess(str(tmp_path), env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "600000",
                                            "WATCHDOG_PID": ""})
    try:
        srv.start()
        listener.wait_for("READY=1")
        _login(srv.url, srv.password)                 # ready means serving
        pings = listener.count("WATCHDOG=1")
        t0 = time.monotonic()
        listener.wait_for("WATCHDOG=1", timeout=10, count=pings + 5)
        assert time.monotonic() - t0 < 5              # every 0.3 s, not once in a while
        assert srv.stop() == 0
        listener.wait_for("STOPPING=1", timeout=5)
    finally:
        if srv.proc and srv.proc.poll() is None:
            srv.stop()
        listener.close()
    ready = [m for m in listener.messages if "READY=1" in m.splitlines()]
    assert len(ready) == 1
    assert listener.messages.index(ready[0]) < listener.messages.index("STOPPING=1")


def test_sd_notify_without_a_service_manager_or_for_another_process(tmp_path: Path) -> None:
    assert sdnotify.notify("READY=1", env={}) is False
    assert sdnotify.watchdog_interval({}) is None
    env = {"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "10000000"}
    assert sdnotify.watchdog_interval(env) == 5.0
    assert sdnotify.watchdog_interval({**env, "WATCHDOG_PID": str(os.getpid())}) == 5.0
    assert sdnotify.watchdog_interval({**env, "WATCHDOG_PID": "1"}) is None
    # an abstract socket name ('@...', as systemd may pass) works too
    name = f"xenapi-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        assert sdnotify.notify("READY=1", env={"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(100) == b"READY=1"
    # a missing socket is logged, not fatal
    assert sdnotify.notify("READY=1", env={"NOTIFY_SOCKET": str(tmp_path / "gone")}) is False


# -- config file -----------------------------------------------------------------------------

def test_config_file_applied_and_overridden_by_flags(tmp_path: Path) -> None:
    """Every setting comes from the file unless a flag says otherwise: its http list is
    replaced (not extended) by --http, its log level by --log-level; the file alone starts
    the server."""
    db, log_file = tmp_path / "cfg.db", tmp_path / "cfg.log"
    config = tmp_path / "server.toml"
    config.write_text(f'''# /etc/xenapi/server.toml
backend = "sim"
db = "{db}"
http = ["192.0.2.1:0"]     # not an address of this host: starting fails if it is used
log-level = "warning"
log-file = "{log_file}"
monitor-interval = 2.5
grace = 3
''')
    srv = ServerProcess(str(tmp_path), db=str(db))
    srv.args = [SERVER, "serve", "--config", str(config), "--http", "127.0.0.1:0",
                "--log-level", "INFO"]
    with srv:
        assert list(srv.ports) == ["http"] and srv.log().count("listening on") == 1
        _login(srv.url, srv.password)
        assert os.path.exists(str(db) + ".root-password")     # db from the file
        assert "serving" in log_file.read_text()              # log-file from the file
        assert "INFO" in log_file.read_text()                 # --log-level INFO won

    # the file alone: its http address and its log level are used
    config.write_text(config.read_text().replace("192.0.2.1:0", "127.0.0.1:0")
                      .replace('"warning"', '"debug"'))
    srv = ServerProcess(str(tmp_path), db=str(db))
    srv.args = [SERVER, "serve", "--config", str(config)]
    with srv:
        _login(srv.url, srv.password)
    assert " DEBUG xenapi_impl: event loop: asyncio" in srv.log()
    r = subprocess.run([SERVER, "serve", "--config", str(config).replace("server", "nope")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "No such file" in r.stderr


def test_config_file_values_are_checked(tmp_path: Path) -> None:
    config = tmp_path / "server.toml"
    config.write_text('backend = "sim"\ndb = "x.db"\nhttp = "127.0.0.1:8080"\n'
                      'monitor-interval = 7\nunix = "/run/xapi"\n')
    args = _parse_args(["serve", "--config", str(config), "--db", "y.db"])
    assert (args.backend, args.db, args.http, args.monitor_interval, args.unix) == (
        "sim", "y.db", [("127.0.0.1", 8080)], 7.0, "/run/xapi")
    assert args.grace == 10.0 and args.https == [] and args.log_level == "INFO"  # defaults
    for bad, what in [('backend = "kvm"', "backend"), ("monitor-interval = -1", "monitor"),
                      ('http = ["nope"]', "http"), ('colour = "red"', "unknown setting"),
                      ("http = [", "--config")]:
        config.write_text(bad + "\n")
        with pytest.raises(CliError, match=what):
            _parse_args(["serve", "--config", str(config)])
    config.write_text('http = "127.0.0.1:0"\n')
    r = subprocess.run([SERVER, "serve", "--config", str(config)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and "--backend is required" in r.stderr
    config.write_text("monitor-interval = -1\n")
    r = subprocess.run([SERVER, "serve", "--config", str(config)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and "monitor-interval" in r.stderr


# -- log rotation ----------------------------------------------------------------------------

def test_log_file_reopened_after_rotation(tmp_path: Path) -> None:
    """logrotate (contrib/logrotate/xenapi-server: create, no copytruncate) renames the file;
    the server's next line goes to a new file of the old name."""
    log_file = tmp_path / "xenapi.log"
    with ServerProcess(str(tmp_path), extra=["--log-file", str(log_file)]) as srv:
        assert "serving" in log_file.read_text()
        os.rename(log_file, tmp_path / "xenapi.log.1")
        _login(srv.url, srv.password)                        # logs "session opened"
        deadline = time.monotonic() + 10
        while not (log_file.exists() and "session opened" in log_file.read_text()):
            assert time.monotonic() < deadline, "the log was not reopened"
            time.sleep(0.05)
    rotated = (tmp_path / "xenapi.log.1").read_text()
    assert "serving" in rotated and "session opened" not in rotated
    assert "stopped; database closed" in log_file.read_text()


def test_logrotate_snippet_matches_the_reopen() -> None:
    text = (REPO / "contrib" / "logrotate" / "xenapi-server").read_text()
    assert "/var/log/xenapi/server.log" in text
    assert "copytruncate" not in text.split("#")[0] and "create" in text
    assert 'log-file = "/var/log/xenapi/server.log"' in (REPO / "contrib" / "server.toml").read_text()


# -- HTTPS -----------------------------------------------------------------------------------

def test_https_without_cert_generates_one_beside_the_database(tmp_path: Path) -> None:
    srv = ServerProcess(str(tmp_path), http=False, extra=["--https", "127.0.0.1:0"])
    cert = srv.db + ".https.pem"
    with srv:
        assert stat.S_IMODE(os.stat(cert).st_mode) == 0o600
        ctx = ssl.create_default_context(cafile=cert)      # the client pins it
        with socket.create_connection(("127.0.0.1", srv.ports["https"]), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                served = tls.getpeercert(binary_form=True)
        assert cert in srv.log()
    first = Path(cert).read_bytes()
    assert ssl.DER_cert_to_PEM_cert(served).strip() in first.decode()
    with ServerProcess(str(tmp_path), http=False, extra=["--https", "127.0.0.1:0"]):
        pass
    assert Path(cert).read_bytes() == first                  # kept, not regenerated


# -- make run ----------------------------------------------------------------------------------

def _make_n(target: str) -> str:
    # DB given explicitly: the Makefile's `DB ?=` would take one from the environment
    return subprocess.run(["make", "-n", "-C", str(REPO), target, "DB=./xenapi-dev.db"],
                          capture_output=True, text=True, timeout=60, check=True).stdout


def test_make_run_keeps_the_database_and_installs_no_test_extras() -> None:
    run = _make_n("run")
    assert "rm " not in run and "xenapi-server serve" in run
    assert "pip install -q -e ." in run and "[test]" not in run
    assert "XLSIM_STATE_FILE=./xenapi-dev.db.xlsim" in run
    fresh = _make_n("run-fresh")
    assert "rm -rf ./xenapi-dev.db " in fresh
    assert "[test]" in _make_n("venv")


def test_same_database_twice_keeps_records_and_password(tmp_path: Path) -> None:
    """What `make run` does twice: same --db, same XLSIM_STATE_FILE."""
    env = {"XLSIM_STATE_FILE": str(tmp_path / "xapi.db.xlsim")}
    with ServerProcess(str(tmp_path), env=env) as srv:
        password = srv.password
        s = _login(srv.url, password)
        ref = s.xenapi.network.create(_network("kept"))
    with ServerProcess(str(tmp_path), env=env) as srv:
        assert srv.password == password
        s = _login(srv.url, password)
        assert s.xenapi.network.get_name_label(ref) == "kept"


def test_contrib_config_and_unit_agree() -> None:
    """contrib/server.toml is a valid config file (every key a serve flag, every value
    accepted), and the unit starts the server with it under Type=notify with a watchdog."""
    args = _parse_args(["serve", "--config", str(REPO / "contrib" / "server.toml")])
    assert args.backend == "xen" and args.log_file == "/var/log/xenapi/server.log"
    assert args.db.startswith("/var/lib/xenapi/") and args.https == [("0.0.0.0", 443)]
    unit = (REPO / "contrib" / "systemd" / "xenapi-server.service").read_text()
    for line in ("Type=notify", "WatchdogSec=", "StateDirectory=xenapi",
                 "serve --config /etc/xenapi/server.toml"):
        assert line in unit
