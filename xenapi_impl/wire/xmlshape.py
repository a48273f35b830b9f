"""Record encoders specialised per record shape, for the cold XML-RPC path.

Records of one class share their field names and, nearly always, the types of their values.
For each shape (field names, value types) seen, a small function is generated once that encodes
such a record as one `"".join` over constant markup and the values: no per-field type dispatch,
and the escaping check for all string values done in one C pass over their concatenation.
Field names never enter the generated source (they sit in a constants tuple), so no data can
change the code. The number of shapes kept is bounded; past it, the generic encoder is used.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..values import FrozenEmptyList, FrozenEmptyMap

#: the text of an empty map and an empty list (every encoder writes them the same)
EMPTY_STRUCT = "<value><struct></struct></value>"
EMPTY_ARRAY = "<value><array><data></data></array></value>"

MAX_SHAPES = 512
MIN_FIELDS = 8  # below this the generic loop is as fast

_Shape = tuple[tuple[Any, ...], tuple[type, ...]]
_BOOL = {True: "<boolean>1</boolean>", False: "<boolean>0</boolean>"}


class ShapeEncoders:
    """Generated encoders by shape. `fragment(value)` encodes any value as `<value>...</value>`
    text; `by_type` gives quicker ones for some exact types (list, dict); `escape`/`clean` are
    the text rules; `member_name` gives a key's escaped text; `double` formats a float."""

    def __init__(self, fragment: Callable[[Any], str], by_type: dict[type, Callable[[Any], str]],
                 escape: Callable[[str], str], clean: Callable[[str], bool],
                 member_name: Callable[[Any], str], double: Callable[[float], str]) -> None:
        self._fragment = fragment
        self._helper_index = {t: i for i, t in enumerate(by_type)}
        self._helpers = tuple(by_type.values())
        self._escape = escape
        self._clean = clean
        self._member_name = member_name
        self._double = double
        self._encoders: dict[_Shape, Callable[..., str]] = {}
        # Per shape, the string fields that once needed escaping (e.g. VM.recommendations holds
        # XML): they are escaped one by one so the bulk check of the others can still pass.
        self._suspects: dict[_Shape, frozenset[int]] = {}

    def encoder(self, rec: dict[Any, Any]) -> Callable[..., str] | None:
        """The encoder for `rec`'s shape (call it with `*rec.values()`), or None."""
        if len(rec) < MIN_FIELDS:
            return None
        shape = (tuple(rec), tuple(map(type, rec.values())))
        fn = self._encoders.get(shape)
        if fn is None:
            if len(self._encoders) >= MAX_SHAPES:
                return None
            fn = self._build(shape, frozenset())
            self._encoders[shape] = fn
        return fn

    def _learn(self, shape: _Shape, before: tuple[str, ...], after: tuple[str, ...],
               positions: tuple[int, ...]) -> None:
        """Called by a generated encoder whose bulk check failed: remember which string fields
        needed escaping and regenerate the encoder with them checked one by one."""
        dirty = {pos for pos, b, a in zip(positions, before, after, strict=True) if a != b}
        if not dirty:
            return  # e.g. a CR or a dropped control character only: nothing to learn
        suspects = self._suspects.get(shape, frozenset()) | dirty
        self._suspects[shape] = suspects
        if shape in self._encoders:
            self._encoders[shape] = self._build(shape, suspects)

    def __len__(self) -> int:
        return len(self._encoders)

    def _build(self, shape: _Shape, suspects: frozenset[int]) -> Callable[..., str]:
        keys, types = shape
        consts: list[str] = []      # markup between values, as constants
        pieces: list[str] = []      # expressions joined at run time
        strings: list[int] = []     # positions of plain str arguments, checked in bulk
        singles: list[int] = []     # positions of str arguments always escaped one by one
        pending = "<value><struct>"
        for i, (k, t) in enumerate(zip(keys, types, strict=True)):
            arg = f"a{i}"
            pending += f"<member><name>{self._member_name(k)}</name>"
            if t is str:
                pending += "<value>"
                expr, tail = arg, "</value></member>"
                (singles if i in suspects else strings).append(i)
            elif t is int:
                pending += "<value>"
                expr, tail = f"_int({arg})", "</value></member>"
            elif t is bool:
                pending += "<value>"
                expr, tail = f"_bool[{arg}]", "</value></member>"
            elif t is float:
                pending += "<value><double>"
                expr, tail = f"_double({arg})", "</double></value></member>"
            elif t is type(None):
                pending += "<value></value></member>"
                continue
            elif t is FrozenEmptyMap:       # the stored Records' shared empties: constants
                pending += EMPTY_STRUCT + "</member>"
                continue
            elif t is FrozenEmptyList:
                pending += EMPTY_ARRAY + "</member>"
                continue
            elif t in self._helper_index:
                expr, tail = f"_h[{self._helper_index[t]}]({arg})", "</member>"
            else:
                expr, tail = f"_fragment({arg})", "</member>"
            consts.append(pending)
            pieces.append(f"_c[{len(consts) - 1}]")
            pieces.append(expr)
            pending = tail
        consts.append(pending + "</struct></value>")
        pieces.append(f"_c[{len(consts) - 1}]")

        args = ", ".join(f"a{i}" for i in range(len(keys)))
        lines = [f"def encode({args}):"]
        for i in singles:
            lines.append(f"    a{i} = _escape(a{i})")
        if strings:
            names = "".join(f"a{i}, " for i in strings)
            lines.append(f"    if not _clean(''.join(({names}))):")
            lines.append(f"        _before = ({names})")
            for i in strings:
                lines.append(f"        a{i} = _escape(a{i})")
            lines.append(f"        _learn(_shape, _before, ({names}), _positions)")
        lines.append(f"    return ''.join(({', '.join(pieces)},))")
        namespace: dict[str, Any] = {
            "_c": tuple(consts), "_int": int.__repr__, "_bool": _BOOL, "_double": self._double,
            "_fragment": self._fragment, "_escape": self._escape, "_clean": self._clean,
            "_h": self._helpers, "_learn": self._learn, "_shape": shape,
            "_positions": tuple(strings),
        }
        exec(compile("\n".join(lines), "<xmlrpc record encoder>", "exec"), namespace)
        fn: Callable[..., str] = namespace["encode"]
        return fn
