"""JSON-RPC 1.0 and 2.0 codec in xapi's dialect (see README.md for the rules and choices).

Requests: `"jsonrpc": "2.0"` selects 2.0, absent selects 1.0, anything else is refused; 1.0 needs
`params` as an array, 2.0 takes an array, an object (one positional argument) or nothing; `id` is
an integer or a string (no notifications: xapi answers every call). Replies carry int64 as JSON
numbers and datetimes as `YYYYMMDDTHH:MM:SSZ` strings. A request that is not valid JSON-RPC gets a
well-formed JSON-RPC error: code -32700 (not JSON) or -32600 (not a valid request).
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import XenAPIError
from ..values import Bare, Record
from .memo import RecordMemo, encoded_pieces, join_parts, register
from .timefmt import format_datetime

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
XENAPI_FAILURE = 1  # xapi's code for every XenAPI failure; the XenAPI code is the message


@dataclass(frozen=True, slots=True)
class JsonRequest:
    method: str
    params: list[Any]
    id: int | str | None   # None only in the request stand-in of an unparseable body
    version: str           # "1.0" or "2.0"


# Stands for a request whose version and id could not be read: answered in the 2.0 shape with a
# null id, as JSON-RPC 2.0 prescribes for parse errors.
UNKNOWN_REQUEST = JsonRequest("", [], None, "2.0")


class JsonRpcRequestError(XenAPIError):
    """The body is not a valid JSON-RPC call; `request` holds what could be read of it."""

    def __init__(self, request: JsonRequest, rpc_code: int, code: str, *params: object) -> None:
        super().__init__(code, *params)
        self.request = request
        self.rpc_code = rpc_code


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_MAX_INT_CHARS = 100        # int64 needs 20; larger ones still parse, for FIELD_TYPE_ERROR


def _parse_int(text: str) -> int:
    # int() refuses numbers past Python's digit limit with a hint about Python internals;
    # such a number is no JSON-RPC we read (int64 at most): a parse error of our own words
    if len(text) > _MAX_INT_CHARS:
        raise ValueError(f"integer of {len(text)} digits is out of range")
    return int(text)


_decoder = json.JSONDecoder(parse_constant=_refuse_constant, parse_int=_parse_int)


def _invalid_utf8(request: JsonRequest, s: str) -> JsonRpcRequestError:
    shown = "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in s)
    return JsonRpcRequestError(request, XENAPI_FAILURE, "INVALID_VALUE",
                               "Invalid UTF-8 string in parameter", shown)


def _find_bad_string(v: Any) -> str | None:
    """The first string holding a lone surrogate (undecodable bytes, or a bad \\u escape)."""
    stack = [v]
    while stack:
        x = stack.pop()
        if isinstance(x, str):
            if not x.isascii():
                try:
                    x.encode("utf-8")
                except UnicodeEncodeError:
                    return x
        elif isinstance(x, dict):
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return None


def parse_request(body: bytes) -> JsonRequest:
    """The call in a JSON-RPC request body; JsonRpcRequestError if there is none."""
    try:
        text = body.decode("utf-8")
        suspicious = b"\\ud" in body or b"\\uD" in body
    except UnicodeDecodeError:
        # Parse anyway (undecodable bytes become lone surrogates) so that the error can name
        # the string and answer with the caller's version and id.
        text = body.decode("utf-8", "surrogateescape")
        suspicious = True
    try:
        doc = _decoder.decode(text.lstrip("\ufeff"))
    except ValueError as e:
        raise JsonRpcRequestError(UNKNOWN_REQUEST, PARSE_ERROR, "JSONRPC_PARSE_ERROR", str(e)) from None
    except RecursionError:
        raise JsonRpcRequestError(UNKNOWN_REQUEST, PARSE_ERROR, "JSONRPC_PARSE_ERROR",
                                  "nesting too deep") from None

    def invalid(why: str, request: JsonRequest = UNKNOWN_REQUEST) -> JsonRpcRequestError:
        return JsonRpcRequestError(request, INVALID_REQUEST, "JSONRPC_INVALID_REQUEST", why)

    if not isinstance(doc, dict):
        raise invalid("batch requests are not supported" if isinstance(doc, list)
                      else "the request must be a JSON object")
    version_field = doc.get("jsonrpc")
    if version_field is None and "jsonrpc" not in doc:
        version = "1.0"
    elif version_field == "2.0":
        version = "2.0"
    else:
        raise invalid(f"unsupported jsonrpc version {json.dumps(version_field)}")

    rid = doc.get("id")
    id_ok = (type(rid) is int) or isinstance(rid, str)
    shell = JsonRequest("", [], rid if id_ok else None, version)
    if not id_ok:
        raise invalid("id must be an integer or a string", shell)
    method = doc.get("method")
    if not isinstance(method, str) or not method:
        raise invalid("method must be a non-empty string", shell)
    shell = JsonRequest(method, [], rid, version)
    if "params" not in doc:
        if version == "1.0":
            raise invalid("params must be an array", shell)
        params: list[Any] = []
    else:
        raw = doc["params"]
        if isinstance(raw, list):
            params = raw
        elif version == "2.0" and isinstance(raw, dict):
            params = [raw]
        elif version == "2.0" and raw is None:
            params = []
        else:
            raise invalid("params must be an array" if version == "1.0"
                          else "params must be an array or an object", shell)
    request = JsonRequest(method, params, rid, version)
    if suspicious:
        bad = _find_bad_string([method, params])
        if bad is not None:
            raise _invalid_utf8(request, bad)
    return request


# -- encoding ---------------------------------------------------------------------------------

def _default(v: Any) -> Any:
    if isinstance(v, datetime):
        return format_datetime(v)
    if isinstance(v, (set, frozenset, tuple)):
        return list(v)
    if isinstance(v, Bare):
        return v.value
    raise TypeError(f"cannot encode a value of type {type(v).__name__} in JSON")


# ensure_ascii: a lone surrogate can never make the reply unencodable, and it costs nothing on
# ASCII data. NaN and infinities are written as xapi writes them (NaN, Infinity). No circular
# reference check (results are data from the store; a cycle would end as a RecursionError,
# which the transport reports as INTERNAL_ERROR).
_dumps = json.JSONEncoder(separators=(",", ":"), default=_default, check_circular=False).encode
_MEMO: RecordMemo[bytes] = RecordMemo()  # UTF-8 JSON text of each Record seen
_NESTED = (Record, dict, list, tuple)


def _record(rec: Record) -> bytes:
    data = _MEMO.get(rec)
    if data is None:
        data = _dumps(rec).encode()
        _MEMO.put(rec, data)
    return data


register(_MEMO, _record)


def _json(v: Any, ap: Callable[[Any], None]) -> None:
    """Append the JSON text of `v`, splicing memoized Records (bytes). A container with no
    container inside is left whole to the C encoder."""
    t = type(v)
    if t is Record:
        ap(_record(v))
    elif t is dict:
        if not any(type(x) in _NESTED for x in v.values()):
            ap(_dumps(v))
            return
        sep = "{"
        for k, x in v.items():
            ap(f"{sep}{_dumps(k if type(k) is str else _key(k))}:")
            _json(x, ap)
            sep = ","
        ap("}" if sep == "," else "{}")
    elif t is list or t is tuple:
        if not any(type(x) in _NESTED for x in v):
            ap(_dumps(v))
            return
        sep = "["
        for x in v:
            ap(sep)
            _json(x, ap)
            sep = ","
        ap("]" if sep == "," else "[]")
    else:
        ap(_dumps(v))


def _key(k: Any) -> str:
    """Non-string map keys the way the C encoder writes them, so both paths agree."""
    if isinstance(k, str):
        return str.__str__(k)  # str() would give a str-Enum's qualified name
    if k is True or k is False or k is None:
        return "true" if k else ("false" if k is False else "null")
    if isinstance(k, (int, float)):
        return _dumps(k)
    raise TypeError(f"cannot encode a map key of type {type(k).__name__} in JSON")


def _id(request: JsonRequest) -> str:
    return "null" if request.id is None else _dumps(request.id)


def encode_success(request: JsonRequest, value: Any) -> bytes:
    """The reply carrying `value` in the request's JSON-RPC version (Bare unwrapped: JSON-RPC
    results never had the XML-RPC Status envelope)."""
    return join_parts(_success_parts(request, value))


def encode_success_chunks(request: JsonRequest, value: Any) -> list[bytes]:
    """encode_success's bytes in consecutive pieces, Records' memoized bytes uncopied
    (memo.encoded_pieces)."""
    return encoded_pieces(_success_parts(request, value))


def _success_parts(request: JsonRequest, value: Any) -> list[Any]:
    if isinstance(value, Bare):
        value = value.value
    parts: list[Any] = ['{"jsonrpc":"2.0","result":' if request.version == "2.0" else '{"result":']
    _json(value, parts.append)
    parts.append(f',"id":{_id(request)}}}' if request.version == "2.0"
                 else f',"error":null,"id":{_id(request)}}}')
    return parts


def encode_bare(request: JsonRequest, value: Any) -> bytes:
    """Same as encode_success: JSON-RPC results never had the XML-RPC Status envelope."""
    return encode_success(request, value)


def encode_failure(request: JsonRequest, description: list[str], rpc_code: int = XENAPI_FAILURE) -> bytes:
    """The error reply for `description` = [CODE, params...]."""
    description = [d if isinstance(d, str) else str(d) for d in description] or ["INTERNAL_ERROR"]
    if request.version == "2.0":
        error = {"code": rpc_code, "message": description[0], "data": description[1:]}
        return f'{{"jsonrpc":"2.0","error":{_dumps(error)},"id":{_id(request)}}}'.encode()
    return f'{{"result":null,"error":{_dumps(description)},"id":{_id(request)}}}'.encode()


def clear_memo() -> None:
    """Forget every memoized encoding (benchmarks measure the cold path with it)."""
    _MEMO.clear()
