"""The DSL, the derivation of implicit messages, roles and the MODEL registry."""
from __future__ import annotations

import hashlib
import uuid

import pytest

from xenapi_impl.errors import XenAPIError
from xenapi_impl.model import MODEL, REQUIRED, builtin_roles, permitted
from xenapi_impl.model import roles as R
from xenapi_impl.model.dsl import (
    RO_CTOR, RO_RUN, DeclarationError, cls, field, message, param,
)
from xenapi_impl.model.registry import Model
from xenapi_impl.model.system import SYSTEM_MESSAGES


# -- the DSL and the derivation, on small made-up classes -----------------------------------

def _toy(**kw: object):
    return cls(
        "toy", "A toy", fields=[
            field("uuid", "string", RO_RUN),
            field("name/label", "string", default=""),
            field("size", "int", RO_CTOR),
            field("tags", "string set", default=[]),
            field("other_config", "(string -> string) map", default={},
                  write_roles=R.R_VM_OP),
            field("VBDs", "VBD ref set", RO_RUN),
            field("parent", "VM ref", RO_CTOR, default="OpaqueRef:NULL"),
            field("kids", "VM ref set", RO_CTOR),
        ],
        messages=[message("poke", params=[param("self", "toy ref"),
                                          param("hard", "bool", default=False)],
                          roles=R.R_VM_ADMIN, is_async=True)],
        roles=R.R_POOL_OP, **kw)


def test_field_paths_become_wire_names() -> None:
    t = _toy()
    assert list(t.fields) == ["uuid", "name_label", "size", "tags", "other_config", "VBDs",
                              "parent", "kids"]
    assert t.fields["name_label"].path == "name/label"


def test_field_defaults_follow_the_rules() -> None:
    f = _toy().fields
    assert f["uuid"].default == ""             # RO/runtime: the type's empty value
    assert f["VBDs"].default == []
    assert f["size"].default is REQUIRED       # constructor field without default
    assert f["kids"].default == []             # ref sets default to empty, as in xapi
    assert f["name_label"].default == ""


def test_explicit_default_is_converted_by_the_type() -> None:
    f = field("t", "datetime", RO_CTOR, default="19700101T00:00:00Z")
    assert f.default.year == 1970 and f.default.tzinfo is not None
    with pytest.raises(XenAPIError):
        field("n", "int", default="many")


def test_getters_for_every_field_setters_only_for_rw() -> None:
    m = _toy().messages
    for f in ("uuid", "name_label", "size", "tags", "other_config", "VBDs", "parent", "kids"):
        assert m[f"get_{f}"].implicit == "get_field"
        assert m[f"get_{f}"].roles == R.R_READ_ONLY
    assert {n for n in m if n.startswith("set_")} == {"set_name_label", "set_tags",
                                                      "set_other_config"}
    assert m["add_to_other_config"].implicit == "add_to"
    assert [p.name for p in m["add_to_other_config"].params] == ["session_id", "self", "key",
                                                                 "value"]
    assert [p.name for p in m["remove_from_other_config"].params] == ["session_id", "self",
                                                                      "key"]
    assert m["add_tags"].params[2].type.name == "string"
    assert "remove_tags" in m
    assert "add_kids" not in m and "add_to_VBDs" not in m   # RO collections: no add/remove


def test_setter_roles_class_default_and_field_override() -> None:
    m = _toy().messages
    assert m["set_name_label"].roles == R.R_POOL_OP
    assert m["set_other_config"].roles == R.R_VM_OP
    assert m["add_to_other_config"].roles == R.R_VM_OP


def test_setter_params_and_results() -> None:
    m = _toy().messages
    s = m["set_tags"]
    assert [(p.name, p.type.name) for p in s.params] == [
        ("session_id", "session ref"), ("self", "toy ref"), ("value", "string set")]
    assert s.result.name == "void"
    assert m["get_record"].result.name == "toy record"
    assert m["get_all_records"].result.name == "(toy ref -> toy record) map"
    assert m["get_by_name_label"].result.name == "toy ref set"
    assert m["get_by_uuid"].params[1].name == "uuid"


def test_field_of_implicit_messages_is_the_field() -> None:
    t = _toy()
    assert t.messages["set_tags"].field is t.fields["tags"]
    assert t.messages["get_record"].field is None


def test_get_by_name_label_needs_the_nested_name_label() -> None:
    flat = cls("flat", "", fields=[field("name_label", "string", default="")])
    assert "get_by_name_label" not in flat.messages
    assert "get_by_name_label" in _toy().messages


def test_class_switches() -> None:
    plain = _toy()
    assert "create" not in plain.messages and "get_all" in plain.messages
    ctor = _toy(constructor=True)
    assert ctor.messages["create"].is_async and ctor.messages["destroy"].is_async
    assert ctor.messages["create"].roles == R.R_POOL_OP
    assert [p.type.name for p in ctor.messages["create"].params] == ["session ref",
                                                                     "toy record"]
    assert "size*" in ctor.messages["create"].doc
    noall = _toy(get_all=False)
    assert "get_all" not in noall.messages and "get_all_records" not in noall.messages
    bare = _toy(accessors=False)
    assert set(bare.messages) == {"get_all", "get_all_records", "poke"}


def test_only_create_and_destroy_are_async_among_implicit() -> None:
    t = _toy(constructor=True)
    assert {n for n, m in t.messages.items() if m.is_async} == {"create", "destroy", "poke"}


def test_explicit_message_shape() -> None:
    poke = _toy().messages["poke"]
    assert poke.full_name == "toy.poke" and poke.implicit is None and poke.takes_session
    assert [p.name for p in poke.params] == ["session_id", "self", "hard"]
    assert (poke.min_args, poke.max_args) == (1, 2)
    assert poke.async_name == "Async.toy.poke"


def test_default_record_is_full_and_fresh() -> None:
    t = _toy()
    a = t.default_record()
    assert list(a) == list(t.fields)
    assert a["size"] == 0          # REQUIRED fields hold their type's empty value
    a["tags"].append("x")
    assert t.default_record()["tags"] == []


@pytest.mark.parametrize("build,match", [
    (lambda: field("x", "string", "RO"), "qualifier"),
    (lambda: cls("c", "", fields=[field("a", "int"), field("a", "int")]), "twice"),
    (lambda: message("m", params=[param("a", "int", default=0), param("b", "int")]),
     "after an optional"),
    (lambda: message("m", params=[param("a", "int"), param("a", "int")]), "duplicate"),
    (lambda: message("m", roles=frozenset({"root"})), "unknown roles"),
    (lambda: cls("c", "", fields=[field("a", "int")], messages=[message("get_a")]),
     "clashes"),
])
def test_declaration_errors(build, match: str) -> None:
    with pytest.raises(DeclarationError, match=match):
        build()


def test_registry_refuses_unknown_ref_classes() -> None:
    bad = cls("c2", "", fields=[field("x", "Nowhere ref", RO_RUN)])
    with pytest.raises(DeclarationError, match="unknown classes"):
        Model([bad], [])


# -- the real model ------------------------------------------------------------------------

def test_persistence_flags() -> None:
    volatile = {n for n, c in MODEL.classes.items() if not c.persistent}
    assert volatile == {"session", "task", "event"}


def test_methods_table_is_every_class_message_plus_system() -> None:
    expected = {m.full_name for c in MODEL.classes.values() for m in c.messages.values()}
    assert set(MODEL.methods) == expected | {"system.listMethods", "system.isAlive"}
    assert "VM.get_name_label" in MODEL.methods and "VM.start" in MODEL.methods
    assert MODEL.methods["session.login_with_password"].takes_session is False


def test_list_methods_has_no_system_methods() -> None:
    names = MODEL.list_methods()
    assert "VM.get_all_records" in names and "pool.get_all_records" in names
    assert not any(n.startswith("system.") for n in names)
    assert not any(n.startswith("Async.") for n in names)


def test_session_param_is_first_when_taken() -> None:
    for m in MODEL.methods.values():
        has = bool(m.params) and m.params[0].name == "session_id"
        assert has == m.takes_session, m.full_name
        assert m.arg_params == (m.params[1:] if has else m.params)


def test_login_arity_is_two_to_four() -> None:
    login = MODEL.methods["session.login_with_password"]
    assert (login.min_args, login.max_args) == (2, 4)
    assert [p.default for p in login.params[2:]] == ["1.1", ""]


def test_lookup_accepts_every_spelling() -> None:
    start = MODEL.methods["VM.start"]
    for name in ("VM.start", "VM_start"):
        assert MODEL.lookup(name) == (start, False)
    for name in ("Async.VM.start", "Async_VM_start", "Async.VM_start"):
        assert MODEL.lookup(name) == (start, True)
    assert MODEL.lookup("event_from") == (MODEL.methods["event.from"], False)
    gm = MODEL.methods["VM_guest_metrics.get_os_version"]
    assert MODEL.lookup("VM_guest_metrics_get_os_version") == (gm, False)
    assert MODEL.lookup("Async.VM.get_name_label") is None   # getters have no async form
    assert MODEL.lookup("VM.fly") is None
    assert MODEL.lookup("vm.start") is None                   # method names are case-sensitive


def test_find_class_is_case_insensitive() -> None:
    assert MODEL.find_class("vm") is MODEL.classes["VM"]
    assert MODEL.find_class("VM_GUEST_METRICS") is MODEL.classes["VM_guest_metrics"]
    assert MODEL.find_class("PGPU") is None          # referenced, not served
    assert "PGPU" in MODEL.external_classes


def test_every_record_type_of_a_served_class_is_bound() -> None:
    from xenapi_impl.model.types import RecordType, interned_types
    for t in interned_types():
        if isinstance(t, RecordType):
            assert t.bound == (t.cls in MODEL.classes), t.name


def test_system_messages() -> None:
    lm, alive = SYSTEM_MESSAGES
    assert lm.full_name == "system.listMethods" and not lm.takes_session and lm.max_args == 0
    assert alive.full_name == "system.isAlive" and (alive.min_args, alive.max_args) == (0, 1)


# -- roles ---------------------------------------------------------------------------------

def test_role_order_and_sets() -> None:
    assert R.R_POOL_ADMIN == {"pool-admin"}
    assert R.R_VM_OP == {"pool-admin", "pool-operator", "vm-power-admin", "vm-admin",
                         "vm-operator"}
    assert R.R_READ_ONLY == set(R.ORDER)
    assert R.ordered(R.R_VM_OP | R.R_CLIENT_CERT)[-1] == "client-cert"


@pytest.mark.parametrize("method,role,allowed", [
    ("VM.start", "vm-operator", True), ("VM.start", "read-only", False),
    ("VM.start", "client-cert", False), ("Async.VM.start", "vm-operator", True),
    ("VM.get_record", "read-only", True), ("VM.get_record", "client-cert", True),
    ("VM.set_name_label", "vm-admin", True), ("VM.set_name_label", "vm-operator", False),
    ("VM.add_tags", "vm-operator", True), ("VM.pool_migrate", "client-cert", True),
    ("pool.set_name_label", "pool-operator", True), ("pool.set_name_label", "vm-admin", False),
    ("session.change_password", "pool-admin", False),   # local superuser only
    ("VM.no_such_thing", "pool-admin", False),
])
def test_permitted(method: str, role: str, allowed: bool) -> None:
    assert permitted(method, role) is allowed
    if method in MODEL.methods:
        assert permitted(MODEL.methods[method], role) is allowed


def test_builtin_roles() -> None:
    recs = builtin_roles()
    assert len(recs) == len(MODEL.methods) + 7
    by_name = {r["name_label"]: (ref, r) for ref, r in recs.items()}
    ref, admin = by_name["pool-admin"]
    assert admin["uuid"] == "0165f154-ba3e-034e-6b27-5d271af109ba"
    assert ref == "OpaqueRef:" + admin["uuid"]
    assert admin["is_internal"] is False and by_name["client-cert"][1]["is_internal"] is True
    ro = by_name["read-only"][1]
    assert ro["uuid"] == str(uuid.UUID(bytes=hashlib.md5(b"read-only").digest()))
    # each role holds the permissions of the roles after it
    held = [set(by_name[r][1]["subroles"]) for r in R.ORDER if r != "client-cert"]
    for stronger, weaker in zip(held, held[1:]):
        assert weaker < stronger
    perm_ref, perm = by_name["vm.start"]
    assert perm["subroles"] == [] and perm["is_internal"] is True
    assert perm["uuid"] == str(uuid.UUID(bytes=hashlib.md5(b"VM.start").digest()))
    assert perm_ref in by_name["vm-operator"][1]["subroles"]
    assert perm_ref not in ro["subroles"]
    assert builtin_roles() == recs   # stable


def test_role_records_fit_the_role_class() -> None:
    role_cls = MODEL.classes["role"]
    for rec in builtin_roles().values():
        assert set(rec) == set(role_cls.fields)
        for name, value in rec.items():
            assert role_cls.fields[name].type.check(value, name) == value


@pytest.mark.parametrize("name", sorted(MODEL.classes))
def test_default_record_values_fit_their_types(name: str) -> None:
    c = MODEL.classes[name]
    rec = c.default_record()
    assert list(rec) == list(c.fields)
    for fname, value in rec.items():
        assert c.fields[fname].type.check(value, fname) == value, fname


@pytest.mark.parametrize("name", sorted(n for n, c in MODEL.classes.items() if c.constructor))
def test_create_record_with_only_required_fields(name: str) -> None:
    c = MODEL.classes[name]
    record_type = c.messages["create"].params[1].type
    args = {f: c.fields[f].type.default_value() for f in c.required_fields()}
    rec = record_type.check(args, "args")
    assert list(rec) == [f.name for f in c.constructor_fields()]
    for f in c.constructor_fields():
        expected = args[f.name] if f.required else f.default
        assert rec[f.name] == expected, f.name
    for missing in c.required_fields():
        partial = {k: v for k, v in args.items() if k != missing}
        with pytest.raises(XenAPIError) as ei:
            record_type.check(partial, "args")
        assert ei.value.description == ["FIELD_TYPE_ERROR", missing]
