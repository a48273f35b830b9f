"""Dispatch through the real model, store and dispatcher (no HTTP): every check and the
generic implicit messages."""
from __future__ import annotations

import pytest

from harness import HTTP, VM_REQUIRED, run
from xenapi_impl.errors import XenAPIError
from xenapi_impl.model import MODEL
from xenapi_impl.values import Bare

NULL = "OpaqueRef:NULL"


async def fails(h, code, method, *params, caller=HTTP):
    with pytest.raises(XenAPIError) as info:
        await h.call(method, *params, caller=caller)
    assert info.value.code == code, info.value.description
    return info.value.params


def test_implicit_messages_on_a_created_vm():
    async def body(h):
        s = await h.login()
        ref = await h.call("VM.create", s, dict(VM_REQUIRED, name_label="web"))
        rec = await h.call("VM.get_record", s, ref)
        assert set(rec) == set(MODEL.classes["VM"].fields)       # the full field set
        assert rec["memory_static_max"] == 268435456               # int64 from a string
        assert rec["power_state"] == "Halted"                       # runtime default
        uuid = rec["uuid"]
        assert await h.call("VM.get_by_uuid", s, uuid) == ref
        assert await h.call("VM.get_uuid", s, ref) == uuid
        assert await h.call("VM.get_by_name_label", s, "web") == [ref]
        assert ref in await h.call("VM.get_all", s)
        assert ref in await h.call("VM.get_all_records", s)
        await h.call("VM.set_name_label", s, ref, "db")
        assert await h.call("VM.get_name_label", s, ref) == "db"
        await h.call("VM.add_to_other_config", s, ref, "k", "v")
        params = await fails(h, "MAP_DUPLICATE_KEY", "VM.add_to_other_config", s, ref, "k", "w")
        assert params == ["VM", "other_config", uuid, "k"]
        await h.call("VM.remove_from_other_config", s, ref, "k")
        await h.call("VM.remove_from_other_config", s, ref, "absent")
        assert await h.call("VM.get_other_config", s, ref) == {}
        await h.call("VM.add_tags", s, ref, "t1")
        await h.call("VM.add_tags", s, ref, "t1")
        await h.call("VM.add_tags", s, ref, "t2")
        assert await h.call("VM.get_tags", s, ref) == ["t1", "t2"]
        await h.call("VM.remove_tags", s, ref, "t1")
        assert await h.call("VM.get_tags", s, ref) == ["t2"]
        await h.call("VM.destroy", s, ref)
        assert await fails(h, "HANDLE_INVALID", "VM.get_record", s, ref) == ["VM", ref]
        assert await fails(h, "UUID_INVALID", "VM.get_by_uuid", s, uuid) == ["VM", uuid]
    run(body)


def test_create_requires_fields_and_ignores_runtime_ones():
    async def body(h):
        s = await h.login()
        partial = dict(VM_REQUIRED)
        del partial["PV_kernel"]
        assert await fails(h, "FIELD_TYPE_ERROR", "VM.create", s, partial) == ["PV_kernel"]
        assert h.store.records("VM") == {}
        ref = await h.call("VM.create", s, dict(VM_REQUIRED, resident_on=NULL, domid="7",
                                                uuid="not-taken"))
        rec = await h.call("VM.get_record", s, ref)
        assert rec["domid"] == -1 and rec["uuid"] != "not-taken"   # xapi: -1 until it runs
        # a reference in the record must name a live object
        bad = "OpaqueRef:00000000-0000-0000-0000-000000000001"
        assert await fails(h, "HANDLE_INVALID", "VM.create", s,
                           dict(VM_REQUIRED, affinity=bad)) == ["host", bad]
    run(body)


def test_arity_counts_exclude_the_session():
    async def body(h):
        s = await h.login()
        assert await fails(h, "MESSAGE_PARAMETER_COUNT_MISMATCH", "VM.get_name_label", s) \
            == ["VM.get_name_label", "1", "0"]
        assert await fails(h, "MESSAGE_PARAMETER_COUNT_MISMATCH", "pool.get_all", s, "x") \
            == ["pool.get_all", "0", "1"]
        assert await fails(h, "MESSAGE_PARAMETER_COUNT_MISMATCH",
                           "session.login_with_password", "root") \
            == ["session.login_with_password", "2", "1"]
        assert await fails(h, "MESSAGE_PARAMETER_COUNT_MISMATCH",
                           "session.login_with_password", "a", "b", "c", "d", "e") \
            == ["session.login_with_password", "4", "5"]
        for extra in ([], ["1.0"], ["1.0", "orig"]):       # 2, 3 or 4 arguments
            assert (await h.call("session.login_with_password", "root", "s3cret-pw", *extra)
                    ).startswith("OpaqueRef:")
    run(body)


def test_unknown_method_aliases_and_system_calls():
    async def body(h):
        s = await h.login()
        assert await fails(h, "MESSAGE_METHOD_UNKNOWN", "VM.fly", s) == ["VM.fly"]
        assert await fails(h, "MESSAGE_METHOD_UNKNOWN", "Async.VM.get_name_label", s, NULL) \
            == ["Async.VM.get_name_label"]          # getters have no Async form
        pools = await h.call("pool_get_all", s)     # Class_message alias
        assert pools == await h.call("pool.get_all", s)
        names = await h.call("system.listMethods")
        assert isinstance(names, Bare)
        assert "VM.get_all_records" in names.value and "event.from" in names.value
        assert not any(n.startswith("Async.") for n in names.value)
        assert await h.call("system.isAlive", "ping") == "ping"
    run(body)


def test_types_sessions_and_handles_are_checked_in_order():
    async def body(h):
        s = await h.login()
        ref = await h.call("VM.create", s, dict(VM_REQUIRED))
        assert await fails(h, "FIELD_TYPE_ERROR", "VM.set_VCPUs_max", s, ref, "many") \
            == ["value"]
        assert await fails(h, "FIELD_TYPE_ERROR", "VM.set_is_a_template", s, ref, "maybe") \
            == ["value"]
        bogus = "OpaqueRef:5b1c9e2a-0000-4000-8000-000000000000"
        assert await fails(h, "SESSION_INVALID", "VM.get_all", bogus) == [bogus]
        # a bad session is found before a bad handle
        assert await fails(h, "SESSION_INVALID", "VM.get_record", bogus, bogus) == [bogus]
        assert await fails(h, "HANDLE_INVALID", "VM.get_record", s, bogus) == ["VM", bogus]
        assert await fails(h, "HANDLE_INVALID", "VM.get_record", s, NULL) == ["VM", NULL]
        # a ref-typed setter may clear the field to NULL but not point at a missing object
        await h.call("VM.set_affinity", s, ref, NULL)
        assert await fails(h, "HANDLE_INVALID", "VM.set_affinity", s, ref, bogus) \
            == ["host", bogus]
        assert await fails(h, "NOT_IMPLEMENTED", "VM.start", s, ref, False, False) \
            == ["VM.start"]
    run(body)


def test_rbac_denies_with_xapis_parameters():
    async def body(h):
        ro = await h.login("reader")
        op = await h.login("operator")
        admin = await h.login()
        ref = await h.call("VM.create", admin, dict(VM_REQUIRED))
        assert await h.call("VM.get_name_label", ro, ref) == "vm"
        params = await fails(h, "RBAC_PERMISSION_DENIED", "VM.destroy", ro, ref)
        assert params == ["vm.destroy", "No permission in user session. (Roles with this "
                          "permission: pool-admin, pool-operator, vm-power-admin, vm-admin)"]
        await fails(h, "RBAC_PERMISSION_DENIED", "VM.set_name_label", op, ref, "x")
        await fails(h, "RBAC_PERMISSION_DENIED", "Async.VM.destroy", ro, ref)
        assert h.store.get("VM", ref)["name_label"] == "vm"
        # session.local_logout is pool-admin only
        await fails(h, "RBAC_PERMISSION_DENIED", "session.local_logout", ro)
    run(body, users={"reader": "read-only", "operator": "vm-operator"})


def test_failing_call_changes_nothing():
    async def body(h):
        s = await h.login()
        gen = h.store.generation
        n = len(h.store.records("VM"))
        await fails(h, "FIELD_TYPE_ERROR", "VM.create", s, {"name_label": "x"})
        assert h.store.generation == gen and len(h.store.records("VM")) == n
    run(body)


def test_null_for_an_optional_ref_whose_default_is_null():
    """A client that sends the reference's default (NULL) for an optional ref parameter has
    left the option unset: it passes the handle check (host.evacuate's network); a required
    ref parameter, or an optional one given a dangling ref, is still HANDLE_INVALID."""
    async def body(h):
        s = await h.login()
        host = (await h.call("host.get_all", s))[0]
        params = {p.name: p for p in MODEL.methods["host.evacuate"].arg_params}
        assert params["network"].default == NULL
        code = (await fails_any(h, "host.evacuate", s, host, NULL, 0))
        assert code != "HANDLE_INVALID"
        assert await fails(h, "HANDLE_INVALID", "host.evacuate", s, NULL, NULL, 0) \
            == ["host", NULL]
        bogus = "OpaqueRef:5b1c9e2a-0000-4000-8000-000000000000"
        assert await fails(h, "HANDLE_INVALID", "host.evacuate", s, host, bogus, 0) \
            == ["network", bogus]
    run(body)


async def fails_any(h, method, *params):
    """The error code of a call that may fail (or "" if it succeeds)."""
    try:
        await h.call(method, *params)
    except XenAPIError as exc:
        return exc.code
    return ""
