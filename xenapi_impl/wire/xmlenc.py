"""XML-RPC encoder: Python values -> compact XML text in xapi's dialect.

Specialised for speed: one function walks the value appending to a list (no per-value method
dispatch), records' members are built with one f-string each, text is escaped only when a cheap
C-level check says it may need it, and each `Record` is encoded once per version (memo.py).
Rules: strings bare (`<value>s</value>`), every int as a decimal string (int64 rule), None as
the empty string, `<double>` as %.16g unless that loses bits, datetimes as YYYYMMDDTHH:MM:SSZ.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..values import Bare, FrozenEmptyList, FrozenEmptyMap, Record
from .memo import RecordMemo, encoded_pieces, join_parts, register
from .timefmt import format_datetime
from .xmlshape import EMPTY_ARRAY, EMPTY_STRUCT, ShapeEncoders

# Characters that need an entity (& < >), must be kept through XML line-end normalisation (\r),
# or cannot appear in XML 1.0 at all (dropped, as xapi does: no client could read them).
_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_REPLACE = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}


def _subst(m: re.Match[str]) -> str:
    return _REPLACE.get(m.group(), "")


def escape(s: str) -> str:
    """`s` as XML character data."""
    # Fast path: printable ASCII (which excludes every control character) needs at most the
    # three entities; isascii() is O(1) and the rest are C scans.
    if s.isascii() and s.isprintable():
        if "&" in s or "<" in s or ">" in s:
            return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return s
    return _SPECIAL.sub(_subst, s)


def format_double(f: float) -> str:
    """xapi's %.16g, or the shortest round-tripping form when 16 digits are not enough."""
    s = f"{f:.16g}"
    if float(s) != f:  # also true for nan, whose repr is the same word
        s = repr(f)
    return s


# Encoded Records are kept as UTF-8 bytes: a reply made of memoized records is then one
# bytes join, with no further copy to encode it.
_MEMO: RecordMemo[bytes] = RecordMemo()


def _key(k: object) -> str:
    """Struct member names: maps with int/float keys are sent with string keys, as xapi does."""
    if isinstance(k, str):
        return escape(str.__str__(k))  # str() would give a str-Enum's qualified name
    if isinstance(k, bool):
        return "true" if k else "false"
    if isinstance(k, int):
        return str(int(k))
    if isinstance(k, float):
        return format_double(k)
    raise TypeError(f"cannot encode a struct key of type {type(k).__name__}")


def _record(rec: Record) -> bytes:
    data = _MEMO.get(rec)
    if data is None:
        encode = _SHAPES.encoder(rec)
        if encode is not None:
            data = encode(*rec.values()).encode()
        else:
            parts: list[Any] = []
            _struct(rec, parts.append)
            data = _finish(parts)
        _MEMO.put(rec, data)
    return data


register(_MEMO, _record)


def _fragment(v: Any) -> str:
    """`<value>...</value>` text of any value (what the shape encoders call for non-scalars)."""
    parts: list[Any] = []
    _value(v, parts.append)
    try:
        return "".join(parts)
    except TypeError:  # a memoized Record inside
        return _finish(parts).decode()


def _seq_fragment(seq: list[Any]) -> str:
    """A list's text, with the all-plain-strings case done in C."""
    if not seq:
        return EMPTY_ARRAY
    try:
        flat = "".join(seq)
    except TypeError:
        return _fragment(seq)
    if _clean(flat):
        return "<value><array><data><value>" + "</value><value>".join(seq) + "</value></data></array></value>"
    return _fragment(seq)


def _map_fragment(d: dict[Any, Any]) -> str:
    """A dict's text, with the clean (string -> string) case done in C."""
    if not d:
        return EMPTY_STRUCT
    try:
        clean = _clean("".join(d)) and _clean("".join(d.values()))
    except TypeError:
        clean = False
    if clean:
        return "<value><struct>" + "".join(
            ["<member><name>" + k + "</name><value>" + v + "</value></member>" for k, v in d.items()]
        ) + "</struct></value>"
    return _fragment(d)


def _datetime_fragment(d: datetime) -> str:
    return f"<value><dateTime.iso8601>{format_datetime(d)}</dateTime.iso8601></value>"


_finish = join_parts
_SHAPES = ShapeEncoders(_fragment, {list: _seq_fragment, dict: _map_fragment, datetime: _datetime_fragment},
                        escape, lambda s: _clean(s), lambda k: _key(k), format_double)


# "<member><name>key</name>" per struct key seen: record field names repeat in every record,
# so escaping and formatting them once saves most of the per-member work. Bounded, because map
# keys are arbitrary user data.
_MEMBER: dict[str, str] = {}
_MEMBER_MAX = 4096


def _member(k: object) -> str:
    head = _MEMBER.get(k) if type(k) is str else None
    if head is None:
        head = f"<member><name>{_key(k)}</name>"
        if type(k) is str and len(_MEMBER) < _MEMBER_MAX:
            _MEMBER[k] = head
    return head


def _struct(d: dict[Any, Any], ap: Callable[[Any], None]) -> None:
    if type(d) is dict:
        # Fast path: a (string -> string) map whose text needs no escaping, checked in C.
        try:
            clean = _clean("".join(d)) and _clean("".join(d.values()))
        except TypeError:
            clean = False  # some key or value is not a string
        if clean:
            ap("<value><struct>")
            # Concatenation, not an f-string: it takes str subclasses (enums) by their text.
            ap("".join(["<member><name>" + k + "</name><value>" + v + "</value></member>"
                        for k, v in d.items()]))
            ap("</struct></value>")
            return
    ap("<value><struct>")
    member = _MEMBER.get
    for k, v in d.items():
        head = member(k) if type(k) is str else None
        if head is None:
            head = _member(k)
        t = type(v)
        if t is str:
            if not (v.isascii() and v.isprintable()) or "&" in v or "<" in v or ">" in v:
                v = escape(v)
            ap(f"{head}<value>{v}</value></member>")
        elif t is int:
            ap(f"{head}<value>{v:d}</value></member>")
        elif t is bool:
            ap(f"{head}<value><boolean>1</boolean></value></member>" if v
               else f"{head}<value><boolean>0</boolean></value></member>")
        else:
            ap(head)
            _value(v, ap)
            ap("</member>")
    ap("</struct></value>")


def _clean(s: str) -> bool:
    """True when `s` can go into XML as it is."""
    return s.isascii() and s.isprintable() and "&" not in s and "<" not in s and ">" not in s


def _array(seq: list[Any] | tuple[Any, ...], ap: Callable[[Any], None]) -> None:
    # Fast path: a set of plain strings (refs, operations, tags) is checked and joined in C.
    try:
        flat = "".join(seq)
    except TypeError:
        pass  # not all strings
    else:
        if not seq:
            ap(EMPTY_ARRAY)
            return
        if _clean(flat):
            ap("<value><array><data><value>")
            ap("</value><value>".join(seq))
            ap("</value></data></array></value>")
            return
    ap("<value><array><data>")
    for v in seq:
        if type(v) is str:
            if not _clean(v):
                v = escape(v)
            ap(f"<value>{v}</value>")
        else:
            _value(v, ap)
    ap("</data></array></value>")


def _value(v: Any, ap: Callable[[Any], None]) -> None:
    t = type(v)
    if t is str:
        ap(f"<value>{escape(v)}</value>")
    elif t is Record:
        ap(_record(v))
    elif t is dict:
        _struct(v, ap)
    elif t is list or t is tuple:
        _array(v, ap)
    elif t is int:
        ap(f"<value>{v:d}</value>")
    elif t is bool:
        ap("<value><boolean>1</boolean></value>" if v else "<value><boolean>0</boolean></value>")
    elif v is None:
        ap("<value></value>")
    elif t is float:
        ap(f"<value><double>{format_double(v)}</double></value>")
    elif t is FrozenEmptyMap:
        ap(EMPTY_STRUCT)
    elif t is FrozenEmptyList:
        ap(EMPTY_ARRAY)
    else:
        _other(v, ap)


def _other(v: Any, ap: Callable[[Any], None]) -> None:
    """Subclasses (str enums, IntEnum, other Records) and rarer types: the slow, general path."""
    if isinstance(v, Record):
        ap(_record(v))
    elif isinstance(v, bool):
        _value(bool(v), ap)
    elif isinstance(v, str):
        _value(str.__str__(v), ap)  # str() would give a str-Enum's qualified name
    elif isinstance(v, int):
        _value(int(v), ap)
    elif isinstance(v, float):
        _value(float(v), ap)
    elif isinstance(v, datetime):
        ap(f"<value><dateTime.iso8601>{format_datetime(v)}</dateTime.iso8601></value>")
    elif isinstance(v, dict):
        _struct(v, ap)
    elif isinstance(v, (list, tuple, set, frozenset)):
        _array(list(v), ap)
    else:
        raise TypeError(f"cannot encode a value of type {type(v).__name__} in XML-RPC")


_HEAD = '<?xml version="1.0"?><methodResponse><params><param>'
_TAIL = "</param></params></methodResponse>"
_SUCCESS = (_HEAD + "<value><struct><member><name>Status</name><value>Success</value></member>"
            "<member><name>Value</name>")
_SUCCESS_TAIL = "</member></struct></value>" + _TAIL


def value_fragment(value: Any) -> str:
    """`<value>...</value>` for `value` (task.result holds one of these)."""
    parts: list[Any] = []
    _value(value, parts.append)
    return _finish(parts).decode()


def encode_success(value: Any) -> bytes:
    """A methodResponse `{Status: Success, Value: value}`."""
    if isinstance(value, Bare):
        return encode_bare(value.value)
    return _finish(_success_parts(value))


def encode_success_chunks(value: Any) -> list[bytes]:
    """encode_success's bytes in consecutive pieces, Records' memoized bytes uncopied
    (memo.encoded_pieces)."""
    if isinstance(value, Bare):
        return [encode_bare(value.value)]
    return encoded_pieces(_success_parts(value))


def _success_parts(value: Any) -> list[Any]:
    parts: list[Any] = [_SUCCESS]
    _value(value, parts.append)
    parts.append(_SUCCESS_TAIL)
    return parts


def encode_failure(description: list[str]) -> bytes:
    """A methodResponse `{Status: Failure, ErrorDescription: [CODE, params...]}` (never a <fault>)."""
    items = "".join(f"<value>{escape(str(d))}</value>" for d in description)
    return (f"{_HEAD}<value><struct><member><name>Status</name><value>Failure</value></member>"
            f"<member><name>ErrorDescription</name><value><array><data>{items}</data></array>"
            f"</value></member></struct></value>{_TAIL}").encode()


def encode_bare(value: Any) -> bytes:
    """A methodResponse holding `value` itself, no Status envelope (system.listMethods)."""
    parts: list[Any] = [_HEAD]
    _value(value, parts.append)
    parts.append(_TAIL)
    return _finish(parts)


def memo_size() -> int:
    """How many Records currently have a memoized encoding (tests, diagnostics)."""
    return len(_MEMO)


def clear_memo() -> None:
    """Forget every memoized encoding (benchmarks measure the cold path with it)."""
    _MEMO.clear()
