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
_ALLOWED = frozenset((parent, child) for parent, children in _CHILDREN.items() for child in children)
_SCALARS = frozenset({"int", "i4", "i8", "boolean", "double", "dateTime.iso8601", "base64", "nil"})

# Frame slots: [tag, value, aux]. value: the child's result (value, param, member, array), or
# _NONE while there is none; aux: the list/dict being filled (params, data, struct) or the
# member's name.
_NONE: Any = object()
_PENDING: Any = object()


def _unmarshal(expected: str, received: str) -> XenAPIError:
    return XenAPIError("XMLRPC_UNMARSHAL_FAILURE", expected, received)


class _Unsafe(Exception):
    """Raised from expat handlers on DTDs and entities (turned into a XenAPIError)."""


def _scalar(tag: str, text: str) -> Any:
    if tag == "string":
        return text
    s = text.strip()
    if tag in ("int", "i4", "i8"):
        # int64 has at most 19 significant digits; checked before int(), which refuses a
        # number past Python's digit limit with an error of its own
        if _INT.match(s) and len(s.lstrip("+-").lstrip("0")) <= 19:
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


def _refuse_dtd(*_args: Any) -> None:
    raise _Unsafe("DTDs are not allowed")


def _refuse_entity(*_args: Any) -> None:
    raise _Unsafe("entity declarations are not allowed")


def _refuse_external(*_args: Any) -> int:
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


def _misplaced(parent: str | None, tag: str) -> XenAPIError:
    allowed = _CHILDREN.get(parent)
    expected = "/".join(sorted(allowed)) if allowed else "no element"
    return _unmarshal(f"<{expected}> in <{parent}>" if parent else f"<{expected}>", f"<{tag}>")


# Most calls pass only strings (a session, refs, names): such a request in plain form is
# decoded by one regular expression instead of expat and its ~30 handler calls (2 us against
# 11 for a get_record). Plain: printable ASCII text with no markup, entity or CR in it (XML
# would turn a CR into a LF), no comment, attribute, CDATA or DOCTYPE, an XML declaration of
# version 1.0 in UTF-8 if any. Every other request goes to the full parser, and a request both
# accept decodes to the same call (test_wire_xmlrpc compares them).
_WS = rb"[ \t\r\n]*"
_TEXT = rb"[\t\n\x20-\x25\x27-\x3b\x3d\x3f-\x7e]*"       # printable ASCII but & < >
_UTF8 = rb"(?:'[Uu][Tt][Ff]-8'|\"[Uu][Tt][Ff]-8\")"
_DECL = rb"(?:<\?xml version=(?:'1\.0'|\"1\.0\")(?: encoding=" + _UTF8 + rb")?" + _WS + rb"\?>)?"
_PLAIN_VALUE = rb"<value>(?:<string>(" + _TEXT + rb")</string>|(" + _TEXT + rb"))</value>"
# group 1 the method, group 2 the params (the value's own groups come after: unused here)
_PLAIN = re.compile(
    _DECL + _WS + rb"<methodCall>" + _WS + rb"<methodName>([A-Za-z0-9_.]+)</methodName>" + _WS
    + rb"<params>" + _WS + rb"((?:<param>" + _WS + _PLAIN_VALUE + _WS + rb"</param>" + _WS
    + rb")*)</params>" + _WS + rb"</methodCall>" + _WS + rb"\Z")
_PLAIN_PARAM = re.compile(_PLAIN_VALUE)


def _plain(body: bytes) -> tuple[str, list[Any]] | None:
    """The call of a plain all-strings request (above), or None for the full parser."""
    m = _PLAIN.match(body)
    if m is None:
        return None
    return m.group(1).decode("ascii"), [(s or bare).decode("ascii")
                                        for s, bare in _PLAIN_PARAM.findall(m.group(2))]


def parse_request(body: bytes) -> tuple[str, list[Any]]:
    """The method name and params of an XML-RPC methodCall; XenAPIError if it is not one."""
    plain = _plain(body)
    if plain is not None:
        return plain
    return _parse_full(body)


def _parse_full(body: bytes) -> tuple[str, list[Any]]:
    """parse_request with expat: any request."""
    if not body.strip():
        raise _unmarshal("XML-RPC methodCall", "empty request body")
    _check_utf8(body)

    # The handlers are closures over these locals (faster than attributes: they run for every
    # element). `text` is the character data since the last start or end tag.
    frames: list[list[Any]] = []
    text = ""
    method: str | None = None
    params: list[Any] = []

    def start(tag: str, _attrs: Any) -> None:
        nonlocal text
        parent = frames[-1] if frames else None
        ptag = parent[0] if parent is not None else None
        if (ptag, tag) not in _ALLOWED:
            raise _misplaced(ptag, tag)
        if text:
            if not text.isspace():
                what = "one element in <value>" if ptag == "value" else f"elements in <{ptag}>"
                raise _unmarshal(what, text)
            text = ""
        if len(frames) >= MAX_DEPTH:
            raise _unmarshal(f"nesting depth <= {MAX_DEPTH}", "deeper")
        if ptag == "value":
            if parent[1] is not _NONE:  # type: ignore[index]
                raise _unmarshal("one element in <value>", f"<{tag}>")
            parent[1] = _PENDING  # type: ignore[index]
            aux: Any = {} if tag == "struct" else None
        else:
            aux = [] if tag in ("data", "params") else _NONE
        frames.append([tag, _NONE, aux])

    def chars(data: str) -> None:
        nonlocal text
        text += data

    def end(tag: str) -> None:
        nonlocal text, method, params
        frame = frames.pop()
        t = text
        text = ""
        if tag == "value":
            result = frame[1]
            if result is _NONE:
                result = t  # a bare string
            elif t and not t.isspace():
                raise _unmarshal("one element in <value>", t)
            parent = frames[-1]
            ptag = parent[0]
            if ptag == "data":
                parent[2].append(result)
            elif ptag == "param":
                if parent[1] is not _NONE:
                    raise _unmarshal("one <value> in <param>", "<value>")
                parent[1] = result
            else:  # member
                if parent[2] is _NONE or parent[1] is not _NONE:
                    raise _unmarshal("<name> then <value> in <member>", "<value>")
                parent[1] = result
            return
        if tag == "string":
            frames[-1][1] = t
            return
        if tag == "name":
            member = frames[-1]
            if member[2] is not _NONE or member[1] is not _NONE:
                raise _unmarshal("<name> then <value> in <member>", "<name>")
            member[2] = t
            return
        if tag in _SCALARS:
            frames[-1][1] = _scalar(tag, t)
            return
        if tag == "methodName":
            method = t.strip()
            return
        if t and not t.isspace():
            raise _unmarshal(f"elements in <{tag}>", t)
        if tag == "member":
            if frame[2] is _NONE or frame[1] is _NONE:
                raise _unmarshal("<name> and <value> in <member>", "incomplete <member>")
            frames[-1][2][frame[2]] = frame[1]
        elif tag == "struct":
            frames[-1][1] = frame[2]
        elif tag == "data":
            frames[-1][1] = frame[2]  # into the enclosing <array>
        elif tag == "array":
            frames[-1][1] = frame[1] if frame[1] is not _NONE else []
        elif tag == "param":
            if frame[1] is _NONE:
                raise _unmarshal("<value> in <param>", "empty <param>")
            frames[-1][2].append(frame[1])
        elif tag == "params":
            params = frame[2]
        elif tag == "methodCall" and method is None:
            raise _unmarshal("<methodName>", "no <methodName>")

    p = expat.ParserCreate()
    p.buffer_text = True
    p.StartDoctypeDeclHandler = _refuse_dtd
    p.EntityDeclHandler = _refuse_entity
    p.UnparsedEntityDeclHandler = _refuse_entity
    p.ExternalEntityRefHandler = _refuse_external
    p.StartElementHandler = start
    p.EndElementHandler = end
    p.CharacterDataHandler = chars
    try:
        p.Parse(body, True)
    except _Unsafe as e:
        raise _unmarshal("XML-RPC methodCall", f"unsafe XML refused: {e}") from None
    except expat.ExpatError as e:
        raise _unmarshal("XML-RPC methodCall", f"malformed XML: {e}") from None
    except (LookupError, ValueError) as e:
        # from Python's codecs, for a declared encoding they do not know ("ut8") or expat
        # cannot use (multi-byte ones: Shift-JIS)
        declared = _ENCODING_DECL.match(body[:200])
        if declared is None or declared.group(1).lower() in (b"utf-8", b"utf8"):
            raise
        raise _unmarshal("XML-RPC methodCall", f"unsupported encoding "
                         f"{declared.group(1).decode('ascii')}: {e}") from None
    if method is None:
        raise _unmarshal("<methodName>", "no <methodName>")
    if not method:
        raise _unmarshal("a method name", "empty <methodName>")
    return method, params
