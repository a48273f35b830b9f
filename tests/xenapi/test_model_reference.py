"""The declared model against the reference model (xenapi.json), both directions.

The reference comes from tests/reference/xenapi-model.json (see tests/reference_dir.py): the
names and types as they are, each description as a digest.

Every field (name, type, qualifier, default, doc) and every message (name, parameter names,
types and optionality, result type, roles, errors, implicit or not) of the classes we declare
must match the reference. The reference has no async flag: the async rules are checked
separately (test_async_*). Deliberate differences are listed in DIFFERENCES with their reason.
"""
from __future__ import annotations

import json
import re
from typing import Any

import pytest

from xenapi_impl.model import MODEL, REQUIRED
from xenapi_impl.model.dsl import RO_RUN
from xenapi_impl.model.types import RefType, SetType, parse_type

from reference_dir import doc_digest, reference_classes, reference_errors

REGENERATE = "not in tests/reference/xenapi-model.json: run tests/reference/extract.py"


#: what we deliberately declare otherwise than the reference: (class, what) -> reason
DIFFERENCES: dict[tuple[str, str], str] = {}


@pytest.fixture(scope="module")
def ref() -> dict[str, dict[str, Any]]:
    return reference_classes()


@pytest.fixture(scope="module")
def enums_ref(ref: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for c in ref.values():
        for e in c.get("enums", []):
            out[e["name"]] = list(e["values"])
    return out


CLASSES = sorted(MODEL.classes)


def test_declares_every_required_class() -> None:
    wanted = {"session", "task", "event", "pool", "host", "host_metrics", "host_cpu", "VM",
              "VM_metrics", "VM_guest_metrics", "network", "VIF", "VIF_metrics", "PIF",
              "PIF_metrics", "SR", "VDI", "VBD", "VBD_metrics", "PBD", "console", "crashdump",
              "message", "user", "role"}
    assert wanted <= set(MODEL.classes)


def test_served_and_external_classes_are_reference_classes(ref: dict) -> None:
    assert set(MODEL.classes) <= set(ref)
    assert set(MODEL.external_classes) <= set(ref)
    for name, doc in MODEL.external_classes.items():
        assert doc_digest(doc) == ref[name]["doc"], name


def _parse_ref_default(type_str: str, raw: str) -> Any:
    """The reference writes defaults in its own notation: turn one into our Python value."""
    t = parse_type(type_str)
    if t.kind == "map":
        pairs = dict(re.findall(r'"([^"]*)" -> "([^"]*)"', raw))
        assert raw == "{}" or pairs, raw
        return t.check(pairs, "default")
    if t.kind == "set":
        items = [] if raw == "{}" else raw[1:-1].split(", ")
        return t.check(items, "default")
    if t.kind == "ref":
        return "OpaqueRef:NULL" if raw == "Null" else t.check(raw, "default")
    if t.kind == "string":
        return json.loads(raw)
    if t.kind == "float":
        return float(raw)
    if t.kind == "bool":
        return {"true": True, "false": False}[raw]
    return t.check(raw, "default")


@pytest.mark.parametrize("name", CLASSES)
def test_fields_match(ref: dict, name: str) -> None:
    ours = MODEL.classes[name]
    assert "fields" in ref[name], REGENERATE
    assert doc_digest(ours.doc) == ref[name]["doc"]
    theirs = {f["name"]: f for f in ref[name]["fields"]}
    assert list(ours.fields) == list(theirs), "same fields, same order"
    for fname, f in ours.fields.items():
        r = theirs[fname]
        where = f"{name}.{fname}"
        assert f.type.name == r["type"], where
        assert f.qualifier == r["qualifier"], where
        assert doc_digest(f.doc) == r["doc"], where
        if "default" in r:
            assert f.default == _parse_ref_default(r["type"], r["default"]), where
        elif f.qualifier == RO_RUN:
            assert f.default == f.type.default_value(), where
        elif isinstance(f.type, SetType) and isinstance(f.type.element, RefType):
            assert f.default == [], where  # xapi: ref sets always default to empty
        else:
            assert f.default is REQUIRED, where


@pytest.mark.parametrize("name", CLASSES)
def test_messages_match(ref: dict, name: str) -> None:
    ours = MODEL.classes[name].messages
    assert "messages" in ref[name], REGENERATE
    theirs = {m["name"]: m for m in ref[name]["messages"]}
    missing = set(theirs) - set(ours) - {m for (c, m) in DIFFERENCES if c == name}
    extra = set(ours) - set(theirs) - {m for (c, m) in DIFFERENCES if c == name}
    assert not missing, f"{name}: not declared: {sorted(missing)}"
    assert not extra, f"{name}: not in the reference: {sorted(extra)}"
    for mname in set(ours) & set(theirs):
        m, r = ours[mname], theirs[mname]
        where = f"{name}.{mname}"
        # params: [name, type, required, doc digest]
        assert [p.name for p in m.params] == [p[0] for p in r["params"]], where
        assert [p.type.name for p in m.params] == [p[1] for p in r["params"]], where
        assert [p.required for p in m.params] == [p[2] for p in r["params"]], where
        assert (m.result.name if m.result else "void") == r["result"], where
        assert m.roles == frozenset(r["roles"]), where
        assert (m.implicit is not None) == r["implicit"], where
        assert list(m.errors) == r["errors"], where
        assert m.takes_session == (bool(r["params"]) and r["params"][0][0] == "session_id"
                                   and r["params"][0][1] == "session ref"), where
        # explicit and derived (implicit) docs alike follow the reference's wording
        assert doc_digest(m.doc) == r["doc"], where
        assert [doc_digest(p.doc) for p in m.params] == [p[3] for p in r["params"]], where
        if r["implicit"]:
            assert doc_digest(m.result_doc) == r.get("result_doc", doc_digest("")), where


def test_enums_match(enums_ref: dict) -> None:
    used: set[str] = set()
    for c in MODEL.classes.values():
        for f in c.fields.values():
            used |= f.type.referenced_enums()
        for m in c.messages.values():
            for p in m.params:
                used |= p.type.referenced_enums()
            if m.result is not None:
                used |= m.result.referenced_enums()
    declared = MODEL.enums
    assert used <= set(declared)
    for name in used:
        assert list(declared[name].values) == enums_ref[name], name


def test_constructor_docs_list_the_reference_constructor_args(ref: dict) -> None:
    """The reference's create doc lists the constructor args, '*' marking the required ones:
    our derivation (RW and RO/constructor fields; required = no default) must agree."""
    checked = 0
    for name, c in MODEL.classes.items():
        r = {m["name"]: m for m in ref[name]["messages"]}.get("create")
        if not (c.constructor and r and r["implicit"]):
            continue
        assert "constructor_args" in r, name
        args = r["constructor_args"]
        assert [a.rstrip("*") for a in args] == [f.name for f in c.constructor_fields()], name
        assert [a[:-1] for a in args if a.endswith("*")] == c.required_fields(), name
        checked += 1
    assert checked == 11


def test_vm_create_required_fields_are_wire_md_list() -> None:
    assert MODEL.classes["VM"].required_fields() == [
        "user_version", "is_a_template", "affinity", "memory_static_max", "memory_dynamic_max",
        "memory_dynamic_min", "memory_static_min", "VCPUs_params", "VCPUs_max",
        "VCPUs_at_startup", "actions_after_shutdown", "actions_after_reboot",
        "actions_after_crash", "PV_bootloader", "PV_kernel", "PV_ramdisk", "PV_args",
        "PV_bootloader_args", "PV_legacy_args", "HVM_boot_policy", "HVM_boot_params",
        "platform", "PCI_bus", "other_config", "recommendations"]
    assert MODEL.classes["VBD"].required_fields() == [
        "VM", "VDI", "userdevice", "bootable", "mode", "type", "empty", "other_config",
        "qos_algorithm_type", "qos_algorithm_params"]
    assert MODEL.classes["VIF"].required_fields() == [
        "device", "network", "VM", "MAC", "MTU", "other_config", "qos_algorithm_type",
        "qos_algorithm_params"]


def test_async_flags_of_implicit_messages() -> None:
    """WIRE.md: only create/destroy among implicit messages have an async form."""
    for m in MODEL.methods.values():
        if m.implicit is not None:
            assert m.is_async == (m.implicit in ("create", "destroy")), m.full_name


@pytest.mark.parametrize("method,is_async", [
    # long-running operations clients call as Async.X (xapi declares them async)
    ("VM.start", True), ("VM.clean_shutdown", True), ("VM.hard_shutdown", True),
    ("VM.clone", True), ("VM.snapshot", True), ("VM.pool_migrate", True), ("VDI.copy", True),
    ("SR.create", True), ("host.evacuate", True), ("VBD.plug", True),
    # xapi declares these session-only (no Async form)
    ("session.login_with_password", False), ("session.logout", False), ("event.from", False),
    ("event.next", False), ("event.inject", False), ("task.create", False),
    ("task.destroy", False), ("message.create", False), ("VM.get_boot_record", False),
])
def test_async_flags_of_explicit_messages(method: str, is_async: bool) -> None:
    assert MODEL.methods[method].is_async is is_async


def test_differences_are_still_differences(ref: dict) -> None:
    """A listed difference that the model no longer has must leave the list."""
    for (cname, what), reason in DIFFERENCES.items():
        ours = what in MODEL.classes[cname].messages
        theirs = any(m["name"] == what for m in ref[cname]["messages"])
        assert ours != theirs, f"{cname}.{what} listed as different ({reason}) but matches"


def test_declared_error_codes_exist_in_the_reference() -> None:
    codes = reference_errors()
    unknown = {(m.full_name, e) for m in MODEL.methods.values() for e in m.errors
               if e not in codes}
    assert not unknown


@pytest.mark.parametrize("type_str,value", [
    ("int", "x"), ("enum vm_power_state", "x"), ("VM ref", "x"), ("string", "\ud800"),
    ("VM record", {}),
])
def test_check_errors_have_the_reference_shape(type_str: str, value: Any) -> None:
    """Each error check() raises carries exactly the parameters xenapi-errors.json names."""
    from xenapi_impl.errors import XenAPIError
    codes = reference_errors()
    with pytest.raises(XenAPIError) as ei:
        parse_type(type_str).check(value, "f")
    assert len(ei.value.params) == len(codes[ei.value.code]), ei.value.description
