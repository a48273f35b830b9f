"""The model as one object: classes, the method table, lookups by wire name.

Built once at import from the class declarations; checks that every type resolves (a ref or
record type names a served or an external class) and binds record types to their classes.
"""
from __future__ import annotations

from typing import Iterable

from xenapi_impl.model.dsl import ClassDef, DeclarationError, MessageDef
from xenapi_impl.model.external import EXTERNAL_CLASSES
from xenapi_impl.model.relations import Relation, Relations
from xenapi_impl.model.types import EnumDef, RecordType, XType, all_enums, interned_types

__all__ = ["Model"]


class Model:
    """The declared data model.

    - ``classes``: served classes by exact name (``"VM"``); ``find_class`` is case-insensitive.
    - ``methods``: every synchronous method by full name (``"VM.start"``), the ``system``
      pseudo-class included; async forms are ``Async.<full name>`` of the messages whose
      ``is_async`` is true.
    - ``lookup(wire_name)``: the message and whether the async form was called, for every
      spelling a client may send (``VM.start``, ``VM_start``, ``Async.VM.start``,
      ``Async_VM_start``); None if unknown.
    - ``external_classes``: names only referenced by types (see external.py).
    """

    def __init__(self, classes: Iterable[ClassDef], system: Iterable[MessageDef],
                 relations: Iterable[Relation] = ()) -> None:
        #: one-to-many relations, kept current by relations.LinkedTransaction
        self.relations = Relations(relations)
        self.classes: dict[str, ClassDef] = {}
        for c in classes:
            if c.name in self.classes:
                raise DeclarationError(f"class {c.name} declared twice")
            self.classes[c.name] = c
        self.external_classes: dict[str, str] = dict(EXTERNAL_CLASSES)
        overlap = set(self.classes) & set(self.external_classes)
        if overlap:
            raise DeclarationError(f"classes both served and external: {sorted(overlap)}")
        self._by_lower = {n.lower(): c for n, c in self.classes.items()}
        if len(self._by_lower) != len(self.classes):
            raise DeclarationError("two classes differ only in case")

        self.system: dict[str, MessageDef] = {m.full_name: m for m in system}
        self.methods: dict[str, MessageDef] = {}
        for c in self.classes.values():
            for m in c.messages.values():
                self.methods[m.full_name] = m
        self.methods.update(self.system)
        self._check_types()
        self._bind_records()
        self._aliases = self._build_aliases()

    # -- lookups -----------------------------------------------------------------------------

    def find_class(self, name: str) -> ClassDef | None:
        """A served class by name, case-insensitively (event subscriptions say "vm")."""
        return self._by_lower.get(name.lower())

    def lookup(self, wire_name: str) -> tuple[MessageDef, bool] | None:
        """(message, called as Async) for a method name as sent on the wire, or None."""
        return self._aliases.get(wire_name)

    def list_methods(self) -> list[str]:
        """What system.listMethods answers: every synchronous class method, by full name."""
        return [name for name, m in self.methods.items() if m.cls != "system"]

    @property
    def enums(self) -> dict[str, EnumDef]:
        return all_enums()

    def async_methods(self) -> dict[str, MessageDef]:
        """``Async.<full name>`` -> message, for the messages with an async form."""
        return {f"Async.{n}": m for n, m in self.methods.items() if m.is_async}

    # -- building ----------------------------------------------------------------------------

    def _types(self) -> Iterable[tuple[str, XType]]:
        for c in self.classes.values():
            for f in c.fields.values():
                yield f"{c.name}.{f.name}", f.type
        for m in self.methods.values():
            for p in m.params:
                yield f"{m.full_name}({p.name})", p.type
            if m.result is not None:
                yield f"{m.full_name} result", m.result

    def _check_types(self) -> None:
        known = set(self.classes) | set(self.external_classes)
        for where, t in self._types():
            missing = t.referenced_classes() - known
            if missing:
                raise DeclarationError(f"{where}: type {t} names unknown classes {missing}")

    def _bind_records(self) -> None:
        for t in interned_types():
            if isinstance(t, RecordType) and t.cls in self.classes:
                c = self.classes[t.cls]
                t.bind((f.name, f.type.check, f.default) for f in c.constructor_fields())

    def _build_aliases(self) -> dict[str, tuple[MessageDef, bool]]:
        out: dict[str, tuple[MessageDef, bool]] = {}

        def add(name: str, entry: tuple[MessageDef, bool]) -> None:
            prev = out.get(name)
            if prev is not None and prev[0] is not entry[0]:
                raise DeclarationError(f"wire name {name} is ambiguous")
            out[name] = entry

        for full, m in self.methods.items():
            underscored = f"{m.cls}_{m.name}"
            add(full, (m, False))
            add(underscored, (m, False))
            if m.is_async:
                for n in (full, underscored):
                    add(f"Async.{n}", (m, True))
                    add(f"Async_{n}", (m, True))
        return out
