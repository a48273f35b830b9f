"""The store on its own: transactions, durability across reopen, the change index.

The contract tests run on every backend (`backend` fixture): memory, SQLite and PostgreSQL
(a private server, tests/pgcluster.py)."""
from __future__ import annotations

import asyncio
import copy
import datetime as dt
import sqlite3
import threading
import time

import pytest

from xenapi_impl.store import (ClassSpec, Credential, DuplicateUuid, MemoryStore, NoSuchObject,
                               StoreUnavailable, new_ref, new_uuid, open_database, open_store)
from xenapi_impl.store import codec
from xenapi_impl.values import EMPTY_LIST, EMPTY_MAP, Record

SPECS = [
    ClassSpec("VM", ("uuid", "name_label", "other_config", "tags", "created", "class")),
    ClassSpec("network", ("uuid", "name_label", "MTU")),
    ClassSpec("task", ("uuid", "name_label", "status"), persistent=False),
]


def run(coro):
    return asyncio.run(coro)


class Backend:
    """Opens (and reopens) one store of a backend: `await backend.open()`."""

    def __init__(self, kind: str, request: pytest.FixtureRequest, tmp_path) -> None:
        self.kind = kind
        self.pg = request.getfixturevalue("pg_db") if kind == "postgres" else None
        self.path = str(tmp_path / "db.sqlite")

    @property
    def durable(self) -> bool:
        return self.kind != "memory"

    async def open(self):
        if self.kind == "memory":
            return MemoryStore(SPECS)
        if self.kind == "sqlite":
            return open_store(self.path, SPECS)
        return await open_database(self.pg.url, SPECS)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def backend(request, tmp_path) -> Backend:
    return Backend(request.param, request, tmp_path)


@pytest.fixture(params=["sqlite", "postgres"])
def durable(request, tmp_path) -> Backend:
    return Backend(request.param, request, tmp_path)


def vm(name="a", **extra):
    rec = {"uuid": new_uuid(), "name_label": name, "other_config": {}, "tags": [],
           "created": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc), "class": "x"}
    rec.update(extra)
    return rec


def test_codec_round_trips_every_value_kind():
    values = ["", "a\u00e9\"{}", 0, -2**63, 2**63 - 1, 1.5, True, False, None, [], ["a", "b"],
              {}, {"k": "v", "m": "x", "d": "y"}, {1: 2.0, 3: 4.0},
              dt.datetime(2020, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc),
              {"a": [{"m": [1]}]}]
    for v in values:
        assert codec.decode(codec.encode(v)) == v
    assert isinstance(codec.decode(codec.encode(True)), bool)


def test_commit_applies_all_writes_and_bumps_generation(backend):
    async def main():
        s = await backend.open()
        ref = new_ref()
        async with s.transaction() as t:
            t.create("VM", ref, vm("one"))
            t.update("VM", ref, {"name_label": "two"})
            assert t.get("VM", ref)["name_label"] == "two"
            assert s.get("VM", ref) is None         # invisible until commit
        rec = s.get("VM", ref)
        assert isinstance(rec, Record) and rec["name_label"] == "two"
        assert s.generation == 1
        assert s.find_uuid(rec["uuid"]) == ("VM", ref)
        # a write makes a new Record; the old one is untouched
        async with s.transaction() as t:
            t.update("VM", ref, {"name_label": "three"})
        assert rec["name_label"] == "two" and s.get("VM", ref)["name_label"] == "three"
        await s.close()
    run(main())


def test_failed_call_changes_nothing(backend):
    async def main():
        s = await backend.open()
        ref = new_ref()
        with pytest.raises(ZeroDivisionError):
            async with s.transaction() as t:
                t.create("VM", ref, vm())
                1 / 0
        assert s.get("VM", ref) is None and s.generation == 0
        with pytest.raises(NoSuchObject):
            async with s.transaction() as t:
                t.update("VM", new_ref(), {"name_label": "x"})
        await s.close()
    run(main())


def test_uuids_unique_across_classes(backend):
    async def main():
        s = await backend.open()
        u = new_uuid()
        async with s.transaction() as t:
            t.create("VM", new_ref(), vm(uuid=u))
        with pytest.raises(DuplicateUuid):
            async with s.transaction() as t:
                t.create("network", new_ref(), {"uuid": u, "name_label": "n", "MTU": 1500})
        assert len(s.records("network")) == 0 and s.generation == 1
        await s.close()
    run(main())


def test_persists_committed_writes_only(durable):
    ref, ref2, tref = new_ref(), new_ref(), new_ref()

    async def first():
        s = await durable.open()
        async with s.transaction() as t:
            t.create("VM", ref, vm("keep", other_config={"a": "b"}, tags=["t1"]))
            t.create("VM", ref2, vm("gone"))
            t.create("task", tref, {"uuid": new_uuid(), "name_label": "t", "status": "pending"})
        async with s.transaction() as t:
            t.update("VM", ref, {"other_config": {"a": "c", "d": "e"}})
            t.delete("VM", ref2)
        with pytest.raises(RuntimeError):
            async with s.transaction() as t:
                t.update("VM", ref, {"name_label": "lost"})
                raise RuntimeError("boom")
        await s.put_credential(Credential("root", "h", "pool-admin"))
        await s.close()

    async def second():
        s = await durable.open()
        rec = s.get("VM", ref)
        assert rec["name_label"] == "keep"
        assert rec["other_config"] == {"a": "c", "d": "e"}
        assert rec["tags"] == ["t1"]
        assert rec["created"] == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
        assert list(rec) == list(SPECS[0].fields)
        assert s.get("VM", ref2) is None
        assert s.records("task") == {}              # tasks are never persisted
        assert s.get_credential("root") == Credential("root", "h", "pool-admin")
        await s.close()

    run(first())
    run(second())
    if durable.kind == "postgres":
        assert durable.pg.psql("SELECT count(*) FROM _uuids") == "1"
        return
    db = sqlite3.connect(durable.path)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert db.execute("SELECT count(*) FROM _uuids").fetchone() == (1,)


def test_disk_failure_fails_the_call_and_leaves_memory_unchanged(tmp_path):
    async def main():
        s = open_store(str(tmp_path / "db"), SPECS)
        ref = new_ref()
        async with s.transaction() as t:
            t.create("VM", ref, vm("a"))
        s._db.execute("DROP TABLE c_VM")              # make the next write fail in SQLite
        with pytest.raises(StoreUnavailable):
            async with s.transaction() as t:
                t.update("VM", ref, {"name_label": "b"})
        assert s.get("VM", ref)["name_label"] == "a"
        with pytest.raises(StoreUnavailable):       # and nothing more is accepted
            async with s.transaction() as t:
                t.create("network", new_ref(), {"uuid": new_uuid(), "name_label": "n", "MTU": 1})
        await s.close()
    run(main())


def _writing_paths(s) -> list[str]:
    """Record who wrote each commit of store `s`: "MainThread" for a commit made on the loop's
    thread (`_write_now`), "store-writer" for one the group writer wrote (`_written`)."""
    names: list[str] = []
    write_now, written = s._write_now, s._written

    def on_loop(packed):
        done = write_now(packed)
        if done[0]:
            names.append(threading.current_thread().name)
        return done

    def by_writer(commits, batch, seconds, error):
        names.extend(["store-writer"] * commits)
        return written(commits, batch, seconds, error)
    s._write_now, s._written = on_loop, by_writer
    return names


def test_an_idle_sqlite_store_commits_on_the_loop_thread(tmp_path):
    """Nothing in flight, nothing else for the loop to run, fast commits, writer batches of
    one: the commit is written on the loop's thread (no hand-over to the writer and back),
    durably. Other callbacks ready, a commit in flight, slow recent commits or batches that
    lately shared their fsync: the writer thread, which batches."""
    path = str(tmp_path / "db")
    refs = [new_ref() for _ in range(5)]

    async def main():
        s = open_store(path, SPECS)
        names = _writing_paths(s)
        async with s.transaction() as t:
            t.create("VM", refs[0], vm("idle"))
        assert names == ["MainThread"]
        on_disk = sqlite3.connect(path)
        assert on_disk.execute("SELECT count(*) FROM c_VM").fetchone() == (1,)

        asyncio.get_running_loop().call_soon(lambda: None)         # the loop has more to do
        async with s.transaction() as t:
            t.create("VM", refs[1], vm("busy"))
        s._commit_seconds = 1.0                                     # a slow disk lately
        async with s.transaction() as t:
            t.create("VM", refs[2], vm("slow"))
        s._commit_seconds = 0.0
        s._batching = 1.0               # the writer's recent batches were shared: batching pays
        async with s.transaction() as t:
            t.update("VM", refs[2], {"name_label": "batched"})
        assert names[1:] == ["store-writer"] * 3
        assert 0.85 < s._batching < 1.0     # this batch had one commit: the average decays
        s._batching = 0.0

        async def first():                          # handed to the writer, in flight...
            s._commit_seconds = 1.0
            async with s.transaction() as t:
                t.create("VM", refs[3], vm("first"))

        async def second():                         # ...so this one queues behind it
            s._commit_seconds = 0.0
            async with s.transaction() as t:
                t.create("VM", refs[4], vm("second"))
        names.clear()
        await asyncio.gather(first(), second())
        assert names and set(names) == {"store-writer"}
        assert on_disk.execute("SELECT count(*) FROM c_VM").fetchone() == (5,)
        on_disk.close()
        await s.close()
    run(main())


def test_the_commits_of_one_loop_turn_reach_the_writer_as_one_batch(tmp_path):
    """Handed to the writer at the end of the loop's turn, not one by one as they come: the
    writer writes them in one transaction, one fsync."""
    async def main():
        s = open_store(str(tmp_path / "db"), SPECS)
        batches: list[int] = []
        written = s._written

        def recorded(commits, batch, seconds, error):
            batches.append(batch)
            return written(commits, batch, seconds, error)
        s._written = recorded
        s._commit_seconds = 1.0                     # not on the loop's thread

        async def one(i):
            # a moment in a system call first, as the loop spends on its sockets: another
            # thread may take the GIL then (the writer, if an earlier commit had woken it)
            time.sleep(0.005)
            async with s.transaction() as t:
                t.create("VM", new_ref(), vm(f"vm{i}"))
        await asyncio.gather(*(one(i) for i in range(6)))
        assert batches == [6], batches
        assert len(s.records("VM")) == 6
        await s.close()
        reopened = open_store(str(tmp_path / "db"), SPECS)
        assert len(reopened.records("VM")) == 6
        reopened.close_sync()
    run(main())


def test_without_asyncio_s_ready_queue_an_idle_store_is_one_with_no_recent_commit(tmp_path):
    """Another event loop (uvloop) does not show its ready callbacks: there the store counts as
    idle once no commit ended for INLINE_IDLE seconds."""
    from xenapi_impl.store import sqlite as sqlite_mod

    class OtherLoop:
        def __init__(self, now: float) -> None:
            self.now = now

        def time(self) -> float:
            return self.now

    s = open_store(str(tmp_path / "db"), SPECS)
    try:
        s._last_write = 100.0
        assert not s._loop_idle(OtherLoop(100.0 + sqlite_mod.INLINE_IDLE / 2))
        assert s._loop_idle(OtherLoop(100.0 + sqlite_mod.INLINE_IDLE * 1.5))
    finally:
        s.close_sync()


def test_a_commit_cancelled_in_the_writer_keeps_the_next_one_off_the_loop_thread(tmp_path):
    """The writer may still be writing a commit whose caller was cancelled (a server
    stopping): the database is the writer's until it is done, so the next commit queues."""
    path = str(tmp_path / "db")

    async def main():
        s = open_store(path, SPECS)
        names = _writing_paths(s)
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")          # the writer waits for this write lock

        async def write(name):
            async with s.transaction() as t:
                t.create("VM", new_ref(), vm(name))
        s._commit_seconds = 1.0                     # to the writer...
        first = asyncio.create_task(write("cancelled"))
        await asyncio.sleep(0.05)
        first.cancel()                              # ...and cancelled while it waits to write
        with pytest.raises(asyncio.CancelledError):
            await first
        s._commit_seconds = 0.0
        second = asyncio.create_task(write("next"))
        await asyncio.sleep(0.01)
        assert not second.done()
        blocker.execute("COMMIT")
        blocker.close()
        await asyncio.wait_for(second, 5)
        assert names == ["store-writer", "store-writer"]
        await s.close()
    run(main())


def test_a_commit_whose_caller_was_cancelled_reaches_memory_once_on_disk(tmp_path):
    """A caller cancelled while the writer has its commit (a server stopping, a client gone):
    the disk takes the commit, so memory must too, in disk order, with its event; its uuid
    stays taken meanwhile. Memory and disk never disagree, before or after a restart."""
    path = str(tmp_path / "db")

    async def main():
        s = open_store(path, SPECS)
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")          # the writer waits for this write lock
        ref, rec = new_ref(), vm("cancelled")
        gen = s.generation

        async def create():
            async with s.transaction() as t:
                t.create("VM", ref, rec)
        s._commit_seconds = 1.0                     # to the writer...
        first = asyncio.create_task(create())
        await asyncio.sleep(0.05)
        first.cancel()                              # ...and cancelled while it waits to write
        with pytest.raises(asyncio.CancelledError):
            await first
        assert s.get("VM", ref) is None and s.generation == gen
        with pytest.raises(DuplicateUuid):          # the disk may still take it: uuid taken
            async with s.transaction() as t:
                t.create("VM", new_ref(), vm("twin", uuid=rec["uuid"]))
        blocker.execute("COMMIT")
        blocker.close()
        for _ in range(500):                        # the writer's result, on this loop
            if s._queued == 0:
                break
            await asyncio.sleep(0.01)
        assert s.get("VM", ref)["name_label"] == "cancelled"
        assert s.generation == gen + 1 and s._queued == 0 and not s._reserved_uuids
        assert [(c.operation, c.ref) for c in s.changes_since(gen)] == [("add", ref)]
        async with s.transaction() as t:            # and the store goes on as before
            t.update("VM", ref, {"name_label": "after"})
        await s.close()
        reopened = open_store(path, SPECS)
        assert reopened.get("VM", ref)["name_label"] == "after"
        assert reopened.get("VM", ref)["uuid"] == rec["uuid"]
        reopened.close_sync()
    run(main())


def test_a_failed_commit_on_the_loop_thread_changes_nothing(tmp_path):
    async def main():
        s = open_store(str(tmp_path / "db"), SPECS)
        names = _writing_paths(s)
        ref = new_ref()
        async with s.transaction() as t:
            t.create("VM", ref, vm("a"))
        s._db.execute("DROP TABLE c_VM")              # make the next write fail in SQLite
        gen = s.generation
        with pytest.raises(StoreUnavailable, match="database write failed"):
            async with s.transaction() as t:
                t.update("VM", ref, {"name_label": "b"})
        assert names == ["MainThread", "MainThread"]
        assert s.get("VM", ref)["name_label"] == "a" and s.generation == gen
        assert not s._db.in_transaction
        with pytest.raises(StoreUnavailable, match="writes stopped"):
            async with s.transaction() as t:
                t.create("network", new_ref(), {"uuid": new_uuid(), "name_label": "n", "MTU": 1})
        await s.close()
    run(main())


def test_changes_since_coalesces_add_mod_del(backend):
    async def main():
        s = await backend.open()
        a, b, c, d = (new_ref() for _ in range(4))
        async with s.transaction() as t:
            t.create("VM", a, vm("a"))
            t.create("VM", b, vm("b"))
        token = s.generation
        async with s.transaction() as t:
            t.update("VM", a, {"name_label": "a2"})
            t.create("VM", c, vm("c"))
        async with s.transaction() as t:
            t.update("VM", c, {"name_label": "c2"})     # created after the token: still "add"
            t.delete("VM", b)                           # existed at the token: "del"
            t.create("VM", d, vm("d"))
        async with s.transaction() as t:
            t.delete("VM", d)                           # born and gone since: not reported
        got = {(ch.ref, ch.operation) for ch in s.changes_since(token)}
        assert got == {(a, "mod"), (c, "add"), (b, "del")}
        snap = {ch.ref: ch.record for ch in s.changes_since(token)}
        assert snap[c]["name_label"] == "c2" and snap[b] is None
        assert [ch.operation for ch in s.changes_since(0)] == ["add", "add"]
        assert s.changes_since(s.generation) == []
        assert s.changes_since(token, frozenset({"network"})) == []
        assert [ch.ref for ch in s.changes_since(token, frozenset(), frozenset({("VM", a)}))] == [a]
        await s.close()
    run(main())


def test_wait_for_change_wakes_on_commit_without_polling(backend):
    async def main():
        s = await backend.open()
        gen = s.generation
        waiter = asyncio.create_task(s.wait_for_change(gen, 30))
        await asyncio.sleep(0)
        assert not waiter.done()
        async with s.transaction() as t:
            t.create("VM", new_ref(), vm())
        assert await asyncio.wait_for(waiter, 5) is True
        assert await s.wait_for_change(s.generation, 0.01) is False
        await s.close()
    run(main())


def test_group_commit_keeps_order_of_concurrent_writers(durable):
    ref = new_ref()

    async def main():
        s = await durable.open()
        async with s.transaction() as t:
            t.create("VM", ref, vm("0"))

        async def write(i):
            async with s.transaction() as t:
                t.update("VM", ref, {"other_config": {str(i): "x"}, "name_label": str(i)})
        await asyncio.gather(*(write(i) for i in range(1, 200)))
        last = s.get("VM", ref)["name_label"]
        await s.close()
        return last

    last = run(main())

    async def reopen():
        s = await durable.open()
        assert s.get("VM", ref)["name_label"] == last   # disk and memory agree on the last write
        await s.close()
    run(reopen())


def test_old_tombstones_are_forgotten_past_the_horizon(monkeypatch, backend):
    from xenapi_impl.store import memory

    monkeypatch.setattr(memory, "MAX_TOMBSTONES", 2)

    async def main():
        s = await backend.open()
        refs = [new_ref() for _ in range(4)]
        async with s.transaction() as t:
            for r in refs:
                t.create("VM", r, vm())
        token = s.generation
        for r in refs:
            async with s.transaction() as t:
                t.delete("VM", r)
        # only the two newest deletions are still known; the horizon says where memory ends
        assert [c.ref for c in s.changes_since(token)] == refs[2:]
        assert s.horizon == token + 2
        await s.close()
    run(main())


def test_transaction_rules(backend):
    async def main():
        s = await backend.open()
        ref = new_ref()
        async with s.transaction() as t:
            t.create("VM", ref, vm())
            t.delete("VM", ref)                 # created and destroyed in one call
        assert s.generation == 0 and s.get("VM", ref) is None
        async with s.transaction() as t:
            t.create("VM", ref, vm())
        with pytest.raises(ValueError):
            async with s.transaction() as t:
                t.update("VM", ref, {"no_such_field": 1})
        with pytest.raises(ValueError):
            async with s.transaction() as t:
                t.update("VM", ref, {"uuid": new_uuid()})
        t = s.transaction()
        t.delete("VM", ref)
        assert t.get("VM", ref) is None and s.get("VM", ref) is not None
        with pytest.raises(NoSuchObject):
            t.update("VM", ref, {"name_label": "x"})
        t.rollback()
        assert s.get("VM", ref) is not None
        await s.close()
    run(main())


def test_sqlite_load_shares_equal_scalars_and_the_empty_containers_only(tmp_path):
    path = str(tmp_path / "shared.db")

    async def write():
        s = open_store(path, SPECS)
        async with s.transaction() as t:
            for i in range(3):
                t.create("VM", new_ref(), {"uuid": new_uuid(), "name_label": "same label",
                                           "other_config": {}, "tags": ["t"]})
        await s.close()
    run(write())
    s = open_store(path, SPECS)
    try:
        a, b, c = s.records("VM").values()
        assert a["name_label"] == b["name_label"] == "same label"
        assert a["name_label"] is b["name_label"] is c["name_label"]     # one object
        assert a["other_config"] == b["other_config"] == {}
        assert a["other_config"] is b["other_config"] is EMPTY_MAP      # the frozen empty
        assert a["tags"] == ["t"] and a["tags"] is not b["tags"]        # each its own
        assert a["uuid"] != b["uuid"]
    finally:
        s.close_sync()


def test_stored_records_share_frozen_empties_that_refuse_changes_in_place():
    """Every create and update puts the one frozen empty map and list in place of empty ones
    (1.3 KB a VM): changing one in place raises, a copy is a plain container to change."""
    async def main():
        s = MemoryStore(SPECS)
        ref = new_ref()
        async with s.transaction() as t:
            t.create("VM", ref, vm("a", other_config={}, tags=[]))
        rec = s.get("VM", ref)
        assert rec["other_config"] is EMPTY_MAP and rec["tags"] is EMPTY_LIST
        with pytest.raises(TypeError, match="not changed in place"):
            rec["other_config"]["k"] = "v"
        with pytest.raises(TypeError, match="not changed in place"):
            rec["tags"].append("t")
        assert EMPTY_MAP == {} and EMPTY_LIST == []
        oc = dict(rec["other_config"])
        oc["k"] = "v"
        tags = copy.copy(rec["tags"])
        tags.append("t")
        async with s.transaction() as t:
            t.update("VM", ref, {"other_config": oc, "tags": tags})
        rec = s.get("VM", ref)
        assert rec["other_config"] == {"k": "v"} and rec["tags"] == ["t"]
        async with s.transaction() as t:
            t.update("VM", ref, {"other_config": {}})
        assert s.get("VM", ref)["other_config"] is EMPTY_MAP
    run(main())


def test_the_writer_fails_with_sqlite_s_words_a_busy_database_passes_and_a_broken_one_stops(
        tmp_path, monkeypatch):
    """Through the group writer (not the loop's own commit): another connection holding the
    write lock past the busy timeout fails the call with SQLite's words and changes nothing,
    and the next write passes (transient); a table gone stops every write until a restart."""
    from xenapi_impl.store import sqlite as sqlite_mod
    monkeypatch.setattr(sqlite_mod, "BUSY_TIMEOUT_MS", 50)
    path = str(tmp_path / "db")

    async def main():
        s = open_store(path, SPECS)
        ref = new_ref()
        async with s.transaction() as t:
            t.create("VM", ref, vm("a"))
        written = _writing_paths(s)
        blocker = sqlite3.connect(path, isolation_level=None, timeout=0)
        blocker.execute("BEGIN IMMEDIATE")
        s._commit_seconds = 1.0                     # to the writer
        with pytest.raises(StoreUnavailable, match=r"^database write failed: database is "
                                                   r"locked \(SQLITE_BUSY\)$"):
            async with s.transaction() as t:
                t.update("VM", ref, {"name_label": "b"})
        assert s.get("VM", ref)["name_label"] == "a"
        blocker.execute("ROLLBACK")
        s._commit_seconds = 1.0
        async with s.transaction() as t:
            t.update("VM", ref, {"name_label": "c"})
        assert s.get("VM", ref)["name_label"] == "c" and s.write_failures == 0
        blocker.execute("DROP TABLE c_VM")
        blocker.close()
        s._commit_seconds = 1.0
        with pytest.raises(StoreUnavailable, match=r"no such table: c_VM \(SQLITE_ERROR\)"):
            async with s.transaction() as t:
                t.update("VM", ref, {"name_label": "d"})
        with pytest.raises(StoreUnavailable, match="writes stopped after a write error"):
            async with s.transaction() as t:
                t.create("network", new_ref(), {"uuid": new_uuid(), "name_label": "n", "MTU": 1})
        assert s.get("VM", ref)["name_label"] == "c"
        assert written == ["store-writer"] * 3
        await s.close()
    run(main())


def test_a_commit_the_writer_cannot_take_is_refused_before_it_is_handed_over(tmp_path):
    from xenapi_impl.store import sqlite as sqlite_mod
    with pytest.raises(TypeError):
        sqlite_mod._pack([("UPDATE c_VM SET name_label = ? WHERE ref = ?", (1, "r"))])
    with pytest.raises(UnicodeEncodeError):
        sqlite_mod._pack([("UPDATE c_VM SET name_label = ? WHERE ref = ?", ("\ud800", "r"))])
    packed = sqlite_mod._pack([("X ? ?", ("é", None))])
    assert packed == (b"\x05\x00\x00\x00X ? ?\x02\x00\x00\x00\x02\x00\x00\x00\xc3\xa9"
                      b"\xff\xff\xff\xff")
