"""The in-memory store: the authoritative read copy of every record.

`SqliteStore` extends it with write-through persistence; used alone it is the store for tests.
All methods run on the event-loop thread (no locks): reads take no I/O, commits apply their
writes in one step after the backing storage (if any) has made them durable.
"""
from __future__ import annotations

import asyncio
import collections
import contextvars
import datetime as _dt
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

from ..values import Record, share_empties
from .base import Change, ClassSpec, Credential, Store, Transaction
from .errors import DuplicateRef, DuplicateUuid, NoSuchObject, StoreUnavailable, UnknownClass
from .refs import NULL_REF

# Deleted objects are remembered (for "del" events) up to this many, and for this long; older
# ones are forgotten and the horizon moves past them (event.from from a token before it answers
# EVENTS_LOST). Each costs about 0.6 KB: without the bounds, steady create/destroy grew the
# server ~10 MiB/min up to 100,000 (bench/RESULTS.md, soak).
MAX_TOMBSTONES = 20_000
TOMBSTONE_MAX_AGE = _dt.timedelta(minutes=15)


@dataclass(slots=True)
class _Entry:
    """Change index entry of one object (live or deleted)."""

    created: int          # generation of its creation
    generation: int       # generation of its last change
    timestamp: _dt.datetime
    uuid: str
    deleted: bool = False


#: set in the task whose commit woke waiting event.from calls (server/dispatch.py lets them
#: answer before that call does)
WOKE_WATCHERS: contextvars.ContextVar[bool] = contextvars.ContextVar("woke_watchers",
                                                                     default=False)


def _wake(fut: asyncio.Future[None]) -> None:
    """Wake one waiting event.from call (a commit, or its timeout), unless already woken."""
    if not fut.done():
        fut.set_result(None)


#: a commit's ending, called once by the backend that made it durable: None (applies it,
#: returns its generation) or the error that refused it
Settle = Callable[[BaseException | None], int]


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


class MemoryStore(Store):
    def __init__(self, specs: Iterable[ClassSpec]) -> None:
        self._specs: dict[str, ClassSpec] = {s.name: s for s in specs}
        self._records: dict[str, dict[str, Record]] = {name: {} for name in self._specs}
        self._views = {name: MappingProxyType(d) for name, d in self._records.items()}
        #: each class's field names as a set: a commit checks its fields against it
        self._field_sets = {name: frozenset(s.fields) for name, s in self._specs.items()}
        self._uuids: dict[str, tuple[str, str]] = {}
        self._reserved_uuids: set[str] = set()
        # (cls, ref) -> _Entry, ordered by last change: the newest changes are at the end,
        # so changes since a generation are a walk backwards from the end.
        self._index: collections.OrderedDict[tuple[str, str], _Entry] = collections.OrderedDict()
        self._tombstones: collections.deque[tuple[str, str]] = collections.deque()
        self._horizon = 0
        self._generation = 0
        # event.from calls waiting for the next commit: plain futures, woken directly by
        # _notify (an asyncio.Event under wait_for costs a task and two loop turns more)
        self._waiters: dict[asyncio.Future[None], None] = {}
        self._credentials: dict[str, Credential] = {}
        self._closed = False
        #: called on the loop's thread after each applied commit (and volatile replacement)
        #: with the (old, new) Records of the objects it changed: wire/prewarm.py encodes the
        #: new versions of the records clients read, off the request path
        self.replaced_listeners: list[Callable[[list[tuple[Record, Record]]], None]] = []
        # one-to-many relations (ClassSpec.links): child class -> its links, and the parents'
        # set fields, which only this store writes
        self._links = {s.name: s.links for s in self._specs.values() if s.links}
        self._derived: dict[str, frozenset[str]] = {}
        for child_links in self._links.values():
            for _f, parent, set_field in child_links:
                self._derived[parent] = self._derived.get(parent, frozenset()) | {set_field}

    # --- reads ----------------------------------------------------------------------------
    @property
    def generation(self) -> int:
        return self._generation

    @property
    def horizon(self) -> int:
        return self._horizon

    def spec(self, cls: str) -> ClassSpec:
        try:
            return self._specs[cls]
        except KeyError:
            raise UnknownClass(cls) from None

    def classes(self) -> Iterable[str]:
        return self._specs.keys()

    def get(self, cls: str, ref: str) -> Record | None:
        try:
            return self._records[cls].get(ref)
        except KeyError:
            raise UnknownClass(cls) from None

    def records(self, cls: str) -> Mapping[str, Record]:
        try:
            return self._views[cls]
        except KeyError:
            raise UnknownClass(cls) from None

    def find_uuid(self, uuid: str) -> tuple[str, str] | None:
        return self._uuids.get(uuid)

    def changes_since(self, generation: int, classes: frozenset[str] | None = None,
                      refs: frozenset[tuple[str, str]] = frozenset()) -> list[Change]:
        out: list[Change] = []
        for key in reversed(self._index):
            entry = self._index[key]
            if entry.generation <= generation:
                break
            cls, ref = key
            if classes is not None and cls not in classes and key not in refs:
                continue
            if entry.deleted:
                if entry.created > generation:
                    continue        # born and gone since the token: never seen, never told
                out.append(Change(cls, ref, "del", entry.generation, entry.timestamp, None,
                                  entry.uuid))
            else:
                op = "add" if entry.created > generation else "mod"
                out.append(Change(cls, ref, op, entry.generation, entry.timestamp,
                                  self._records[cls][ref], entry.uuid))
        out.reverse()
        return out

    # --- writes ---------------------------------------------------------------------------
    def _validate(self, txn: Transaction) -> list[tuple[str, str, str, Any]]:
        return self._check_ops(txn.operations())

    def _check_ops(self, ops: list[tuple[str, str, str, Any]]) -> list[tuple[str, str, str, Any]]:
        """Check a commit's writes against memory: the objects exist (or not), known fields,
        unique uuids. Returns `ops`."""
        new_uuids: set[str] = set()
        for kind, cls, ref, fields in ops:
            known = self._field_sets.get(cls)
            if known is None:
                raise UnknownClass(cls)
            if kind == "create":
                if ref in self._records[cls]:
                    raise DuplicateRef(ref)
                if not known.issuperset(fields):
                    raise ValueError(f"{cls} has no field(s) {sorted(set(fields) - known)}")
                uuid = fields.get("uuid")
                if uuid is not None:
                    if uuid in self._uuids or uuid in self._reserved_uuids or uuid in new_uuids:
                        raise DuplicateUuid(uuid)
                    new_uuids.add(uuid)
            else:
                if ref not in self._records[cls]:
                    raise NoSuchObject(cls, ref)
                if kind == "update":
                    if not known.issuperset(fields):
                        raise ValueError(f"{cls} has no field(s) {sorted(set(fields) - known)}")
                    if "uuid" in fields and fields["uuid"] != self._records[cls][ref].get("uuid"):
                        raise ValueError("uuid fields are immutable")
        return ops

    async def _commit(self, txn: Transaction) -> int:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        ops = self._validate(txn)
        persistent = [op for op in ops if self._specs[op[1]].persistent and op[0] != "touch"]
        if not persistent:
            return self._apply(ops)
        reserved = {f["uuid"] for k, _c, _r, f in persistent if k == "create" and "uuid" in f}
        self._reserved_uuids |= reserved
        settled = False

        def settle(error: BaseException | None) -> int:
            # Called by the backend on the loop's thread once the writes are on disk (or
            # refused), in disk order, whether or not the caller still waits: a caller
            # cancelled while the disk had its commit (a server stopping) cannot leave the
            # disk with a change that memory lacks.
            nonlocal settled
            if settled:
                return 0
            settled = True
            self._reserved_uuids -= reserved
            return 0 if error is not None else self._apply(ops)
        try:
            return await self._persist(persistent, settle)
        except asyncio.CancelledError:
            raise               # handed over to the disk: the backend settles it when done
        except BaseException as exc:
            settle(exc)         # refused before it was handed over (settled at most once)
            raise

    async def _persist(self, ops: list[tuple[str, str, str, Any]], settle: Settle) -> int:
        """Make the writes durable, then `settle(None)` to apply them and return its
        generation; `settle(error)` if the disk refused them (then raise). Nothing to write
        in memory."""
        return settle(None)

    def _apply(self, ops: list[tuple[str, str, str, Any]], gen: int | None = None,
               now: _dt.datetime | None = None) -> int:
        """Apply one commit's writes at `gen` (default: the next generation); a shared database
        gives its own generation and commit time so that every process agrees on them."""
        gen = self._generation + 1 if gen is None else gen
        self._generation = gen
        now = _now() if now is None else now
        index = self._index
        replaced: list[tuple[Record, Record]] = []
        links, derived = self._links, self._derived
        moves: list[tuple[str, str, str, Any, Any]] = []   # (parent, set, child, from, to)
        for kind, cls, ref, fields in ops:
            table = self._records[cls]
            key = (cls, ref)
            if kind == "create":
                if ref in table:
                    continue
                uuid = fields.get("uuid") or ""
                rec = Record(fields)
                share_empties(rec)
                table[ref] = rec
                if uuid:
                    self._uuids[uuid] = key
                index[key] = _Entry(gen, gen, now, uuid)
                for field, parent, set_field in links.get(cls, ()):
                    moves.append((parent, set_field, ref, None, fields.get(field)))
                continue
            old = table.get(ref)
            if old is None:
                continue            # deleted by a commit that finished while this one waited
            entry = index[key]
            if kind == "update":
                if cls in derived:  # a parent's sets: kept below, never a value read earlier
                    fields = {k: v for k, v in fields.items() if k not in derived[cls]}
                for field, parent, set_field in links.get(cls, ()):
                    if field in fields and fields[field] != old.get(field):
                        moves.append((parent, set_field, ref, old.get(field), fields[field]))
                new = Record(old)
                new.update(fields)
                share_empties(new, fields)
                table[ref] = new
                replaced.append((old, new))
            elif kind == "delete":
                del table[ref]
                if entry.uuid:
                    self._uuids.pop(entry.uuid, None)
                entry.deleted = True
                self._tombstones.append(key)
                for field, parent, set_field in links.get(cls, ()):
                    moves.append((parent, set_field, ref, old.get(field), None))
            entry.generation = gen
            entry.timestamp = now
            index.move_to_end(key)
        if moves:
            self._move_links(moves, gen, now, replaced)
        self._prune_tombstones(now)
        self._notify()
        self._replaced(replaced)
        return gen

    def _move_links(self, moves: list[tuple[str, str, str, Any, Any]], gen: int,
                    now: _dt.datetime, replaced: list[tuple[Record, Record]]) -> None:
        """Keep the parents' sets of one applied commit: each child leaves the set of the
        parent it pointed at and joins its new parent's, against the records as they are now
        (so two commits adding to one set, prepared concurrently, both count); a parent that
        changed is reported changed (a `mod` event, as xapi does)."""
        changed: dict[tuple[str, str], Record] = {}
        for parent, set_field, child, before, after in moves:
            for pref, add in ((before, False), (after, True)):
                if not isinstance(pref, str) or not pref or pref == NULL_REF:
                    continue
                key = (parent, pref)
                rec = changed.get(key) or self._records[parent].get(pref)
                if rec is None:
                    continue        # a dangling reference: no set to keep
                current = rec.get(set_field) or []
                if add == (child in current):
                    continue
                new = changed.get(key)
                if new is None:
                    new = changed[key] = Record(rec)
                new[set_field] = [*current, child] if add else [c for c in current if c != child]
        index = self._index
        for (parent, pref), new in changed.items():
            old = self._records[parent][pref]
            self._records[parent][pref] = new
            replaced.append((old, new))
            entry = index[(parent, pref)]
            entry.generation = gen
            entry.timestamp = now
            index.move_to_end((parent, pref))

    def _recompute_links(self) -> None:
        """Every parent's sets from its children's ref fields (after loading records: the
        stored sets are not trusted)."""
        for child, child_links in self._links.items():
            for field, parent, set_field in child_links:
                sets: dict[str, list[str]] = {}
                for ref, rec in self._records[child].items():
                    pref = rec.get(field)
                    if isinstance(pref, str):
                        sets.setdefault(pref, []).append(ref)
                table = self._records[parent]
                for pref, rec in table.items():
                    want = sets.get(pref, [])
                    have = rec.get(set_field) or []
                    if have != want and (len(have) != len(want) or set(have) != set(want)):
                        new = Record(rec)
                        new[set_field] = want
                        table[pref] = new

    def _replaced(self, replaced: list[tuple[Record, Record]]) -> None:
        if replaced:
            for listener in self.replaced_listeners:
                listener(replaced)

    def _prune_tombstones(self, now: _dt.datetime | None = None) -> None:
        """Forget the oldest deletions past the count or age bound (oldest first: the deque
        is in deletion order)."""
        tombstones, index = self._tombstones, self._index
        cutoff = (_now() if now is None else now) - TOMBSTONE_MAX_AGE
        while tombstones:
            key = tombstones[0]
            entry = index.get(key)
            if entry is not None and entry.deleted:
                if len(tombstones) <= MAX_TOMBSTONES and entry.timestamp >= cutoff:
                    break
                del index[key]
                self._horizon = max(self._horizon, entry.generation)
            tombstones.popleft()

    def _notify(self) -> None:
        """Wake every waiting event.from call."""
        waiters = self._waiters
        if not waiters:
            return
        self._waiters = {}
        for fut in waiters:
            _wake(fut)
        WOKE_WATCHERS.set(True)

    def replace_volatile(self, cls: str, ref: str, changes: Mapping[str, Any]) -> None:
        if self.spec(cls).persistent:
            raise ValueError(f"{cls} is persistent: write it in a transaction")
        old = self._records[cls].get(ref)
        if old is None:
            raise NoSuchObject(cls, ref)
        new = Record(old)
        new.update(changes)
        self._records[cls][ref] = new
        self._replaced([(old, new)])

    async def wait_for_change(self, generation: int, timeout: float) -> bool:
        if self._generation > generation:
            return True
        if timeout <= 0:
            return False
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._waiters[fut] = None
        timer = loop.call_later(timeout, _wake, fut)
        try:
            await fut
        finally:
            timer.cancel()
            self._waiters.pop(fut, None)     # timed out or cancelled: not woken
        return self._generation > generation

    # --- load (used by persistent subclasses at open) ---------------------------------------
    def _load(self, cls: str, ref: str, record: Record) -> None:
        self._records[cls][ref] = record
        uuid = record.get("uuid") or ""
        if uuid:
            self._uuids[uuid] = (cls, ref)
        self._index[(cls, ref)] = _Entry(1, 1, _now(), uuid)
        self._generation = 1

    # --- credentials --------------------------------------------------------------------
    def get_credential(self, name: str) -> Credential | None:
        return self._credentials.get(name)

    def list_credentials(self) -> list[Credential]:
        return sorted(self._credentials.values(), key=lambda c: c.name)

    async def put_credential(self, cred: Credential) -> None:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        await self._persist_credential(cred.name, cred)

    async def delete_credential(self, name: str) -> bool:
        if self.get_credential(name) is None:
            return False
        await self._persist_credential(name, None)
        return True

    async def _persist_credential(self, name: str, cred: Credential | None) -> None:
        """Durably write (or delete, for None) one credential, then keep it in memory (in
        `_credential_written`, which a backend calls once it is on disk)."""
        self._credential_written(name, cred, None)

    def _credential_written(self, name: str, cred: Credential | None,
                            error: BaseException | None) -> int:
        if error is None:
            if cred is None:
                self._credentials.pop(name, None)
            else:
                self._credentials[name] = cred
        return 0

    async def close(self) -> None:
        self._closed = True
        self._notify()
