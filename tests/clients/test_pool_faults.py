"""Faults of a pool's database and hosts, through real processes: three `xenapi-server serve`
hosts (test_pool.py's pool: 127.0.0.11-13, leases of 2 s) on a private PostgreSQL, driven with
the official SDK from several client threads.

- PostgreSQL SIGKILLed during writes from two clients on each host, down longer than a lease:
  every acknowledged write is there afterwards (on every host and in the database), the
  hosts reconnect by themselves and none is fenced for the database's outage.
- PostgreSQL frozen (SIGSTOP) longer than a lease, the slaves a moment longer: every lease
  runs out, and the master, whose own renewal waited as long, fences no host for it.
- An event.from token taken before a master failover (the master SIGKILLed during writes)
  gets every change made since, on the new master and on a slave, or EVENTS_LOST: never a gap.
- A token survives a restart of its host and a restart of PostgreSQL.
- The commit lock held longer than a lease (as by a host frozen in a commit): no host takes it
  for a database outage.
- A slave SIGSTOPped past its lease, declared dead, its VM started elsewhere, then SIGCONT:
  it stops by itself, and restarted it resumes no VM (the stale domain goes, the records stay).
"""
from __future__ import annotations

import os
import signal
import threading
import time

import XenAPI

from test_pool import LEASE, Host, _domains, _live, _wait, pool  # noqa: F401 - the fixture
from vm_records import vm_create_record
from xenapi_impl.store import codec


def _network(name: str) -> dict:
    return {"name_label": name, "name_description": "", "MTU": "1500", "other_config": {},
            "bridge": "", "managed": True, "tags": []}


class Writers:
    """`per_host` SDK clients on each host, each creating networks and renaming its last one
    in a loop; every acknowledged write is recorded (ref -> the name it acknowledged), and
    each rename sent, until it is acknowledged or refused: a rename whose server died after
    committing it but before answering is in the database without an acknowledgement."""

    def __init__(self, hosts: list[Host], password: str, per_host: int = 2) -> None:
        self.acked: dict[str, str] = {}
        self.in_flight: dict[str, str] = {}          # ref -> the rename sent, not yet answered
        self.acks: dict[str, list[float]] = {}       # client -> times of its acknowledgements
        self.failures: list[tuple[str, list[str]]] = []
        self.errors: list[BaseException] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(h, password, f"{h.n}.{c}"))
                        for h in hosts for c in range(per_host)]

    def start(self) -> "Writers":
        for t in self.threads:
            t.start()
        return self

    def _run(self, host: Host, password: str, name: str) -> None:
        x = host.local_session(password).xenapi
        mine: list[str] = []
        self.acks[name] = []
        i = 0
        while not self.stop.is_set():
            i += 1
            label = f"{name}-{i}"
            try:
                if mine and i % 2:
                    ref = mine[-1]
                    with self.lock:
                        self.in_flight[ref] = label
                    x.network.set_name_label(ref, label)
                else:
                    ref = x.network.create(_network(label))
                    mine.append(ref)
                with self.lock:
                    self.acked[ref] = label
                    self.in_flight.pop(ref, None)
                self.acks[name].append(time.monotonic())
            except XenAPI.Failure as f:
                # refused, so not written; unless the server could not learn whether its
                # commit was made (the database gone between its COMMIT and its answer, and
                # not back within the store's settle time), which the message says
                if "is unknown" not in " ".join(f.details):
                    with self.lock:
                        self.in_flight.pop(mine[-1] if mine else "", None)
                self.failures.append((name, f.details))
                time.sleep(0.05)
            except BaseException as exc:    # noqa: BLE001 - a host that went away: reported
                self.errors.append(exc)
                return

    def possible(self, ref: str) -> set[str]:
        """The names `ref` may have now: its acknowledged one, or a rename still unanswered."""
        return {n for n in (self.acked.get(ref), self.in_flight.get(ref)) if n is not None}

    def acks_since(self, t: float) -> int:
        """The fewest acknowledgements any one client had since `t`."""
        return min(sum(1 for a in acks if a >= t) for acks in self.acks.values())

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)


def _stall_report(hosts: list[Host], pg_db) -> str:
    """What a stuck pool is doing: the database's sessions and every host's asyncio tasks
    (SIGUSR1 makes a server log them) with the end of its log."""
    parts = [pg_db.psql("SELECT pid, application_name, state, wait_event_type, wait_event,"
                        " now() - xact_start, left(query, 80) FROM pg_stat_activity")]
    for h in hosts:
        if h.proc.proc.poll() is None:
            h.proc.proc.send_signal(signal.SIGUSR1)
    time.sleep(2)
    for h in hosts:
        parts.append(f"--- host {h.n} ---\n{h.proc.log()[-15000:]}")
    return "\n".join(parts)


def _writing(hosts: list[Host], password: str) -> Writers:
    """Two SDK clients on each host, writing, each acknowledged a few times already."""
    writers = Writers(hosts, password).start()
    try:
        _wait(lambda: len(writers.acks) == 2 * len(hosts) and writers.acks_since(0) >= 5, 60,
              "every client writing")
    except BaseException:
        writers.finish()
        raise
    return writers


def _names_in_database(pg_db) -> dict[str, str]:
    out = pg_db.psql('SELECT ref, name_label FROM "c_network"')
    return {ref: codec.decode(name) for ref, name in
            (line.split("|", 1) for line in out.splitlines())}


def test_postgresql_killed_during_writes_from_several_hosts(pool, pg_db):
    a, b, c = pool
    password = a.proc.password
    writers = _writing(pool, password)
    try:
        cluster = pg_db.cluster
        cluster.kill_postmaster()
        time.sleep(LEASE + 1.5)                  # every lease runs out meanwhile
        cluster.start()
        t_up = time.monotonic()
        # (on a loaded machine the hosts' writes have stalled for over 60 s after the restart:
        # cause not found yet, see the closing note; the test still needs every client back)
        try:
            _wait(lambda: writers.acks_since(t_up) >= 5, 180, "every client writing again")
        except AssertionError as exc:
            since = {n: len([t for t in v if t >= t_up]) for n, v in writers.acks.items()}
            raise AssertionError(
                f"{exc}: failures {writers.failures[-6:]}, errors {writers.errors!r}, acks "
                f"since {since}\n{_stall_report(pool, pg_db)}") from None
        print(f"writes resumed on every host {time.monotonic() - t_up:.1f} s after "
              f"PostgreSQL was back; {len(writers.failures)} calls failed during the outage")
    finally:
        writers.finish()
    assert not writers.errors, writers.errors
    # a call during the outage gets an error naming it, never a hang or a broken reply
    assert {d[0] for _n, d in writers.failures} <= {"INTERNAL_ERROR"}, writers.failures
    # no host was fenced for the database's outage: all three serve, all three live
    for h in pool:
        assert h.proc.proc.poll() is None, h.proc.log()[-3000:]
    x = a.session(password).xenapi
    _wait(lambda: all(_live(x, h) for h in x.host.get_all()), 10, "every host live")

    # every acknowledged write is in the database, and every host's memory equals it
    stored = _names_in_database(pg_db)
    lost = {ref: (name, stored.get(ref)) for ref, name in writers.acked.items()
            if stored.get(ref) not in writers.possible(ref)}
    assert not lost, f"{len(lost)} acknowledged writes lost (acknowledged, stored): " \
                     f"{list(lost.items())[:5]}"
    for h in pool:
        xh = h.local_session(password).xenapi
        _wait(lambda: {r: n["name_label"] for r, n in xh.network.get_all_records().items()
                       if r in stored} == stored, 10, f"host {h.n} equal to the database")


def test_postgresql_frozen_longer_than_a_lease_fences_no_host(pool, pg_db):
    """PostgreSQL SIGSTOPped for longer than a lease, then SIGCONTed, the slaves a moment
    later: no wait reaches the store's timeout, so nothing fails, yet every lease ran out.
    The master, whose own renewal waited as long, must not take the others' expired leases
    for silent hosts: all three stay live and serving, and nobody's writes are refused."""
    a, b, c = pool
    password = a.proc.password
    writers = _writing(pool, password)
    try:
        slaves = [h.proc.proc.pid for h in (b, c)]
        for pid in slaves:
            os.kill(pid, signal.SIGSTOP)
        pids = pg_db.cluster.freeze()
        try:
            time.sleep(LEASE + 2)
            # the master gets through first (as one whose connection came back sooner): it
            # sees the slaves' leases run out, but it could not renew its own either
            pg_db.cluster.thaw(pids)
            time.sleep(1.5)
        finally:
            for pid in slaves:
                os.kill(pid, signal.SIGCONT)
            pg_db.cluster.thaw(pids)
        t_up = time.monotonic()
        try:
            _wait(lambda: writers.acks_since(t_up) >= 10, 60, "every client writing again")
        except AssertionError as exc:
            raise AssertionError(f"{exc}: failures {writers.failures[-6:]}\n"
                                 f"{_stall_report(pool, pg_db)}") from None
    finally:
        writers.finish()
    assert not writers.errors, writers.errors
    assert not [f for f in writers.failures if "lease" in f[1][-1]], writers.failures[-6:]
    for h in pool:
        assert h.proc.proc.poll() is None, h.proc.log()[-3000:]
        for said in ("stopped renewing its lease", "CRITICAL"):    # fenced a host, was fenced
            assert said not in h.proc.log(), h.proc.log()[-3000:]
    x = a.session(password).xenapi
    _wait(lambda: all(_live(x, h) for h in x.host.get_all()), 10, "every host live")


def test_a_held_commit_lock_is_not_a_database_outage(pool, pg_db):
    """A host frozen inside a commit holds the pool's commit lock (`_head`) until PostgreSQL
    ends its transaction (5 s): every host's writes wait behind it, but the database answers
    and the leases are renewed all along. No host may take that for an outage, whose quiet
    period (no host fenced for 14 s) would let a dead host go unnoticed that long. A
    transaction holding the lock for 3 s stands in for the frozen host."""
    a = pool[0]
    x = a.session(a.proc.password).xenapi
    net = x.network.create(_network("before the hold"))
    seen = [len(h.proc.log()) for h in pool]
    # longer than a lease: the heartbeats wait it out, the renewals must not
    pg_db.psql("BEGIN; UPDATE _head SET gen = gen WHERE id = 1; SELECT pg_sleep(3); ROLLBACK")
    x.network.set_name_label(net, "after the hold")
    time.sleep(LEASE)                   # lease rounds after the hold
    for h, n in zip(pool, seen):
        said = h.proc.log()[n:]
        assert "answers again" not in said and "failed" not in said, said[-3000:]
    assert all(_live(x, h) for h in x.host.get_all())


def _changes(x, token: str) -> tuple[dict[str, tuple[str, dict]], str]:
    """event.from on networks from `token`: ref -> (last operation, last snapshot); the new
    token."""
    got = x.event_from(["network"], token, 0.0)
    last = {}
    for e in got["events"]:
        last[e["ref"]] = (e["operation"], e.get("snapshot"))
    return last, got["token"]


def test_a_token_from_before_a_master_failover(pool):
    """The master SIGKILLed during writes, a slave takes over: a token taken before, on the
    old master or on a slave, gets every change made since (what the old master acknowledged
    before it died, what the new master wrote after), or EVENTS_LOST; never a silent gap."""
    a, b, c = pool
    password = a.proc.password
    xa = a.session(password).xenapi
    before = xa.network.create(_network("before"))
    token_master = xa.event_from(["network"], "", 0.0)["token"]
    xc = c.local_session(password).xenapi
    _wait(lambda: before in xc.network.get_all(), 10, "the slave up to date")
    token_slave = xc.event_from(["network"], "", 0.0)["token"]

    writers = Writers([a], password, per_host=3).start()
    _wait(lambda: len(writers.acks) == 3 and writers.acks_since(0) >= 5, 60, "writes on a")
    a.proc.kill()                               # SIGKILL the master in the middle of them
    writers.finish()
    xb = b.local_session(password).xenapi
    xb.pool.emergency_transition_to_master()
    xn = b.session(password).xenapi
    after = xn.network.create(_network("after the failover"))
    xn.network.set_name_label(before, "renamed after the failover")
    acked = dict(writers.acked, **{after: "after the failover",
                                   before: "renamed after the failover"})

    for x, token, where in ((xn, token_master, "new master"), (xc, token_slave, "slave")):
        _wait(lambda: x.network.get_name_label(after) == acked[after], 10,
              f"the {where} up to date")
        try:
            last, new_token = _changes(x, token)
        except XenAPI.Failure as f:
            assert f.details[0] == "EVENTS_LOST", f.details
            continue
        # every acknowledged change is there, as its last value
        for ref, name in acked.items():
            assert ref in last, f"{where}: the change of {ref} ({name}) is missing"
            op, snap = last[ref]
            names = {name} if ref in (before, after) else writers.possible(ref)
            assert op in ("add", "mod") and snap["name_label"] in names, (where, ref, names)
        # and nothing else but what changed since: the record as it is now
        for ref, (op, snap) in last.items():
            assert snap["name_label"] == x.network.get_name_label(ref)
        # the token it returned goes on from there
        acked[after] = f"later, seen on the {where}"
        xn.network.set_name_label(after, acked[after])
        _wait(lambda: x.network.get_name_label(after) == acked[after], 10, f"{where}: later")
        last, _ = _changes(x, new_token)
        assert set(last) == {after} and last[after][1]["name_label"] == acked[after]


def test_a_token_survives_a_host_restart_and_a_database_restart(pool, pg_db):
    a, b, c = pool
    password = a.proc.password
    xa = a.session(password).xenapi
    kept = xa.network.create(_network("kept"))
    gone = xa.network.create(_network("gone"))
    xc = c.local_session(password).xenapi
    _wait(lambda: gone in xc.network.get_all(), 10, "the slave up to date")
    token = xc.event_from(["network"], "", 0.0)["token"]

    c.proc.stop()                               # the token's host goes away
    xa.network.set_name_label(kept, "renamed while c was down")
    pg_db.cluster.restart()                     # and so does the database
    xa = a.session(password).xenapi             # (a's sessions are its own: still valid)
    new = xa.network.create(_network("made after the database restart"))
    xa.network.destroy(gone)
    c.start()
    xc = c.local_session(password).xenapi
    last, _ = _changes(xc, token)
    assert {ref: op for ref, (op, _s) in last.items()} == {kept: "mod", new: "add", gone: "del"}
    assert last[kept][1]["name_label"] == "renamed while c was down"
    assert c.proc.log().count("Traceback") == 0


def test_a_fenced_slave_restarted_resumes_no_vm(pool, pg_db):
    a, b, c = pool
    password = a.proc.password
    x = a.session(password).xenapi
    hosts = {h["address"]: ref for ref, h in x.host.get_all_records().items()}
    vm = x.VM.create(vm_create_record("on the slave that stops"))
    x.VM.start_on(vm, hosts[c.address], False, False)
    dom = x.VM.get_uuid(vm)
    assert dom in _domains(c)

    proc = c.proc.proc
    os.kill(proc.pid, signal.SIGSTOP)
    _wait(lambda: not _live(x, hosts[c.address]), 3 * LEASE + 5, "the stopped slave not live")
    x.host.declare_dead(hosts[c.address])
    assert x.VM.get_power_state(vm) == "Halted"
    x.VM.start_on(vm, hosts[b.address], False, False)
    assert dom in _domains(b)
    os.kill(proc.pid, signal.SIGCONT)
    assert proc.wait(20) == 3                   # fenced: stopped by itself
    assert dom in _domains(c)                   # its domain left as it was while fenced

    c.start()                                   # restarted: a slave again
    _wait(lambda: _live(x, hosts[c.address]), 10, "the restarted slave live")
    # it resumed no VM: the VM runs on b alone, its records untouched by c
    assert x.VM.get_resident_on(vm) == hosts[b.address]
    assert x.VM.get_power_state(vm) == "Running"
    assert dom in _domains(b)
    assert dom not in _domains(c), "the VM runs twice"
    x.VM.hard_shutdown(vm)
