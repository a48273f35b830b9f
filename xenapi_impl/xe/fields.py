"""The model as xe sees it: class and field names in xe's hyphenated form, the ( RO)/( RW)/
(SRO)/(SRW)/(MRO)/(MRW) markers, values printed as xapi prints them and parsed back.

Everything here is derived from xenapi_impl.model; nothing is kept by hand:
- a class's xe name is its name lowercased with "_" as "-" (``VM_metrics`` -> ``vm-metrics``);
- a field's xe name is its wire name with "_" as "-" (``power_state`` -> ``power-state``),
  except a ref named after the class it points to, which shows that object's uuid and is
  named ``<class>-uuid`` as xe names it (``VBD.VDI`` -> ``vdi-uuid``, ``VIF.VM`` -> ``vm-uuid``);
- a field is writable when the class has a message that writes it: ``set_<field>(self, value)``
  (implicit or explicit, such as ``VM.set_memory_static_max``); a map when it has
  ``add_to_<field>``, a set when it has ``add_<field>``.
"""
from __future__ import annotations

import datetime
import xmlrpc.client
from dataclasses import dataclass
from typing import Any, Callable

from xenapi_impl.model import MODEL, ClassDef, FieldDef
from xenapi_impl.model.types import (
    BoolType, DateTimeType, EnumType, FloatType, IntType, MapType, RefType, SetType, XType,
)

NULL_REF = "OpaqueRef:NULL"
NOT_IN_DATABASE = "<not in database>"     # what xe prints for a null or dangling ref
LOWERCASE_ENUMS = frozenset({"vm_power_state"})


class BadValue(Exception):
    """A command-line value that does not fit the field's type (message as xe words it)."""


#: classes xe names otherwise than by their API name
CLI_CLASS_NAMES = {"VM_appliance": "appliance"}


def cli_class_name(c: ClassDef) -> str:
    return CLI_CLASS_NAMES.get(c.name, c.name.lower().replace("_", "-"))


@dataclass(frozen=True)
class CliField:
    name: str
    field: FieldDef
    setter: str | None          # message writing the whole field
    adder: str | None           # add_to_<map> / add_<set>
    remover: str | None         # remove_from_<map> / remove_<set>

    @property
    def type(self) -> XType:
        return self.field.type

    @property
    def is_set(self) -> bool:
        return isinstance(self.field.type, SetType)

    @property
    def is_map(self) -> bool:
        return isinstance(self.field.type, MapType)

    @property
    def marker(self) -> str:
        if self.is_set:
            return "(SRW)" if self.adder else "(SRO)"
        if self.is_map:
            return "(MRW)" if self.adder else "(MRO)"
        return "( RW)" if self.setter else "( RO)"

    @property
    def label(self) -> str:
        return f"{self.name} {self.marker}"


def _writer(c: ClassDef, name: str, arity: int) -> str | None:
    m = c.messages.get(name)
    return m.full_name if m is not None and len(m.arg_params) == arity else None


def _cli_field(c: ClassDef, f: FieldDef) -> CliField:
    t = f.type
    if isinstance(t, RefType) and f.name.lower() == t.cls.lower():
        name = f"{t.cls.lower().replace('_', '-')}-uuid"
    else:
        name = f.name.replace("_", "-")
    if isinstance(t, MapType):
        adder, remover = f"add_to_{f.name}", f"remove_from_{f.name}"
        return CliField(name, f, _writer(c, f"set_{f.name}", 2), _writer(c, adder, 3),
                        _writer(c, remover, 2))
    if isinstance(t, SetType):
        return CliField(name, f, _writer(c, f"set_{f.name}", 2), _writer(c, f"add_{f.name}", 2),
                        _writer(c, f"remove_{f.name}", 2))
    return CliField(name, f, _writer(c, f"set_{f.name}", 2), None, None)


class CliClass:
    """A served class with its xe fields, in the model's order."""

    def __init__(self, c: ClassDef) -> None:
        self.cls = c
        self.name = cli_class_name(c)
        self.fields: dict[str, CliField] = {}
        for f in c.fields.values():
            cf = _cli_field(c, f)
            self.fields[cf.name] = cf
        self.has_name_label = "name_label" in c.fields

    def field(self, name: str) -> CliField | None:
        return self.fields.get(name)

    def default_columns(self) -> list[str]:
        """What ``<class>-list`` shows without params=: uuid, name-label, power-state and the
        refs named after their class (``vm-uuid``...), where the class has them."""
        return [cf.name for cf in self.fields.values()
                if cf.field.name in ("uuid", "name_label", "power_state")
                or (cf.name.endswith("-uuid") and isinstance(cf.field.type, RefType))]


def listable_classes() -> list[CliClass]:
    """The classes with records to list (get_all_records and get_by_uuid), by xe name."""
    out = [CliClass(c) for c in MODEL.classes.values()
           if "get_all_records" in c.messages and "get_by_uuid" in c.messages]
    return sorted(out, key=lambda c: c.name)


# -- values -------------------------------------------------------------------------------------

class Refs:
    """Turns refs into uuids (cached; a class's listing primes it) and uuids into refs."""

    def __init__(self, call: Callable[..., Any]) -> None:
        self._call = call
        self._uuid: dict[str, str] = {}

    def prime(self, records: dict[str, dict[str, Any]]) -> None:
        for ref, rec in records.items():
            if isinstance(rec.get("uuid"), str):
                self._uuid[ref] = rec["uuid"]

    def uuid(self, cls: str, ref: str) -> str:
        if not ref or ref == NULL_REF:
            return NOT_IN_DATABASE
        if ref not in self._uuid:
            if cls not in MODEL.classes:
                return ref
            from xenapi_impl.xe.transport import Failure
            try:
                self._uuid[ref] = self._call(f"{cls}.get_uuid", ref)
            except Failure:
                self._uuid[ref] = NOT_IN_DATABASE
        return self._uuid[ref]

    def ref(self, cls: str, uuid: str) -> str:
        """The ref of the ``cls`` object with this uuid (UUID_INVALID... from the server)."""
        return self._call(f"{cls}.get_by_uuid", uuid)


def _text(t: XType, v: Any, refs: Refs) -> str:
    if isinstance(t, RefType):
        return refs.uuid(t.cls, v)
    if isinstance(t, BoolType):
        return "true" if v else "false"
    if isinstance(t, EnumType):
        # the API's spelling, but xe prints VM power states uncapitalized (halted, running)
        return str(v).lower() if t.enum.name in LOWERCASE_ENUMS else str(v)
    if isinstance(t, DateTimeType):
        if isinstance(v, xmlrpc.client.DateTime):
            return v.value
        if isinstance(v, datetime.datetime):
            return v.strftime("%Y%m%dT%H:%M:%SZ")
        return str(v)
    return str(v)


def format_value(t: XType, v: Any, refs: Refs) -> str:
    """A field value as xe prints it: sets joined by "; ", maps as "k: v; k2: v2"."""
    if isinstance(t, SetType):
        return "; ".join(_text(t.element, x, refs) for x in (v or []))
    if isinstance(t, MapType):
        return "; ".join(f"{_text(t.key, k, refs)}: {_text(t.value, x, refs)}"
                         for k, x in (v or {}).items())
    return _text(t, v, refs)


def parse_value(t: XType, name: str, text: str, refs: Refs) -> Any:
    """A command-line string as the wire value for type ``t`` (refs given by uuid)."""
    if isinstance(t, IntType):
        try:
            return str(int(text))          # int64 travels as a decimal string
        except ValueError:
            raise BadValue(f"Failed to parse parameter '{name}': expecting an integer") from None
    if isinstance(t, FloatType):
        try:
            return float(text)
        except ValueError:
            raise BadValue(f"Failed to parse parameter '{name}': expecting a float") from None
    if isinstance(t, BoolType):
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise BadValue(f"Failed to parse parameter '{name}': expecting a boolean "
                       "(true or false)")
    if isinstance(t, RefType):
        if text in ("", NULL_REF, NOT_IN_DATABASE):
            return NULL_REF
        return refs.ref(t.cls, text) if t.cls in MODEL.classes else text
    if isinstance(t, (SetType, MapType)):
        raise BadValue(f"Field '{name}' is a map or set. use the 'name:key=value' syntax.")
    return text


def matches(cf: CliField, value: Any, wanted: str, refs: Refs) -> bool:
    """A list filter ``name=wanted`` against a record's value (enums case-insensitively)."""
    shown = format_value(cf.type, value, refs)
    if isinstance(cf.type, EnumType):
        return shown.lower() == wanted.lower()
    return shown == wanted
