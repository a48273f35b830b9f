"""The XenAPI type system, parsed from the reference's type strings.

A type is written exactly as the reference (xenapi.json) writes it: ``"string"``, ``"int"``,
``"enum vm_power_state"``, ``"VM ref"``, ``"string set"``, ``"(string -> VM ref) map"``,
``"VM record"``, ``"void"``. :func:`parse_type` interns the result, so one string gives one
object: types compare and hash by that string.

``XType.check(value, field)`` turns a decoded wire value into the Python form fixed in
docs/CONTRACTS.md, or raises :class:`XenAPIError`:

- a value of the wrong shape: ``FIELD_TYPE_ERROR [field]``;
- an enum value outside the enum: ``INVALID_VALUE [field, value]`` (xapi matches enum values
  case-insensitively and answers with the canonical spelling; so do we);
- a string that is not valid Unicode (lone surrogates from JSON):
  ``INVALID_VALUE ["Invalid UTF-8 string in parameter", s]`` as xapi's dispatcher does;
- a reference that is not an ``OpaqueRef:`` string: ``HANDLE_INVALID [class, value]`` (what xapi
  answers when it looks such a reference up).

Checkers are built once per type (closures over the element checkers), so a call costs a few
isinstance tests, no parsing.
"""
from __future__ import annotations

import copy
import datetime as _dt
from typing import Any, Callable, Iterable

from xenapi_impl.errors import XenAPIError

__all__ = [
    "XType", "StringType", "IntType", "FloatType", "BoolType", "DateTimeType", "VoidType",
    "EnumType", "RefType", "SetType", "MapType", "RecordType", "AnyRecordType",
    "EnumDef", "declare_enum", "enum_def", "all_enums", "parse_type", "TypeParseError",
    "NULL_REF", "REF_PREFIX", "EPOCH", "format_datetime", "parse_datetime",
]

NULL_REF = "OpaqueRef:NULL"
REF_PREFIX = "OpaqueRef:"
EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_UTC = _dt.timezone.utc


class TypeParseError(ValueError):
    """A type string that is not in the reference's type language (a bug in a declaration)."""


def _type_error(field: str) -> XenAPIError:
    return XenAPIError("FIELD_TYPE_ERROR", field)


class XType:
    """A XenAPI type. Immutable; equal and hashable by its reference spelling."""

    __slots__ = ("name", "check")

    #: a short tag for code that dispatches on the kind of type (docs, encoders)
    kind = "abstract"

    name: str
    #: ``check(value, field) -> value``: the checker built for this type.
    check: Callable[[Any, str], Any]

    def __init__(self, name: str) -> None:
        self.name = name
        self.check = self._build_checker()

    def _build_checker(self) -> Callable[[Any, str], Any]:
        raise NotImplementedError

    def default_value(self) -> Any:
        """The natural empty value of the type (a fresh object for sets and maps)."""
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        if isinstance(other, XType):
            return self.name == other.name
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.name)

    def __lt__(self, other: object) -> bool:
        if isinstance(other, XType):
            return self.name < other.name
        return NotImplemented

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"XType({self.name!r})"

    def referenced_classes(self) -> set[str]:
        """Class names this type mentions through refs and records."""
        return set()

    def referenced_enums(self) -> set[str]:
        return set()


# -- scalars ---------------------------------------------------------------------------------

def _valid_unicode(s: str) -> str:
    """Refuse lone surrogates (the only way a decoded str can fail to be UTF-8)."""
    if s.isascii():
        return s
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        # the error must itself be encodable: show each lone surrogate as U+FFFD
        shown = "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in s)
        raise XenAPIError("INVALID_VALUE", "Invalid UTF-8 string in parameter", shown) from None
    return s


class StringType(XType):
    __slots__ = ()
    kind = "string"

    def _build_checker(self) -> Callable[[Any, str], Any]:
        def check(value: Any, field: str) -> str:
            if type(value) is str:
                return _valid_unicode(value)
            if isinstance(value, str):  # str subclasses (e.g. decoder artefacts): plain str out
                return _valid_unicode(str(value))
            raise _type_error(field)
        return check

    def default_value(self) -> str:
        return ""


def decimal_int(s: str, max_digits: int = 19, *, signed: bool = True) -> int | None:
    """The value of ASCII decimal text (digits, after a sign if `signed`), or None if it is
    not one or has more than `max_digits` significant digits (19: int64). Checked before int(), which
    takes other Unicode digits and refuses text past Python's digit limit (4300) with an
    error naming Python internals; every parse of a client's number goes through here."""
    body = s[1:] if signed and s[:1] in ("-", "+") else s
    if body and body.isascii() and body.isdigit() and len(body.lstrip("0")) <= max_digits:
        return int(s)
    return None


_int_from_str = decimal_int


class IntType(XType):
    """int64: an int, or its decimal string (XML-RPC sends int64 as strings)."""

    __slots__ = ()
    kind = "int"

    def _build_checker(self) -> Callable[[Any, str], Any]:
        def check(value: Any, field: str) -> int:
            if type(value) is int:
                v = value
            elif isinstance(value, str):
                parsed = _int_from_str(value)
                if parsed is None:
                    raise _type_error(field)
                v = parsed
            elif isinstance(value, int) and not isinstance(value, bool):
                v = int(value)
            else:
                raise _type_error(field)
            if v < INT64_MIN or v > INT64_MAX:
                raise _type_error(field)
            return v
        return check

    def default_value(self) -> int:
        return 0


_FLOAT_WORDS = frozenset({"nan", "inf", "-inf", "+inf", "infinity", "-infinity", "+infinity"})


class FloatType(XType):
    __slots__ = ()
    kind = "float"

    def _build_checker(self) -> Callable[[Any, str], Any]:
        def check(value: Any, field: str) -> float:
            if type(value) is float:
                return value
            if isinstance(value, int) and not isinstance(value, bool):
                return float(value)
            if isinstance(value, float):
                return float(value)
            if isinstance(value, str) and value.isascii():
                # float() also takes "1_0" and surrounding blanks: the wire does not
                if value and "_" not in value and value.strip() == value:
                    if value[-1].isdigit() or value[-1] == "." or value.lower() in _FLOAT_WORDS:
                        try:
                            return float(value)
                        except ValueError:
                            pass
            raise _type_error(field)
        return check

    def default_value(self) -> float:
        return 0.0


class BoolType(XType):
    """bool only: xapi's unmarshaller (ocaml-rpc's bool_of_rpc) refuses "true"/"false" strings."""

    __slots__ = ()
    kind = "bool"

    def _build_checker(self) -> Callable[[Any, str], Any]:
        def check(value: Any, field: str) -> bool:
            if value is True or value is False:
                return value
            raise _type_error(field)
        return check

    def default_value(self) -> bool:
        return False


def parse_datetime(s: str) -> _dt.datetime | None:
    """Parse the reference's datetime spellings; None if ``s`` is none of them.

    Accepted: ``YYYYMMDDTHH:MM:SSZ`` (XML-RPC's dateTime.iso8601 as xapi sends it),
    ``YYYY-MM-DDTHH:MM:SSZ``, with optional fractional seconds and a ``Z``/``+HH:MM`` offset;
    no offset means UTC (xapi's own convention for its stored timestamps).
    """
    if not s.isascii() or len(s) < 15 or s[8:9] != "T" and s[10:11] != "T":
        return None
    try:
        d = _dt.datetime.fromisoformat(s)
    except ValueError:
        # 3.11 refuses the mixed form "YYYYMMDDTHH:MM:SS" when followed by fractions: normalise
        if len(s) >= 17 and s[8] == "T" and s[:8].isdigit():
            try:
                d = _dt.datetime.fromisoformat(f"{s[0:4]}-{s[4:6]}-{s[6:8]}{s[8:]}")
            except ValueError:
                return None
        else:
            return None
    if d.tzinfo is None:
        return d.replace(tzinfo=_UTC)
    return d.astimezone(_UTC)


def format_datetime(d: _dt.datetime) -> str:
    """The reference's wire spelling: ``YYYYMMDDTHH:MM:SSZ`` in UTC."""
    if d.tzinfo is not None:
        d = d.astimezone(_UTC)
    return d.strftime("%Y%m%dT%H:%M:%SZ")


class DateTimeType(XType):
    __slots__ = ()
    kind = "datetime"

    def _build_checker(self) -> Callable[[Any, str], Any]:
        def check(value: Any, field: str) -> _dt.datetime:
            if isinstance(value, _dt.datetime):
                if value.tzinfo is None:
                    return value.replace(tzinfo=_UTC)
                if value.tzinfo is _UTC:
                    return value
                return value.astimezone(_UTC)
            if isinstance(value, str):
                d = parse_datetime(value)
                if d is not None:
                    return d
            raise _type_error(field)
        return check

    def default_value(self) -> _dt.datetime:
        return EPOCH


class VoidType(XType):
    """The result type of messages that return nothing (``""`` on the wire)."""

    __slots__ = ()
    kind = "void"

    def _build_checker(self) -> Callable[[Any, str], Any]:
        def check(value: Any, field: str) -> None:
            if value is None or value == "":
                return None
            raise _type_error(field)
        return check

    def default_value(self) -> None:
        return None


# -- enums -----------------------------------------------------------------------------------

class EnumDef:
    """An enum declared once (model/enums.py): its name, values in order, and their docs."""

    __slots__ = ("name", "values", "docs", "doc", "_by_lower")

    def __init__(self, name: str, values: Iterable[tuple[str, str]], doc: str = "") -> None:
        pairs = list(values)
        self.name = name
        self.values: tuple[str, ...] = tuple(v for v, _ in pairs)
        self.docs: dict[str, str] = dict(pairs)
        self.doc = doc
        if not self.values:
            raise TypeParseError(f"enum {name} has no values")
        self._by_lower = {v.lower(): v for v in self.values}
        if len(self._by_lower) != len(self.values):
            raise TypeParseError(f"enum {name} has values differing only in case")

    def canonical(self, value: str) -> str | None:
        """The declared spelling of ``value`` (matched case-insensitively), or None."""
        return self._by_lower.get(value.lower())

    def __repr__(self) -> str:
        return f"EnumDef({self.name!r}, {self.values!r})"


_ENUMS: dict[str, EnumDef] = {}


def declare_enum(name: str, values: Iterable[tuple[str, str]], doc: str = "") -> EnumDef:
    """Register an enum; declaring one name twice is a bug in the declarations."""
    if name in _ENUMS:
        raise TypeParseError(f"enum {name} declared twice")
    e = EnumDef(name, values, doc)
    _ENUMS[name] = e
    return e


def enum_def(name: str) -> EnumDef:
    try:
        return _ENUMS[name]
    except KeyError:
        raise TypeParseError(f"unknown enum {name!r}") from None


def all_enums() -> dict[str, EnumDef]:
    return dict(_ENUMS)


class EnumType(XType):
    __slots__ = ("enum",)
    kind = "enum"

    enum: EnumDef

    def __init__(self, enum: EnumDef) -> None:
        self.enum = enum
        super().__init__(f"enum {enum.name}")

    def _build_checker(self) -> Callable[[Any, str], Any]:
        exact = frozenset(self.enum.values)
        canonical = self.enum.canonical

        def check(value: Any, field: str) -> str:
            if isinstance(value, str):
                if value in exact:
                    return value
                c = canonical(value)
                if c is not None:
                    return c
                raise XenAPIError("INVALID_VALUE", field, _valid_unicode(value))
            raise _type_error(field)
        return check

    def default_value(self) -> str:
        # no natural empty value: the first declared one (as the reference orders them)
        return self.enum.values[0]

    def referenced_enums(self) -> set[str]:
        return {self.enum.name}


# -- references, collections, records ---------------------------------------------------------

class RefType(XType):
    __slots__ = ("cls",)
    kind = "ref"

    cls: str

    def __init__(self, cls: str) -> None:
        self.cls = cls
        super().__init__(f"{cls} ref")

    def _build_checker(self) -> Callable[[Any, str], Any]:
        cls = self.cls

        def check(value: Any, field: str) -> str:
            if isinstance(value, str):
                if value.startswith(REF_PREFIX):
                    return _valid_unicode(str(value))
                raise XenAPIError("HANDLE_INVALID", cls, _valid_unicode(value))
            raise _type_error(field)
        return check

    def default_value(self) -> str:
        return NULL_REF

    def referenced_classes(self) -> set[str]:
        return {self.cls}


class SetType(XType):
    __slots__ = ("element",)
    kind = "set"

    element: XType

    def __init__(self, element: XType) -> None:
        self.element = element
        super().__init__(f"{element.name} set")

    def _build_checker(self) -> Callable[[Any, str], Any]:
        elem = self.element.check

        def check(value: Any, field: str) -> list[Any]:
            if isinstance(value, (list, tuple)):
                return [elem(v, field) for v in value]
            raise _type_error(field)
        return check

    def default_value(self) -> list[Any]:
        return []

    def referenced_classes(self) -> set[str]:
        return self.element.referenced_classes()

    def referenced_enums(self) -> set[str]:
        return self.element.referenced_enums()


class MapType(XType):
    __slots__ = ("key", "value")
    kind = "map"

    key: XType
    value: XType

    def __init__(self, key: XType, value: XType) -> None:
        self.key = key
        self.value = value
        super().__init__(f"({key.name} -> {value.name}) map")

    def _build_checker(self) -> Callable[[Any, str], Any]:
        kcheck = self.key.check
        vcheck = self.value.check

        def check(value: Any, field: str) -> dict[Any, Any]:
            if isinstance(value, dict):
                return {kcheck(k, field): vcheck(v, field) for k, v in value.items()}
            raise _type_error(field)
        return check

    def default_value(self) -> dict[Any, Any]:
        return {}

    def referenced_classes(self) -> set[str]:
        return self.key.referenced_classes() | self.value.referenced_classes()

    def referenced_enums(self) -> set[str]:
        return self.key.referenced_enums() | self.value.referenced_enums()


class RecordType(XType):
    """``X record``. As a parameter (``X.create``) only the constructor fields are read.

    ``check`` returns a dict of every constructor field (RW and RO/constructor): the value given
    (checked against the field's type, the field name as ``field``) or the field's default.
    Fields the caller may not set (RO/runtime) and unknown keys are ignored, as xapi does.
    A missing field that has no default answers ``FIELD_TYPE_ERROR [field name]`` (xapi itself
    fails with an INTERNAL_ERROR "Field ... not present in rpc"; we name the field instead).
    The class is bound by the model registry once every class is declared.
    """

    __slots__ = ("cls", "_fields")
    kind = "record"

    cls: str

    def __init__(self, cls: str) -> None:
        self.cls = cls
        # (wire name, checker, default copier or None when REQUIRED)
        self._fields: list[tuple[str, Callable[[Any, str], Any],
                                 Callable[[], Any] | None]] | None = None
        super().__init__(f"{cls} record")

    def bind(self, fields: Iterable[tuple[str, Callable[[Any, str], Any], Any]]) -> None:
        """Give the constructor fields: (wire name, checker, default or REQUIRED sentinel)."""
        self._fields = [(name, check, None if _is_required(default) else default_copier(default))
                        for name, check, default in fields]

    @property
    def bound(self) -> bool:
        return self._fields is not None

    def _build_checker(self) -> Callable[[Any, str], Any]:
        def check(value: Any, field: str) -> dict[Any, Any]:
            fields = self._fields
            if fields is None:
                raise XenAPIError("INTERNAL_ERROR", f"{self.name} cannot be a parameter")
            if not isinstance(value, dict):
                raise _type_error(field)
            out: dict[str, Any] = {}
            for name, fcheck, fresh in fields:
                if name in value:
                    out[name] = fcheck(value[name], name)
                elif fresh is None:
                    raise _type_error(name)
                else:
                    out[name] = fresh()
            return out
        return check

    def default_value(self) -> dict[Any, Any]:
        return {}

    def referenced_classes(self) -> set[str]:
        return {self.cls}


class AnyRecordType(XType):
    """A struct the reference does not type field by field: ``<class> record`` (a record of
    whichever class, event.get_record's result) and ``an event batch`` (event.from's result:
    ``{events, valid_ref_counts, token}``)."""

    __slots__ = ()
    kind = "record"

    def _build_checker(self) -> Callable[[Any, str], Any]:
        def check(value: Any, field: str) -> dict[Any, Any]:
            if isinstance(value, dict):
                return value
            raise _type_error(field)
        return check

    def default_value(self) -> dict[Any, Any]:
        return {}


def default_copier(value: Any) -> Callable[[], Any]:
    """A cheap function returning a copy of ``value`` safe to hand out (defaults are shared)."""
    if isinstance(value, list):
        if any(isinstance(v, (list, dict)) for v in value):
            return lambda: copy.deepcopy(value)
        return lambda: list(value)
    if isinstance(value, dict):
        if any(isinstance(v, (list, dict)) for v in value.values()):
            return lambda: copy.deepcopy(value)
        return lambda: dict(value)
    return lambda: value


def _is_required(default: Any) -> bool:
    from xenapi_impl.model.dsl import REQUIRED
    return default is REQUIRED


# -- the parser ------------------------------------------------------------------------------

_SCALARS: dict[str, type[XType]] = {
    "string": StringType, "int": IntType, "float": FloatType, "bool": BoolType,
    "datetime": DateTimeType, "void": VoidType,
}
_CACHE: dict[str, XType] = {}


def _split_arrow(inner: str) -> tuple[str, str]:
    depth = 0
    for i, ch in enumerate(inner):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and inner.startswith(" -> ", i):
            return inner[:i], inner[i + 4:]
    raise TypeParseError(f"map type without ' -> ': {inner!r}")


def _is_identifier(s: str) -> bool:
    return bool(s) and s.replace("_", "a").isalnum() and s.isascii()


def _parse(s: str) -> XType:
    if s in _SCALARS:
        return _SCALARS[s](s)
    if s.startswith("(") and s.endswith(") map"):
        k, v = _split_arrow(s[1:-5])
        return MapType(parse_type(k), parse_type(v))
    if s.endswith(" set"):
        return SetType(parse_type(s[:-4]))
    if s.startswith("enum "):
        return EnumType(enum_def(s[5:]))
    if s in ("<class> record", "an event batch"):
        return AnyRecordType(s)
    head, _, tail = s.rpartition(" ")
    if tail == "ref" and _is_identifier(head):
        return RefType(head)
    if tail == "record" and _is_identifier(head):
        return RecordType(head)
    raise TypeParseError(f"not a XenAPI type: {s!r}")


def parse_type(s: str | XType) -> XType:
    """The interned type for a reference type string (an XType is returned as is)."""
    if isinstance(s, XType):
        return s
    t = _CACHE.get(s)
    if t is None:
        t = _parse(s)
        if t.name != s:  # e.g. extra blanks: keep one spelling per type
            raise TypeParseError(f"type {s!r} should be written {t.name!r}")
        _CACHE[s] = t
    return t


def interned_types() -> list[XType]:
    """Every type parsed so far (the registry binds record types through this)."""
    return list(_CACHE.values())
