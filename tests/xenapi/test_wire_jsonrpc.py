"""JSON-RPC codec: version and id rules, params shapes, reply shapes, protocol errors."""
from __future__ import annotations

import gc
import json
from datetime import datetime, UTC

import pytest

from xenapi_impl.values import Bare, Record
from xenapi_impl.wire import jsonrpc
from xenapi_impl.wire.jsonrpc import JsonRequest, JsonRpcRequestError

UTC = UTC


def parse(doc) -> JsonRequest:
    return jsonrpc.parse_request(json.dumps(doc).encode() if not isinstance(doc, bytes) else doc)


def refused(doc) -> JsonRpcRequestError:
    with pytest.raises(JsonRpcRequestError) as info:
        parse(doc)
    return info.value


def test_version_selection():
    assert parse({"method": "m", "params": [], "id": 1}).version == "1.0"
    assert parse({"jsonrpc": "2.0", "method": "m", "id": 1}).version == "2.0"
    for bad in ("1.0", "3.0", 2.0, None):
        e = refused({"jsonrpc": bad, "method": "m", "params": [], "id": 1})
        assert e.rpc_code == jsonrpc.INVALID_REQUEST
        assert e.description == ["JSONRPC_INVALID_REQUEST", f"unsupported jsonrpc version {json.dumps(bad)}"]


def test_params_rules():
    assert parse({"jsonrpc": "2.0", "method": "m", "params": ["a", 1], "id": 0}).params == ["a", 1]
    assert parse({"jsonrpc": "2.0", "method": "m", "params": {"k": "v"}, "id": 0}).params == [{"k": "v"}]
    assert parse({"jsonrpc": "2.0", "method": "m", "id": 0}).params == []
    assert parse({"jsonrpc": "2.0", "method": "m", "params": None, "id": 0}).params == []
    e = refused({"method": "m", "id": 4})
    assert e.description == ["JSONRPC_INVALID_REQUEST", "params must be an array"]
    assert e.request == JsonRequest("m", [], 4, "1.0")
    assert refused({"method": "m", "params": {"a": 1}, "id": 4}).description[1] == "params must be an array"
    e = refused({"jsonrpc": "2.0", "method": "m", "params": "x", "id": "q"})
    assert e.description[1] == "params must be an array or an object"
    assert e.request.id == "q" and e.request.version == "2.0"


@pytest.mark.parametrize("rid", [0, -5, 2**62, "abc", ""])
def test_valid_ids(rid):
    assert parse({"method": "m", "params": [], "id": rid}).id == rid


@pytest.mark.parametrize("doc", [
    {"method": "m", "params": []},
    {"method": "m", "params": [], "id": None},
    {"method": "m", "params": [], "id": 1.5},
    {"method": "m", "params": [], "id": True},
    {"method": "m", "params": [], "id": [1]},
])
def test_invalid_ids(doc):
    e = refused(doc)
    assert e.description == ["JSONRPC_INVALID_REQUEST", "id must be an integer or a string"]
    assert e.request.id is None


def test_method_must_be_a_string():
    for m in (None, 3, ""):
        e = refused({"method": m, "params": [], "id": 9})
        assert e.description == ["JSONRPC_INVALID_REQUEST", "method must be a non-empty string"]
        assert e.request.id == 9


def test_parse_errors():
    for body in (b"", b"{", b"nope", b'{"method": NaN}', b"\xff\xfe{}"):
        e = refused(body)
        assert e.rpc_code == jsonrpc.PARSE_ERROR and e.description[0] == "JSONRPC_PARSE_ERROR"
        assert e.request is jsonrpc.UNKNOWN_REQUEST
    assert refused(b"[]").description == ["JSONRPC_INVALID_REQUEST", "batch requests are not supported"]
    assert refused(b"3").description == ["JSONRPC_INVALID_REQUEST", "the request must be a JSON object"]


def test_absurd_nesting_is_a_parse_error():
    body = b'{"method":"m","params":' + b"[" * 100_000 + b"]" * 100_000 + b',"id":1}'
    e = refused(body)
    assert e.rpc_code == jsonrpc.PARSE_ERROR
    assert e.description == ["JSONRPC_PARSE_ERROR", "nesting too deep"]


def test_invalid_utf8_names_the_string_and_keeps_version_and_id():
    body = b'{"jsonrpc":"2.0","method":"VM.set_name_label","params":["s","r","ab\xffcd"],"id":7}'
    e = refused(body)
    assert e.rpc_code == jsonrpc.XENAPI_FAILURE
    assert e.description == ["INVALID_VALUE", "Invalid UTF-8 string in parameter", "ab\ufffdcd"]
    assert json.loads(jsonrpc.encode_failure(e.request, e.description, e.rpc_code)) == {
        "jsonrpc": "2.0", "id": 7,
        "error": {"code": 1, "message": "INVALID_VALUE",
                  "data": ["Invalid UTF-8 string in parameter", "ab\ufffdcd"]}}
    # A lone surrogate written as an escape is just as unusable.
    e = refused(b'{"method":"m","params":[{"k":"\\ud800"}],"id":1}')
    assert e.description[0] == "INVALID_VALUE"


def test_bom_and_unicode_accepted():
    req = jsonrpc.parse_request('\ufeff{"method":"m","params":["caf\u00e9"],"id":1}'.encode())
    assert req.params == ["caf\u00e9"]


R1 = JsonRequest("m", [], 0, "1.0")
R2 = JsonRequest("m", [], "x", "2.0")


def test_reply_shapes_exact():
    assert jsonrpc.encode_success(R1, "OpaqueRef:a") == b'{"result":"OpaqueRef:a","error":null,"id":0}'
    assert jsonrpc.encode_success(R2, "OpaqueRef:a") == b'{"jsonrpc":"2.0","result":"OpaqueRef:a","id":"x"}'
    assert jsonrpc.encode_success(R1, None) == b'{"result":null,"error":null,"id":0}'
    assert jsonrpc.encode_failure(R1, ["HANDLE_INVALID", "VM", "r"]) == \
        b'{"result":null,"error":["HANDLE_INVALID","VM","r"],"id":0}'
    assert jsonrpc.encode_failure(R2, ["SESSION_INVALID", "s"]) == \
        b'{"jsonrpc":"2.0","error":{"code":1,"message":"SESSION_INVALID","data":["s"]},"id":"x"}'
    assert jsonrpc.encode_failure(jsonrpc.UNKNOWN_REQUEST, ["JSONRPC_PARSE_ERROR", "x"], jsonrpc.PARSE_ERROR) == \
        b'{"jsonrpc":"2.0","error":{"code":-32700,"message":"JSONRPC_PARSE_ERROR","data":["x"]},"id":null}'
    assert jsonrpc.encode_bare(R2, ["a.b"]) == jsonrpc.encode_success(R2, Bare(["a.b"])) == \
        b'{"jsonrpc":"2.0","result":["a.b"],"id":"x"}'


def test_value_types():
    value = {"i": 2**63 - 1, "f": 0.5, "b": False, "d": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
             "s": "caf\u00e9\"\\", "m": {1: "x"}, "l": ("a",), "n": None}
    got = json.loads(jsonrpc.encode_success(R2, value))["result"]
    assert got == {"i": 9223372036854775807, "f": 0.5, "b": False, "d": "20240102T03:04:05Z",
                   "s": "caf\u00e9\"\\", "m": {"1": "x"}, "l": ["a"], "n": None}


def test_records_spliced_and_memoized_consistently():
    jsonrpc.clear_memo()
    recs = {f"OpaqueRef:{i}": Record(uuid=f"u{i}", other_config={"k": str(i)},
                                     snapshot_time=datetime(2020, 1, 1, tzinfo=UTC), VBDs=[])
            for i in range(3)}
    plain = {k: dict(v) for k, v in recs.items()}
    first = jsonrpc.encode_success(R1, recs)
    assert first == jsonrpc.encode_success(R1, recs) == jsonrpc.encode_success(R1, plain)
    events = {"events": [{"id": 1, "snapshot": recs["OpaqueRef:1"]}], "valid_ref_counts": {"vm": 3},
              "token": "t"}
    assert json.loads(jsonrpc.encode_success(R1, events))["result"]["events"][0]["snapshot"]["uuid"] == "u1"
    assert len(jsonrpc._MEMO) == 3
    del recs, events
    gc.collect()
    assert len(jsonrpc._MEMO) == 0


def test_unencodable_raises_type_error():
    with pytest.raises(TypeError):
        jsonrpc.encode_success(R1, {"x": object()})
