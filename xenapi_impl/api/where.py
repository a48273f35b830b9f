"""xapi's expression language for `<class>.get_all_records_where` (its db_filter):

    expr  := "true" | "false" | "not" expr | expr "and" expr | expr "or" expr | "(" expr ")"
           | value "=" value | value "<>" value
    value := "field" STRING | STRING                  (STRING: "..." with no escapes)

e.g. `field "power_state"="Running" and not field "is_a_template"="true"`. "not" binds
tightest, then "and", then "or". Values compare as the strings xapi's database holds: fields
are named as its columns (`name__label`, the wire's `name_label`, is accepted too), booleans
are "true"/"false", numbers decimal, dates `YYYYMMDDTHH:MM:SSZ`, sets and maps
s-expressions. A malformed expression is INVALID_VALUE [expr, <the parser's exception>]; a
field the class lacks is INTERNAL_ERROR ["missing field", field, ""] (xapi's database error).
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import XenAPIError

LEX_ERROR = 'Failure("lexing: empty token")'
PARSE_ERROR = "Stdlib.Parsing.Parse_error"


class _Bad(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


@dataclass(frozen=True)
class Field:
    name: str


@dataclass(frozen=True)
class Literal:
    value: str


Expr = tuple                      # ("true",) ("false",) ("not", e) ("and"|"or", a, b)
#                                   ("eq", v, v)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            i += 1
        elif c in "()=":
            out.append((c, c))
            i += 1
        elif text.startswith("<>", i):
            out.append(("<>", "<>"))
            i += 2
        elif c == '"':
            j = text.find('"', i + 1)
            if j < 0:
                raise _Bad(LEX_ERROR)
            out.append(("str", text[i + 1:j]))
            i = j + 1
        else:
            for word in ("field", "and", "or", "not", "true", "false"):
                if text.startswith(word, i):
                    out.append((word, word))
                    i += len(word)
                    break
            else:
                raise _Bad(LEX_ERROR)
    out.append(("eof", ""))
    return out


class _Parser:
    def __init__(self, toks: list[tuple[str, str]]) -> None:
        self.toks = toks
        self.i = 0

    def peek(self) -> str:
        return self.toks[self.i][0]

    def take(self, kind: str) -> str:
        if self.peek() != kind:
            raise _Bad(PARSE_ERROR)
        v = self.toks[self.i][1]
        self.i += 1
        return v

    def top(self) -> Expr:
        e = self.disj()
        self.take("eof")
        return e

    def disj(self) -> Expr:
        e = self.conj()
        while self.peek() == "or":
            self.i += 1
            e = ("or", e, self.conj())
        return e

    def conj(self) -> Expr:
        e = self.unary()
        while self.peek() == "and":
            self.i += 1
            e = ("and", e, self.unary())
        return e

    def unary(self) -> Expr:
        k = self.peek()
        if k == "not":
            self.i += 1
            return ("not", self.unary())
        if k in ("true", "false"):
            self.i += 1
            return (k,)
        if k == "(":
            self.i += 1
            e = self.disj()
            self.take(")")
            return e
        a = self.value()
        op = self.peek()
        if op not in ("=", "<>"):
            raise _Bad(PARSE_ERROR)
        self.i += 1
        e = ("eq", a, self.value())
        return e if op == "=" else ("not", e)

    def value(self) -> Field | Literal:
        if self.peek() == "field":
            self.i += 1
            return Field(self.take("str"))
        return Literal(self.take("str"))


def parse(text: str) -> Expr:
    try:
        return _Parser(_tokens(text)).top()
    except _Bad as bad:
        raise XenAPIError("INVALID_VALUE", text, bad.what) from None


def db_string(value: Any) -> str:
    """A value as xapi's database holds it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, _dt.datetime):
        return value.astimezone(_dt.timezone.utc).strftime("%Y%m%dT%H:%M:%SZ") \
            if value.tzinfo else value.strftime("%Y%m%dT%H:%M:%SZ")
    if isinstance(value, dict):
        return "(" + " ".join(f"('{db_string(k)}' '{db_string(v)}')"
                              for k, v in value.items()) + ")"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "(" + " ".join(f"'{db_string(v)}'" for v in value) + ")"
    return "" if value is None else str(value)


def matcher(expr: Expr, columns: dict[str, str]) -> Callable[[dict[str, Any]], bool]:
    """A predicate over records; `columns` maps database column names to record keys."""
    def val(v: Field | Literal, rec: dict[str, Any]) -> str:
        if isinstance(v, Literal):
            return v.value
        key = columns.get(v.name)
        if key is None:
            raise XenAPIError("INTERNAL_ERROR", "missing field", v.name, "")
        return db_string(rec[key])

    def ev(e: Expr, rec: dict[str, Any]) -> bool:
        k = e[0]
        if k == "true":
            return True
        if k == "false":
            return False
        if k == "not":
            return not ev(e[1], rec)
        if k == "and":
            return ev(e[1], rec) and ev(e[2], rec)
        if k == "or":
            return ev(e[1], rec) or ev(e[2], rec)
        return val(e[1], rec) == val(e[2], rec)
    return lambda rec: ev(expr, rec)


def columns_of(cdef: Any) -> dict[str, str]:
    """Database column name (and wire name) -> record key, for a model class."""
    out: dict[str, str] = {}
    for f in cdef.fields.values():
        out[f.path.replace("/", "__")] = f.name
        out.setdefault(f.name, f.name)
    return out


def records_where(records: dict[str, Any], cdef: Any, text: str) -> dict[str, Any]:
    pred = matcher(parse(text), columns_of(cdef))
    return {ref: rec for ref, rec in records.items() if pred(rec)}
