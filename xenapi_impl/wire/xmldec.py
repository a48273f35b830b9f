"""XML-RPC request decoder: bytes -> (method name, params).

expat driven directly by a small state machine (no tree is built), with the protections of
defusedxml: a DTD, any entity declaration and any external entity reference abort the parse, so
entity expansion bombs and external entity tricks are refused before they do anything.
Every problem is reported as a XenAPIError; nothing else escapes.
"""
from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from xml.parsers import expat

from ..errors import XenAPIError
from .timefmt import parse_datetime

MAX_DEPTH = 64  # XenAPI values nest three or four deep; this bounds pathological input

_INT = re.compile(r"[+-]?[0-9]+\Z")
_DOUBLE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z|[+-]?(?:nan|inf|infinity)\Z",
                     re.IGNORECASE)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_ENCODING_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")

# Which elements may appear inside which (None: the document itself).
_CHILDREN: dict[str | None, frozenset[str]] = {
    None: frozenset({"methodCall"}),
    "methodCall": frozenset({"methodName", "params"}),
    "params": frozenset({"param"}),
    "param": frozenset({"value"}),
    "value": frozenset({"string", "int", "i4", "i8", "boolean", "double", "dateTime.iso8601",
                        "base64", "nil", "array", "struct"}),
    "array": frozenset({"data"}),
    "data": frozenset({"value"}),
    "struct": frozenset({"member"}),
    "member": frozenset({"name", "value"}),
}
_CONTAINERS = frozenset({"methodCall", "params", "param", "array", "data", "struct", "member"})


def _unmarshal(expected: str, received: str) -> XenAPIError:
    return XenAPIError("XMLRPC_UNMARSHAL_FAILURE", expected, received)


class _Unsafe(Exception):
    """Raised from expat handlers on DTDs and entities (turned into a XenAPIError)."""


class _Frame:
    __slots__ = ("tag", "text", "value", "has_value", "items", "name")

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.text: list[str] = []
        self.value: Any = None      # value: the typed child's result
        self.has_value = False
        self.items: Any = None      # data/params: list; struct: dict
        self.name: str | None = None  # member: its name


def _scalar(tag: str, text: str) -> Any:
    if tag == "string":
        return text
    s = text.strip()
    if tag in ("int", "i4", "i8"):
        if _INT.match(s):
            n = int(s)
            if _INT64_MIN <= n <= _INT64_MAX:
                return n
        raise _unmarshal("int", text)
    if tag == "boolean":
        b = s.lower()
        if b in ("1", "true"):
            return True
        if b in ("0", "false"):
            return False
        raise _unmarshal("boolean", text)
    if tag == "double":
        if _DOUBLE.match(s):
            return float(s)
        raise _unmarshal("double", text)
    if tag == "dateTime.iso8601":
        return parse_datetime(text)
    if tag == "base64":
        try:
            raw = base64.b64decode("".join(s.split()), validate=True)
        except (binascii.Error, ValueError):
            raise _unmarshal("base64", text) from None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise XenAPIError("INVALID_VALUE", "Invalid UTF-8 string in parameter",
                              raw.decode("utf-8", "replace")) from None
    if tag == "nil":
        if s:
            raise _unmarshal("<nil/>", text)
        return None
    raise AssertionError(tag)  # _CHILDREN admits no other leaf


class _Parser:
    """One request's parse state; expat calls the three handlers below."""

    def __init__(self) -> None:
        self.stack: list[_Frame] = []
        self.method: str | None = None
        self.params: list[Any] = []

    def start(self, tag: str, _attrs: Any) -> None:
        stack = self.stack
        parent = stack[-1].tag if stack else None
        allowed = _CHILDREN.get(parent)
        if allowed is None or tag not in allowed:
            expected = "/".join(sorted(allowed)) if allowed else "no element"
            raise _unmarshal(f"<{expected}> in <{parent}>" if parent else f"<{expected}>", f"<{tag}>")
        if len(stack) >= MAX_DEPTH:
            raise _unmarshal(f"nesting depth <= {MAX_DEPTH}", "deeper")
        if parent == "value":
            top = stack[-1]
            if top.has_value:
                raise _unmarshal("one element in <value>", f"<{tag}>")
            top.has_value = True  # reserve: the child's result arrives on its end
        frame = _Frame(tag)
        if tag in ("params", "data"):
            frame.items = []
        elif tag == "struct":
            frame.items = {}
        stack.append(frame)

    def chars(self, data: str) -> None:
        self.stack[-1].text.append(data)

    def end(self, tag: str) -> None:
        frame = self.stack.pop()
        text = "".join(frame.text)
        if tag in _CONTAINERS and text.strip():
            raise _unmarshal(f"elements in <{tag}>", text)
        if tag == "value":
            if frame.has_value:
                if text.strip():
                    raise _unmarshal("one element in <value>", text)
                result = frame.value
            else:
                result = text  # a bare string
            self._deliver(result)
        elif tag in ("params", "param", "member", "methodCall"):
            if tag == "member" and (frame.name is None or not frame.has_value):
                raise _unmarshal("<name> and <value> in <member>", "incomplete <member>")
            if tag == "params":
                self.params = frame.items
            elif tag == "member":
                self.stack[-1].items[frame.name] = frame.value
            elif tag == "param" and not frame.has_value:
                raise _unmarshal("<value> in <param>", "empty <param>")
            elif tag == "methodCall" and self.method is None:
                raise _unmarshal("<methodName>", "no <methodName>")
        elif tag == "methodName":
            self.method = text.strip()
        elif tag == "name":
            member = self.stack[-1]
            if member.name is not None or member.has_value:
                raise _unmarshal("<name> then <value> in <member>", "<name>")
            member.name = text
        elif tag == "data":
            self.stack[-1].value = frame.items  # into the enclosing <array>
        elif tag == "array":
            self.stack[-1].value = frame.value if frame.value is not None else []
        elif tag == "struct":
            self.stack[-1].value = frame.items
        else:
            self.stack[-1].value = _scalar(tag, text)

    def _deliver(self, result: Any) -> None:
        parent = self.stack[-1]
        if parent.tag == "data":
            parent.items.append(result)
        elif parent.tag == "param":
            if parent.has_value:
                raise _unmarshal("one <value> in <param>", "<value>")
            parent.has_value = True
            self.stack[-2].items.append(result)
        else:  # member
            if parent.name is None or parent.has_value:
                raise _unmarshal("<name> then <value> in <member>", "<value>")
            parent.has_value = True
            parent.value = result


def _refuse_dtd(*_args: Any) -> None:
    raise _Unsafe("DTDs are not allowed")


def _refuse_entity(*_args: Any) -> None:
    raise _Unsafe("entity declarations are not allowed")


def _refuse_external(*_args: Any) -> None:
    raise _Unsafe("external entity references are not allowed")


def _check_utf8(body: bytes) -> None:
    """INVALID_VALUE for a UTF-8 document that is not valid UTF-8, naming the text it sits in.

    expat would only say "not well-formed"; xapi's exact error names the offending string.
    """
    if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return  # UTF-16 with a byte order mark: expat decodes it
    m = _ENCODING_DECL.match(body[:200])
    if m is not None and m.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
        return  # another declared encoding: expat decodes it
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as e:
        start = body.rfind(b">", 0, e.start) + 1
        end = body.find(b"<", e.start)
        fragment = body[start:end if end >= 0 else len(body)]
        raise XenAPIError("INVALID_VALUE", "Invalid UTF-8 string in parameter",
                          fragment.decode("utf-8", "replace")) from None


def parse_request(body: bytes) -> tuple[str, list]:
    """The method name and params of an XML-RPC methodCall; XenAPIError if it is not one."""
    if not body.strip():
        raise _unmarshal("XML-RPC methodCall", "empty request body")
    _check_utf8(body)
    state = _Parser()
    p = expat.ParserCreate()
    p.buffer_text = True
    p.StartDoctypeDeclHandler = _refuse_dtd
    p.EntityDeclHandler = _refuse_entity
    p.UnparsedEntityDeclHandler = _refuse_entity
    p.ExternalEntityRefHandler = _refuse_external
    p.StartElementHandler = state.start
    p.EndElementHandler = state.end
    p.CharacterDataHandler = state.chars
    try:
        p.Parse(body, True)
    except _Unsafe as e:
        raise _unmarshal("XML-RPC methodCall", f"unsafe XML refused: {e}") from None
    except expat.ExpatError as e:
        raise _unmarshal("XML-RPC methodCall", f"malformed XML: {e}") from None
    if state.method is None:
        raise _unmarshal("<methodName>", "no <methodName>")
    if not state.method:
        raise _unmarshal("a method name", "empty <methodName>")
    return state.method, state.params
