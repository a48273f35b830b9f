"""`make run-pool`: a pool of three simulated hosts on loopback, for trying it by hand.

A private PostgreSQL (Debian's binaries, tests/pgcluster.py's PgCluster; data under
./.pool/, never a system service), then host1 on 127.0.0.11 made on the empty database (the
pool's master), host2 and host3 on 127.0.0.12 and .13 started standalone on their own SQLite
databases and joined with pool.join (each restarts as a slave), all on the same ports (HTTP
8080, HTTPS 8443 unless POOL_HTTP_PORT / POOL_HTTPS_PORT say otherwise), each with its own
simulated hypervisor (XLSIM_STATE_FILE under ./.pool/hostN/). Then a shared file SR, plugged
on every host. Ctrl-C stops the servers and PostgreSQL. Every run starts afresh.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import XenAPI

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pgcluster import PgCluster  # noqa: E402

ROOT = os.path.abspath(os.environ.get("POOL_DIR", os.path.join(HERE, "..", ".pool")))
HTTP = int(os.environ.get("POOL_HTTP_PORT", "8080"))
HTTPS = int(os.environ.get("POOL_HTTPS_PORT", "8443"))
SERVER = os.path.join(os.path.dirname(sys.executable), "xenapi-server")
ADDRESSES = ("127.0.0.11", "127.0.0.12", "127.0.0.13")


class PoolCluster(PgCluster):
    """The private PostgreSQL, its data under ./.pool/pg."""

    def __init__(self) -> None:
        super().__init__()
        shutil.rmtree(self.root, ignore_errors=True)     # not the temporary directory
        self.root = os.path.join(ROOT, "pg")
        os.makedirs(os.path.join(self.root, "sock"), exist_ok=True)
        os.chmod(ROOT, 0o755)
        os.chmod(self.root, 0o755)
        self.datadir = os.path.join(self.root, "data")
        self.sockdir = os.path.join(self.root, "sock")
        self.logfile = os.path.join(self.root, "postgres.log")
        if self.as_other_user:
            for p in (self.root, self.sockdir):
                os.chown(p, self._uid, self._gid)


def _start(n: int, db: str) -> subprocess.Popen[bytes]:
    work = os.path.join(ROOT, f"host{n + 1}")
    os.makedirs(work, exist_ok=True)
    addr = ADDRESSES[n]
    args = [SERVER, "serve", "--backend", "sim", "--db", db, "--http", f"{addr}:{HTTP}",
            "--https", f"{addr}:{HTTPS}", "--cert", os.path.join(work, "server.pem"),
            "--name", f"host{n + 1}", "--log-file", os.path.join(work, "server.log")]
    if db.startswith("postgresql://"):
        args += ["--state-dir", work]
    log = open(os.path.join(work, "stderr.log"), "ab")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env={
        **os.environ, "XLSIM_STATE_FILE": os.path.join(work, "xlsim.state")})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"host{n + 1} exited; see {work}/server.log")
        try:
            XenAPI.Session(f"http://{addr}:{HTTP}").xenapi.session.login_with_password(
                "", "", "1.0", "probe")
        except XenAPI.Failure:
            return proc             # it answers (and refuses the empty login)
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"host{n + 1} did not start; see {work}/server.log")


def main() -> int:
    shutil.rmtree(ROOT, ignore_errors=True)
    os.makedirs(ROOT)
    pg = PoolCluster()
    pg.init().start().create_database()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(_start(0, pg.url))
        password = open(os.path.join(ROOT, "host1", "xapi.root-password")).read().strip()
        for n in (1, 2):
            db = os.path.join(ROOT, f"host{n + 1}", "xapi.db")
            procs.append(_start(n, db))
            own = open(db + ".root-password").read().strip()
            s = XenAPI.Session(f"http://{ADDRESSES[n]}:{HTTP}")
            s.xenapi.login_with_password("root", own, "1.0", "run-pool")
            s.xenapi.pool.join(ADDRESSES[0], "root", password)   # it restarts as a slave
        master = XenAPI.Session(f"http://{ADDRESSES[0]}:{HTTP}")
        master.xenapi.login_with_password("root", password, "1.0", "run-pool")
        x = master.xenapi
        deadline = time.monotonic() + 60
        while len(x.host.get_all()) < 3 or not all(
                x.host_metrics.get_live(x.host.get_metrics(h)) for h in x.host.get_all()):
            if time.monotonic() > deadline:
                raise SystemExit(f"the hosts did not all join; see {ROOT}/host*/server.log")
            time.sleep(0.5)
        shared = os.path.join(ROOT, "shared-sr")
        os.makedirs(shared)
        host1 = next(h for h, r in x.host.get_all_records().items()
                     if r["address"] == ADDRESSES[0])
        x.SR.create(host1, {"path": shared}, "0", "Shared storage", "", "file", "user", True,
                    {})
        print(f"""
== a pool of three simulated hosts: host1 {ADDRESSES[0]} (master), host2 {ADDRESSES[1]},
   host3 {ADDRESSES[2]}; HTTP port {HTTP}, HTTPS port {HTTPS}; shared SR {shared}
== log in to http://{ADDRESSES[0]}:{HTTP} as root, password in {ROOT}/host1/xapi.root-password
   (a login on a slave answers HOST_IS_SLAVE [{ADDRESSES[0]}])
== PostgreSQL: {pg.url}
== Ctrl-C stops everything""", flush=True)
        stop = []
        signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
        while not stop:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        pg.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
