"""PostgreSQL under the in-memory store: the pool's database, shared by every server process.

Each process keeps the in-memory authoritative read copy of `MemoryStore` (reads take no SQL)
and keeps it coherent with the writes of every other process through the change log:

- Layout: the class tables and `_uuids` of `sql.py` (the same as SQLite's), `_credentials`,
  `_meta` (schema version), `_head` (one row: the last generation, and how far `_log` was
  trimmed) and `_log` (one row per object written by a commit, ordered by (gen, seq)).
- A commit locks the `_head` row (`UPDATE ... RETURNING gen`): commits of all processes are
  serialised there and take consecutive generations in commit order, so the log visible to any
  reader is always a prefix with no holes of unfinished commits. Still holding the lock it
  reads the log rows it has not applied yet, refuses the write (`StoreConflict`) if another
  process wrote one of its objects since the transaction's reads began (a write based on a
  stale read), writes the rows, appends to `_log`, NOTIFYs, and commits. Memory is updated
  only after PostgreSQL acknowledged the commit: first the other processes' changes, then its
  own, so every process applies the same changes in the same order with the same generations.
  Group commit: the commits a process queued while its previous database transaction ran go
  into the next one together, each with its own generation (and its own stale check).
- Commits of non-persistent classes (sessions, tasks) stay in this process's memory, but take
  their generation from `_head` too, so local and shared changes share one ordered sequence.
- NOTIFY is only a wake-up: a listener connection wakes on it (and polls every
  `poll_interval` in case it missed one, e.g. while reconnecting) and applies every log row
  after its generation. Tokens are these generations, so they stay valid across restarts of
  the process or of PostgreSQL; at start the index of changes is rebuilt from the retained log.
- The log keeps the last `log_retention` generations. A token below what is retained gets
  EVENTS_LOST (`horizon`); a process that fell further behind than the retained log reloads
  the tables and diffs them against memory (coalesced changes stay exact).
- Failures: a caller whose commit cannot reach the database within `timeout` gets
  `StoreUnavailable`; memory is unchanged. A commit whose COMMIT was sent when the connection
  died (or the timeout ran out) may have committed: the writer asks the database for the
  transaction's fate (`pg_xact_status` of the id the first message returned), on a new
  connection, until it knows or `settle_timeout` ends. Committed: the callers get success,
  as if the reply had arrived. Aborted: the original failure. Still unknown: `CommitUnknown`,
  which says so (and if it did commit, every process applies it from the log, this one
  included). So no caller is told a write failed that is in the database: the database's
  SIGKILL between its fsync and its reply did that to an acknowledged rename. psycopg_pool
  reconnects by itself.
- Connections: one for commits and catch-ups, one listening (it also runs the catch-ups a
  notification wakes), one for leases (renewals must not wait behind a commit that waits for
  the `_head` lock). A commit's transaction may sit idle at most 5 s: a process frozen while
  holding the lock stalls the pool's writes that long, not until it wakes.
"""
from __future__ import annotations

import asyncio
import collections
import datetime as _dt
import functools
import logging
import re
import select
import uuid as _uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import psycopg
import psycopg_pool

from ..values import Record
from . import codec, sql
from .base import ClassSpec, Credential, Transaction
from .errors import (CommitUnknown, DuplicateRef, DuplicateUuid, Lease, StoreConflict, StoreError,
                     StoreFenced, StoreUnavailable)
from .memory import MemoryStore, _Entry

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
CHANNEL = "xenapi_store"
#: generations kept in `_log` (tokens older than that get EVENTS_LOST)
DEFAULT_LOG_RETENTION = 100_000
#: seconds this host trusts its copy of the pool secret without reading it again (a host that
#: missed a rotation's check-in accepts the old secret that long at most: api/tls_policy.py)
SECRET_TTL = 60.0
_SECRET_READ = "SELECT value FROM _meta WHERE key = 'pool_secret'"
#: pg_advisory_xact_lock key serialising schema creation by processes starting together
_SCHEMA_LOCK = 0x78617069          # "xapi"
_CREDENTIAL = ""                   # the `cls` of a credential row in `_log`

Op = tuple[str, str, str, Any]     # (kind, cls, ref, fields) as Transaction.operations()

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS _head (id INT PRIMARY KEY CHECK (id = 1),"
    " gen BIGINT NOT NULL, trimmed BIGINT NOT NULL)",
    "INSERT INTO _head VALUES (1, 0, 0) ON CONFLICT DO NOTHING",
    "CREATE TABLE IF NOT EXISTS _log (gen BIGINT NOT NULL, seq INT NOT NULL,"
    " ts TIMESTAMPTZ NOT NULL, origin TEXT NOT NULL, op TEXT NOT NULL, cls TEXT NOT NULL,"
    " ref TEXT NOT NULL, uuid TEXT NOT NULL, fields TEXT, PRIMARY KEY (gen, seq))",
    # leases: the pool's master role ('master') and each host's liveness ('host/<uuid>');
    # epoch is the fencing token, expires the end of the term by the database's clock
    "CREATE TABLE IF NOT EXISTS _lease (name TEXT PRIMARY KEY, holder TEXT NOT NULL,"
    " epoch BIGINT NOT NULL, expires TIMESTAMPTZ NOT NULL)",
)
_LOG_COLUMNS = "gen, ts, origin, op, cls, ref, uuid, fields"
#: how long a commit's transaction may sit idle (holding the `_head` lock) before the server
#: aborts it; the session-wide limit (3 x timeout) is for the long reads of a snapshot
_COMMIT_IDLE = "SET LOCAL idle_in_transaction_session_timeout = '5s'"
#: every connection's planner settings. Our statements read a few rows by key, but the
#: planner costs them on statistics that lag (`_head`, never analysed, is estimated at 1,700
#: rows, the log's new rows are not counted yet): as the log grew, the catch-up's estimate
#: crossed jit_above_cost and every catch-up of every host spent 200-450 ms compiling it with
#: LLVM, holding up the host's next commit (the master's setter rounds of 30 s). Hence no JIT,
#: and plans made for each statement's values (a generic plan for `gen > $1` assumes a third
#: of the log)
_SESSION = "-c jit=off -c plan_cache_mode=force_custom_plan"
#: a catch-up in one statement: `_head` and the log rows after a generation (none: one row of
#: NULLs after the head)
_CATCH_UP = ("SELECT h.gen, h.trimmed, l.gen, l.ts, l.origin, l.op, l.cls, l.ref, l.uuid,"
             " l.fields FROM _head h LEFT JOIN _log l ON l.gen > %s WHERE h.id = 1"
             " ORDER BY l.gen, l.seq")


@dataclass(eq=False, slots=True)
class _Pending:
    """A commit waiting for the writer task."""

    operations: Callable[[], list[Op]]      # re-read when admitted: memory may have moved
    start: int                              # the generation the transaction's reads began at
    fut: asyncio.Future[int]
    ops: list[Op] = field(default_factory=list)
    gen: int = 0
    #: objects the commit only writes measurements to: not checked for stale reads
    measured: frozenset[tuple[str, str]] = frozenset()


@dataclass(eq=False, slots=True)
class _Doubt:
    """Set by a commit's exchange just before it sends COMMIT: the generations it writes, and
    what it returns if the commit turns out to have been made after all."""

    gens: list[int] = field(default_factory=list)
    result: Any = None


def _fail(batch: list[_Pending], exc: BaseException) -> None:
    for p in batch:
        if not p.fut.done():
            p.fut.set_exception(exc)


class _Behind(Exception):
    """The log was trimmed past this process's generation: reload the tables."""


def redact(url: str) -> str:
    """A connection URL without its password, for logs and messages."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


#: rows turned into Python objects at a time by a load: the table's texts never all alive
#: at once beside the records made of them
_LOAD_BATCH = 500


class PostgresStore(MemoryStore):
    """Open with `await PostgresStore.open(url, specs)`."""

    def __init__(self, url: str, specs: Iterable[ClassSpec], *,
                 log_retention: int = DEFAULT_LOG_RETENTION, timeout: float = 10.0,
                 poll_interval: float = 10.0, settle_timeout: float | None = None) -> None:
        super().__init__(specs)
        self.url = url
        self.log_retention = max(1, log_retention)
        self._trim_every = max(1, min(1000, self.log_retention // 10))
        self.timeout = timeout
        self.poll_interval = poll_interval
        #: how long a commit whose fate the database took with it (a connection lost after
        #: COMMIT was sent) waits for the database to come back and tell
        self.settle_timeout = max(30.0, 3 * timeout) if settle_timeout is None \
            else settle_timeout
        self._origin = _uuid.uuid4().hex      # marks this process's rows in `_log`
        # a process frozen in the middle of a commit must not hold the `_head` lock (and so
        # every host's writes) for long: the server aborts its transaction
        idle = max(5, int(3 * timeout))
        kwargs = {"connect_timeout": max(1, int(timeout)), "application_name": "xenapi-server",
                  "options": f"-c idle_in_transaction_session_timeout={idle}s {_SESSION}"}
        self._connect_kwargs = kwargs
        # check_connection: a connection broken by a database restart is replaced before use
        # instead of failing a caller; the pools reconnect with backoff by themselves. One
        # connection is enough: a process has one database exchange at a time.
        # reconnect_timeout: psycopg_pool doubles its delay between attempts for as long as
        # that lasts (after a minute's outage it would wait another minute); a short one ends
        # the series and the next caller starts a new one at 1 s, so a host is back within a
        # few seconds of its database
        reconnect = max(2.0, min(timeout, 5.0))
        # autocommit: a commit sends its own BEGIN in its first message (psycopg's implicit
        # one would be a round trip of its own); reads open theirs with transaction()
        self._pool = psycopg_pool.AsyncConnectionPool(
            url, min_size=1, max_size=1, open=False, timeout=timeout,
            kwargs={**kwargs, "autocommit": True},
            check=_check_connection, name="xenapi-store",
            reconnect_timeout=reconnect)
        self._listen_pool = psycopg_pool.AsyncConnectionPool(
            url, min_size=1, max_size=1, open=False, timeout=timeout,
            kwargs={**kwargs, "autocommit": True, "application_name": "xenapi-listen"},
            check=_check_connection, name="xenapi-listen",
            reconnect_timeout=reconnect)
        # leases on a connection of their own: a commit waiting for the `_head` lock (held by
        # a frozen process until the server aborts its transaction) must not keep this host
        # from renewing its leases, nor the master from fencing the frozen one
        self._lease_pool = psycopg_pool.AsyncConnectionPool(
            url, min_size=1, max_size=1, open=False, timeout=timeout,
            kwargs={**kwargs, "application_name": "xenapi-lease"},
            check=_check_connection, name="xenapi-lease",
            reconnect_timeout=reconnect)
        # one database exchange at a time per process (commits, catch-ups): memory is applied
        # in generation order
        self._sync = asyncio.Lock()
        #: the pool secret and when it was read (loop time): `pool_secret`
        self._secret: tuple[str, float] | None = None
        self._listener: asyncio.Task[None] | None = None
        self._pending: list[_Pending] = []
        self._writer: asyncio.Task[None] | None = None
        #: lease name -> (holder, epoch) every persistent write of this process requires
        self._fences: dict[str, tuple[str, int]] = {}

    shared = True

    @classmethod
    async def open(cls, url: str, specs: Iterable[ClassSpec], **kw: Any) -> "PostgresStore":
        store = cls(url, specs, **kw)
        try:
            await store._pool.open(wait=True, timeout=store.timeout)
            await store._create_schema()
            await store._load_all()
            await store._listen_pool.open(wait=True, timeout=store.timeout)
            await store._lease_pool.open(wait=True, timeout=store.timeout)
        except (psycopg.Error, psycopg_pool.PoolTimeout, OSError) as exc:
            await store._close_pools()
            raise StoreUnavailable(f"cannot open the database {redact(url)}: {exc}") from None
        except BaseException:
            await store._close_pools()
            raise
        store._listener = asyncio.get_running_loop().create_task(store._listen())
        return store

    # --- schema and load ----------------------------------------------------------------
    async def _create_schema(self) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            await conn.execute("CREATE TABLE IF NOT EXISTS _meta (key TEXT PRIMARY KEY,"
                               " value TEXT)")
            row = await (await conn.execute(
                "SELECT value FROM _meta WHERE key = 'schema'")).fetchone()
            if row is not None and int(row[0]) != SCHEMA_VERSION:
                raise StoreUnavailable(f"{redact(self.url)}: schema version {row[0]}, this "
                                       f"server reads version {SCHEMA_VERSION}")
            await conn.execute("INSERT INTO _meta VALUES ('schema', %s) ON CONFLICT (key) DO"
                               " UPDATE SET value = excluded.value", (str(SCHEMA_VERSION),))
            for stmt in (sql.UUIDS_TABLE, sql.CREDENTIALS_TABLE, *_SCHEMA):
                await conn.execute(stmt)
            # ALTER TABLE takes an exclusive lock even when the column exists: only for the
            # columns really missing (fields added to the model since), so that a host
            # starting in a running pool does not block (or deadlock with) its writes
            have = {(t, c) for t, c in await (await conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema()")).fetchall()}
            for spec in self._specs.values():
                if spec.persistent:
                    await conn.execute(sql.create_table(spec))
                    for f in sql.value_fields(spec):
                        if ("c_" + spec.name, f) not in have:
                            await conn.execute(f"ALTER TABLE {sql.table(spec.name)} ADD COLUMN"
                                               f" IF NOT EXISTS {sql.quote(f)} TEXT")

    async def _snapshot(self, conn: psycopg.AsyncConnection[Any], with_log: bool
                        ) -> tuple[int, int, dict[str, dict[str, Record]], dict[str, Credential],
                                   list[tuple[Any, ...]]]:
        """One consistent read of everything: (head gen, trimmed, records, credentials, log)."""
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        gen, trimmed = await (await conn.execute(
            "SELECT gen, trimmed FROM _head")).fetchone()  # type: ignore[misc]
        records: dict[str, dict[str, Record]] = {}
        shared: dict[str, Any] = {}     # equal column texts decoded once (sql.record_of)
        for spec in self._specs.values():
            if spec.persistent:
                table = records[spec.name] = {}
                async for row in conn.cursor().stream(sql.select_all(spec), size=_LOAD_BATCH):
                    ref, rec = sql.record_of(spec, row, shared)
                    table[ref] = rec
        creds = {r[0]: Credential(*r) for r in await (await conn.execute(
            "SELECT name, hash, role FROM _credentials")).fetchall()}
        rows = []
        if with_log:
            rows = await (await conn.execute(
                # not the fields: the index needs what changed when (a pool made from a
                # big host starts with a log of every record, its fields the whole database
                # again in JSON)
                "SELECT gen, ts, origin, op, cls, ref, uuid, NULL FROM _log WHERE gen > %s"
                " ORDER BY gen, seq", (trimmed,))).fetchall()
        return gen, trimmed, records, creds, rows

    async def _load_all(self) -> None:
        """Records from the tables; the change index from the retained log, so tokens handed
        out before a restart still give exact changes (older ones: EVENTS_LOST)."""
        async with self._pool.connection() as conn, conn.transaction():
            gen, trimmed, records, creds, rows = await self._snapshot(conn, with_log=True)
        base = max(trimmed, 1)          # objects last changed before the retained log
        now = _dt.datetime.now(_dt.timezone.utc)
        index = self._index
        for cls, table in records.items():
            for ref, rec in table.items():
                self._records[cls][ref] = rec
                uuid = rec.get("uuid") or ""
                if uuid:
                    self._uuids[uuid] = (cls, ref)
                index[(cls, ref)] = _Entry(base, base, now, uuid)
        self._recompute_links()
        for g, ts, _origin, op, cls, ref, uuid, _fields in rows:
            if cls not in self._specs:
                continue                # credentials (or a class this model dropped)
            key = (cls, ref)
            entry = index.get(key)
            if entry is not None and entry.deleted and op != "create":
                continue                # a write queued behind its object's deletion: as _apply
            if op == "create" or entry is None:
                entry = index[key] = _Entry(g if op == "create" else base, g, ts, uuid)
            entry.generation, entry.timestamp = g, ts
            if op == "delete":
                entry.deleted = True
                self._tombstones.append(key)
            index.move_to_end(key)
        self._prune_tombstones()
        self._credentials = creds
        self._generation = gen
        self._horizon = max(self._horizon, trimmed)

    # --- writes -----------------------------------------------------------------------------
    async def _commit(self, txn: Transaction) -> int:
        self._validate(txn)                 # fail fast, before queueing for the database
        return await self._submit(txn.operations, txn.start, txn.measured_only)

    async def _submit(self, operations: Callable[[], list[Op]], start: int,
                      measured: frozenset[tuple[str, str]] = frozenset()) -> int:
        """Queue a commit for the writer task; answered once PostgreSQL acknowledged it (and
        memory has it), or with the reason it was refused."""
        if self._closed:
            raise StoreUnavailable("the store is closed")
        loop = asyncio.get_running_loop()
        pending = _Pending(operations, start, loop.create_future(), measured=measured)
        self._pending.append(pending)
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write_loop())
        return await pending.fut

    async def _write_loop(self) -> None:
        """Group commit: every commit queued while the previous batch was in the database goes
        into the next database transaction, each with its own generation."""
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                # the exchanges have their own timeouts (a commit in doubt waits longer)
                async with asyncio.timeout(self.timeout):
                    await self._sync.acquire()
                try:
                    await self._write_batch(batch)
                finally:
                    self._sync.release()
            except TimeoutError:
                _fail(batch, StoreUnavailable("the database is unavailable: no answer within "
                                              f"{self.timeout:g} s"))
            except asyncio.CancelledError:
                _fail(batch, StoreUnavailable("the store is closed"))
                raise
            except Exception as exc:    # noqa: BLE001 - each caller gets the reason
                _fail(batch, exc if isinstance(exc, StoreError) else StoreUnavailable(
                    f"the database is unavailable: {exc}"))

    async def _write_batch(self, batch: list["_Pending"]) -> None:
        for _attempt in range(2):
            live = self._admit(batch)
            if not live:
                return
            try:
                ts, behind, refused = await self._exchange(live)
            except _Behind:
                await self._resync()        # then validate and try again once
                continue
            except (DuplicateUuid, DuplicateRef) as exc:
                if len(live) == 1:
                    _fail(live, exc)
                    return
                for p in live:              # find the culprit: one commit at a time
                    await self._write_batch([p])
                return
            self._apply_log(behind)
            for p in live:
                if p in refused:
                    _fail([p], refused[p])
                    continue
                self._apply_own(p.ops, p.gen, ts)
                if not p.fut.done():
                    p.fut.set_result(p.gen)
            return
        _fail(batch, StoreUnavailable("this server could not catch up with the database log"))

    def _admit(self, batch: list["_Pending"]) -> list["_Pending"]:
        """Check each commit against memory as it is now (it may have moved while the commit
        waited) and against earlier creates of the batch; refuse the ones that fail."""
        live: list[_Pending] = []
        uuids: set[str] = set()
        for p in batch:
            if p.fut.done():
                continue
            try:
                ops = p.operations()
                if any(op[1] != _CREDENTIAL for op in ops):
                    self._check_ops(ops)
                new = {f["uuid"] for k, c, _r, f in ops
                       if k == "create" and c != _CREDENTIAL and f.get("uuid")}
                dup = new & uuids
                if dup:
                    raise DuplicateUuid(next(iter(dup)))
                uuids |= new
            except (StoreError, ValueError) as exc:
                _fail([p], exc)
                continue
            p.ops = ops
            live.append(p)
        return live

    def _persistent(self, ops: list[Op]) -> list[Op]:
        return [op for op in ops if op[1] == _CREDENTIAL or self._specs[op[1]].persistent]

    async def _exchange(self, live: list["_Pending"]
                        ) -> tuple[_dt.datetime, list[tuple[Any, ...]],
                                   dict["_Pending", StoreConflict]]:
        """One database transaction for a batch: take a generation per commit (locking
        `_head`), read the log rows this process has not applied, refuse stale writes, write
        the rest, log, notify, commit. Returns (commit time, unapplied log rows of other
        commits, the refused commits)."""
        shared = {p: self._persistent(p.ops) for p in live}
        doubt = _Doubt()
        try:
            async with self._pool.connection() as conn:
                cur = psycopg.AsyncClientCursor(conn)
                # each commit's writes bound before the transaction begins: the `_head` lock
                # is then held only for the exchange, and a commit of 100,000 records
                # (pool-create's) is not aborted as idle in its transaction while it binds
                bound = {p: self._bind_writes(cur, ops) for p, ops in shared.items() if ops}
                async with asyncio.timeout(self.timeout):
                    ts, rows, refused = await self._transact(cur, live, shared, bound, doubt)
        except asyncio.CancelledError:
            raise                       # the store is closing: the log tells the others
        except BaseException as exc:
            if not doubt.gens or _refused_by_server(exc):
                raise _store_error(exc, self.timeout) from None
            log.warning("the database went away after a commit's COMMIT was sent (%s): asking "
                        "it whether generations %d-%d were committed", _describe(exc),
                        doubt.gens[0], doubt.gens[-1])
            if not await self._settle(doubt.gens, exc):
                raise _store_error(exc, self.timeout) from None
            ts, rows, refused = doubt.result
            log.warning("generations %d-%d were committed: acknowledged", doubt.gens[0],
                        doubt.gens[-1])
        return ts, [r for r in rows if r[0] > self._generation], refused

    async def _transact(self, cur: psycopg.AsyncClientCursor[Any], live: list["_Pending"],
                        shared: dict["_Pending", list[Op]],
                        bound: dict["_Pending", tuple[bytes, list[bytes]]], doubt: "_Doubt"
                        ) -> tuple[_dt.datetime, list[tuple[Any, ...]],
                                   dict["_Pending", StoreConflict]]:
        fences = dict(self._fences) if any(shared.values()) else {}
        since = min([self._generation] + [p.start for p in live if shared[p]])
        # two round trips, each one message of statements (the simple query protocol, values
        # bound on our side): BEGIN, the `_head` lock, the fence check and the log read (the
        # server runs them in order: the reads come after the lock); then the writes and
        # COMMIT. One wait on the socket for each, where psycopg's pipeline waited once per
        # statement sent: most of the CPU a commit cost this process
        try:
            # a process frozen after taking the `_head` lock (SIGSTOP, a starved VM) holds
            # every host's writes until the server aborts its transaction: soon, for a
            # commit (the transaction is idle only between its two messages)
            first_msg: list[sql.Statement] = [
                ("BEGIN", ()), (_COMMIT_IDLE, ()),
                ("UPDATE _head SET gen = gen + %s WHERE id = 1"
                 " RETURNING gen, trimmed, now()", (len(live),))]
            if fences:
                first_msg.append(("SELECT name, holder, epoch FROM _lease"
                                  " WHERE name = ANY(%s)", (list(fences),)))
            first_msg.append((f"SELECT {_LOG_COLUMNS} FROM _log WHERE gen > %s"
                              " ORDER BY gen, seq", (since,)))
            got = await _script(cur, first_msg)
            last, trimmed, ts = got[2][0]
            first = last - len(live) + 1
            if first <= self._generation:
                raise _went_back(first, self._generation)
            if trimmed > self._generation:
                raise _Behind()
            for i, p in enumerate(live):
                p.gen = first + i
            if fences:
                _check_fences(fences, got[3])
            rows = got[-1]
            refused: dict[_Pending, StoreConflict] = {}
            writes = []
            for p in live:
                if shared[p]:
                    try:
                        self._check_stale(shared[p], rows, p.start, trimmed, p.measured)
                    except StoreConflict as exc:
                        refused[p] = exc
                        continue
                    writes.append((bound[p], p.gen))
            second_msg: list[bytes] = []
            if writes:
                second_msg += self._write_rows(cur, writes)
                boundary = (last // self._trim_every) * self._trim_every
                if boundary >= first and boundary > self.log_retention:
                    second_msg += [_bind(cur, q, (boundary - self.log_retention,)) for q in
                                   ("DELETE FROM _log WHERE gen <= %s",
                                    "UPDATE _head SET trimmed = %s")]
                # from here a lost connection leaves the outcome to be asked for. (A
                # commit of no rows only consumed generations: failing it is harmless)
                doubt.gens = [gen for _w, gen in writes]
                doubt.result = (ts, rows, refused)
            await _send(cur, second_msg + [b"COMMIT"])
        except BaseException:
            await _rollback(cur.connection)
            raise
        return ts, rows, refused

    async def _settle(self, gens: list[int], cause: BaseException) -> bool:
        """Whether the transaction that wrote `gens` (rows of this process's origin) was
        committed, asked on a connection of its own until the database answers or
        `settle_timeout` ends (then `CommitUnknown`). Taking the `_head` lock first waits for
        the transaction if the database is still running it; after that the log is the
        truth: had it aborted, nothing of this origin is at those generations (whoever took
        them since wrote their own origin)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settle_timeout
        while True:
            try:
                async with asyncio.timeout(max(0.5, deadline - loop.time())):
                    conn = await psycopg.AsyncConnection.connect(
                        self.url, **{**self._connect_kwargs, "autocommit": True,
                                     "application_name": "xenapi-settle"})
                    async with conn:
                        got = await _script(psycopg.AsyncClientCursor(conn), [
                            ("BEGIN", ()),
                            ("SELECT trimmed FROM _head WHERE id = 1 FOR UPDATE", ()),
                            ("SELECT DISTINCT origin FROM _log WHERE gen = ANY(%s)", (gens,)),
                            ("ROLLBACK", ())])
                trimmed, origins = got[1][0][0], {r[0] for r in got[2]}
                if trimmed >= gens[0]:
                    break               # the log no longer reaches them: nothing to tell
                return origins == {self._origin}
            except (psycopg.Error, OSError, TimeoutError) as exc:
                if loop.time() >= deadline:
                    cause = exc
                    break
                await asyncio.sleep(0.25)
        raise CommitUnknown(_describe(cause))

    # --- leases ----------------------------------------------------------------------------
    async def _lease_sql(self, query: str, args: tuple[Any, ...]) -> Any:
        try:
            async with asyncio.timeout(self.timeout):
                async with self._lease_pool.connection() as conn, conn.transaction():
                    return await (await conn.execute(query, args)).fetchone()
        except (psycopg.Error, psycopg_pool.PoolTimeout, OSError, TimeoutError) as exc:
            raise StoreUnavailable(f"the database is unavailable: {exc or type(exc).__name__}"
                                   ) from None

    async def lease_acquire(self, name: str, holder: str, seconds: float, *,
                            force: bool = False, if_holder: bool = True) -> Lease | None:
        row = await self._lease_sql(
            "INSERT INTO _lease AS l VALUES (%s, %s, 1, clock_timestamp() + %s * interval '1 s')"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, epoch = l.epoch + 1,"
            " expires = excluded.expires WHERE %s OR l.expires <= clock_timestamp()"
            " OR (%s AND l.holder = excluded.holder)"
            " RETURNING holder, epoch", (name, holder, seconds, force, if_holder))
        return None if row is None else Lease(name, row[0], row[1], True)

    async def lease_renew(self, name: str, holder: str, epoch: int, seconds: float) -> bool:
        row = await self._lease_sql(
            "UPDATE _lease SET expires = clock_timestamp() + %s * interval '1 s'"
            " WHERE name = %s AND holder = %s AND epoch = %s RETURNING epoch",
            (seconds, name, holder, epoch))
        return row is not None

    async def lease_get(self, name: str) -> Lease | None:
        row = await self._lease_sql(
            "SELECT holder, epoch, expires > clock_timestamp() FROM _lease WHERE name = %s",
            (name,))
        return None if row is None else Lease(name, row[0], row[1], row[2])

    async def lease_bump(self, name: str, epoch: int) -> bool:
        row = await self._lease_sql(
            "UPDATE _lease SET epoch = epoch + 1, expires = clock_timestamp()"
            " WHERE name = %s AND epoch = %s RETURNING epoch", (name, epoch))
        return row is not None

    async def pool_secret(self, fresh: bool = False) -> str | None:
        # Kept in memory: every call between hosts carries it and checks it, and the lease
        # connection that reads it is the one the leases are renewed on (a burst of
        # forwarded calls read it twice per call, on both hosts, ahead of the renewals).
        # A copy is trusted for SECRET_TTL at most; a caller whose secret differs from it
        # makes the receiver read it again (`fresh`), so a rotated secret is taken at once.
        cached = self._secret
        if not fresh and cached is not None and \
                asyncio.get_running_loop().time() - cached[1] < SECRET_TTL:
            return cached[0]
        row = await self._lease_sql(_SECRET_READ, ())
        if row is None:
            import secrets
            await self._lease_sql("INSERT INTO _meta VALUES ('pool_secret', %s) ON CONFLICT"
                                  " (key) DO NOTHING RETURNING value",
                                  (secrets.token_urlsafe(32),))
            row = await self._lease_sql(_SECRET_READ, ())
        self._secret = (row[0], asyncio.get_running_loop().time())
        return row[0]

    async def rotate_pool_secret(self) -> None:
        import secrets
        row = await self._lease_sql("INSERT INTO _meta VALUES ('pool_secret', %s) ON CONFLICT"
                                    " (key) DO UPDATE SET value = EXCLUDED.value RETURNING value",
                                    (secrets.token_urlsafe(32),))
        self._secret = (row[0], asyncio.get_running_loop().time())

    def fence(self, name: str, holder: str, epoch: int) -> None:
        self._fences[name] = (holder, epoch)

    def unfence(self, name: str) -> None:
        self._fences.pop(name, None)

    def _check_stale(self, ops: list[Op], rows: list[tuple[Any, ...]], start: int,
                     trimmed: int, measured: frozenset[tuple[str, str]] = frozenset()) -> None:
        # only updates and deletions are decisions about what was read (a create cannot be
        # stale; a touch, event.inject, changes nothing; a measurement depends on no read)
        keys = {(cls, ref) for kind, cls, ref, _f in ops
                if kind in ("update", "delete")} - measured
        if not keys:
            return
        if trimmed > start:                 # cannot tell what changed since: refuse
            cls, ref = next(iter(keys))
            raise StoreConflict(cls, ref)
        for g, _ts, origin, _op, cls, ref, _uuid, _f in rows:
            # this process's own concurrent commits are ordered as with SQLite (last write
            # wins per field); another process's change since our reads makes ours stale
            if g > start and origin != self._origin and (cls, ref) in keys:
                raise StoreConflict(cls, ref)

    def _bind_writes(self, cur: psycopg.AsyncClientCursor[Any], ops: list[Op]
                     ) -> tuple[bytes, list[bytes]]:
        """One commit's writes with their values bound: its tables' statements, and its log
        rows without their generation (known once `_head` is locked): each row's text after
        it. The log's time is the transaction's own (`now()`, which the first message
        returned as the commit's time)."""
        stmts: list[bytes] = [_bind(cur, q, args) for q, args in
                              sql.statements([op for op in ops if op[1] != _CREDENTIAL], "%s")]
        rows: list[bytes] = []
        for seq, (kind, cls, ref, fields) in enumerate(ops):
            if cls == _CREDENTIAL:
                if fields is None:
                    stmts.append(_bind(cur, "DELETE FROM _credentials WHERE name = %s", (ref,)))
                else:
                    stmts.append(_bind(cur, "INSERT INTO _credentials VALUES (%s, %s, %s) ON"
                                       " CONFLICT (name) DO UPDATE SET hash = excluded.hash,"
                                       " role = excluded.role",
                                       (ref, fields["hash"], fields["role"])))
                uuid = ""
            elif kind == "create":
                uuid = fields.get("uuid") or ""
            else:
                old = self._records[cls].get(ref)
                uuid = (old.get("uuid") if old is not None else None) or ""
            rows.append(_bind(cur, ", %s, now(), %s, %s, %s, %s, %s, %s)",
                              (seq, self._origin, kind, cls, ref, uuid,
                               None if fields is None else codec.encode(fields))))
        return b"; ".join(stmts), rows

    def _write_rows(self, cur: psycopg.AsyncClientCursor[Any],
                    writes: list[tuple[tuple[bytes, list[bytes]], int]]) -> list[bytes]:
        """The second message's writes: each commit's bound tables' statements, the log rows
        with their generations, the notification."""
        out = [tables for (tables, _rows), _gen in writes if tables]
        out.append(b"INSERT INTO _log VALUES " + b", ".join(
            b"(%d" % gen + row for (_tables, rows), gen in writes for row in rows))
        out.append(_bind(cur, "SELECT pg_notify(%s, %s)", (CHANNEL, str(writes[-1][1]))))
        return out

    def _apply_own(self, ops: list[Op], gen: int, ts: _dt.datetime) -> None:
        for _kind, cls, name, fields in ops:
            if cls == _CREDENTIAL:
                self._set_credential(name, fields)
        self._apply([op for op in ops if op[1] != _CREDENTIAL], gen, ts)

    def _set_credential(self, name: str, fields: dict[str, str] | None) -> None:
        if fields is None:
            self._credentials.pop(name, None)
        else:
            self._credentials[name] = Credential(name, fields["hash"], fields["role"])

    # --- keeping up with the other processes -------------------------------------------------
    def _apply_log(self, rows: list[tuple[Any, ...]]) -> None:
        """Apply log rows (ordered by gen, seq) not applied yet, one commit at a time."""
        by_gen: dict[int, list[tuple[Any, ...]]] = collections.defaultdict(list)
        for row in rows:
            if row[0] > self._generation:
                by_gen[row[0]].append(row)
        for gen in sorted(by_gen):
            ops: list[Op] = []
            ts = by_gen[gen][0][1]
            for _g, _ts, _origin, op, cls, ref, _uuid, text in by_gen[gen]:
                fields = None if text is None else codec.decode(text)
                if cls == _CREDENTIAL:
                    self._set_credential(ref, fields)
                elif cls in self._specs:
                    ops.append((op, cls, ref, fields))
            self._apply(ops, gen, ts)

    async def catch_up(self, conn: psycopg.AsyncConnection[Any] | None = None,
                       notified: list[str] | None = None) -> None:
        """Apply whatever other processes committed that this one has not seen yet: one
        statement (one snapshot, one round trip) on `conn` (the listener's, autocommit) or on
        a pooled connection. `notified`: the payloads that woke the listener; nothing to read
        if this process applied them meanwhile (its own commits' notifications, which arrive
        while its writer holds the lock)."""
        async with self._sync:
            if notified and not self._fresh(notified):
                return
            try:
                async with asyncio.timeout(self.timeout):
                    if conn is not None:
                        rows = await self._read_log(conn)
                    else:
                        async with self._pool.connection() as pooled, pooled.transaction():
                            rows = await self._read_log(pooled)
            except _Behind:
                await self._resync()
                return
            self._apply_log(rows)

    async def _read_log(self, conn: psycopg.AsyncConnection[Any]) -> list[tuple[Any, ...]]:
        """The log rows after this process's generation, with `_head` read in the same
        statement (so the same snapshot: the rows are a prefix with no holes)."""
        got = await (await conn.execute(_CATCH_UP, (self._generation,))).fetchall()
        head, trimmed = got[0][0], got[0][1]
        if head < self._generation:
            raise _went_back(head, self._generation)
        if trimmed > self._generation:
            raise _Behind()
        return [row[2:] for row in got if row[2] is not None]

    async def _resync(self) -> None:
        """The log no longer reaches back to this process's generation: read the tables and
        apply the difference to memory as one change (exact coalesced events for tokens at
        or after our old generation). Called with `_sync` held."""
        async with asyncio.timeout(self.timeout * 6):
            async with self._pool.connection() as conn, conn.transaction():
                gen, _trimmed, records, creds, _rows = await self._snapshot(conn, False)
        log.warning("fell behind the retained database log (at %d, now %d): reloaded",
                    self._generation, gen)
        ops: list[Op] = []
        for cls, table in records.items():
            mine = self._records[cls]
            ops += [("delete", cls, ref, None) for ref in mine if ref not in table]
            for ref, rec in table.items():
                old = mine.get(ref)
                if old is None:
                    ops.append(("create", cls, ref, dict(rec)))
                elif old != rec:
                    ops.append(("update", cls, ref, dict(rec)))
        self._credentials = creds
        self._apply(ops, max(gen, self._generation + 1), _dt.datetime.now(_dt.timezone.utc))
        self._recompute_links()

    async def _listen(self) -> None:
        """Wake on NOTIFY (and every poll_interval) and catch up from the log on the listening
        connection itself (no pool checkout on the wake-up path); reconnect by taking a new
        connection from the listen pool."""
        delay = 0.5
        while not self._closed:
            try:
                async with self._listen_pool.connection() as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    await self.catch_up(conn)   # what was committed while we were not listening
                    delay = 0.5
                    while not self._closed:
                        # stop_after: the generator holds the connection until it ends; a
                        # notification arriving during the catch-up waits in psycopg's backlog
                        notes = [n.payload async for n in conn.notifies(
                            timeout=self.poll_interval, stop_after=1)]
                        wake = not notes            # the poll: no notification in time
                        while wake or self._fresh(notes):
                            await self.catch_up(conn, None if wake else notes)
                            # a notification that came in with the catch-up's answer waits
                            # parsed-or-not in libpq's buffer, where a wait on the socket
                            # would not see it until the next one arrives
                            notes = _buffered_notifies(conn)
                            wake = False
            except asyncio.CancelledError:
                raise
            except Exception as exc:    # noqa: BLE001 - the database went away: retry
                if not self._closed:
                    log.warning("lost the database's change notifications (%s); reconnecting",
                                exc or type(exc).__name__)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 10.0)

    def _fresh(self, payloads: list[str]) -> bool:
        """A notification names a generation this process has not applied (or cannot tell)."""
        return any(not p.isdigit() or int(p) > self._generation for p in payloads)

    # --- credentials (shared: written through the log, so every process sees them) ---------
    async def put_credential(self, cred: Credential) -> None:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        fields = {"hash": cred.password_hash, "role": cred.role}
        await self._submit(lambda: [("credential", _CREDENTIAL, cred.name, fields)],
                           self._generation)

    async def delete_credential(self, name: str) -> bool:
        if self.get_credential(name) is None:
            return False
        await self._submit(lambda: [("credential", _CREDENTIAL, name, None)],
                           self._generation)
        return True

    # --- lifecycle --------------------------------------------------------------------------
    async def _close_pools(self) -> None:
        await self._lease_pool.close()
        await self._listen_pool.close()
        await self._pool.close()

    async def close(self) -> None:
        if self._closed:
            return
        await super().close()
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)   # queued commits
        if self._listener is not None:
            self._listener.cancel()
            try:
                await self._listener
            except (asyncio.CancelledError, Exception):   # noqa: BLE001 - closing anyway
                pass
        async with self._sync:
            await self._close_pools()


async def _check_connection(conn: psycopg.AsyncConnection[Any]) -> None:
    """The pools' check before lending a connection, without a round trip when it can: an
    idle connection has nothing to read, so data or EOF waiting on its socket (a server that
    restarted or ended the session sends an error and closes) sends it to psycopg_pool's
    own check, a query, which fails and has it replaced. A round trip per commit was a wake-up
    of the server process and of ours on the commit's path."""
    if conn.closed or conn.pgconn.status != psycopg.pq.ConnStatus.OK \
            or select.select([conn.fileno()], [], [], 0)[0]:
        await psycopg_pool.AsyncConnectionPool.check_connection(conn)


async def _script(cur: psycopg.AsyncClientCursor[Any], stmts: list[sql.Statement]
                  ) -> list[list[tuple[Any, ...]]]:
    """Statements sent as one message, values bound on our side; the rows of each (none for
    those that return none). The server stops at the first error, which is raised."""
    await cur.execute("; ".join(q for q, _a in stmts), [a for _q, args in stmts for a in args])
    out = []
    while True:
        out.append(await cur.fetchall() if cur.description is not None else [])
        if not cur.nextset():
            return out


def _bind(cur: psycopg.AsyncClientCursor[Any], query: str, args: tuple[Any, ...]) -> bytes:
    """`query` with `args` bound as literals, as the server will read it.

    The store's values are texts, integers and NULLs: each is quoted by libpq's
    PQescapeLiteral (psycopg's `pq.Escaping`) into the query's pieces between its `%s`
    marks, split once per query text. psycopg's mogrify parsed and adapted every query anew:
    5.4 us for an UPDATE of two fields against 0.9 (in-process timeit), and a commit binds
    one statement per record and one log row per operation."""
    parts = _pieces(query)
    # anything else, and a NUL (which no text column takes, and which would end the
    # message's query string), to psycopg, which adapts or refuses it
    if parts is None or len(parts) != len(args) + 1 or not all(
            a is None or type(a) is int or (type(a) is str and "\0" not in a) for a in args):
        return cur.mogrify(query, args).encode(cur.connection.info.encoding)
    conn = cur.connection
    escape = psycopg.pq.Escaping(conn.pgconn).escape_literal
    encoding = conn.info.encoding
    out = [parts[0]]
    for arg, part in zip(args, parts[1:]):
        out.append(b"NULL" if arg is None else b"%d" % arg if type(arg) is int
                   else escape(arg.encode(encoding)))
        out.append(part)
    return b"".join(out)


@functools.lru_cache(maxsize=4096)
def _pieces(query: str) -> tuple[bytes, ...] | None:
    """The text around each `%s` of a query (ASCII: our own statements' texts), or None for
    a query with another `%` form (left to psycopg)."""
    parts = query.split("%s")
    if any("%" in p for p in parts) or not query.isascii():
        return None
    return tuple(p.encode("ascii") for p in parts)


async def _send(cur: psycopg.AsyncClientCursor[Any], stmts: list[bytes]) -> None:
    """Bound statements sent as one message; the server stops at the first error, which is
    raised."""
    await cur.execute(b"; ".join(stmts))
    while cur.nextset():
        pass


async def _rollback(conn: psycopg.AsyncConnection[Any]) -> None:
    """End a failed commit's transaction if the connection is idle in it; a connection still
    busy (a cancelled exchange) is the pool's to discard when it comes back."""
    if conn.pgconn.transaction_status in (psycopg.pq.TransactionStatus.INTRANS,
                                          psycopg.pq.TransactionStatus.INERROR):
        try:
            await conn.execute("ROLLBACK")
        except psycopg.Error:
            pass                        # a broken connection: the pool replaces it


def _check_fences(fences: dict[str, tuple[str, int]], rows: list[tuple[Any, ...]]) -> None:
    """Read under the `_head` lock: every lease this process depends on is still held by it,
    under its epoch; else the whole batch is refused (StoreFenced). A term that ran out is
    not a loss by itself: whoever acts on an expired lease (a take-over, the master fencing a
    silent host, declare_dead) gives it a new epoch first. So a database outage longer than a
    term, which lets every lease run out, refuses nothing once it is over."""
    have = {r[0]: r[1:] for r in rows}
    for name, (holder, epoch) in fences.items():
        got = have.get(name)
        if got is None or got[0] != holder or got[1] != epoch:
            raise StoreFenced(name, f"now {got[0]}@{got[1]}" if got else "no such lease")


def _buffered_notifies(conn: psycopg.AsyncConnection[Any]) -> list[str]:
    """Payloads of the notifications libpq already read (PQnotifies parses its buffer),
    without waiting. (Those psycopg set aside during a query, the next notifies() yields at
    once.)"""
    payloads = []
    while (n := conn.pgconn.notifies()) is not None:
        payloads.append(n.extra.decode())
    return payloads


def _refused_by_server(exc: BaseException) -> bool:
    """An ERROR the server answered with (a statement failed): its transaction did not
    commit. A FATAL (the server ending the session), a lost connection or a timeout leave
    it open whether a COMMIT already sent was made."""
    return isinstance(exc, psycopg.Error) and exc.diag.severity_nonlocalized == "ERROR"


def _describe(exc: BaseException) -> str:
    return str(exc).strip() or type(exc).__name__


def _store_error(exc: BaseException, timeout: float) -> BaseException:
    """What a failed exchange raises to the writer: store errors as they are, the database's
    own as StoreUnavailable (a unique violation as the duplicate it names)."""
    if isinstance(exc, psycopg.errors.UniqueViolation):
        return _duplicate(exc)
    if isinstance(exc, (psycopg.Error, psycopg_pool.PoolTimeout, OSError)):
        log.error("database write failed: %s", _describe(exc))
        return StoreUnavailable(f"the database is unavailable: {_describe(exc)}")
    if isinstance(exc, TimeoutError):
        return StoreUnavailable(f"the database is unavailable: no answer within {timeout:g} s")
    return exc


def _went_back(head: int, mine: int) -> StoreUnavailable:
    """The database lost commits this process applied (restored from a backup, or failed over
    to a replica without synchronous replication): its generations would be reused for other
    changes, so refuse rather than diverge."""
    log.critical("the database is at generation %d but this server applied %d: it lost "
                 "acknowledged commits; restart this server to reload it", head, mine)
    return StoreUnavailable(f"the database went back from generation {mine} to {head}")


def _duplicate(exc: psycopg.errors.UniqueViolation) -> Exception:
    """DuplicateUuid / DuplicateRef from PostgreSQL's unique violation detail."""
    detail = exc.diag.message_detail or ""
    m = re.search(r"Key \((\w+)\)=\((.*)\) already exists", detail)
    if m and m.group(1) == "uuid":
        return DuplicateUuid(m.group(2))
    if m and m.group(1) == "ref":
        return DuplicateRef(m.group(2))
    return StoreUnavailable(f"database constraint violated: {exc}")
