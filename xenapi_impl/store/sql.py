"""The relational layout shared by the SQLite and PostgreSQL backends (one source of truth).

One table per persistent class, derived from its `ClassSpec`: `ref` primary key, `uuid`
unique, one TEXT column per other field holding `codec`-encoded JSON. `_uuids` (uuid -> class,
ref) keeps uuids unique across classes. Both dialects take the same statements; only the
parameter mark differs (`?` for sqlite3, `%s` for psycopg).
"""
from __future__ import annotations

from typing import Any, Iterable

from ..values import Record
from . import codec
from .base import ClassSpec

Statement = tuple[str, tuple[Any, ...]]


#: uuid -> (class, ref) of every persistent object: uuids are unique across classes
UUIDS_TABLE = ("CREATE TABLE IF NOT EXISTS _uuids (uuid TEXT PRIMARY KEY, cls TEXT NOT NULL,"
               " ref TEXT NOT NULL)")
CREDENTIALS_TABLE = ("CREATE TABLE IF NOT EXISTS _credentials (name TEXT PRIMARY KEY,"
                     " hash TEXT NOT NULL, role TEXT NOT NULL)")


def quote(name: str) -> str:
    """Quote an identifier (field names such as `class` are SQL keywords)."""
    return '"' + name.replace('"', '""') + '"'


def table(cls: str) -> str:
    return quote("c_" + cls)


def value_fields(spec: ClassSpec) -> list[str]:
    """The fields stored as codec columns (`uuid` has its own plain, unique column)."""
    return [f for f in spec.fields if f != "uuid"]


def create_table(spec: ClassSpec) -> str:
    cols = "".join(f", {quote(f)} TEXT" for f in value_fields(spec))
    return f"CREATE TABLE IF NOT EXISTS {table(spec.name)} (ref TEXT PRIMARY KEY, uuid TEXT UNIQUE{cols})"


def select_all(spec: ClassSpec) -> str:
    cols = "".join(", " + quote(f) for f in value_fields(spec))
    return f"SELECT ref, uuid{cols} FROM {table(spec.name)}"


def record_of(spec: ClassSpec, row: Iterable[Any], shared: dict[str, Any] | None = None
              ) -> tuple[str, Record]:
    """(ref, Record in the model's field order) of a row read with `select_all`.

    `shared` (kept across the rows of a load) maps column texts to their decoded immutable
    values, so that the many equal strings and numbers of a big table ("", "OpaqueRef:NULL",
    "restart"...) are one object each instead of one per record; of the maps and lists, only
    the empty ones are shared (codec.decode gives the frozen values.EMPTY_MAP, EMPTY_LIST).
    """
    ref, uuid, *texts = row
    if shared is None:
        values = [None if t is None else codec.decode(t) for t in texts]
    else:
        get = shared.get
        values = [None if t is None else (get(t) if t in shared else _shared(t, shared))
                  for t in texts]
    fields, at = _layout(spec)
    if at >= 0:
        values.insert(at, uuid)
    return ref, Record(zip(fields, values))


#: id(spec.fields) -> (those fields, where uuid is among them, -1 if not): a load builds
#: 10,000 records; the tuple kept in the value keeps its id from being reused
_layouts: dict[int, tuple[tuple[str, ...], int]] = {}


def _layout(spec: ClassSpec) -> tuple[tuple[str, ...], int]:
    fields = spec.fields
    found = _layouts.get(id(fields))
    if found is None or found[0] is not fields:
        fields = tuple(fields)
        found = _layouts[id(spec.fields)] = (
            fields, fields.index("uuid") if "uuid" in fields else -1)
    return found


_SHARED_TYPES = (str, int, float, bool)


_SHARED_MAX = 256        # longer texts (descriptions, XML blobs) are rarely equal


def _shared(text: str, shared: dict[str, Any]) -> Any:
    value = shared.get(text)
    if value is None:
        value = codec.decode(text)
        if type(value) in _SHARED_TYPES and len(text) <= _SHARED_MAX:
            shared[text] = value
    return value


#: (kind, class, field names, mark) -> the statement's text: a commit's writes take a few
#: dozen shapes (one setter writes the same columns each time), so each text is built once
_texts: dict[tuple[str, str, tuple[str, ...], str], str] = {}
_TEXTS_MAX = 4096


def _text(kind: str, cls: str, names: tuple[str, ...], mark: str) -> str:
    key = (kind, cls, names, mark)
    text = _texts.get(key)
    if text is None:
        tbl = table(cls)
        if kind == "create":
            cols = "".join(", " + quote(f) for f in names)
            text = f"INSERT INTO {tbl} (ref, uuid{cols}) VALUES ({mark}, {mark}" \
                   f"{f', {mark}' * len(names)})"
        else:
            sets = ", ".join(f"{quote(f)} = {mark}" for f in names)
            text = f"UPDATE {tbl} SET {sets} WHERE ref = {mark}"
        if len(_texts) >= _TEXTS_MAX:
            _texts.clear()
        _texts[key] = text
    return text


def statements(ops: Iterable[tuple[str, str, str, Any]], mark: str) -> list[Statement]:
    """The writes of a commit's persistent operations (touch writes nothing)."""
    out: list[Statement] = []
    encode = codec.encode
    for kind, cls, ref, fields in ops:
        if kind == "create":
            names = tuple(f for f in fields if f != "uuid")
            uuid = fields.get("uuid")
            out.append((_text(kind, cls, names, mark),
                        (ref, uuid, *(encode(fields[f]) for f in names))))
            if uuid:
                out.append((f"INSERT INTO _uuids VALUES ({mark}, {mark}, {mark})",
                            (uuid, cls, ref)))
        elif kind == "update":
            names = tuple(f for f in fields if f != "uuid")
            if names:
                out.append((_text(kind, cls, names, mark),
                            (*(encode(fields[f]) for f in names), ref)))
        elif kind == "delete":
            tbl = table(cls)
            out.append((f"DELETE FROM _uuids WHERE cls = {mark} AND ref = {mark}", (cls, ref)))
            out.append((f"DELETE FROM {tbl} WHERE ref = {mark}", (ref,)))
    return out
