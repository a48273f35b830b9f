"""XML-RPC codec: exact bytes out, every input form in, and the exact failure shapes."""
from __future__ import annotations

import gc
import xmlrpc.client as xc
from datetime import datetime, timedelta, timezone, UTC

import pytest

from xenapi_impl.errors import XenAPIError
from xenapi_impl.values import EMPTY_LIST, EMPTY_MAP, Bare, Record
from xenapi_impl.wire import xmlenc, xmlrpc

UTC = UTC
HEAD = b'<?xml version="1.0"?><methodResponse><params><param>'
TAIL = b"</param></params></methodResponse>"


def success_value(body: bytes) -> bytes:
    """The <value> fragment inside a Success envelope."""
    prefix = HEAD + (b"<value><struct><member><name>Status</name><value>Success</value></member>"
                     b"<member><name>Value</name>")
    suffix = b"</member></struct></value>" + TAIL
    assert body.startswith(prefix) and body.endswith(suffix)
    return body[len(prefix):-len(suffix)]


def roundtrip(value):
    # As the XenAPI SDK reads replies (datetimes stay xmlrpc.client.DateTime: "...Z" is not
    # accepted by use_builtin_types, as with xapi itself).
    (reply,), _ = xc.loads(xmlrpc.encode_success(value))
    assert reply["Status"] == "Success"
    return reply["Value"]


# -- encoding -------------------------------------------------------------------------------

@pytest.mark.parametrize("value, fragment", [
    ("abc", b"<value>abc</value>"),
    ("", b"<value></value>"),
    (None, b"<value></value>"),
    (0, b"<value>0</value>"),
    (-9223372036854775808, b"<value>-9223372036854775808</value>"),
    (2**40, b"<value>1099511627776</value>"),
    (True, b"<value><boolean>1</boolean></value>"),
    (False, b"<value><boolean>0</boolean></value>"),
    (1.5, b"<value><double>1.5</double></value>"),
    (1.0, b"<value><double>1</double></value>"),          # %.16g, like xapi
    (60.1, b"<value><double>60.1</double></value>"),
    (0.1 + 0.2, b"<value><double>0.30000000000000004</double></value>"),  # 16 digits lose it
    (1e100, b"<value><double>1e+100</double></value>"),
    (datetime(2024, 2, 29, 23, 59, 58, tzinfo=UTC),
     b"<value><dateTime.iso8601>20240229T23:59:58Z</dateTime.iso8601></value>"),
    (datetime(2024, 3, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=2))),
     b"<value><dateTime.iso8601>20240229T23:00:00Z</dateTime.iso8601></value>"),
    ([], b"<value><array><data></data></array></value>"),
    (["a", 1], b"<value><array><data><value>a</value><value>1</value></data></array></value>"),
    ({}, b"<value><struct></struct></value>"),
    ({"k": "v", 3: "x"}, b"<value><struct><member><name>k</name><value>v</value></member>"
                         b"<member><name>3</name><value>x</value></member></struct></value>"),
    ("a<b>&c", b"<value>a&lt;b&gt;&amp;c</value>"),
    ("line\r\nnext\ttab", b"<value>line&#13;\nnext\ttab</value>"),
    ("bell\x07nul\x00", b"<value>bellnul</value>"),      # not representable in XML 1.0: dropped
    ("caf\u00e9 \u2603", "<value>caf\u00e9 \u2603</value>".encode()),
    ("lone\ud800", b"<value>lone</value>"),
])
def test_value_encoding_is_exact(value, fragment):
    assert success_value(xmlrpc.encode_success(value)) == fragment
    assert xmlrpc.value_fragment(value) == fragment.decode()


def test_envelopes_are_compact_and_exact():
    assert xmlrpc.encode_success("OpaqueRef:x") == (
        HEAD + b"<value><struct><member><name>Status</name><value>Success</value></member>"
        b"<member><name>Value</name><value>OpaqueRef:x</value></member></struct></value>" + TAIL)
    assert xmlrpc.encode_failure(["HANDLE_INVALID", "VM", "OpaqueRef:<x>"]) == (
        HEAD + b"<value><struct><member><name>Status</name><value>Failure</value></member>"
        b"<member><name>ErrorDescription</name><value><array><data><value>HANDLE_INVALID</value>"
        b"<value>VM</value><value>OpaqueRef:&lt;x&gt;</value></data></array></value></member>"
        b"</struct></value>" + TAIL)
    assert xmlrpc.encode_bare(["a.b", "c.d"]) == (
        HEAD + b"<value><array><data><value>a.b</value><value>c.d</value></data></array></value>" + TAIL)
    # Bare returned through encode_success too (the transport may not look).
    assert xmlrpc.encode_success(Bare(["x"])) == xmlrpc.encode_bare(["x"])
    for body in (xmlrpc.encode_success({"a": [1, {"b": None}]}), xmlrpc.encode_failure(["X"])):
        assert b">\n" not in body and b"> <" not in body


def test_stdlib_client_reads_every_type():
    now = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    value = {"s": "x & y", "i": 7, "b": True, "f": 2.5, "d": now, "n": None,
             "l": ["a", ["b"]], "m": {"k": {"k2": "v"}}, "e": ""}
    got = roundtrip(value)
    assert got == {"s": "x & y", "i": "7", "b": True, "f": 2.5, "d": xc.DateTime("20250102T03:04:05Z"),
                   "n": "", "l": ["a", ["b"]], "m": {"k": {"k2": "v"}}, "e": ""}


def test_float_round_trips_exactly():
    for f in (0.1, 1 / 3, 2.0**-1074, 1.7976931348623157e308, -0.0, 123456789.123456789):
        assert roundtrip(f) == f


def test_subclasses_are_encoded_as_their_base():
    import enum

    class Power(str, enum.Enum):
        HALTED = "Halted"

    class Count(enum.IntEnum):
        ONE = 1

    assert roundtrip([Power.HALTED, Count.ONE, {"t": (1, 2)}, {"s": frozenset()}]) == \
        ["Halted", "1", {"t": ["1", "2"]}, {"s": []}]


def test_unencodable_value_raises_type_error():
    with pytest.raises(TypeError, match="object"):
        xmlrpc.encode_success({"x": object()})


def test_record_memo_reuses_and_follows_versions():
    xmlenc.clear_memo()
    r1 = Record(uuid="u1", name_label="a")
    first = xmlrpc.encode_success({"OpaqueRef:1": r1})
    assert xmlenc.memo_size() == 1
    assert xmlrpc.encode_success({"OpaqueRef:1": r1}) == first
    # A write makes a new Record: the new version is encoded, never the stale one.
    r2 = Record(uuid="u1", name_label="b")
    assert b"<value>b</value>" in xmlrpc.encode_success({"OpaqueRef:1": r2})
    del r1, r2
    gc.collect()
    assert xmlenc.memo_size() == 0   # entries die with their Records


def test_record_encoding_equals_plain_dict_encoding():
    d = {"uuid": "u", "other_config": {"a&b": "<c>"}, "VBDs": ["OpaqueRef:1"], "n": 5}
    assert xmlrpc.encode_success(Record(d)) == xmlrpc.encode_success(dict(d))


def _random_value(rng, depth=0):
    """A value of a random kind (rng: random.Random), nested up to two levels."""
    kinds = ["str", "dirty", "int", "bool", "float", "none", "date", "list", "map", "enum",
             "frozen"]
    if depth > 1:
        kinds = kinds[:7]
    kind = rng.choice(kinds)
    if kind == "frozen":                # the stored Records' shared empties
        return rng.choice([EMPTY_MAP, EMPTY_LIST])
    if kind == "str":
        return rng.choice(["", "OpaqueRef:NULL", "plain text", "caf\u00e9", "tab\tnew\nline"])
    if kind == "dirty":
        return rng.choice(["<xml a='1'/>", "a & b", "cr\r", "bell\x07", "x > y"])
    if kind == "int":
        return rng.choice([0, -1, 2**63 - 1, 123456789])
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "float":
        return rng.choice([1.0, 0.1 + 0.2, -2.5e-300])
    if kind == "none":
        return None
    if kind == "date":
        return datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    if kind == "enum":
        import enum

        class Mode(str, enum.Enum):
            RW = "RW"
        return Mode.RW
    if kind == "list":
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(["k", "a<b", "x&y", 3]): _random_value(rng, depth + 1) for _ in range(rng.randrange(4))}


def test_shape_specialised_record_encoding_matches_the_generic_encoder():
    import random
    rng = random.Random(1234)
    xmlenc.clear_memo()
    for _ in range(300):
        nfields = rng.randrange(1, 30)
        d = {f"field_{i}" if i % 7 else f"odd<{i}>&": _random_value(rng) for i in range(nfields)}
        # Every record through the Record path (shape encoders from 8 fields on) must give the
        # same bytes as the generic path for a plain dict.
        assert xmlrpc.encode_success(Record(d)) == xmlrpc.encode_success(dict(d))
        # the shared frozen empties encode as plain ones do
        plain = {k: {} if v is EMPTY_MAP else [] if v is EMPTY_LIST else v for k, v in d.items()}
        assert xmlrpc.encode_success(Record(d)) == xmlrpc.encode_success(plain)
        # Same shape again, different values: the cached encoder must not mix them up.
        d2 = {k: _random_value(rng) if not isinstance(v, (list, dict)) else v for k, v in d.items()}
        for k in d2:
            if type(d2[k]) is not type(d[k]):
                d2[k] = d[k]
        assert xmlrpc.encode_success(Record(d2)) == xmlrpc.encode_success(dict(d2))
    assert xmlenc._SHAPES  # the specialised path was really taken
    assert xmlenc._SHAPES._suspects  # and fields needing escaping were learnt on the way


def test_learnt_escaping_still_checks_every_field():
    fields = {f"f{i}": "clean" for i in range(10)}
    first = Record(fields, f3="<needs escaping>")
    assert b"<value>&lt;needs escaping&gt;</value>" in xmlrpc.encode_success(first)
    # Same shape: f3 is now escaped one by one, the others still checked in bulk.
    second = Record(fields, f3="clean now", f7="a & b")
    assert xmlrpc.encode_success(second) == xmlrpc.encode_success(dict(second))
    assert b"<value>a &amp; b</value>" in xmlrpc.encode_success(second)


# -- decoding -------------------------------------------------------------------------------

def test_python_sdk_style_request_with_whitespace():
    body = xc.dumps(
        ("OpaqueRef:s", "text", 5, True, 1.25, None, ["a", 2], {"k": {"n": []}},
         xc.DateTime("20240101T10:11:12"), xc.Binary(b"bytes")),
        "VM.do", allow_none=True).encode()
    assert b"\n" in body
    method, params = xmlrpc.parse_request(body)
    assert method == "VM.do"
    assert params == ["OpaqueRef:s", "text", 5, True, 1.25, None, ["a", 2], {"k": {"n": []}},
                      datetime(2024, 1, 1, 10, 11, 12, tzinfo=UTC), "bytes"]


@pytest.mark.parametrize("inner, expected", [
    ("<value>bare</value>", "bare"),
    ("<value></value>", ""),
    ("<value/>", ""),
    ("<value>  spaced  </value>", "  spaced  "),
    ("<value><string>  s  </string></value>", "  s  "),
    ("<value><string/></value>", ""),
    ("<value><int>-3</int></value>", -3),
    ("<value><i4>7</i4></value>", 7),
    ("<value><i8>9223372036854775807</i8></value>", 9223372036854775807),
    ("<value><boolean>0</boolean></value>", False),
    ("<value><double>-1.5e3</double></value>", -1500.0),
    ("<value><nil/></value>", None),
    ("<value>\n  <int> 4 </int>\n</value>", 4),
    ("<value><dateTime.iso8601>20240101T00:00:00Z</dateTime.iso8601></value>",
     datetime(2024, 1, 1, tzinfo=UTC)),
    ("<value><dateTime.iso8601>2024-01-01T02:00:00+02:00</dateTime.iso8601></value>",
     datetime(2024, 1, 1, tzinfo=UTC)),
    ("<value><array><data/></array></value>", []),
    ("<value><array></array></value>", []),
    ("<value><struct/></value>", {}),
    ("<value>a&amp;b&#13;&lt;</value>", "a&b\r<"),
    ("<value><struct><member><name>a b</name><value><array><data><value><struct><member>"
     "<name>x</name><value><i4>1</i4></value></member></struct></value></data></array></value>"
     "</member></struct></value>", {"a b": [{"x": 1}]}),
])
def test_value_forms(inner, expected):
    body = f"<?xml version='1.0'?><methodCall><methodName>m</methodName><params><param>{inner}</param></params></methodCall>"
    assert xmlrpc.parse_request(body.encode()) == ("m", [expected])


def test_no_params_element_means_no_params():
    assert xmlrpc.parse_request(b"<methodCall><methodName>system.listMethods</methodName></methodCall>") \
        == ("system.listMethods", [])
    assert xmlrpc.parse_request(b"<methodCall><methodName>x</methodName><params/></methodCall>") == ("x", [])


def test_declared_latin1_encoding_is_honoured():
    body = "<?xml version='1.0' encoding='ISO-8859-1'?><methodCall><methodName>m</methodName>" \
           "<params><param><value>caf\u00e9</value></param></params></methodCall>"
    assert xmlrpc.parse_request(body.encode("latin-1")) == ("m", ["caf\u00e9"])


def failure(body: bytes) -> list[str]:
    with pytest.raises(XenAPIError) as info:
        xmlrpc.parse_request(body)
    return info.value.description


def call(inner: str) -> bytes:
    return f"<methodCall><methodName>m</methodName><params><param>{inner}</param></params></methodCall>".encode()


@pytest.mark.parametrize("inner, expected", [
    ("<value><int>12x</int></value>", ["XMLRPC_UNMARSHAL_FAILURE", "int", "12x"]),
    ("<value><int>1_000</int></value>", ["XMLRPC_UNMARSHAL_FAILURE", "int", "1_000"]),
    ("<value><i8>9223372036854775808</i8></value>",
     ["XMLRPC_UNMARSHAL_FAILURE", "int", "9223372036854775808"]),
    ("<value><boolean>2</boolean></value>", ["XMLRPC_UNMARSHAL_FAILURE", "boolean", "2"]),
    ("<value><double>1_0</double></value>", ["XMLRPC_UNMARSHAL_FAILURE", "double", "1_0"]),
    ("<value><dateTime.iso8601>yesterday</dateTime.iso8601></value>",
     ["XMLRPC_UNMARSHAL_FAILURE", "dateTime.iso8601", "yesterday"]),
    ("<value><base64>***</base64></value>", ["XMLRPC_UNMARSHAL_FAILURE", "base64", "***"]),
    ("<value><foo>1</foo></value>", None),
    ("<value><int>1</int><int>2</int></value>", ["XMLRPC_UNMARSHAL_FAILURE", "one element in <value>", "<int>"]),
    ("<value>text<int>1</int></value>", ["XMLRPC_UNMARSHAL_FAILURE", "one element in <value>", "text"]),
    ("<value><struct><member><value>1</value></member></struct></value>", None),
    ("<value><struct><member><name>a</name></member></struct></value>",
     ["XMLRPC_UNMARSHAL_FAILURE", "<name> and <value> in <member>", "incomplete <member>"]),
])
def test_malformed_values_fail_exactly(inner, expected):
    got = failure(call(inner))
    assert got[0] == "XMLRPC_UNMARSHAL_FAILURE" and len(got) == 3
    if expected is not None:
        assert got == expected


def test_structure_errors():
    assert failure(b"") == ["XMLRPC_UNMARSHAL_FAILURE", "XML-RPC methodCall", "empty request body"]
    assert failure(b"<methodResponse/>") == ["XMLRPC_UNMARSHAL_FAILURE", "<methodCall>", "<methodResponse>"]
    assert failure(b"<methodCall><params/></methodCall>") == \
        ["XMLRPC_UNMARSHAL_FAILURE", "<methodName>", "no <methodName>"]
    got = failure(b"<methodCall><methodName>x</methodName>")
    assert got[:2] == ["XMLRPC_UNMARSHAL_FAILURE", "XML-RPC methodCall"]
    assert got[2].startswith("malformed XML: no element found")
    got = failure(b"<methodCall><methodName>x</methodName><params><param>junk</param></params></methodCall>")
    assert got == ["XMLRPC_UNMARSHAL_FAILURE", "elements in <param>", "junk"]


def test_nesting_is_bounded():
    deep = "<value><array><data>" * 40 + "<value>x</value>" + "</data></array></value>" * 40
    got = failure(call(deep))
    assert got == ["XMLRPC_UNMARSHAL_FAILURE", "nesting depth <= 64", "deeper"]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">]>
<methodCall><methodName>m</methodName><params><param><value>&lol9;</value></param></params></methodCall>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE m [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<methodCall><methodName>m</methodName><params><param><value>&xxe;</value></param></params></methodCall>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE methodCall SYSTEM "http://127.0.0.1:9/evil.dtd">
<methodCall><methodName>m</methodName></methodCall>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD])
def test_unsafe_xml_is_refused(body):
    assert failure(body) == ["XMLRPC_UNMARSHAL_FAILURE", "XML-RPC methodCall",
                             "unsafe XML refused: DTDs are not allowed"]


def test_undeclared_entity_is_malformed():
    got = failure(call("<value>&xxe;</value>"))
    assert got[2].startswith("malformed XML: undefined entity")


def test_invalid_utf8_names_the_string():
    body = b"<methodCall><methodName>m</methodName><params><param><value>ab\xffcd</value></param></params></methodCall>"
    assert failure(body) == ["INVALID_VALUE", "Invalid UTF-8 string in parameter", "ab\ufffdcd"]
    b64 = call("<value><base64>/w==</base64></value>")  # the single byte 0xff
    assert failure(b64) == ["INVALID_VALUE", "Invalid UTF-8 string in parameter", "\ufffd"]


def test_encode_then_decode_is_identity_for_request_types():
    params = ["s", 1, True, 2.5, {"a": ["b", {"c": "d"}]}, [], datetime(2020, 5, 6, 7, 8, 9, tzinfo=UTC)]
    body = xc.dumps(tuple(params), "X.y").encode()
    assert xmlrpc.parse_request(body) == ("X.y", params)


def test_chunked_encoding_is_the_same_document_without_copying_the_records():
    from xenapi_impl.server.replies import STREAM_CHUNK, pieces
    from xenapi_impl.wire import jsonrpc
    recs = {f"OpaqueRef:{i}": Record(uuid=f"u{i}", name_label="n" * 3000, other_config={"a": "<b>"})
            for i in range(1500)}
    req = jsonrpc.JsonRequest("VM.get_all_records", ["s"], 7, "2.0")
    for chunks, whole in ((xmlrpc.encode_success_chunks(recs), xmlrpc.encode_success(recs)),
                          (jsonrpc.encode_success_chunks(req, recs),
                           jsonrpc.encode_success(req, recs))):
        assert b"".join(chunks) == whole
        # each Record's memoized bytes is a chunk of its own, the same object every time
        again = (xmlrpc.encode_success_chunks(recs) if whole.startswith(b"<")
                 else jsonrpc.encode_success_chunks(req, recs))
        shared = [a for a, b in zip(chunks, again) if a is b]
        assert len(shared) >= 1500
        # grouped for writers that want about STREAM_CHUNK bytes at a time, nothing lost
        grouped = list(pieces(chunks))
        assert b"".join(grouped) == whole and len(grouped) > 2
        assert all(len(p) < STREAM_CHUNK + 10_000 for p in grouped)
    small = xmlrpc.encode_success_chunks("x")
    assert small == [xmlrpc.encode_success("x")]


# -- the plain all-strings requests, decoded without expat -----------------------------------

def _outcome(parse, body: bytes):
    try:
        return "call", parse(body)
    except XenAPIError as e:
        return "error", e.description


_SPACES = ["", " ", "\n", "\t", "\r\n", "  \n  "]
_DECLS = ["", "<?xml version='1.0'?>", '<?xml version="1.0"?>\n',
          "<?xml version='1.0' encoding='UTF-8'?>", '<?xml version="1.0" encoding="utf-8" ?>']
_CHARS = "abcXYZ019 :-_./\t\n" + "!\"#$%'()*+,;=?@[\\]^`{|}~"


def _plain_body(rng, params: list[str] | None = None) -> bytes:
    """A request of string params in one of the forms clients send (the SDKs, curl, xe)."""
    ws = lambda: rng.choice(_SPACES)                                 # noqa: E731
    if params is None:
        params = ["".join(rng.choice(_CHARS) for _ in range(rng.randrange(0, 12)))
                  for _ in range(rng.randrange(0, 5))]
    method = rng.choice(["VM.get_record", "session.login_with_password", "x", "Async.VM.start"])
    parts = [rng.choice(_DECLS), ws(), "<methodCall>", ws(), f"<methodName>{method}</methodName>",
             ws(), "<params>", ws()]
    for p in params:
        value = f"<string>{p}</string>" if rng.random() < 0.7 else p
        parts += ["<param>", ws(), f"<value>{value}</value>", ws(), "</param>", ws()]
    parts += ["</params>", ws(), "</methodCall>", ws()]
    return "".join(parts).encode()


def test_plain_requests_take_the_fast_path_and_decode_as_expat_does():
    import random
    from xenapi_impl.wire import xmldec
    rng = random.Random(1234)
    for _ in range(3000):
        body = _plain_body(rng)
        assert xmldec._plain(body) is not None, body
        assert xmldec.parse_request(body) == xmldec._parse_full(body), body
    # the SDK's own requests
    body = xc.dumps(("OpaqueRef:s", "OpaqueRef:v", "new name"), "VM.set_name_label").encode()
    assert xmldec._plain(body) == ("VM.set_name_label", ["OpaqueRef:s", "OpaqueRef:v", "new name"])


@pytest.mark.parametrize("text", [
    "a&amp;b", "a&#13;b", "x\ry", "caf\u00e9", "a]]>b", "a>b", "\x01", "<![CDATA[x]]>",
    "<!-- c -->", "&lt;", "\u20ac", "\ufffe"])
def test_requests_out_of_the_plain_form_go_to_the_full_parser_with_the_same_result(text):
    from xenapi_impl.wire import xmldec
    body = ("<?xml version='1.0'?><methodCall><methodName>m</methodName><params><param>"
            f"<value><string>{text}</string></value></param></params></methodCall>").encode()
    assert xmldec._plain(body) is None
    assert _outcome(xmldec.parse_request, body) == _outcome(xmldec._parse_full, body)


def test_any_damage_to_a_plain_request_decodes_as_expat_decodes_it():
    """Bytes inserted, dropped or replaced anywhere in plain requests: whatever the fast path
    still accepts, expat decodes to the same call; the rest fail as expat fails them."""
    import random
    from xenapi_impl.wire import xmldec
    rng = random.Random(99)
    noise = [b"<", b">", b"&", b"\r", b"\x00", b"\x0b", b"\xc3\xa9", b"/", b"'", b'"', b"?",
             b" ", b"\n", b"]]>", b"<a>", b"</string>", b"<string>", b"<value>", b"x"]
    plain = 0
    for _ in range(12000):
        body = bytearray(_plain_body(rng))
        for _ in range(rng.randrange(1, 3)):
            i = rng.randrange(len(body) + 1)
            what = rng.random()
            if what < 0.4:
                body[i:i] = rng.choice(noise)
            elif what < 0.7:
                del body[i:i + rng.randrange(1, 4)]
            else:
                body[i:i + 1] = rng.choice(noise)
        body = bytes(body)
        plain += xmldec._plain(body) is not None
        assert _outcome(xmldec.parse_request, body) == _outcome(xmldec._parse_full, body), body
    assert plain > 400             # the damage left many still plain: both paths compared


@pytest.mark.parametrize("encoding, why", [
    ("ut8", "unknown encoding: ut8"),
    ("shift_jis", "multi-byte encodings are not supported"),
    ("rot13", "'rot13' is not a text encoding; use codecs.decode() to handle arbitrary codecs")])
def test_a_declared_encoding_nobody_can_decode_is_an_unmarshal_failure(encoding, why):
    """(It escaped as Python's LookupError or ValueError: an INTERNAL_ERROR and a traceback.)"""
    body = (f"<?xml version='1.0' encoding='{encoding}'?><methodCall><methodName>m</methodName>"
            "<params/></methodCall>").encode()
    assert failure(body) == ["XMLRPC_UNMARSHAL_FAILURE", "XML-RPC methodCall",
                             f"unsupported encoding {encoding}: {why}"]
