"""One-to-many relations between classes: a child's `X ref` field and the parent's `Y ref set`.

xapi declares pairs such as (VBD.VM, VM.VBDs); its database keeps the parent's set equal to
"every child whose field points at me". We declare the same pairs once (``RELATIONS``) and
``LinkedTransaction`` keeps the sets current on every write made through it: creating a
child adds it to its parent's set, changing its ref field moves it, destroying it removes it.

The sets are kept in two places, for two readers. The store keeps them itself when it applies
a commit (``ClassSpec.links``), against the records as they are at that moment, and reports the
parent changed (event.from shows a ``mod`` of the parent, as xapi does). The transaction only
shows the call that writes what its own writes will make of the sets (a read-only overlay on
the parents it read): it never writes a parent's set. A set written from what the call read
before its awaits would lose a concurrent call's child, and on a pool's shared database it
would make every two calls adding children to one parent (two VDIs on one shared SR) a write
conflict on the parent.

Destroying a parent does not touch its children: their ref fields keep pointing at the
destroyed object (a dangling reference), which is what xapi's database does too; the messages
that must not leave such children (SR.destroy: SR_NOT_EMPTY, VM.destroy destroying its own
VBDs/VIFs) check or clean up themselves.

The parent set fields are derived: the model declares them RO/runtime (no client setter), and
values written to them through a LinkedTransaction are ignored.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Iterable, Mapping, Protocol

if TYPE_CHECKING:
    from xenapi_impl.model.registry import Model

__all__ = ["Relation", "RELATIONS", "Relations", "LinkedTransaction"]

NULL_REF = "OpaqueRef:NULL"


@dataclass(frozen=True, slots=True)
class Relation:
    """`child.field` (an `parent ref`) is the inverse of `parent.set_field` (a `child ref set`)."""

    child: str
    field: str
    parent: str
    set_field: str


def _r(child: str, field: str, parent: str, set_field: str) -> Relation:
    return Relation(child, field, parent, set_field)


#: xapi's one-to-many relations among the classes we serve (datamodel.ml `all_relations`).
#: Ref fields without an inverse (session.this_host, VM.affinity, pool.master...) are absent.
RELATIONS: tuple[Relation, ...] = (
    _r("task", "subtask_of", "task", "subtasks"),
    _r("VM", "resident_on", "host", "resident_VMs"),
    _r("VM", "snapshot_of", "VM", "snapshots"),
    _r("VM", "parent", "VM", "children"),
    _r("host_cpu", "host", "host", "host_CPUs"),
    _r("PIF", "host", "host", "PIFs"),
    _r("PIF", "network", "network", "PIFs"),
    _r("PIF", "bond_slave_of", "Bond", "slaves"),
    _r("Bond", "master", "PIF", "bond_master_of"),
    _r("VLAN", "tagged_PIF", "PIF", "VLAN_slave_of"),
    _r("tunnel", "access_PIF", "PIF", "tunnel_access_PIF_of"),
    _r("tunnel", "transport_PIF", "PIF", "tunnel_transport_PIF_of"),
    _r("PBD", "host", "host", "PBDs"),
    _r("PBD", "SR", "SR", "PBDs"),
    _r("VIF", "VM", "VM", "VIFs"),
    _r("VIF", "network", "network", "VIFs"),
    _r("VBD", "VM", "VM", "VBDs"),
    _r("VBD", "VDI", "VDI", "VBDs"),
    _r("VDI", "SR", "SR", "VDIs"),
    _r("VDI", "snapshot_of", "VDI", "snapshots"),
    _r("VDI", "metadata_of_pool", "pool", "metadata_VDIs"),
    _r("console", "VM", "VM", "consoles"),
    _r("crashdump", "VM", "VM", "crash_dumps"),
    _r("crashdump", "VDI", "VDI", "crash_dumps"),
    _r("VM", "appliance", "VM_appliance", "VMs"),
    _r("VM", "snapshot_schedule", "VMSS", "VMs"),
    _r("Certificate", "host", "host", "certificates"),
)


class Relations:
    """The declared relations with lookups by child and by parent class."""

    def __init__(self, relations: Iterable[Relation]) -> None:
        self.all: tuple[Relation, ...] = tuple(relations)
        self._by_child: dict[str, tuple[Relation, ...]] = {}
        self._by_parent: dict[str, tuple[Relation, ...]] = {}
        for r in self.all:
            self._by_child[r.child] = (*self._by_child.get(r.child, ()), r)
            self._by_parent[r.parent] = (*self._by_parent.get(r.parent, ()), r)
        self._derived = {(r.parent, r.set_field) for r in self.all}

    def __iter__(self):  # noqa: ANN204
        return iter(self.all)

    def __len__(self) -> int:
        return len(self.all)

    def of_child(self, cls: str) -> tuple[Relation, ...]:
        """Relations in which `cls` holds the ref field."""
        return self._by_child.get(cls, ())

    def of_parent(self, cls: str) -> tuple[Relation, ...]:
        """Relations in which `cls` holds the ref set."""
        return self._by_parent.get(cls, ())

    def is_derived(self, cls: str, field: str) -> bool:
        """Whether `cls.field` is a parent set maintained from its children."""
        return (cls, field) in self._derived

    def problems(self, model: "Model") -> list[str]:
        """Every way the declarations disagree with the model (empty when consistent)."""
        out = []
        for r in self.all:
            child = model.classes.get(r.child)
            parent = model.classes.get(r.parent)
            if child is None or parent is None:
                out.append(f"{r}: class not served")
                continue
            f = child.fields.get(r.field)
            s = parent.fields.get(r.set_field)
            if f is None or str(f.type) != f"{r.parent} ref":
                out.append(f"{r.child}.{r.field} is not a '{r.parent} ref'")
            if s is None or str(s.type) != f"{r.child} ref set":
                out.append(f"{r.parent}.{r.set_field} is not a '{r.child} ref set'")
            elif s.qualifier != "RO/runtime":
                out.append(f"{r.parent}.{r.set_field} is {s.qualifier}, not RO/runtime")
        return out

    def wrap(self, txn: "_Txn") -> "LinkedTransaction":
        return txn if isinstance(txn, LinkedTransaction) else LinkedTransaction(txn, self)


class _Txn(Protocol):
    def get(self, cls: str, ref: str) -> Mapping[str, Any] | None: ...
    def create(self, cls: str, ref: str, record: Mapping[str, Any]) -> None: ...
    def update(self, cls: str, ref: str, changes: Mapping[str, Any]) -> None: ...
    def delete(self, cls: str, ref: str) -> None: ...
    def operations(self) -> list[tuple[str, str, str, Any]]: ...
    @property
    def done(self) -> bool: ...
    def commit(self) -> Awaitable[int]: ...
    def rollback(self) -> None: ...


class LinkedTransaction:
    """A store transaction whose reads show the relation sets its own writes will make.

    Everything but get/create/update/delete is the wrapped transaction's own (commit/rollback,
    generation, refs...).
    """

    __slots__ = ("_txn", "_rel", "_sets")

    def __init__(self, txn: _Txn, relations: Relations) -> None:
        self._txn = txn
        self._rel = relations
        # (parent class, parent ref) -> {set field: the set as this transaction makes it}
        self._sets: dict[tuple[str, str], dict[str, list[str]]] = {}

    @property
    def inner(self) -> _Txn:
        """The plain transaction (its reads do not show the overlay of the parents' sets)."""
        return self._txn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._txn, name)

    # What every call uses, delegated here: reaching them through __getattr__ made Python
    # raise and catch an AttributeError first (about 1 us each, twice a call)
    @property
    def done(self) -> bool:
        return self._txn.done

    def commit(self) -> Awaitable[int]:
        return self._txn.commit()

    def rollback(self) -> None:
        self._txn.rollback()

    async def __aenter__(self) -> "LinkedTransaction":
        await self._txn.__aenter__()  # type: ignore[attr-defined]
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        await self._txn.__aexit__(exc_type, exc, tb)  # type: ignore[attr-defined]

    # -- reads ---------------------------------------------------------------------------------
    def get(self, cls: str, ref: str) -> Mapping[str, Any] | None:
        rec = self._txn.get(cls, ref)
        sets = self._sets.get((cls, ref)) if self._sets else None
        if rec is None or not sets:
            return rec
        out = type(rec)(rec)  # type: ignore[call-arg]
        out.update(sets)    # type: ignore[attr-defined]
        return out

    # -- writes --------------------------------------------------------------------------------
    def create(self, cls: str, ref: str, record: Mapping[str, Any]) -> None:
        rec = dict(record)
        for r in self._rel.of_parent(cls):
            # derived: a child created earlier in this transaction may already point here
            rec[r.set_field] = self._pending_children(r, ref)
        self._sets.pop((cls, ref), None)
        self._txn.create(cls, ref, rec)
        for r in self._rel.of_child(cls):
            self._link(r, rec.get(r.field, NULL_REF), ref)

    def update(self, cls: str, ref: str, changes: Mapping[str, Any]) -> None:
        children = self._rel.of_child(cls)
        parents = self._rel.of_parent(cls)
        if not children and not parents:
            self._txn.update(cls, ref, changes)
            return
        wanted = {k: v for k, v in changes.items() if not self._rel.is_derived(cls, k)}
        if changes and not wanted:      # only derived fields: nothing to write
            return
        changes = wanted
        moved = [r for r in children if r.field in changes]
        old = self._txn.get(cls, ref) if moved else None
        self._txn.update(cls, ref, changes)
        if old is None:
            return
        for r in moved:
            before, after = old.get(r.field, NULL_REF), changes[r.field]
            if before != after:
                self._unlink(r, before, ref)
                self._link(r, after, ref)

    def delete(self, cls: str, ref: str) -> None:
        children = self._rel.of_child(cls)
        old = self._txn.get(cls, ref) if children else None
        self._txn.delete(cls, ref)
        self._sets.pop((cls, ref), None)
        if old is None:
            return
        for r in children:
            self._unlink(r, old.get(r.field, NULL_REF), ref)

    # -- upkeep (of the overlay only) ----------------------------------------------------------
    def _current(self, r: Relation, parent: Any) -> list[str] | None:
        """The parent's set as this transaction sees it; None: no such parent to keep."""
        if not isinstance(parent, str) or parent == NULL_REF:
            return None
        prec = self.get(r.parent, parent)
        if prec is None:            # dangling: nothing to keep current
            return None
        return list(prec.get(r.set_field) or [])

    def _link(self, r: Relation, parent: Any, child: str) -> None:
        current = self._current(r, parent)
        if current is not None and child not in current:
            self._sets.setdefault((r.parent, parent), {})[r.set_field] = [*current, child]

    def _unlink(self, r: Relation, parent: Any, child: str) -> None:
        current = self._current(r, parent)
        if current is not None and child in current:
            self._sets.setdefault((r.parent, parent), {})[r.set_field] = [
                c for c in current if c != child]

    def _pending_children(self, r: Relation, parent: str) -> list[str]:
        out = []
        for kind, cls, ref, _fields in self._txn.operations():
            if cls != r.child or kind == "delete":
                continue
            rec = self._txn.get(cls, ref)
            if rec is not None and rec.get(r.field) == parent:
                out.append(ref)
        return out
