"""The PostgreSQL store as a pool shares it: several store instances (as several server processes
would open them, each with its own memory) on one private PostgreSQL server (tests/pgcluster.py).

What the SQLite contract tests also check runs in test_store.py (parametrized over backends);
here: coherence between instances, serialised conflicting writes, tokens across restarts,
EVENTS_LOST below the retained log, and no acknowledged write lost when PostgreSQL restarts or
crashes during writes.
"""
from __future__ import annotations

import asyncio
import os
import time

import psycopg
import pytest
from harness import PASSWORD, Harness
from pgproxy import CommitCutter

from xenapi_impl.errors import XenAPIError
from xenapi_impl.model import MODEL
from xenapi_impl.server.events import make_token
from xenapi_impl.store import (ClassSpec, CommitUnknown, Credential, NoSuchObject,
                               StoreConflict, StoreFenced, StoreUnavailable, codec, new_ref,
                               new_uuid, open_database, store_specs)
from xenapi_impl.store import postgres
from xenapi_impl.store.postgres import PostgresStore
from xenapi_impl.store.retry import STALE_RETRIES, again_if_stale

SPECS = [
    ClassSpec("VM", ("uuid", "name_label", "other_config")),
    ClassSpec("task", ("uuid", "name_label", "status"), persistent=False),
]


def vm(name: str = "a", **extra):
    return {"uuid": new_uuid(), "name_label": name, "other_config": {}, **extra}


async def until(pred, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out waiting for the condition"
        await asyncio.sleep(0.01)


def test_two_processes_see_each_others_writes_events_and_users(pg_db):
    async def main():
        a = await open_database(pg_db.url, SPECS)
        # the second one connects as a Patroni client would: several hosts, the writable one
        b = await open_database(pg_db.multi_host_url(), SPECS)
        assert isinstance(a, PostgresStore) and isinstance(b, PostgresStore)
        token = b.generation
        ref = new_ref()
        waiter = asyncio.create_task(b.wait_for_change(token, 10))
        await asyncio.sleep(0.05)
        t0 = time.monotonic()
        async with a.transaction() as t:
            t.create("VM", ref, vm("one", other_config={"k": "v"}))
        assert await waiter is True                 # woken by NOTIFY, not by a poll
        wake = time.monotonic() - t0
        assert wake < 2.0, wake
        print(f"cross-instance wake-up after commit: {wake * 1000:.1f} ms")
        assert b.get("VM", ref) == a.get("VM", ref)
        [ch] = b.changes_since(token)
        assert (ch.ref, ch.operation, ch.generation) == (ref, "add", a.generation)

        # the other way round, a deletion; both agree on generations and timestamps
        token = a.generation
        async with b.transaction() as t:
            t.delete("VM", ref)
        await until(lambda: a.generation == b.generation)
        assert a.get("VM", ref) is None
        assert [(c.ref, c.operation) for c in a.changes_since(token)] == [(ref, "del")]
        assert a.changes_since(0) == b.changes_since(0) == []

        # users are shared (a `user add` on one host lets them log in everywhere)
        await a.put_credential(Credential("alice", "hash", "vm-admin"))
        await until(lambda: b.get_credential("alice") is not None)
        assert b.get_credential("alice") == Credential("alice", "hash", "vm-admin")
        assert await b.delete_credential("alice")
        await until(lambda: a.get_credential("alice") is None)

        # tasks and sessions stay in their process's memory
        async with a.transaction() as t:
            t.create("task", new_ref(), {"uuid": new_uuid(), "name_label": "t", "status": "x"})
        async with a.transaction() as t:
            t.create("VM", new_ref(), vm("after the task"))
        await until(lambda: b.generation == a.generation)
        assert len(a.records("task")) == 1 and len(b.records("task")) == 0
        assert len(b.records("VM")) == 1
        await a.close()
        await b.close()
    asyncio.run(main())


async def two_stores_and_a_vm(url: str):
    """Two processes' stores on one database, and a VM (other_config n=0) both have seen."""
    a = await open_database(url, SPECS)
    b = await open_database(url, SPECS)
    ref = new_ref()
    async with a.transaction() as t:
        t.create("VM", ref, vm("0", other_config={"n": 0}))
    await until(lambda: b.get("VM", ref) is not None)
    return a, b, ref


def test_a_step_refused_as_stale_runs_again_on_what_the_other_process_wrote(pg_db):
    """store/retry.py again_if_stale, as a server's start steps use it (two hosts of a pool
    starting at once): the step reads, another process commits the same object, the step's
    commit is refused; it runs again after taking in the other write, and nothing is lost.
    A step that always loses gives up after STALE_RETRIES tries with the conflict."""
    async def main():
        a, b, ref = await two_stores_and_a_vm(pg_db.url)
        runs = []

        async def step():
            t = b.transaction()
            n = t.get("VM", ref)["other_config"]["n"]
            runs.append(n)
            if len(runs) == 1:           # the other host writes between the read and the commit
                async with a.transaction() as ta:
                    ta.update("VM", ref, {"other_config": {"n": 10}})
            t.update("VM", ref, {"other_config": {"n": n + 1}})
            await t.commit()
            return n + 1

        assert await again_if_stale(b, step) == 11
        assert runs == [0, 10]
        await until(lambda: a.generation == b.generation)
        assert a.get("VM", ref)["other_config"] == {"n": 11}

        tries = 0

        async def always_loses():
            nonlocal tries
            tries += 1
            t = b.transaction()
            async with a.transaction() as ta:
                ta.update("VM", ref, {"name_label": f"a{tries}"})
            t.update("VM", ref, {"name_label": "b"})
            await t.commit()

        with pytest.raises(StoreConflict):
            await again_if_stale(b, always_loses)
        assert tries == STALE_RETRIES
        await until(lambda: a.generation == b.generation)
        assert b.get("VM", ref)["name_label"] == f"a{STALE_RETRIES}"
        await a.close()
        await b.close()
    asyncio.run(main())


def test_stale_write_is_refused_and_concurrent_writes_serialise(pg_db):
    async def main():
        a, b, ref = await two_stores_and_a_vm(pg_db.url)

        # both read n = 0 and write n + 1: the second commit was based on a stale read
        ta, tb = a.transaction(), b.transaction()
        ta.update("VM", ref, {"other_config": {"n": ta.get("VM", ref)["other_config"]["n"] + 1}})
        tb.update("VM", ref, {"other_config": {"n": tb.get("VM", ref)["other_config"]["n"] + 1},
                              "name_label": "b"})
        await ta.commit()
        with pytest.raises(StoreConflict):
            await tb.commit()
        await until(lambda: b.generation == a.generation)
        assert b.get("VM", ref) == a.get("VM", ref)
        assert b.get("VM", ref)["other_config"] == {"n": 1} and b.get("VM", ref)["name_label"] == "0"

        # many increments from both at once, retried on conflict: none is lost
        per_store = 40
        conflicts = 0

        async def increment(store, times):
            nonlocal conflicts
            for _ in range(times):
                while True:
                    t = store.transaction()
                    n = t.get("VM", ref)["other_config"]["n"]
                    await asyncio.sleep(0)           # let the other store interleave
                    t.update("VM", ref, {"other_config": {"n": n + 1}})
                    try:
                        await t.commit()
                        break
                    except StoreConflict:
                        conflicts += 1
                        await until(lambda: store.generation >= other(store).generation, 5)

        def other(store):
            return b if store is a else a

        await asyncio.gather(increment(a, per_store), increment(b, per_store))
        await until(lambda: a.generation == b.generation)
        want = 1 + 2 * per_store
        assert a.get("VM", ref)["other_config"]["n"] == want
        assert b.get("VM", ref)["other_config"]["n"] == want
        # one order for everyone: the same changes, generations and commit times everywhere
        def seen(s):
            return [(ch.ref, ch.operation, ch.generation, ch.timestamp, ch.record)
                    for ch in s.changes_since(1)]
        assert seen(a) == seen(b) and len(seen(a)) == 1
        # the log, in generation order, holds n = 1, 2, ... 81: each committed increment read
        # the value the one before it committed
        logged = [codec.decode(f)["other_config"]["n"] for f in pg_db.psql(
            "SELECT fields FROM _log WHERE op = 'update' ORDER BY gen, seq").splitlines()]
        assert logged == list(range(1, want + 1))
        c = await open_database(pg_db.url, SPECS)
        assert seen(c) == seen(a)
        assert c.get("VM", ref)["other_config"]["n"] == want
        print(f"{conflicts} conflicts retried in {2 * per_store} concurrent increments")
        for s in (a, b, c):
            await s.close()
    asyncio.run(main())


def test_tokens_survive_process_and_database_restarts(pg_db, pg_cluster):
    x, y, z = new_ref(), new_ref(), new_ref()

    async def first():
        a = await open_database(pg_db.url, SPECS)
        async with a.transaction() as t:
            t.create("VM", x, vm("x"))
            t.create("VM", y, vm("y"))
        token = a.generation
        async with a.transaction() as t:
            t.update("VM", x, {"name_label": "x2"})
            t.delete("VM", y)
            t.create("VM", z, vm("z"))
        last = a.generation
        await a.close()
        return token, last

    token, last = asyncio.run(first())
    pg_cluster.restart()

    async def second():
        c = await open_database(pg_db.url, SPECS)
        assert c.generation == last
        got = [(ch.ref, ch.operation, ch.generation) for ch in c.changes_since(token)]
        assert got == [(x, "mod", last), (y, "del", last), (z, "add", last)]
        assert c.changes_since(last) == []
        assert {ch.ref for ch in c.changes_since(0)} == {x, z}      # "" token: everything live
        await c.close()
    asyncio.run(second())


def test_token_older_than_the_retained_log_gets_events_lost(pg_db):
    specs = store_specs(MODEL)

    async def main():
        s1 = await PostgresStore.open(pg_db.url, specs, log_retention=20)
        h1 = await Harness(store=s1).start()
        session = await h1.login()
        pool = (await h1.call("pool.get_all", session))[0]
        old = make_token(s1.generation)
        for i in range(60):
            await h1.call("pool.set_name_label", session, pool, f"p{i}")
        # the running process still has every change in memory: the old token is exact
        events = (await h1.call("event.from", session, ["pool"], old, 0.0))["events"]
        assert [e["operation"] for e in events] == ["mod"]

        # a process started now only has the retained log: it says so instead of a silent gap
        s2 = await PostgresStore.open(pg_db.url, specs)
        assert s2.horizon > s1.generation - 60
        h2 = await Harness(store=s2).start()
        # a second host of the pool: a slave, so a session local to it
        session2 = await h2.call("session.slave_local_login_with_password", "root", PASSWORD)
        with pytest.raises(XenAPIError) as err:
            await h2.call("event.from", session2, ["pool"], old, 0.0)
        assert err.value.code == "EVENTS_LOST"
        recent = make_token(s2.generation)
        await h1.call("pool.set_name_label", session, pool, "after")
        result = await h2.call("event.from", session2, ["pool"], recent, 10.0)
        assert [e["snapshot"]["name_label"] for e in result["events"]] == ["after"]
        everything = await h2.call("event.from", session2, ["pool"], "", 0.0)
        assert [e["operation"] for e in everything["events"]] == ["add"]
        await h2.close()
        await h1.close()
    asyncio.run(main())


@pytest.mark.parametrize("outage", ["restart", "sigkill"])
def test_database_restart_during_writes_loses_no_acknowledged_write(pg_db, pg_cluster, outage):
    timeout = 3.0

    async def main():
        a = await PostgresStore.open(pg_db.url, SPECS, timeout=timeout, poll_interval=1.0)
        b = await PostgresStore.open(pg_db.url, SPECS, timeout=timeout, poll_interval=1.0)
        acked: dict[str, str] = {}          # ref -> acknowledged name_label
        # ref -> names of updates answered CommitUnknown since its last acknowledged one (the
        # database did not come back in time to say): the database may hold one of them. An
        # update refused otherwise is not there: the store asked the database when it could
        unknown: dict[str, set[str]] = {}
        failures: list[tuple[str, float]] = []
        stop = asyncio.Event()

        async def writer():
            i = 0
            while not stop.is_set():
                i += 1
                t0 = time.monotonic()
                try:
                    if i % 3 and acked:
                        ref = list(acked)[-1]
                        try:
                            async with a.transaction() as t:
                                t.update("VM", ref, {"name_label": f"u{i}"})
                        except CommitUnknown:
                            unknown.setdefault(ref, set()).add(f"u{i}")
                            raise
                        acked[ref] = f"u{i}"
                        unknown.pop(ref, None)
                    else:
                        ref = new_ref()
                        async with a.transaction() as t:
                            t.create("VM", ref, vm(f"c{i}"))
                        acked[ref] = f"c{i}"
                except StoreUnavailable as exc:
                    failures.append((str(exc), time.monotonic() - t0))
                    await asyncio.sleep(0.05)

        task = asyncio.create_task(writer())
        await until(lambda: len(acked) >= 20)
        if outage == "restart":
            await asyncio.to_thread(pg_cluster.restart)
        else:
            await asyncio.to_thread(pg_cluster.kill_postmaster)
            await asyncio.sleep(0.5)             # callers meanwhile: errors, not hangs
            await asyncio.to_thread(pg_cluster.start)
        count = len(acked)
        t_up = time.monotonic()
        await until(lambda: len(acked) >= count + 20, 30)    # reconnected by itself
        recovered = time.monotonic() - t_up
        stop.set()
        await task
        print(f"{outage}: {len(failures)} calls failed during the outage "
              f"(slowest {max((d for _m, d in failures), default=0):.2f} s); writes resumed "
              f"{recovered:.2f} s after the server was back")
        # a caller during the outage gets a clear error within the timeout, never a hang
        assert all(d < timeout + 2 for _m, d in failures), failures
        assert all("unavailable" in m for m, _d in failures), failures

        await a.catch_up()      # an unacknowledged commit may still have made it: the log says
        c = await PostgresStore.open(pg_db.url, SPECS)
        for ref, name in acked.items():
            assert c.get("VM", ref) is not None, "acknowledged create lost"
            assert c.get("VM", ref)["name_label"] in {name} | unknown.get(ref, set()), \
                "acknowledged update lost"
        # nothing half-applied: every memory equals the database
        assert dict(a.records("VM")) == dict(c.records("VM"))
        await until(lambda: b.generation >= c.generation, 15)      # b reconnected too
        assert dict(b.records("VM")) == dict(c.records("VM"))
        for s in (a, b, c):
            await s.close()
    asyncio.run(main())


def test_a_commit_whose_answer_was_lost_is_settled_by_asking_the_database(pg_db):
    """The connection dies around a commit's COMMIT (a proxy cuts it): after the COMMIT was
    made, the caller is told it succeeded (and memory has it); before it reached the server,
    the caller gets the failure and nothing changed; and if the database does not answer
    within `settle_timeout`, the caller is told the outcome is unknown, and the change, which
    was made, reaches memory from the log."""
    def name_in_database(ref: str) -> str:
        return codec.decode(pg_db.psql(f"SELECT name_label FROM \"c_VM\" WHERE ref = '{ref}'"))

    async def main():
        proxy = await CommitCutter(pg_db.cluster.port).start()
        a = await PostgresStore.open(proxy.url(pg_db.cluster.user, pg_db.name), SPECS,
                                     timeout=2.0, settle_timeout=10.0)
        b = await PostgresStore.open(pg_db.url, SPECS)
        try:
            ref = new_ref()
            async with a.transaction() as t:
                t.create("VM", ref, vm("before"))

            proxy.cut("reply")                  # made, the answer lost: success
            async with a.transaction() as t:
                t.update("VM", ref, {"name_label": "committed"})
            assert proxy.cuts == 1
            assert a.get("VM", ref)["name_label"] == "committed"
            assert name_in_database(ref) == "committed"
            await until(lambda: b.get("VM", ref)["name_label"] == "committed")
            assert a.changes_since(0) == b.changes_since(0)

            proxy.cut("request")                # never reached the server: the failure
            gen = a.generation
            with pytest.raises(StoreUnavailable) as refused:
                async with a.transaction() as t:
                    t.update("VM", ref, {"name_label": "not committed"})
            assert proxy.cuts == 2 and not isinstance(refused.value, CommitUnknown)
            assert a.generation == gen and a.get("VM", ref)["name_label"] == "committed"
            assert name_in_database(ref) == "committed"
            async with a.transaction() as t:    # the next write takes the same generation
                t.update("VM", ref, {"name_label": "next"})
            assert a.generation == gen + 1

            a.settle_timeout = 1.0              # made, and no answer in time: unknown
            proxy.cut("reply")
            proxy.refuse = True
            with pytest.raises(CommitUnknown) as unknown:
                async with a.transaction() as t:
                    t.update("VM", ref, {"name_label": "unknown"})
            assert "unknown" in str(unknown.value)
            assert a.get("VM", ref)["name_label"] == "next"
            proxy.refuse = False
            assert name_in_database(ref) == "unknown"
            await a.catch_up()                  # the log is the truth: it was made
            assert a.get("VM", ref)["name_label"] == "unknown"
            await until(lambda: b.generation == a.generation)
            assert a.changes_since(gen) == b.changes_since(gen)
        finally:
            for s in (a, b):
                await s.close()
            await proxy.close()
    asyncio.run(main())


def test_a_database_that_went_back_is_refused_not_diverged_from(pg_db):
    """A restored backup, or a failover to a replica that missed commits, would reuse
    generations this process already applied: it refuses to write rather than diverge."""
    async def main():
        a = await open_database(pg_db.url, SPECS)
        for i in range(3):
            async with a.transaction() as t:
                t.create("VM", new_ref(), vm(str(i)))
        pg_db.psql("UPDATE _head SET gen = 1")
        with pytest.raises(StoreUnavailable, match="went back"):
            async with a.transaction() as t:
                t.create("VM", new_ref(), vm("x"))
        assert len(a.records("VM")) == 3
        await a.close()
    asyncio.run(main())


def test_group_commit_refuses_only_the_bad_commits_of_a_batch(pg_db):
    """b missed a's changes (its listener is stopped): its next batch applies them first, and
    of three queued commits only the stale update and the duplicate uuid are refused."""
    async def main():
        a = await open_database(pg_db.url, SPECS)
        b = await PostgresStore.open(pg_db.url, SPECS, poll_interval=3600)
        x = new_ref()
        async with a.transaction() as t:
            t.create("VM", x, vm("x"))
        await until(lambda: b.get("VM", x) is not None)
        b._listener.cancel()                      # from now on b hears nothing by itself
        stale = b.transaction()                   # reads x before a changes it
        stale.update("VM", x, {"name_label": stale.get("VM", x)["name_label"] + " from b"})
        taken = new_uuid()
        async with a.transaction() as t:
            t.update("VM", x, {"name_label": "x from a"})
            t.create("VM", new_ref(), vm("a's", uuid=taken))
        assert b.get("VM", x)["name_label"] == "x"          # b has not seen it

        async def create(rec):
            async with b.transaction() as t:
                t.create("VM", new_ref(), rec)

        results = await asyncio.gather(stale.commit(), create(vm("dup", uuid=taken)),
                                       create(vm("fine")), return_exceptions=True)
        assert isinstance(results[0], StoreConflict)
        assert type(results[1]).__name__ == "DuplicateUuid"
        assert results[2] is None
        # b applied a's changes before its own, in the database's order
        assert b.get("VM", x)["name_label"] == "x from a"
        assert sorted(r["name_label"] for r in b.records("VM").values()) == ["a's", "fine",
                                                                              "x from a"]
        await until(lambda: len(a.records("VM")) == 3)
        assert dict(a.records("VM")) == dict(b.records("VM"))
        await a.close()
        await b.close()
    asyncio.run(main())


def test_missed_notifications_are_caught_up_from_the_log(pg_db):
    """b's notification connection is killed by the server while a writes: b reconnects and
    applies everything after its generation from the log."""
    async def main():
        a = await open_database(pg_db.url, SPECS)
        b = await PostgresStore.open(pg_db.url, SPECS, poll_interval=3600)
        refs = []
        listening = ("FROM pg_stat_activity WHERE application_name = 'xenapi-listen'"
                     " AND datname = current_database()")
        for _ in range(100):                      # both listeners connected
            if pg_db.psql(f"SELECT count(*) {listening}") == "2":
                break
            await asyncio.sleep(0.05)
        killed = pg_db.psql(f"SELECT count(pg_terminate_backend(pid)) {listening}")
        assert killed == "2"                      # a's and b's listeners
        for i in range(5):
            ref = new_ref()
            async with a.transaction() as t:
                t.create("VM", ref, vm(str(i)))
            refs.append(ref)
        await until(lambda: b.generation == a.generation, 15)
        assert all(b.get("VM", r) == a.get("VM", r) for r in refs)
        await a.close()
        await b.close()
    asyncio.run(main())


def test_callers_during_an_outage_get_an_error_in_bounded_time(pg_db, pg_cluster):
    """PostgreSQL down for several seconds: every commit queued meanwhile fails within two
    timeouts (its batch's and the one before), memory is unchanged, and once the server is
    back the store writes again without being reopened."""
    timeout = 1.0

    async def main():
        a = await PostgresStore.open(pg_db.url, SPECS, timeout=timeout)
        ref = new_ref()
        async with a.transaction() as t:
            t.create("VM", ref, vm("before"))
        gen = a.generation
        await asyncio.to_thread(pg_cluster.stop)

        async def write(i):
            t0 = time.monotonic()
            try:
                async with a.transaction() as t:
                    t.update("VM", ref, {"name_label": f"during {i}"})
            except StoreUnavailable as exc:
                return time.monotonic() - t0, str(exc)
            return time.monotonic() - t0, None

        results = await asyncio.gather(*(write(i) for i in range(20)))
        assert all(err is not None and "unavailable" in err for _d, err in results), results
        slowest = max(d for d, _e in results)
        assert slowest < 2 * timeout + 1, results
        assert a.generation == gen and a.get("VM", ref)["name_label"] == "before"
        await asyncio.to_thread(pg_cluster.start)
        t_up = time.monotonic()
        while True:
            try:
                async with a.transaction() as t:
                    t.update("VM", ref, {"name_label": "after"})
                break
            except StoreUnavailable:
                assert time.monotonic() - t_up < 30, "the store did not reconnect"
                await asyncio.sleep(0.1)
        print(f"outage: 20 callers failed within {slowest:.2f} s; writing again "
              f"{time.monotonic() - t_up:.2f} s after the server was back")
        await a.close()
    asyncio.run(main())


def test_random_concurrent_writes_leave_every_instance_equal_to_the_database(pg_db):
    """Several writers per instance (so group commits mix creates, updates and deletes of the
    same objects) on two instances; afterwards both memories, and a third instance loaded from
    the tables and the log, hold the same records and report the same changes since any
    token."""
    import random

    rng = random.Random(int(os.environ.get("XAPI_TEST_SEED", "7")))

    async def main():
        a = await open_database(pg_db.url, SPECS)
        b = await open_database(pg_db.url, SPECS)
        tokens = []

        async def writer(store, n):
            for i in range(n):
                live = list(store.records("VM"))
                try:
                    async with store.transaction() as t:
                        roll = rng.random()
                        if roll < 0.4 or not live:
                            t.create("VM", new_ref(), vm(f"w{i}", other_config={"i": i}))
                        elif roll < 0.8:
                            ref = rng.choice(live)
                            t.update("VM", ref, {"name_label": f"u{i}",
                                                 "other_config": {"i": i, "r": rng.random()}})
                        else:
                            t.delete("VM", rng.choice(live))
                except (StoreConflict, NoSuchObject):
                    pass                        # someone else got there first: fine
                if i % 10 == 0:
                    tokens.append(store.generation)
                await asyncio.sleep(0)

        await asyncio.gather(*(writer(s, 60) for s in (a, a, a, b, b, b)))
        await until(lambda: a.generation == b.generation, 15)
        c = await open_database(pg_db.url, SPECS)
        await until(lambda: a.generation == c.generation, 15)
        assert dict(a.records("VM")) == dict(b.records("VM")) == dict(c.records("VM"))

        def seen(s, token):
            return [(ch.ref, ch.operation, ch.generation, ch.record)
                    for ch in s.changes_since(token)]
        for token in [0] + tokens:
            assert seen(a, token) == seen(b, token) == seen(c, token), token
        for s in (a, b, c):
            await s.close()
    asyncio.run(main())


def test_an_instance_behind_the_retained_log_reloads_and_reports_exact_changes(pg_db):
    """b hears nothing while a writes more than the log keeps: b's next catch-up finds the log
    trimmed past its generation, reloads the tables, and reports the same coalesced changes
    since its old token as a (which saw every commit)."""
    async def main():
        a = await PostgresStore.open(pg_db.url, SPECS, log_retention=10)
        b = await PostgresStore.open(pg_db.url, SPECS, poll_interval=3600)
        keep, gone, changed = new_ref(), new_ref(), new_ref()
        async with a.transaction() as t:
            for ref in (keep, gone, changed):
                t.create("VM", ref, vm(ref[-4:]))
        await until(lambda: b.generation == a.generation)
        b._listener.cancel()
        token = b.generation
        async with a.transaction() as t:
            t.delete("VM", gone)
        born = []
        for i in range(40):
            async with a.transaction() as t:
                t.update("VM", changed, {"name_label": f"v{i}"})
                born.append(new_ref())
                t.create("VM", born[-1], vm(f"b{i}"))
        assert int(pg_db.psql("SELECT trimmed FROM _head")) > token
        await b.catch_up()
        assert dict(b.records("VM")) == dict(a.records("VM"))

        def seen(s):
            return sorted((ch.ref, ch.operation, ch.record == s.get("VM", ch.ref) or None)
                          for ch in s.changes_since(token))
        assert seen(b) == seen(a)
        assert {(ch.ref, ch.operation) for ch in b.changes_since(token)} >= {
            (gone, "del"), (changed, "mod"), (born[0], "add")}
        # and it writes normally afterwards
        async with b.transaction() as t:
            t.update("VM", keep, {"name_label": "from b"})
        await until(lambda: a.get("VM", keep)["name_label"] == "from b")
        await a.close()
        await b.close()
    asyncio.run(main())


def test_a_lease_is_lost_by_a_new_epoch_not_by_its_term_running_out(pg_db):
    """A database outage longer than a term lets every lease run out: that alone refuses no
    write (nobody acted on it). Whoever acts on an expired lease gives it a new epoch, and
    from then on the old holder's writes are refused."""
    async def main():
        a = await PostgresStore.open(pg_db.url, SPECS)
        lease = await a.lease_acquire("host/x", "x", 0.2)
        a.fence(lease.name, "x", lease.epoch)
        await asyncio.sleep(0.5)
        assert not (await a.lease_get("host/x")).valid
        ref = new_ref()
        async with a.transaction() as t:
            t.create("VM", ref, vm("after the term"))
        assert await a.lease_bump("host/x", lease.epoch)         # the master fences it
        with pytest.raises(StoreFenced):
            async with a.transaction() as t:
                t.update("VM", ref, {"name_label": "from the fenced holder"})
        assert a.get("VM", ref)["name_label"] == "after the term"
        await a.close()
    asyncio.run(main())


def test_a_process_frozen_holding_the_commit_lock_stalls_the_others_briefly(pg_db, monkeypatch):
    """a's commit freezes after taking the `_head` lock (as a SIGSTOPped server would): the
    database aborts a commit's idle transaction soon, so b's commit, waiting for the lock,
    goes in within b's timeout; and b's leases answer meanwhile (their own connection)."""
    async def main():
        # a's session-wide idle limit is 3 x 30 s: only the commit's own limit can free b
        a = await PostgresStore.open(pg_db.url, SPECS, timeout=30)
        b = await PostgresStore.open(pg_db.url, SPECS, timeout=10)
        frozen = asyncio.Event()
        send = postgres._send

        async def freeze_a(cur, stmts):
            # a's second message (its writes and COMMIT: its origin is in the log rows)
            if any(a._origin.encode() in s for s in stmts):
                frozen.set()
                await asyncio.sleep(3600)
            return await send(cur, stmts)
        monkeypatch.setattr(postgres, "_send", freeze_a)
        stuck = asyncio.create_task(commit(a, new_ref()))
        await frozen.wait()
        ref = new_ref()
        waiting = asyncio.create_task(commit(b, ref))
        await asyncio.sleep(0.5)
        assert not waiting.done()                       # b waits for the lock
        lease = await b.lease_acquire("host/b", "b", 30)    # leases answer meanwhile
        assert lease is not None and await b.lease_renew("host/b", "b", lease.epoch, 30)
        await waiting                                   # in, once a's transaction is aborted
        assert b.get("VM", ref) is not None
        stuck.cancel()
        a._writer.cancel()                              # the frozen exchange itself
        await asyncio.gather(stuck, a._writer, return_exceptions=True)
        await b.close()
        await a.close()

    async def commit(store, ref):
        async with store.transaction() as t:
            t.create("VM", ref, vm("x"))
    asyncio.run(main())


def test_a_field_added_to_the_model_gets_its_column_and_a_restart_alters_nothing(pg_db):
    """A model with a new field adds its column at start; a start with nothing new runs no
    ALTER TABLE (its exclusive lock would stall, or deadlock with, the pool's writes)."""
    grown = [ClassSpec("VM", ("uuid", "name_label", "other_config", "tags")), SPECS[1]]

    async def main():
        a = await PostgresStore.open(pg_db.url, SPECS)
        ref = new_ref()
        async with a.transaction() as t:
            t.create("VM", ref, vm("before"))
        await a.close()
        b = await PostgresStore.open(pg_db.url, grown)
        assert b.get("VM", ref)["name_label"] == "before"
        async with b.transaction() as t:
            t.update("VM", ref, {"tags": ["x"]})
        await b.close()
        # another host holds a write lock on the table while a third one starts: the start
        # must not wait for it (it would, behind an ALTER TABLE's exclusive lock)
        holder = await PostgresStore.open(pg_db.url, grown)
        async with holder._lease_pool.connection() as conn:
            await conn.execute('LOCK TABLE "c_VM" IN ROW EXCLUSIVE MODE')
            c = await asyncio.wait_for(PostgresStore.open(pg_db.url, grown), 5)
            assert c.get("VM", ref)["tags"] == ["x"]
            await conn.rollback()
        await c.close()
        await holder.close()
    asyncio.run(main())


def test_awkward_texts_round_trip_through_the_database_exactly(pg_db):
    """A commit's values are quoted on our side (libpq's PQescapeLiteral into each statement's
    text): quotes, backslashes, `%s`, SQL, non-ASCII and control characters (a NUL too: the
    column holds the value's JSON, where it is escaped) come back from a new instance's load
    and from another instance's catch-up exactly as written. A raw NUL, which no text column
    takes and which would end the message's query string, is left to psycopg, which refuses
    it."""
    awkward = ["it's", "\\", "\\'; DROP TABLE _log; --", "%s %% %(x)s", "E'\\x41'", "",
               "\u00e9t\u00e9 \u2603 \U0001f600", "tab\there\nnewline\r", "$$ $x$", "\x7f\x01",
               "nul\0here"]

    async def main():
        a = await PostgresStore.open(pg_db.url, SPECS)
        b = await PostgresStore.open(pg_db.url, SPECS)
        refs = {}
        async with a.transaction() as t:
            for text in awkward:
                ref = refs[text] = new_ref()
                t.create("VM", ref, vm(text, other_config={text: text, "k": [text]}))
        await until(lambda: all(b.get("VM", r) is not None for r in refs.values()))
        c = await PostgresStore.open(pg_db.url, SPECS)
        for store in (b, c):
            for text, ref in refs.items():
                rec = store.get("VM", ref)
                assert rec["name_label"] == text
                assert rec["other_config"] == {text: text, "k": [text]}
        async with a._pool.connection() as conn:
            cur = psycopg.AsyncClientCursor(conn)
            assert postgres._bind(cur, "SELECT %s, %s", ("it's", 7)) == b"SELECT 'it''s', 7"
            with pytest.raises(psycopg.DataError):
                postgres._bind(cur, "SELECT %s", ("raw\0nul",))
        for store in (a, b, c):
            await store.close()
    asyncio.run(main())


def test_no_statement_of_the_store_is_jit_compiled(pg_db):
    """A database where every statement would be JIT-compiled (as the catch-up was, once the
    growing log pushed its estimated cost past jit_above_cost: hundreds of ms of LLVM per
    catch-up on every host): the store's statements are not (the listening connection, held by
    its listener, is opened with the same settings)."""
    pg_db.psql(f"ALTER DATABASE {pg_db.name} SET jit_above_cost = 0")

    async def main():
        a = await open_database(pg_db.url, SPECS)
        async with a.transaction() as t:
            t.create("VM", new_ref(), vm())
        for pool in (a._pool, a._lease_pool):
            async with pool.connection() as conn:
                for query in (postgres._CATCH_UP,
                              "SELECT * FROM _log WHERE gen > %s ORDER BY gen, seq"):
                    row = await (await conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + query,
                                                    (0,))).fetchone()
                    assert "JIT" not in row[0][0], (pool.name, query, row[0][0])
                if not conn.autocommit:
                    await conn.rollback()
        await a.close()
    asyncio.run(main())


def test_a_commit_that_binds_long_is_not_aborted_as_idle(pg_db, monkeypatch):
    """A commit is idle in its transaction only between its two messages (the server aborts
    it after `_COMMIT_IDLE`, so that a frozen process cannot hold `_head`'s lock): its
    values are bound before the transaction begins. 20,000 records in one commit (as
    pool-create moves a big host) bind for longer than the limit, set short here, and still
    commit. (Bound between the two messages, they were aborted: pool-create of a 10,000-VM
    host failed with "terminating connection due to idle-in-transaction timeout".)"""
    monkeypatch.setattr(postgres, "_COMMIT_IDLE",
                        "SET LOCAL idle_in_transaction_session_timeout = '500ms'")

    async def main():
        a = await PostgresStore.open(pg_db.url, SPECS)
        refs = [new_ref() for _ in range(20_000)]
        async with a.transaction() as t:
            for n, ref in enumerate(refs):
                t.create("VM", ref, vm(f"vm-{n}", other_config={"i": str(n)}))
        await a.close()
        b = await PostgresStore.open(pg_db.url, SPECS)
        assert len(b.records("VM")) == len(refs)
        assert b.get("VM", refs[-1])["name_label"] == "vm-19999"
        await b.close()
    asyncio.run(main())
