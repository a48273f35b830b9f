"""Numbers a client should not send, through the real server process: integers past Python's
4,300-digit limit and non-finite or negative event.from timeouts get exact XenAPI errors (never
INTERNAL_ERROR, never Python's own words, never a traceback in the log)."""
from __future__ import annotations

import json
import urllib.request
import xmlrpc.client

import pytest
from vm_records import vm_create_record

HUGE = "1" * 5000          # past sys.get_int_max_str_digits() (4300)


def post(server, path: str, body: bytes, ctype: str) -> bytes:
    req = urllib.request.Request(server.url + path, data=body, headers={"Content-Type": ctype})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.read()


def xml_call(server, body: str) -> dict:
    (reply,), _m = xmlrpc.client.loads(post(server, "/RPC2", body.encode(), "text/xml"))
    return reply


def xml_request(method: str, *params: str) -> str:
    """A methodCall whose params are given as raw <value> contents."""
    ps = "".join(f"<param><value>{p}</value></param>" for p in params)
    return f"<?xml version='1.0'?><methodCall><methodName>{method}</methodName>" \
           f"<params>{ps}</params></methodCall>"


@pytest.fixture(scope="module")
def session(server):
    reply = xml_call(server, xml_request("session.login_with_password", "root",
                                         server.password))
    return reply["Value"]


@pytest.fixture(scope="module")
def vm(server, session):
    proxy = xmlrpc.client.ServerProxy(server.url, allow_none=True)
    return proxy.VM.create(session, vm_create_record("huge"))["Value"]


def test_huge_xmlrpc_integers_are_type_errors(server, session, vm):
    proxy = xmlrpc.client.ServerProxy(server.url, allow_none=True)
    before = proxy.VM.get_record(session, vm)["Value"]
    vms = proxy.VM.get_all(session)["Value"]
    # int64 travels as a decimal string in XML-RPC: FIELD_TYPE_ERROR names the parameter
    reply = xml_call(server, xml_request("VM.set_VCPUs_max", session, vm, HUGE))
    assert reply == {"Status": "Failure", "ErrorDescription": ["FIELD_TYPE_ERROR", "value"]}
    # ... or a record field
    rec = vm_create_record("huge")
    rec["memory_static_max"] = HUGE
    assert proxy.VM.create(session, rec) == {
        "Status": "Failure", "ErrorDescription": ["FIELD_TYPE_ERROR", "memory_static_max"]}
    # an <int> element that cannot be an int64: the unmarshal failure out-of-range ints get
    reply = xml_call(server, xml_request("VM.set_VCPUs_max", session, vm, f"<int>{HUGE}</int>"))
    assert reply == {"Status": "Failure",
                     "ErrorDescription": ["XMLRPC_UNMARSHAL_FAILURE", "int", HUGE]}
    # a token is a number too
    reply = xml_call(server, xml_request("event.from", session,
                                         "<array><data><value>vm</value></data></array>",
                                         HUGE + ",0", "<double>0</double>"))
    assert reply["ErrorDescription"] == ["EVENT_FROM_TOKEN_PARSE_FAILURE", HUGE + ",0"]
    assert proxy.VM.get_record(session, vm)["Value"] == before      # nothing changed
    assert proxy.VM.get_all(session)["Value"] == vms
    assert_no_leak(server)


def test_huge_json_integers_are_parse_errors(server, session):
    body = f'{{"jsonrpc":"2.0","method":"event.get_current_id","params":["{session}",' \
           f'{HUGE}],"id":7}}'.encode()
    reply = json.loads(post(server, "/jsonrpc", body, "application/json"))
    assert reply == {"jsonrpc": "2.0", "id": None, "error": {
        "code": -32700, "message": "JSONRPC_PARSE_ERROR",
        "data": ["integer of 5000 digits is out of range"]}}
    assert_no_leak(server)


@pytest.mark.parametrize("timeout, shown", [("nan", "nan"), ("NaN", "nan"), ("inf", "inf"),
                                            ("-inf", "-inf"), ("-1", "-1"), ("-0.5", "-0.5")])
def test_event_from_refuses_a_timeout_that_is_not_a_finite_duration(server, session, timeout,
                                                                    shown):
    reply = xml_call(server, xml_request("event.from", session,
                                         "<array><data><value>vm</value></data></array>", "",
                                         f"<double>{timeout}</double>"))
    assert reply == {"Status": "Failure",
                     "ErrorDescription": ["INVALID_VALUE", "timeout", shown]}


def test_event_from_still_takes_zero_and_finite_timeouts(server, session):
    for timeout in ("0", "0.01", "60.1"):       # 60.1: returns at once, every object is new
        reply = xml_call(server, xml_request("event.from", session,
                                             "<array><data><value>vm</value></data></array>",
                                             "", f"<double>{timeout}</double>"))
        assert reply["Status"] == "Success"


def assert_no_leak(server) -> None:
    log = server.log()
    assert "Traceback" not in log
    assert "set_int_max_str_digits" not in log


def test_huge_numbers_in_string_fields_get_the_fields_own_errors(server, session):
    """Numbers inside strings (device names, other_config, QoS and VCPUs_params values) are
    parsed by the API: past Python's digit limit they are invalid like any other bad value."""
    x = xmlrpc.client.ServerProxy(server.url, allow_none=True)
    net = x.network.create(session, {"name_label": "huge", "name_description": "",
                                     "MTU": "1500", "other_config": {}})["Value"]
    vm = x.VM.create(session, vm_create_record("huge-devices"))["Value"]

    def vif(**fields) -> dict:
        rec = {"device": "0", "network": net, "VM": vm, "MAC": "", "MTU": "1500",
               "other_config": {}, "qos_algorithm_type": "", "qos_algorithm_params": {}}
        rec.update(fields)
        return x.VIF.create(session, rec)

    def failure(*description: str) -> dict:
        return {"Status": "Failure", "ErrorDescription": list(description)}

    assert vif(device=HUGE) == failure("INVALID_DEVICE", HUGE)
    assert vif(other_config={"mtu": HUGE}) == failure("INVALID_VALUE", "other_config:mtu", HUGE)
    assert vif(qos_algorithm_type="ratelimit", qos_algorithm_params={"kbps": HUGE}) == \
        failure("INVALID_VALUE", "qos_algorithm_params:kbps", HUGE)
    assert x.VBD.create(session, {
        "VM": vm, "VDI": "OpaqueRef:NULL", "userdevice": HUGE, "bootable": False, "mode": "RO",
        "type": "CD", "empty": True, "other_config": {}, "qos_algorithm_type": "",
        "qos_algorithm_params": {}}) == failure("INVALID_DEVICE", HUGE)
    for key in ("weight", "cap", "mask"):      # checked when the VM starts
        v = x.VM.create(session, vm_create_record(f"huge-{key}",
                                                  VCPUs_params={key: HUGE}))["Value"]
        reply = x.VM.start(session, v, False, False)
        assert reply["ErrorDescription"][:3] == ["VALUE_NOT_SUPPORTED", "VCPUs_params",
                                                 f"{key}={HUGE}"]
        assert x.VM.get_power_state(session, v)["Value"] == "Halted"
    assert x.VM.get_record(session, vm)["Value"]["VIFs"] == []
    assert x.VM.get_record(session, vm)["Value"]["VBDs"] == []
    assert_no_leak(server)
