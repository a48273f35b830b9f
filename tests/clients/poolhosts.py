"""A pool of real `xenapi-server serve` processes for client tests: each its own simulated
host (its own XLSIM_STATE_FILE and --state-dir) on one private PostgreSQL database, on
distinct loopback addresses (127.0.0.11, .12, .13) and one port, as a pool's hosts listen.
The `pool` fixture starts three (the first makes the pool) and checks their logs at the end."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import pytest
import XenAPI

from serverproc import VENV_BIN, ServerProcess

LEASE = 2.0          # seconds; renewed every 0.5 s
ADDRESSES = ("127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14")


def free_port() -> int:
    # the port must be free on each address: probe them all
    while True:
        with socket.socket() as s:
            s.bind((ADDRESSES[0], 0))
            port = s.getsockname()[1]
        try:
            for a in ADDRESSES[1:]:
                with socket.socket() as s:
                    s.bind((a, port))
            return port
        except OSError:
            continue


class Host:
    def __init__(self, tmp_path, n: int, db: str, port: int, https_port: int,
                 lease: float = LEASE, unix: bool = False, extra: tuple[str, ...] = ()) -> None:
        self.lease = lease
        self.extra = list(extra)
        self.unix = unix
        self.address = ADDRESSES[n]
        self.port = port
        self.https_port = https_port
        self.work = tmp_path / f"host{n}"
        self.work.mkdir(exist_ok=True)
        self.db = db
        self.n = n
        self.proc = self._proc()

    def _proc(self) -> ServerProcess:
        return ServerProcess(
            str(self.work), http=False, unix=self.unix, db=self.db, state_dir=str(self.work),
            env={"XLSIM_STATE_FILE": str(self.work / "xlsim.state")},
            extra=["--http", f"{self.address}:{self.port}",
                   "--https", f"{self.address}:{self.https_port}",
                   "--cert", str(self.work / "server.pem"), "--name", f"host{self.n}",
                   "--lease-seconds", str(self.lease), "--monitor-interval", "1", *self.extra])

    def start(self) -> "Host":
        return self.launch().ready()

    def launch(self) -> "Host":
        """Start the server without waiting for it to serve (`ready`)."""
        self.proc = self._proc().launch()
        return self

    def ready(self) -> "Host":
        self.proc.ready()
        return self

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    def session(self, password: str) -> XenAPI.Session:
        s = XenAPI.Session(self.url)
        s.xenapi.login_with_password("root", password, "1.0", "pool-test")
        return s

    def local_session(self, password: str) -> XenAPI.Session:
        s = XenAPI.Session(self.url)
        s.slave_local_login_with_password("root", password)
        return s


def wait(pred, timeout: float = 20, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def domains(host: Host) -> str:
    """The domains of a host's own simulated hypervisor, as `xenlight list` prints them."""
    out = subprocess.run([os.path.join(VENV_BIN, "python"), "-m", "xenlight_py", "--backend",
                          "sim", "list"], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "XLSIM_STATE_FILE": str(host.work / "xlsim.state")})
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture
def pool(tmp_path, pg_db):
    yield from running_pool(tmp_path, pg_db.url)


def running_pool(tmp_path, db: str, lease: float = LEASE, unix: bool = False,
                 extra: tuple[str, ...] = (), together: bool = True):
    """Three hosts on `db` (the first makes the pool), stopped and their logs checked after;
    `unix`: each also serves its Unix socket (the local superuser's); `extra`: more `serve`
    flags for every host; `together`: the slaves start at the same time (False: one after
    the other, for code older than b0bcefa, whose simultaneous first starts could collide)."""
    port, https_port = free_port(), free_port()
    hosts = [Host(tmp_path, n, db, port, https_port, lease, unix, extra) for n in range(3)]
    try:
        hosts[0].start()              # the first host on an empty database makes the pool
        for h in hosts[1:]:           # the others join it at once, as a pool's hosts boot
            h.launch()
            if not together:
                h.ready()
        for h in hosts[1:]:
            h.ready()
        yield hosts
    finally:
        stop_all([h.proc for h in hosts])


def stop_all(procs: list[ServerProcess]) -> None:
    """Stop the servers that were launched and still run (a SIGSTOPped one resumed first),
    then check that none of them logged a traceback."""
    launched = [p for p in procs if p.proc is not None]
    for p in launched:
        if p.proc.poll() is None:
            os.kill(p.proc.pid, signal.SIGCONT)
            p.stop()
    for p in launched:
        assert "Traceback" not in p.log(), p.log()


def with_disk(x, vm: str, sr: str, name: str = "root") -> str:
    """A new 64 MiB VDI on `sr` as the VM's bootable disk 0."""
    vdi = x.VDI.create({"SR": sr, "virtual_size": str(64 << 20), "type": "user",
                        "sharable": False, "read_only": False, "other_config": {},
                        "name_label": name, "name_description": ""})
    x.VBD.create({"VM": vm, "VDI": vdi, "userdevice": "0", "bootable": True, "mode": "RW",
                  "type": "Disk", "empty": False, "other_config": {}, "qos_algorithm_type": "",
                  "qos_algorithm_params": {}, "device": "", "unpluggable": False})
    return vdi


def shared_sr(x, host: str, path) -> str:
    """A new shared file SR in the directory `path` (made here), plugged on every host."""
    path.mkdir()
    return x.SR.create(host, {"path": str(path)}, "0", "shared", "", "file", "user", True, {})


def local_sr(x, host: str) -> str:
    """The host's own file SR."""
    return next(r for r, rec in x.SR.get_all_records().items() if rec["type"] == "file"
                and x.PBD.get_host(rec["PBDs"][0]) == host)
