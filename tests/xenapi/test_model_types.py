"""XType.check: wire values to the Python forms of docs/CONTRACTS.md, exact errors otherwise."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from xenapi_impl.errors import XenAPIError
from xenapi_impl.model import MODEL
from xenapi_impl.model.types import (
    EPOCH, TypeParseError, format_datetime, parse_type,
)

UTC = dt.timezone.utc


def err(t: str, value: Any, field: str = "f") -> list[str]:
    with pytest.raises(XenAPIError) as ei:
        parse_type(t).check(value, field)
    return ei.value.description


def ok(t: str, value: Any, field: str = "f") -> Any:
    return parse_type(t).check(value, field)


# -- int -------------------------------------------------------------------------------------

@pytest.mark.parametrize("value,expected", [
    (0, 0), (42, 42), (-7, -7), ("123", 123), ("-5", -5), ("+5", 5),
    (2**63 - 1, 2**63 - 1), (str(-(2**63)), -(2**63)),
])
def test_int_accepts_ints_and_decimal_strings(value: Any, expected: int) -> None:
    got = ok("int", value)
    assert got == expected and type(got) is int


@pytest.mark.parametrize("value", [
    True, False, 1.0, 1.5, "", "-", "12a", " 5", "5 ", "1_000", "0x10", "١٢", None, [], {},
    2**63, -(2**63) - 1, str(2**63),
])
def test_int_refuses_everything_else(value: Any) -> None:
    assert err("int", value, "memory_static_max") == ["FIELD_TYPE_ERROR", "memory_static_max"]


# -- float -----------------------------------------------------------------------------------

@pytest.mark.parametrize("value,expected", [
    (1.5, 1.5), (3, 3.0), ("2.25", 2.25), ("-1.", -1.0), ("1e3", 1000.0), ("60.1", 60.1),
])
def test_float_accepts_numbers_and_strings(value: Any, expected: float) -> None:
    got = ok("float", value)
    assert got == expected and type(got) is float


@pytest.mark.parametrize("value", [True, "", "abc", "1_0", " 1.0", None, [1.0]])
def test_float_refuses_everything_else(value: Any) -> None:
    assert err("float", value, "timeout") == ["FIELD_TYPE_ERROR", "timeout"]


# -- bool ------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [True, False])
def test_bool_accepts_bools(value: bool) -> None:
    assert ok("bool", value) is value


# as in xapi (ocaml-rpc's bool_of_rpc takes only a boolean): no strings, no ints
@pytest.mark.parametrize("value", [1, 0, "true", "false", "True", "yes", "1", "", None])
def test_bool_refuses_everything_else(value: Any) -> None:
    assert err("bool", value, "force") == ["FIELD_TYPE_ERROR", "force"]


# -- string ----------------------------------------------------------------------------------

def test_string_accepts_unicode() -> None:
    assert ok("string", "héllo ✓") == "héllo ✓"
    assert ok("string", "") == ""


@pytest.mark.parametrize("value", [1, None, b"bytes", ["a"], True])
def test_string_refuses_non_strings(value: Any) -> None:
    assert err("string", value, "name_label") == ["FIELD_TYPE_ERROR", "name_label"]


def test_string_with_lone_surrogate_is_invalid_utf8() -> None:
    assert err("string", "ab\ud800c") == [
        "INVALID_VALUE", "Invalid UTF-8 string in parameter", "ab\ufffdc"]


def test_invalid_utf8_is_found_inside_collections() -> None:
    assert err("(string -> string) map", {"k": "\udcff"})[:2] == [
        "INVALID_VALUE", "Invalid UTF-8 string in parameter"]
    assert err("string set", ["ok", "\ud800"])[0] == "INVALID_VALUE"


# -- datetime --------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    "20240305T07:08:09Z", "2024-03-05T07:08:09Z", "20240305T07:08:09",
    "2024-03-05T08:08:09+01:00", "2024-03-05T07:08:09.000Z",
    dt.datetime(2024, 3, 5, 7, 8, 9), dt.datetime(2024, 3, 5, 7, 8, 9, tzinfo=UTC),
    dt.datetime(2024, 3, 5, 9, 8, 9, tzinfo=dt.timezone(dt.timedelta(hours=2))),
])
def test_datetime_forms_give_aware_utc(value: Any) -> None:
    got = ok("datetime", value)
    assert got == dt.datetime(2024, 3, 5, 7, 8, 9, tzinfo=UTC)
    assert got.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize("value", ["", "yesterday", "2024-03-05", "20240305",
                                   "2024-13-05T00:00:00Z", 1700000000, None])
def test_datetime_refuses_everything_else(value: Any) -> None:
    assert err("datetime", value, "snapshot_time") == ["FIELD_TYPE_ERROR", "snapshot_time"]


def test_datetime_wire_format_round_trips() -> None:
    d = dt.datetime(2024, 3, 5, 7, 8, 9, tzinfo=UTC)
    assert format_datetime(d) == "20240305T07:08:09Z"
    assert ok("datetime", format_datetime(d)) == d
    assert parse_type("datetime").default_value() == EPOCH


# -- enum ------------------------------------------------------------------------------------

def test_enum_accepts_any_case_and_answers_the_declared_spelling() -> None:
    assert ok("enum vm_power_state", "Halted") == "Halted"
    assert ok("enum vm_power_state", "halted") == "Halted"
    assert ok("enum vm_power_state", "RUNNING") == "Running"
    assert ok("enum on_normal_exit", "Destroy") == "destroy"


def test_enum_value_outside_the_enum_is_invalid_value() -> None:
    assert err("enum vm_power_state", "Exploded", "power_state") == [
        "INVALID_VALUE", "power_state", "Exploded"]


def test_enum_non_string_is_a_type_error() -> None:
    assert err("enum vm_power_state", 1, "power_state") == ["FIELD_TYPE_ERROR", "power_state"]


def test_enum_default_is_first_declared_value() -> None:
    assert parse_type("enum vm_power_state").default_value() == "Halted"


# -- refs ------------------------------------------------------------------------------------

def test_ref_accepts_opaque_refs_and_null() -> None:
    r = "OpaqueRef:5c0ab6a3-2b3c-4b32-9f59-7f1c0e0b7a11"
    assert ok("VM ref", r) == r
    assert ok("VM ref", "OpaqueRef:NULL") == "OpaqueRef:NULL"


def test_ref_that_is_not_an_opaque_ref_is_handle_invalid() -> None:
    assert err("VM ref", "5c0ab6a3", "vm") == ["HANDLE_INVALID", "VM", "5c0ab6a3"]
    assert err("host ref", "", "host") == ["HANDLE_INVALID", "host", ""]


def test_ref_non_string_is_type_error() -> None:
    assert err("VM ref", 12, "vm") == ["FIELD_TYPE_ERROR", "vm"]


# -- sets and maps ---------------------------------------------------------------------------

def test_set_checks_each_element() -> None:
    assert ok("int set", ["1", 2]) == [1, 2]
    assert ok("enum vm_operations set", ("START", "clone")) == ["start", "clone"]
    assert err("int set", [1, "x"], "s") == ["FIELD_TYPE_ERROR", "s"]
    assert err("string set", "abc", "tags") == ["FIELD_TYPE_ERROR", "tags"]


def test_map_checks_keys_and_values() -> None:
    assert ok("(int -> float) map", {"0": 0.5, "1": "0.25"}) == {0: 0.5, 1: 0.25}
    assert ok("(enum vm_operations -> string) map", {"Start": "no"}) == {"start": "no"}
    assert ok("(string -> (string -> string) map) map", {"a": {"b": "c"}}) == {"a": {"b": "c"}}
    assert err("(string -> string) map", {"k": 1}, "other_config") == [
        "FIELD_TYPE_ERROR", "other_config"]
    assert err("(string -> string) map", [("k", "v")], "other_config") == [
        "FIELD_TYPE_ERROR", "other_config"]


def test_check_does_not_alias_the_input() -> None:
    src = {"a": "b"}
    out = ok("(string -> string) map", src)
    out["c"] = "d"
    assert src == {"a": "b"}


# -- records ---------------------------------------------------------------------------------

def _vm_args(**over: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "user_version": "1", "is_a_template": False, "affinity": "OpaqueRef:NULL",
        "memory_static_max": "268435456", "memory_dynamic_max": "268435456",
        "memory_dynamic_min": "134217728", "memory_static_min": "134217728",
        "VCPUs_params": {}, "VCPUs_max": "2", "VCPUs_at_startup": "1",
        "actions_after_shutdown": "destroy", "actions_after_reboot": "restart",
        "actions_after_crash": "restart", "PV_bootloader": "", "PV_kernel": "",
        "PV_ramdisk": "", "PV_args": "", "PV_bootloader_args": "", "PV_legacy_args": "",
        "HVM_boot_policy": "", "HVM_boot_params": {}, "platform": {}, "PCI_bus": "",
        "other_config": {}, "recommendations": "",
    }
    args.update(over)
    return args


def test_record_gives_every_constructor_field() -> None:
    vm = MODEL.classes["VM"]
    rec = parse_type("VM record").check(_vm_args(name_label="web"), "args")
    assert list(rec) == [f.name for f in vm.constructor_fields()]
    assert rec["name_label"] == "web"
    assert rec["memory_static_max"] == 268435456
    assert rec["power_state"] == "Halted"          # default of an RO/constructor field
    assert rec["tags"] == [] and rec["xenstore_data"] == {}
    assert rec["actions_after_softreboot"] == "soft_reboot"


def test_record_ignores_unknown_and_runtime_fields() -> None:
    rec = parse_type("VM record").check(_vm_args(bogus=1, domid="7", uuid="x"), "args")
    assert "bogus" not in rec and "domid" not in rec and "uuid" not in rec


def test_record_missing_required_field_names_it() -> None:
    args = _vm_args()
    del args["VCPUs_max"]
    assert err("VM record", args, "args") == ["FIELD_TYPE_ERROR", "VCPUs_max"]


def test_record_bad_field_value_names_the_field() -> None:
    assert err("VM record", _vm_args(VCPUs_max="two"), "args") == [
        "FIELD_TYPE_ERROR", "VCPUs_max"]
    assert err("VM record", _vm_args(actions_after_crash="explode"), "args") == [
        "INVALID_VALUE", "actions_after_crash", "explode"]


def test_record_non_dict_is_type_error() -> None:
    assert err("VM record", ["x"], "args") == ["FIELD_TYPE_ERROR", "args"]


def test_record_defaults_are_fresh_objects() -> None:
    t = parse_type("VM record")
    a = t.check(_vm_args(), "args")
    a["tags"].append("x")
    a["xenstore_data"]["k"] = "v"
    b = t.check(_vm_args(), "args")
    assert b["tags"] == [] and b["xenstore_data"] == {}


# -- the types themselves -------------------------------------------------------------------

def test_types_are_interned_hashable_and_compare_by_name() -> None:
    a = parse_type("(string -> VM ref) map")
    assert a is parse_type("(string -> VM ref) map")
    assert a == parse_type("(string -> VM ref) map") and hash(a) == hash(a.name)
    assert a != parse_type("(string -> host ref) map")
    assert {parse_type("int"), parse_type("int")} == {parse_type("int")}
    assert str(parse_type("enum vm_power_state set")) == "enum vm_power_state set"


@pytest.mark.parametrize("bad", ["integer", "VM  ref", "(string string) map", "enum nosuch",
                                 "ref", "string sets", "(string -> ) map"])
def test_unknown_type_strings_are_refused(bad: str) -> None:
    with pytest.raises((TypeParseError, ValueError)):
        parse_type(bad)


@pytest.mark.parametrize("t,expected", [
    ("string", ""), ("int", 0), ("float", 0.0), ("bool", False), ("VM ref", "OpaqueRef:NULL"),
    ("string set", []), ("(string -> string) map", {}), ("void", None),
])
def test_default_values(t: str, expected: Any) -> None:
    assert parse_type(t).default_value() == expected


def test_default_values_are_fresh() -> None:
    s = parse_type("string set").default_value()
    s.append("x")
    assert parse_type("string set").default_value() == []
