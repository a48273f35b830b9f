"""A pool on PostgreSQL beside one host on SQLite, in the same run, with the same load shape as
test_bench_server.py.

  pool_event_wake  event.from blocked on host B (a slave), VM.set_name_label sent to host A
                   (the master): latency from the write's request (its commit in PostgreSQL
                   included) and from its reply to B's event reply. The same on one SQLite host
                   as the baseline.
  pool_get_record  VM.get_record on the master, on a slave, and on the single SQLite host: 1 and
                   8 clients (keep-alive), calls/s and p50/p99.
  pool_setter      VM.set_name_label acknowledged once durable, 1 and 8 clients, on the master,
                   on a slave and on the single SQLite host; two values in turn, so every call
                   changes the row (SQLite writes nothing for an UPDATE that changes nothing).
  pool_*_wrk       the same two calls with wrk as the load (get_record on 1 and 4 connections,
                   the setter on 8), as test_bench_server.py's *_wrk: the client threads above
                   share the bench process's GIL and the 2 cores with the servers, wrk costs a
                   few microseconds a call.

The pool: a private PostgreSQL (tests/pgcluster.py, fsync on, synchronous_commit on), the same
1,000-VM database as the single host moved into it with `xenapi-server pool-create`, the master
started on it, then two slaves (each its own simulated host). Every process on 127.0.0.1.

Reproduce: .venv/bin/python -m pytest bench/test_bench_pool.py --benchmark-only -s \
           --benchmark-columns=min,median,mean,rounds
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import xmlrpc.client as xc

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "clients"))
from pgcluster import PgCluster  # noqa: E402
from serverproc import SERVER, ServerProcess  # noqa: E402

from benchsize import size  # noqa: E402
from test_bench_server import (Bench, _make_db, measure_calls, measure_wrk,  # noqa: E402
                               needs_wrk, setter_bodies, wake_rounds)

from xenapi_impl.server import inventory  # noqa: E402
from xenapi_impl.store import sql  # noqa: E402

N_VMS = size(1_000, 20)


class Pool:
    """A master (a bench database of `n_vms` VMs moved into PostgreSQL) and `slaves`
    slaves."""

    def __init__(self, slaves: int = 2, n_vms: int = N_VMS) -> None:
        self.pg = PgCluster()
        self.pg.__enter__()
        self.dir = tempfile.mkdtemp(prefix="xapi-bench-pool-")
        self.hosts: list[ServerProcess] = []
        try:
            os.chmod(self.dir, 0o755)
            db = os.path.join(self.dir, "master.db")
            _make_db(db, n_vms)
            # the host record the database was made with is this host's: else the master
            # would add a host of its own at its start and run as a slave of a master nobody
            # runs
            with sqlite3.connect(db) as con:
                (uuid,), = con.execute(f"SELECT uuid FROM {sql.table('host')}").fetchall()
            inventory.set_host_uuid(db, uuid)
            out = subprocess.run([SERVER, "pool-create", "--from-db", db, "--to", self.pg.url],
                                 capture_output=True, text=True, timeout=300)
            assert out.returncode == 0, out.stderr
            self.hosts.append(ServerProcess(self.dir, db=db).start(120))
            for n in range(slaves):
                work = os.path.join(self.dir, f"slave{n}")
                os.mkdir(work)
                self.hosts.append(ServerProcess(
                    work, db=self.pg.url, state_dir=work,
                    env={"XLSIM_STATE_FILE": os.path.join(work, "xlsim.state")},
                    extra=["--monitor-interval", "3600"]).start(120))
        except BaseException:
            self.close()
            raise
        assert "master of the pool" in self.hosts[0].log(), self.hosts[0].log()
        self.sessions = [self._login(h) for h in self.hosts]
        proxy = xc.ServerProxy(self.hosts[0].url)
        # measure a settled pool: every host live (its first lease round and heartbeat done)
        # and the start's work (resync, first monitor round) behind it
        deadline = time.monotonic() + 60
        while True:
            metrics = proxy.host_metrics.get_all_records(self.sessions[0])["Value"]
            if len(metrics) == 1 + slaves and all(m["live"] for m in metrics.values()):
                break
            assert time.monotonic() < deadline, metrics
            time.sleep(0.2)
        time.sleep(3)
        # not VM.get_all_records: the RSS bench measures hosts that have served no bulk read
        self.vm, = proxy.VM.get_by_name_label(self.sessions[0], "vm-0")["Value"]

    @staticmethod
    def _login(h: ServerProcess) -> str:
        proxy = xc.ServerProxy(h.url)
        reply = getattr(proxy, "session.slave_local_login_with_password")("root", "bench-pw")
        assert reply["Status"] == "Success", reply
        return reply["Value"]

    def close(self) -> None:
        for h in self.hosts:
            h.stop()
        self.pg.__exit__(None, None, None)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def pool():
    p = Pool()
    yield p
    p.close()


@pytest.fixture(scope="module")
def single():
    b = Bench(N_VMS)
    yield b
    b.close()


_HOST = {"master": 0, "slave": 1}      # where -> the index in pool.hosts / pool.sessions


def _target(pool: Pool, single: Bench, where: str) -> tuple[int, str, str]:
    """(port, session, vm) of the server a figure is measured on."""
    if where == "sqlite":
        return single.port, single.session, single.vm
    n = _HOST[where]
    return pool.hosts[n].ports["http"], pool.sessions[n], pool.vm


def _pid(pool: Pool, single: Bench, where: str) -> int:
    """The process of the server a figure is measured on (its CPU is reported)."""
    srv = single.srv if where == "sqlite" else pool.hosts[_HOST[where]]
    assert srv.proc is not None
    return srv.proc.pid


WHERE = ["sqlite", "master", "slave"]


@pytest.mark.parametrize("clients", [1, 8])
@pytest.mark.parametrize("where", WHERE)
def test_pool_get_record(benchmark, pool, single, where, clients):
    benchmark.group = f"pool: VM.get_record XML-RPC keep-alive, {clients} client(s)"
    port, session, vm = _target(pool, single, where)
    measure_calls(benchmark, port, [xc.dumps((session, vm), "VM.get_record").encode()], clients,
                  size(2000, 16) // clients, size(5, 1), f"get_record {where} x{clients}")


@pytest.mark.parametrize("clients", [1, 8])
@pytest.mark.parametrize("where", WHERE)
def test_pool_setter(benchmark, pool, single, where, clients):
    benchmark.group = f"pool: VM.set_name_label (durable commit), {clients} client(s)"
    port, session, vm = _target(pool, single, where)
    measure_calls(benchmark, port, setter_bodies(session, vm), clients,
                  size(400, 16) // clients, size(3, 1), f"setter {where} x{clients}")


@needs_wrk
@pytest.mark.parametrize("connections", [1, 4])
@pytest.mark.parametrize("where", WHERE)
def test_pool_get_record_wrk(benchmark, pool, single, where, connections):
    benchmark.group = f"pool: VM.get_record XML-RPC keep-alive, wrk, {connections} connection(s)"
    port, session, vm = _target(pool, single, where)
    measure_wrk(benchmark, port, [_pid(pool, single, where)],
                [xc.dumps((session, vm), "VM.get_record").encode()], connections,
                f"get_record {where} wrk x{connections}")


@needs_wrk
@pytest.mark.parametrize("where", WHERE)
def test_pool_setter_wrk(benchmark, pool, single, where):
    benchmark.group = "pool: VM.set_name_label (durable commit), wrk, 8 connections"
    port, session, vm = _target(pool, single, where)
    measure_wrk(benchmark, port, [_pid(pool, single, where)], setter_bodies(session, vm), 8,
                f"setter {where} wrk x8")


@pytest.mark.parametrize("where", ["sqlite", "slave->slave", "master->slave"])
def test_pool_event_wakeup(benchmark, pool, single, where):
    benchmark.group = "pool: event.from wake-up"
    if where == "sqlite":
        port, session, vm = _target(pool, single, "sqlite")
        write = wait = (port, session)
    else:
        vm = pool.vm
        w = 0 if where == "master->slave" else 2
        write = (pool.hosts[w].ports["http"], pool.sessions[w])
        wait = (pool.hosts[1].ports["http"], pool.sessions[1])
    info = wake_rounds(benchmark, write, wait, vm, size(300, 3), warmup=size(20, 1))
    print(f"\nevent.from wake-up {where}: {info}")
