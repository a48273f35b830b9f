"""The store interface: records by class and reference, one transaction per API call.

The store knows records, not XenAPI semantics. Reads are synchronous and served from memory;
a transaction buffers its writes and `commit()` makes them visible (and, for persistent
classes, durable) all at once, or not at all. Each commit advances `generation`; the event
machinery reads coalesced changes since a generation.
"""
from __future__ import annotations

import abc
import dataclasses
import datetime as _dt
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Protocol

from ..values import Record
from .errors import Lease


class _ClassLike(Protocol):
    name: str
    persistent: bool
    fields: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ClassSpec:
    """What the store needs to know about a class: its name, field names, persistence."""

    name: str
    fields: tuple[str, ...]
    persistent: bool = True
    #: (field, parent class, parent's set field): this class's ref fields whose inverse is a
    #: set on the parent (VBD.VM and VM.VBDs). The store keeps those sets itself, when it
    #: applies a commit (see MemoryStore._apply): never from a value read before.
    links: tuple[tuple[str, str, str], ...] = ()

    @classmethod
    def of(cls, classdef: _ClassLike) -> "ClassSpec":
        return cls(classdef.name, tuple(classdef.fields), bool(classdef.persistent))


#: classes in the model that hold no records (event.from's results are not objects)
NOT_STORED = frozenset({"event"})


def store_specs(model: Any) -> list[ClassSpec]:
    """The store's classes: every served class of the model that holds records, with the
    model's one-to-many relations (model/relations.py) as each child class's links."""
    specs = [ClassSpec.of(c) for c in model.classes.values()
             if getattr(c, "served", True) and c.name not in NOT_STORED]
    names = {s.name for s in specs}
    links: dict[str, list[tuple[str, str, str]]] = {}
    for r in getattr(model, "relations", ()):
        if r.child in names and r.parent in names:
            links.setdefault(r.child, []).append((r.field, r.parent, r.set_field))
    return [dataclasses.replace(s, links=tuple(links[s.name])) if s.name in links else s
            for s in specs]


@dataclass(frozen=True, slots=True)
class Change:
    """One coalesced change of an object since a generation (an event)."""

    cls: str
    ref: str
    operation: str          # "add", "mod" or "del"
    generation: int
    timestamp: _dt.datetime
    record: Record | None   # None for "del"
    uuid: str


@dataclass(frozen=True, slots=True)
class Credential:
    """A local user's login data: an argon2 hash and a role name."""

    name: str
    password_hash: str
    role: str


class Store(abc.ABC):
    """Abstract store. Implementations: MemoryStore (tests), SqliteStore (default),
    PostgresStore (a pool's shared database)."""

    # --- reads (no I/O) ---------------------------------------------------------------
    @property
    @abc.abstractmethod
    def generation(self) -> int:
        """Generation of the last applied commit (0 for an empty, fresh store)."""

    @abc.abstractmethod
    def classes(self) -> Iterable[str]:
        """Names of the classes the store holds."""

    @abc.abstractmethod
    def get(self, cls: str, ref: str) -> Record | None: ...

    @abc.abstractmethod
    def records(self, cls: str) -> Mapping[str, Record]:
        """Read-only view ref -> Record of every live object of a class."""

    @abc.abstractmethod
    def find_uuid(self, uuid: str) -> tuple[str, str] | None:
        """(class, ref) of the object with this uuid, whatever its class."""

    @abc.abstractmethod
    def changes_since(self, generation: int, classes: frozenset[str] | None = None,
                      refs: frozenset[tuple[str, str]] = frozenset()) -> list[Change]:
        """Coalesced changes after `generation`, oldest first, limited to `classes`
        (None: all) plus the objects in `refs`."""

    @property
    @abc.abstractmethod
    def horizon(self) -> int:
        """Deletions at or before this generation may have been forgotten."""

    # --- writes -----------------------------------------------------------------------
    def transaction(self) -> "Transaction":
        return Transaction(self)

    @abc.abstractmethod
    async def _commit(self, txn: "Transaction") -> int: ...

    @abc.abstractmethod
    def replace_volatile(self, cls: str, ref: str, changes: Mapping[str, Any]) -> None:
        """Update a non-persistent object without an event (session.last_active)."""

    @abc.abstractmethod
    async def wait_for_change(self, generation: int, timeout: float) -> bool:
        """Wait until the generation passes `generation`; False on timeout."""

    async def sync(self) -> None:
        """pool.sync_database: make everything committed so far whole in the database's own
        files. Every commit is durable when it returns already; a backend with more to do
        (SQLite's write-ahead log) overrides this."""

    # --- local users ------------------------------------------------------------------
    @abc.abstractmethod
    def get_credential(self, name: str) -> Credential | None: ...

    @abc.abstractmethod
    def list_credentials(self) -> list[Credential]: ...

    @abc.abstractmethod
    async def put_credential(self, cred: Credential) -> None: ...

    @abc.abstractmethod
    async def delete_credential(self, name: str) -> bool: ...

    # --- leases (a pool's master role, each host's liveness) -------------------------
    #: True when several server processes share the store (leases and fencing matter)
    shared = False

    async def catch_up(self) -> None:
        """Apply what other processes committed that this one has not seen yet (a store of
        one process has nothing to apply)."""

    async def lease_acquire(self, name: str, holder: str, seconds: float, *,
                            force: bool = False, if_holder: bool = True) -> Lease | None:
        """Take the lease `name` for `holder` with a new epoch: if nobody holds it, if
        `holder` already does (and `if_holder`), if it expired, or if `force`. None if another
        holder keeps it. A single-process store always grants it (nothing to fence)."""
        from .errors import Lease
        return Lease(name, holder, 1, True)

    async def lease_renew(self, name: str, holder: str, epoch: int, seconds: float) -> bool:
        """Extend the term of a lease still held by (`holder`, `epoch`); False if lost."""
        return True

    async def lease_get(self, name: str) -> Lease | None:
        return None

    async def lease_bump(self, name: str, epoch: int) -> bool:
        """Fence the holder of `name`: take a new epoch if the lease is still at `epoch`
        (compare and swap) and end its term. False if it moved meanwhile."""
        return True

    async def pool_secret(self, fresh: bool = False) -> str | None:
        """The pool's shared secret (host-to-host calls carry it), made on first use; None
        for a single host's store (no other host to call). A copy read a little earlier may
        be answered; `fresh`: read now (a caller's secret differs from that copy)."""
        return None

    async def rotate_pool_secret(self) -> None:
        """Replace the pool's shared secret (pool.rotate_secret); nothing for a single host."""

    def fence(self, name: str, holder: str, epoch: int) -> None:
        """From now on every write of this process needs (`holder`, `epoch`) to still hold
        the lease `name`, checked in the commit itself (a term that ran out does not refuse:
        whoever takes an expired lease gives it a new epoch)."""

    def unfence(self, name: str) -> None:
        """Stop requiring the lease `name` (the process gave up that role)."""

    # --- lifecycle --------------------------------------------------------------------
    @abc.abstractmethod
    async def close(self) -> None: ...


_CREATE, _UPDATE, _DELETE, _TOUCH = "create", "update", "delete", "touch"


class Transaction:
    """Buffered writes of one API call. Reads see the transaction's own writes.

    Use as `async with store.transaction() as txn:`; leaving the block normally commits,
    an exception discards everything.
    """

    __slots__ = ("store", "_ops", "done", "generation", "start", "_measured")

    def __init__(self, store: Store) -> None:
        self.store = store
        # (cls, ref) -> [kind, fields]; kind create: full record; update: changed fields
        self._ops: dict[tuple[str, str], list[Any]] = {}
        self.done = False
        self.generation = 0
        # the generation its reads started from: a shared store refuses a write to an object
        # another process changed since (a write based on a stale read)
        self.start = store.generation
        # objects this transaction only writes measurements to (see `measure`)
        self._measured: set[tuple[str, str]] = set()

    async def __aenter__(self) -> "Transaction":
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None and not self.done:
            await self.commit()
        else:
            self.rollback()

    # reads
    def get(self, cls: str, ref: str) -> Record | None:
        op = self._ops.get((cls, ref))
        if op is None:
            return self.store.get(cls, ref)
        kind, fields = op
        if kind == _DELETE:
            return None
        if kind == _CREATE:
            return Record(fields)
        base = self.store.get(cls, ref)
        if base is None:
            return None
        if kind == _TOUCH:
            return base
        merged = Record(base)
        merged.update(fields)
        return merged

    def exists(self, cls: str, ref: str) -> bool:
        return self.get(cls, ref) is not None

    def refs(self, cls: str) -> list[str]:
        """Every live reference of a class as this transaction sees it."""
        out = [r for r in self.store.records(cls) if (cls, r) not in self._ops]
        for (c, r), (kind, _f) in self._ops.items():
            if c == cls and kind != _DELETE and self.get(c, r) is not None:
                out.append(r)
        return out

    # writes
    def _check_open(self) -> None:
        if self.done:
            raise RuntimeError("transaction already finished")

    def create(self, cls: str, ref: str, record: Mapping[str, Any]) -> None:
        self._check_open()
        key = (cls, ref)
        if key in self._ops or self.store.get(cls, ref) is not None:
            from .errors import DuplicateRef
            raise DuplicateRef(ref)
        self._ops[key] = [_CREATE, dict(record)]

    def update(self, cls: str, ref: str, changes: Mapping[str, Any]) -> None:
        self._check_open()
        key = (cls, ref)
        op = self._ops.get(key)
        if op is None:
            if self.store.get(cls, ref) is None:
                from .errors import NoSuchObject
                raise NoSuchObject(cls, ref)
            self._ops[key] = [_UPDATE, dict(changes)]
        elif op[0] == _DELETE:
            from .errors import NoSuchObject
            raise NoSuchObject(cls, ref)
        elif op[0] == _TOUCH:
            self._ops[key] = [_UPDATE, dict(changes)]
        else:
            op[1].update(changes)
        self._measured.discard(key)

    def measure(self, cls: str, ref: str, changes: Mapping[str, Any]) -> None:
        """An update with what was just measured on the host (an SR's or a disk's sizes):
        it depends on nothing the transaction read, so a shared store does not refuse it as
        stale when another process wrote the object meanwhile (the last measurement wins),
        unless this transaction also updates the object otherwise."""
        key = (cls, ref)
        decided = key in self._ops and key not in self._measured
        self.update(cls, ref, changes)
        if not decided:
            self._measured.add(key)

    @property
    def measured_only(self) -> frozenset[tuple[str, str]]:
        """The objects whose updates in this transaction are all measurements."""
        return frozenset(k for k in self._measured if self._ops.get(k, (None,))[0] == _UPDATE)

    def delete(self, cls: str, ref: str) -> None:
        self._check_open()
        key = (cls, ref)
        op = self._ops.get(key)
        if op is not None and op[0] == _CREATE:
            del self._ops[key]      # created and destroyed in one call: nothing happened
            return
        if op is not None and op[0] == _DELETE or op is None and self.store.get(cls, ref) is None:
            from .errors import NoSuchObject
            raise NoSuchObject(cls, ref)
        self._ops[key] = [_DELETE, None]

    def touch(self, cls: str, ref: str) -> None:
        """Report the object as modified without changing it (event.inject)."""
        self._check_open()
        if (cls, ref) not in self._ops:
            if self.store.get(cls, ref) is None:
                from .errors import NoSuchObject
                raise NoSuchObject(cls, ref)
            self._ops[(cls, ref)] = [_TOUCH, None]

    def operations(self) -> list[tuple[str, str, str, Any]]:
        """(kind, cls, ref, fields) in the order first written."""
        return [(op[0], c, r, op[1]) for (c, r), op in self._ops.items()]

    @property
    def empty(self) -> bool:
        return not self._ops

    async def commit(self) -> int:
        """Make every write visible and durable at once; returns the new generation."""
        self._check_open()
        self.done = True
        if not self._ops:
            return self.store.generation
        self.generation = await self.store._commit(self)
        return self.generation

    def rollback(self) -> None:
        self.done = True
        self._ops.clear()
        self._measured.clear()
