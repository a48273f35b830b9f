"""A private PostgreSQL server for tests: initdb in a temporary directory, pg_ctl on a Unix
socket and a loopback port, stopped (and removed) at teardown. Never a system service.

PostgreSQL refuses to run as root, so as root every server command runs as the `postgres`
user (`runuser`). Missing binaries fail loudly: a pool test that silently skipped would prove
nothing.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid as _uuid
from typing import Iterator

import pytest

BINDIR_ENV = "XAPI_TEST_PG_BINDIR"


def find_bindir() -> str:
    """The directory holding initdb/pg_ctl/postgres, or an AssertionError naming what is missing."""
    wanted = ("initdb", "pg_ctl", "postgres")
    candidates = [os.environ[BINDIR_ENV]] if os.environ.get(BINDIR_ENV) else sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for d in candidates:
        if all(os.access(os.path.join(d, b), os.X_OK) for b in wanted):
            return d
    raise AssertionError(
        f"PostgreSQL server binaries ({', '.join(wanted)}) not found in "
        f"{candidates or '/usr/lib/postgresql/*/bin'}: install Debian's `postgresql` package "
        f"(.ci/run does) or set ${BINDIR_ENV}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    """One PostgreSQL server with a database `xapi` owned by the superuser `postgres`."""

    def __init__(self, database: str = "xapi") -> None:
        self.bindir = find_bindir()
        self.user = "postgres"
        self.as_other_user = os.geteuid() == 0
        if self.as_other_user:
            try:
                pw = pwd.getpwnam(self.user)
            except KeyError:
                raise AssertionError("running as root and there is no `postgres` user to run "
                                     "PostgreSQL as (install Debian's `postgresql`)") from None
            self._uid, self._gid = pw.pw_uid, pw.pw_gid
        # not under pytest's tmp_path: that is mode 0700 for root, and the server runs as postgres
        self.root = tempfile.mkdtemp(prefix="xapi-pg-")
        os.chmod(self.root, 0o755)
        self.datadir = os.path.join(self.root, "data")
        self.sockdir = os.path.join(self.root, "sock")
        self.logfile = os.path.join(self.root, "postgres.log")
        os.mkdir(self.sockdir)
        if self.as_other_user:
            for p in (self.root, self.sockdir):
                os.chown(p, self._uid, self._gid)
        self.port = _free_port()
        self.database = database

    # --- commands ---------------------------------------------------------------------------
    def _run(self, *args: str, check: bool = True, timeout: float = 120
             ) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self.as_other_user:
            cmd = ["runuser", "-u", self.user, "--"] + cmd
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check and out.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout}\n"
                                 f"{out.stderr}\n{self.log_tail()}")
        return out

    def log_tail(self, n: int = 30) -> str:
        try:
            with open(self.logfile, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def init(self) -> "PgCluster":
        self._run(os.path.join(self.bindir, "initdb"), "-D", self.datadir, "-U", self.user,
                  "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        with open(os.path.join(self.datadir, "postgresql.conf"), "a") as f:
            f.write(f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                    f"unix_socket_directories = '{self.sockdir}'\n"
                    "max_connections = 50\nshared_buffers = 16MB\nfsync = on\n"
                    "synchronous_commit = on\n")
        return self

    def start(self) -> "PgCluster":
        # a SIGKILLed postmaster's children need a moment to notice and release shared memory
        for attempt in range(50):
            out = self._run(os.path.join(self.bindir, "pg_ctl"), "-D", self.datadir, "-l",
                            self.logfile, "-w", "-t", "60", "start", check=False)
            if out.returncode == 0:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"pg_ctl start failed:\n{out.stdout}\n{out.stderr}\n"
                                 f"{self.log_tail()}")
        return self

    def create_database(self) -> "PgCluster":
        self._run(os.path.join(self.bindir, "createdb"), "-h", self.sockdir, "-p",
                  str(self.port), "-U", self.user, self.database)
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run(os.path.join(self.bindir, "pg_ctl"), "-D", self.datadir, "-m", mode, "-w",
                  "stop", check=False)

    def is_running(self) -> bool:
        return self._run(os.path.join(self.bindir, "pg_ctl"), "-D", self.datadir, "status",
                         check=False).returncode == 0

    def restart(self) -> None:
        self._run(os.path.join(self.bindir, "pg_ctl"), "-D", self.datadir, "-l", self.logfile,
                  "-m", "fast", "-w", "restart")

    def postmaster_pid(self) -> int:
        with open(os.path.join(self.datadir, "postmaster.pid")) as f:
            return int(f.readline())

    def freeze(self) -> list[int]:
        """SIGSTOP the postmaster, then every child it has (backends, checkpointer, ...):
        the postmaster first, so that no backend forked meanwhile escapes. Returns the pids
        for `thaw`."""
        pid = self.postmaster_pid()
        os.kill(pid, signal.SIGSTOP)
        children = [int(c) for c in subprocess.run(["pgrep", "-P", str(pid)],
                                                   capture_output=True, text=True).stdout.split()]
        for child in children:
            os.kill(child, signal.SIGSTOP)
        return [pid, *children]

    @staticmethod
    def thaw(pids: list[int]) -> None:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass            # a backend whose client left once it ran again

    def kill_postmaster(self) -> None:
        """SIGKILL the postmaster (a crash: its backends die too, recovery replays the WAL)."""
        pid = self.postmaster_pid()
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True
                                  ).stdout.split()
        os.kill(pid, signal.SIGKILL)
        for child in children:          # what a real crash does to its backends, at once
            try:
                os.kill(int(child), signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    # --- addresses -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """A postgresql:// URL over the Unix socket."""
        return (f"postgresql://{self.user}@/{self.database}?host={self.sockdir}"
                f"&port={self.port}")

    def psql(self, query: str, database: str | None = None) -> str:
        out = self._run(os.path.join(self.bindir, "psql"), "-h", self.sockdir, "-p",
                        str(self.port), "-U", self.user, "-d", database or self.database, "-At",
                        "-c", query)
        return out.stdout.strip()

    def new_database(self) -> "PgDatabase":
        """A fresh, empty database in this server (cheaper than a server per test)."""
        name = "t_" + _uuid.uuid4().hex[:12]
        self._run(os.path.join(self.bindir, "createdb"), "-h", self.sockdir, "-p",
                  str(self.port), "-U", self.user, name)
        return PgDatabase(self, name)

    def __enter__(self) -> "PgCluster":
        try:
            return self.init().start().create_database()
        except BaseException:
            self.destroy()
            raise

    def __exit__(self, *exc: object) -> None:
        self.destroy()


class PgDatabase:
    """One database of a PgCluster: its URLs and a psql helper."""

    def __init__(self, cluster: PgCluster, name: str) -> None:
        self.cluster = cluster
        self.name = name

    @property
    def url(self) -> str:
        c = self.cluster
        return f"postgresql://{c.user}@/{self.name}?host={c.sockdir}&port={c.port}"

    def multi_host_url(self) -> str:
        """Two hosts, the first of which refuses connections, as a Patroni client URL is
        written: libpq tries them in order and keeps the one that accepts writes."""
        c = self.cluster
        return (f"postgresql://{c.user}@127.0.0.1:{_free_port()},127.0.0.1:{c.port}/{self.name}"
                f"?target_session_attrs=read-write")

    def psql(self, query: str) -> str:
        return self.cluster.psql(query, self.name)


# --- fixtures (imported by tests/conftest.py, so every test directory can use them) ------------
@pytest.fixture(scope="module")
def pg_cluster() -> Iterator[PgCluster]:
    """A private PostgreSQL server for the module's tests (fails, never skips, without one)."""
    with PgCluster() as cluster:
        yield cluster


@pytest.fixture
def pg_db(pg_cluster: PgCluster) -> PgDatabase:
    """A fresh database for one test; the server is restarted if an earlier test stopped it."""
    if not pg_cluster.is_running():
        pg_cluster.start()
    return pg_cluster.new_database()
