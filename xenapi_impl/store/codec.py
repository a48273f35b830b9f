"""Column encoding of field values for the SQLite and PostgreSQL backends (and of the changed
fields in PostgreSQL's change log).

Values are stored as JSON text with two tagged forms so that decoding needs no type
information: datetimes (`{"d": iso}`) and maps (`{"m": [[k, v], ...]}`, keys may be ints).
Every other JSON object shape is never produced, so decoding is unambiguous.
"""
from __future__ import annotations

import datetime as _dt
import json
from typing import Any

from ..values import EMPTY_LIST, EMPTY_MAP


def _pack(value: Any) -> Any:
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    if isinstance(value, dict):
        return {"m": [[_pack(k), _pack(v)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return [_pack(v) for v in value]
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return {"d": value.astimezone(_dt.timezone.utc).isoformat()}
    raise TypeError(f"cannot store a value of type {type(value).__name__}")


_CONTAINERS = (list, dict)


def _unpack(value: Any) -> Any:
    # a load decodes every column of every record: scalars inside containers are not
    # recursed into (most lists are refs, most maps strings to strings)
    t = type(value)
    if t is list:
        return [_unpack(v) if type(v) in _CONTAINERS else v for v in value]
    if t is dict:
        if "m" in value:
            return {_unpack(k) if type(k) in _CONTAINERS else k:
                    _unpack(v) if type(v) in _CONTAINERS else v for k, v in value["m"]}
        return _dt.datetime.fromisoformat(value["d"])
    return value


#: one encoder for every call: json.dumps with options builds a new JSONEncoder each time
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=True).encode


def encode(value: Any) -> str:
    """A field value as compact JSON text (a commit encodes every field it writes: the plain
    scalars, most of them, skip the packing)."""
    t = type(value)
    if t is str:
        return _encode(value)
    if t is bool:
        return "true" if value else "false"
    if t is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    return _encode(_pack(value))


_EMPTY_MAP = '{"m":[]}'


def decode(text: str) -> Any:
    """The value `encode` was given; an empty map or list (the most common column texts of a
    load) as the one frozen empty every stored Record shares (values.EMPTY_MAP, EMPTY_LIST)."""
    if text == _EMPTY_MAP:
        return EMPTY_MAP
    if text == "[]":
        return EMPTY_LIST
    return _unpack(json.loads(text))
