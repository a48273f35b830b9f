"""SQLite write-through persistence under the in-memory store.

Layout: the class tables and `_uuids` of `sql.py` (shared with the PostgreSQL backend);
`_credentials` holds local users; `_meta` the schema version.

Durability: WAL with synchronous=FULL, so a commit is on disk when SQLite returns. The group
writer (groupwriter.c: a thread in C that never takes the GIL, with a connection of its own)
writes every commit handed to it while it was busy in one SQLite transaction (group commit),
and says it is done through an eventfd the event loop watches; a commit to an idle store is
written on the event loop's thread instead, with the writer's connection (`_submit` says when),
so every write goes through the one connection and its prepared statements. Each caller is
answered only after its transaction committed, and the in-memory copy is updated only then, in
the same order as on disk, by the store itself: a caller cancelled meanwhile (a server
stopping) cannot leave a commit on disk that memory lacks. If the disk write fails, the batch
is rolled back, its callers get the error (SQLite's words: "database or disk is
full") and memory is unchanged. A full disk or a busy database is transient: the next commit
tries again, so writes resume by themselves once the disk takes them (a failed batch is gone,
never replayed). Any other failure (I/O error, corruption) leaves the file's state uncertain
(an fsync that failed may still have written), so the store then refuses writes until a restart.
"""
from __future__ import annotations

import asyncio
import collections
import fcntl
import logging
import os
import sqlite3
import struct
from typing import Any, Iterable

from . import sql
from ._groupwriter import ffi as _ffi, lib as _gw
from .base import ClassSpec, Credential
from .errors import StoreUnavailable
from .memory import MemoryStore, Settle

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
#: how long a write waits for another process's write lock (Python's sqlite3 default: 5 s)
BUSY_TIMEOUT_MS = 5000
_TAKE = 64                          # results taken from the group writer per call
# A commit is made on the event loop's thread, not the writer's, when no other is in flight,
# the loop has nothing else to run (without asyncio's ready queue to tell: no commit ended in
# the last INLINE_IDLE seconds), the writer's recent batches averaged under INLINE_BATCHING
# other commits each (where they shared their fsync, batching pays: a burst of starts was 5%
# slower without this), and commits have lately taken less than INLINE_MAX (a slow disk
# would hold the loop).
INLINE_IDLE = 0.002
INLINE_MAX = 0.002
INLINE_BATCHING = 0.5
# Primary SQLite result codes (extended codes keep them in the low byte) after which the file
# is as it was before the batch, so the next batch may simply try again:
# SQLITE_BUSY, SQLITE_LOCKED (another process writing: `xenapi-server user add`), SQLITE_FULL
_TRANSIENT = frozenset({5, 6, 13})


def _transient(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.Error) and code is not None and code & 0xFF in _TRANSIENT


# SQLite's primary result codes by name; an extended code's name starts with its primary's
_PRIMARY = ("ERROR INTERNAL PERM ABORT BUSY LOCKED NOMEM READONLY INTERRUPT IOERR CORRUPT "
            "NOTFOUND FULL CANTOPEN PROTOCOL EMPTY SCHEMA TOOBIG CONSTRAINT MISMATCH MISUSE "
            "NOLFS AUTH FORMAT RANGE NOTADB NOTICE WARNING").split()
_CODE_NAMES = {getattr(sqlite3, "SQLITE_" + p): "SQLITE_" + p for p in _PRIMARY}
_CODE_NAMES.update({v: n for n in dir(sqlite3) if n.startswith("SQLITE_")
                    and (v := getattr(sqlite3, n)) in range(256, 1 << 16)
                    and n[7:].split("_")[0] in _PRIMARY})


def _sqlite_error(code: int, message: str) -> sqlite3.Error:
    """The group writer's failure as the sqlite3 module would have raised it."""
    exc = sqlite3.OperationalError(message)
    exc.sqlite_errorcode = code                             # type: ignore[attr-defined]
    exc.sqlite_errorname = _CODE_NAMES.get(code, _CODE_NAMES.get(code & 0xFF,  # type: ignore
                                                                 f"SQLITE_{code}"))
    return exc


_U32 = struct.Struct("<I").pack
_I32 = struct.Struct("<i").pack
_NULL = _I32(-1)


#: (statement text, argument count) -> its packed head: the texts repeat (sql._text)
_heads: dict[tuple[str, int], bytes] = {}
_HEADS_MAX = 4096


def _pack(stmts: list[tuple[str, tuple]]) -> bytes:
    """A commit's statements for the group writer (the layout groupwriter.h gives). Every
    argument is text or None; anything else, or text that is not valid UTF-8, raises here,
    before the commit is handed over."""
    out: list[bytes] = []
    heads = _heads
    for text, args in stmts:
        key = (text, len(args))
        head = heads.get(key)
        if head is None:
            q = text.encode()
            head = _U32(len(q)) + q + _U32(len(args))
            if len(heads) >= _HEADS_MAX:
                heads.clear()
            heads[key] = head
        out.append(head)
        for a in args:
            if a is None:
                out.append(_NULL)
            else:
                b = str.encode(a)
                out += (_I32(len(b)), b)
    return b"".join(out)


class SqliteStore(MemoryStore):
    def __init__(self, path: str, specs: Iterable[ClassSpec], *, exclusive: bool = False
                 ) -> None:
        super().__init__(specs)
        self.path = path
        self._lock_fd: int | None = None
        if exclusive:
            self._lock(path)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._create_schema()
        self._load_all()
        # Logins read credentials from the file, so `xenapi-server user add` takes effect on a
        # running server; this connection is only used from the event-loop thread.
        self._reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        #: this turn of the loop's commits for the writer (packed), handed over at its end
        self._turn: list[tuple[bytes, asyncio.Future[int], Settle]] = []
        #: the commits handed over, in order (the writer answers in order): their callers,
        #: and what settles each in memory
        self._waiting: collections.deque[tuple[asyncio.Future[int], Settle]] = \
            collections.deque()
        self._drained: asyncio.Future[None] | None = None   # close() waits for the writer
        self._failed: BaseException | None = None     # a write error that stops all writes
        self._failing: BaseException | None = None    # the last error, until a write passes
        self.write_failures = 0
        # commits handed to the writer (or in this turn, about to be), not yet settled: one is
        # made on the loop's thread only when none is, so memory applies them in disk order
        self._queued = 0
        self._last_write = 0.0          # loop time the last commit was done
        self._commit_seconds = 0.0      # recent commits' duration (moving average)
        self._batching = 0.0            # commits the writer's recent batches shared (average)
        error = _ffi.new("char[]", 256)
        writer = _gw.gw_open(os.fsencode(path), BUSY_TIMEOUT_MS, error, len(error))
        if writer == _ffi.NULL:
            self._release()
            raise StoreUnavailable(f"{path}: {_ffi.string(error).decode(errors='replace')}")
        self._writer = writer
        self._results = _ffi.new("gw_result[]", _TAKE)
        self._now = _ffi.new("gw_result *")        # the result of a commit made on the loop
        self._watched: asyncio.AbstractEventLoop | None = None   # the loop watching the writer

    async def sync(self) -> None:
        """Checkpoint the write-ahead log into the database file (and empty the log), so the
        `.db` file alone holds every committed write (a copy of it is a whole backup)."""
        def checkpoint() -> None:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=10)
            try:
                busy, _log, _done = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                db.close()
            if busy:
                raise StoreUnavailable("the database is busy: the checkpoint did not finish")
        await asyncio.get_running_loop().run_in_executor(None, checkpoint)

    def _lock(self, path: str) -> None:
        """One server per database: each keeps its own authoritative copy in memory."""
        fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreUnavailable(f"{path} is in use by another xenapi-server") from None
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # --- schema and load ----------------------------------------------------------------
    def _create_schema(self) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("CREATE TABLE IF NOT EXISTS _meta (key TEXT PRIMARY KEY, value TEXT)")
            row = db.execute("SELECT value FROM _meta WHERE key='schema'").fetchone()
            if row is not None and int(row[0]) != SCHEMA_VERSION:
                raise StoreUnavailable(f"{self.path}: schema version {row[0]}, this server "
                                       f"reads version {SCHEMA_VERSION}")
            db.execute("INSERT OR REPLACE INTO _meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            db.execute(sql.UUIDS_TABLE)
            db.execute(sql.CREDENTIALS_TABLE)
            for spec in self._specs.values():
                if not spec.persistent:
                    continue
                db.execute(sql.create_table(spec))
                table = sql.table(spec.name)
                have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
                for f in spec.fields:       # fields added to the model since the file was made
                    if f not in have:
                        db.execute(f"ALTER TABLE {table} ADD COLUMN {sql.quote(f)} TEXT")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _load_all(self) -> None:
        shared: dict[str, Any] = {}     # equal values of the loaded records, one object each
        for spec in self._specs.values():
            if spec.persistent:
                for row in self._db.execute(sql.select_all(spec)):
                    self._load(spec.name, *sql.record_of(spec, row, shared))
        for name, phash, role in self._db.execute("SELECT name, hash, role FROM _credentials"):
            self._credentials[name] = Credential(name, phash, role)
        self._recompute_links()

    # --- writes ---------------------------------------------------------------------------
    async def _persist(self, ops: list[tuple[str, str, str, Any]], settle: Settle) -> int:
        return await self._submit(sql.statements(self._without_derived(ops), "?"), settle)

    def _without_derived(self, ops: list[tuple[str, str, str, Any]]
                         ) -> list[tuple[str, str, str, Any]]:
        """The updates of a parent's derived sets are not written: a load recomputes every
        set from the children's ref fields (`_recompute_links`), so the column is never read
        back, and rewriting it was O(set size) per child change (each of 1,000 VM starts
        wrote host.resident_VMs whole: 23 MB of JSON for the burst)."""
        derived = self._derived
        out = []
        for op in ops:
            kind, cls, ref, fields = op
            gone = derived.get(cls) if kind == "update" else None
            if gone and not gone.isdisjoint(fields):
                op = (kind, cls, ref, {k: v for k, v in fields.items() if k not in gone})
            out.append(op)
        return out

    def get_credential(self, name: str) -> Credential | None:
        if self._closed:
            return super().get_credential(name)
        row = self._reader.execute("SELECT name, hash, role FROM _credentials WHERE name = ?",
                                   (name,)).fetchone()
        return None if row is None else Credential(*row)

    def list_credentials(self) -> list[Credential]:
        if self._closed:
            return super().list_credentials()
        rows = self._reader.execute("SELECT name, hash, role FROM _credentials ORDER BY name")
        return [Credential(*row) for row in rows]

    async def _persist_credential(self, name: str, cred: Credential | None) -> None:
        if cred is None:
            stmts = [("DELETE FROM _credentials WHERE name = ?", (name,))]
        else:
            stmts = [("INSERT OR REPLACE INTO _credentials VALUES (?, ?, ?)",
                      (cred.name, cred.password_hash, cred.role))]
        await self._submit(stmts, lambda error: self._credential_written(name, cred, error))

    async def _submit(self, stmts: list[tuple[str, tuple]], settle: Settle) -> int:
        """Write `stmts` in one commit, `settle` it on the loop's thread once on disk (or
        refused), then answer with its generation."""
        if self._failed is not None:
            raise StoreUnavailable(f"database writes stopped after a write error (restart "
                                   f"the server): {_describe(self._failed)}")
        if self._closed:
            raise StoreUnavailable("the store is closed")
        loop = asyncio.get_running_loop()
        packed = _pack(stmts)
        if (self._queued == 0 and self._commit_seconds < INLINE_MAX
                and self._batching < INLINE_BATCHING and self._loop_idle(loop)):
            # An idle store on a fast disk: commit here. Handing one commit to the writer
            # thread and back costs two thread wake-ups, each 0.1 ms or more once the CPUs
            # idle (a VM's vCPU halts); nothing else is waiting to share this commit, and
            # the loop is held for one fsync. Under load the writer batches as before.
            written, error = self._write_now(packed)
            if written:
                self._last_write = loop.time()
                gen = settle(error)
                if error is not None:
                    raise _failure(error)
                return gen
        if self._watched is not loop:
            self._watch(loop)
        fut: asyncio.Future[int] = loop.create_future()
        # counted until the writer is done with it (_written), even if this call is cancelled
        self._queued += 1
        if not self._turn:
            loop.call_soon(self._hand_over)
        self._turn.append((packed, fut, settle))
        return await fut

    def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Have `loop` take the writer's results (the loop of the first write, or of a later
        one once nothing is in flight on the previous)."""
        if self._waiting or self._turn:
            raise StoreUnavailable("the store's writes are in flight on another event loop")
        self._unwatch()
        loop.add_reader(_gw.gw_fd(self._writer), self._results_ready)
        self._watched = loop

    def _unwatch(self) -> None:
        old, self._watched = self._watched, None
        if old is not None and not old.is_closed():
            old.remove_reader(_gw.gw_fd(self._writer))

    def _hand_over(self) -> None:
        """The commits of one turn of the loop go to the writer in one piece, so they share
        a transaction when it is idle, and the loop's turn is not interrupted for them."""
        turn, self._turn = self._turn, []
        if not turn:
            return
        data = b"".join(packed for packed, _fut, _settle in turn)
        if self._writer is None or _gw.gw_submit(self._writer, data, len(data), len(turn)) != 0:
            self._queued -= len(turn)
            for _packed, fut, settle in turn:
                _answer(fut, settle, StoreUnavailable("the store is closed"))
            return
        self._waiting.extend((fut, settle) for _packed, fut, settle in turn)

    def _results_ready(self) -> None:
        """On the loop's thread, when the writer's eventfd is readable."""
        results = self._results
        while self._writer is not None:
            n = _gw.gw_take(self._writer, results, _TAKE)
            for i in range(n):
                r = results[i]
                self._written(r.commits, r.batch, r.seconds, _result_error(r))
            if n < _TAKE:
                return

    def _written(self, commits: int, batch: int, seconds: float,
                 error: BaseException | None) -> None:
        """The writer is done with the next `commits` commits handed over: their transaction
        held `batch` commits and took `seconds`."""
        self._outcome(seconds, error)
        self._batching += (batch - 1 - self._batching) * 0.1
        self._queued -= commits
        if self._watched is not None:
            self._last_write = self._watched.time()
        waiting = self._waiting
        for _ in range(commits):
            fut, settle = waiting.popleft()
            _answer(fut, settle, error)
        if not waiting and self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    def _loop_idle(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Nothing else for the loop to do now, so holding it for one fsync delays nobody.
        asyncio's loop says so by its queue of ready callbacks (a private attribute, there
        since asyncio began); on another loop, no commit may have ended in the last
        INLINE_IDLE seconds."""
        ready = getattr(loop, "_ready", None)
        if ready is not None:
            return not ready
        return loop.time() - self._last_write >= INLINE_IDLE

    def _write_now(self, packed: bytes) -> tuple[bool, BaseException | None]:
        """Write one commit on this thread with the writer's connection, if the writer is
        idle: (True, the error if it failed: rolled back then), or (False, None) if it was
        busy after all."""
        result = self._now
        if _gw.gw_write_now(self._writer, packed, len(packed), result) != 0:
            return False, None
        error = _result_error(result)
        self._outcome(result.seconds, error)
        return True, error

    def _outcome(self, seconds: float, error: BaseException | None) -> None:
        """A transaction ended, on the loop's thread or the writer's: the failure state, and
        the recent commits' duration (passed ones only) that decides where the next goes."""
        if error is None:
            self._write_passed()
            self._commit_seconds += (seconds - self._commit_seconds) * 0.25
        else:
            self._write_failed(error)

    def _write_failed(self, exc: BaseException) -> None:
        # one log line when writes start failing, not one per commit
        if not _transient(exc):
            if self._failed is None:
                log.critical("database write failed, refusing further writes until a "
                             "restart: %s", _describe(exc))
            self._failed = self._failed or exc
        elif self._failing is None:
            log.error("database write failed, will retry with the next write: %s",
                      _describe(exc))
        self._failing = exc
        self.write_failures += 1

    def _write_passed(self) -> None:
        if self._failing is not None:
            log.warning("database writes succeed again (%d failed meanwhile)",
                        self.write_failures)
            self._failing = None
            self.write_failures = 0

    async def close(self) -> None:
        """Every commit handed over is written and its caller answered first."""
        if self._closed:
            return
        await super().close()
        self._hand_over()
        if self._waiting:
            self._drained = asyncio.get_running_loop().create_future()
            await self._drained
        self._close_writer()

    def close_sync(self) -> None:
        """Close from outside a running loop (CLI commands, tests): what was handed over is
        written, but no caller is answered (their loop is not running)."""
        self._closed = True
        self._hand_over()
        self._close_writer()

    def _close_writer(self) -> None:
        if self._writer is None:
            return
        self._unwatch()
        writer, self._writer = self._writer, None
        _gw.gw_close(writer)                # writes what is left (cffi lets the GIL go)
        self._release()

    def _release(self) -> None:
        """Close the loop's own connections and let another server open the file."""
        self._db.close()
        self._reader.close()
        self._unlock()


def _result_error(result: Any) -> sqlite3.Error | None:
    """The error of one of the writer's results (a gw_result), None if it committed."""
    if result.code == 0:
        return None
    return _sqlite_error(result.code, _ffi.string(result.message).decode(errors="replace"))


def _describe(exc: BaseException) -> str:
    """SQLite's message with its result code ("database or disk is full (SQLITE_FULL)")."""
    name = getattr(exc, "sqlite_errorname", None)
    return f"{exc} ({name})" if name else f"{type(exc).__name__}: {exc}"


def _failure(error: BaseException) -> StoreUnavailable:
    return StoreUnavailable(f"database write failed: {_describe(error)}")


def _answer(fut: asyncio.Future[int], settle: Settle, error: BaseException | None) -> None:
    """One commit's end: settled in memory (applied, or its reservations let go) even if its
    caller was cancelled meanwhile, then its caller answered (an exception of its own if it
    failed: one raised in several tasks would gather all their tracebacks)."""
    try:
        gen = settle(error)
    except Exception as exc:    # noqa: BLE001 - a fault applying it: its caller hears, not the rest
        log.exception("applying a durable commit failed")
        if not fut.done():
            fut.set_exception(exc)
        return
    if fut.done():
        return
    if error is None:
        fut.set_result(gen)
    else:
        fut.set_exception(error if isinstance(error, StoreUnavailable) else _failure(error))


def open_store(path: str, specs: Iterable[ClassSpec], *, exclusive: bool = False
               ) -> SqliteStore:
    """Open (creating if needed) the database at `path`; `exclusive`: refuse if another
    process opened it exclusively (the server does)."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise StoreUnavailable(f"directory {directory} does not exist")
    if not os.path.exists(path):
        # password hashes live here: only the owner may read it (SQLite's -wal and -shm files
        # take the same mode)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    return SqliteStore(path, specs, exclusive=exclusive)
