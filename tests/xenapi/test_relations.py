"""One-to-many relations: declared against the model, kept current on every write."""
from __future__ import annotations

import asyncio

import pytest
from harness import VM_REQUIRED, run

from xenapi_impl.model import MODEL
from xenapi_impl.model.relations import LinkedTransaction, Relation, Relations
from xenapi_impl.store import NULL_REF, MemoryStore, new_ref, new_uuid, store_specs

REL = MODEL.relations
#: ref sets among served classes that are not the inverse of a child field
NOT_RELATIONS = {("session", "tasks"),      # xapi's task.session is not in the API
                 ("role", "subroles"),      # a constructor field, not derived
                 ("VM", "groups"), ("VM_group", "VMs")}    # many-to-many, kept by api/


def test_every_declared_relation_matches_the_model():
    assert len(REL) == 27
    assert REL.problems(MODEL) == []
    for r in REL:
        child = MODEL.classes[r.child].fields[r.field]
        parent = MODEL.classes[r.parent].fields[r.set_field]
        assert (child.type.kind, child.type.cls) == ("ref", r.parent)
        assert (parent.type.kind, parent.type.element.cls) == ("set", r.child)
        assert parent.qualifier == "RO/runtime"


def test_every_served_ref_set_is_a_declared_relation_or_a_known_exception():
    sets = {(c.name, f.name) for c in MODEL.classes.values() for f in c.fields.values()
            if f.type.kind == "set" and f.type.element.kind == "ref"
            and f.type.element.cls in MODEL.classes}
    derived = {(r.parent, r.set_field) for r in REL}
    assert sets - derived == NOT_RELATIONS
    assert derived <= sets


def test_parent_sets_have_no_client_writers():
    for r in REL:
        for prefix in ("set_", "add_", "remove_"):
            assert f"{r.parent}.{prefix}{r.set_field}" not in MODEL.methods


def test_lookups_by_child_and_parent():
    assert {(r.field, r.parent) for r in REL.of_child("VBD")} == {("VM", "VM"), ("VDI", "VDI")}
    assert {r.set_field for r in REL.of_parent("VM")} == {
        "VBDs", "VIFs", "consoles", "crash_dumps", "snapshots", "children"}
    assert REL.of_child("pool") == () and REL.of_parent("VBD") == ()
    assert REL.is_derived("SR", "VDIs") and not REL.is_derived("VDI", "SR")


def test_problems_reports_a_wrong_declaration():
    bad = Relations([Relation("VBD", "VM", "VDI", "VBDs"),
                     Relation("VBD", "nosuch", "VM", "VBDs"),
                     Relation("VDI", "SR", "SR", "PBDs"),
                     Relation("VBD", "VM", "PGPU", "x")])
    assert bad.problems(MODEL) == [
        "VBD.VM is not a 'VDI ref'",
        "VBD.nosuch is not a 'VM ref'",
        "SR.PBDs is not a 'VDI ref set'",
        "Relation(child='VBD', field='VM', parent='PGPU', set_field='x'): class not served",
    ]


# --- upkeep, on the store directly -------------------------------------------------------------

def _rec(cls: str, **values):
    rec = MODEL.classes[cls].default_record()
    rec.update(uuid=new_uuid(), **values)
    return rec


def _vm(**values):
    return _rec("VM", **{**VM_REQUIRED, "memory_static_max": 1, "memory_dynamic_max": 1,
                         "memory_dynamic_min": 1, "memory_static_min": 1, "VCPUs_max": 1,
                         "VCPUs_at_startup": 1, **values})


def _vbd(vm: str, vdi: str = NULL_REF):
    return _rec("VBD", VM=vm, VDI=vdi, userdevice="0", bootable=False, mode="RW", type="Disk",
                empty=vdi == NULL_REF, other_config={}, qos_algorithm_type="",
                qos_algorithm_params={})


async def _write(store, fn):
    async with store.transaction() as raw:
        txn = REL.wrap(raw)
        assert isinstance(txn, LinkedTransaction) and REL.wrap(txn) is txn
        fn(txn)


def test_create_move_destroy_keep_parent_sets_current():
    async def body():
        store = MemoryStore(store_specs(MODEL))
        a, b, d1, d2 = new_ref(), new_ref(), new_ref(), new_ref()
        await _write(store, lambda t: (t.create("VM", a, _vm()), t.create("VM", b, _vm())))
        await _write(store, lambda t: (t.create("VBD", d1, _vbd(a)), t.create("VBD", d2, _vbd(a))))
        assert store.get("VM", a)["VBDs"] == [d1, d2] and store.get("VM", b)["VBDs"] == []

        gen = store.generation
        await _write(store, lambda t: t.update("VBD", d1, {"VM": b, "userdevice": "3"}))
        assert store.get("VM", a)["VBDs"] == [d2] and store.get("VM", b)["VBDs"] == [d1]
        changed = {(c.cls, c.ref, c.operation) for c in store.changes_since(gen)}
        assert changed == {("VBD", d1, "mod"), ("VM", a, "mod"), ("VM", b, "mod")}

        gen = store.generation
        await _write(store, lambda t: t.update("VBD", d1, {"userdevice": "4"}))   # no move
        assert {(c.cls, c.ref) for c in store.changes_since(gen)} == {("VBD", d1)}

        await _write(store, lambda t: t.delete("VBD", d2))
        assert store.get("VM", a)["VBDs"] == []
        # a destroyed parent leaves its children's ref dangling (xapi's database does too)
        await _write(store, lambda t: t.delete("VM", b))
        assert store.get("VBD", d1)["VM"] == b
        await _write(store, lambda t: t.delete("VBD", d1))     # dangling parent: no error
        assert store.get("VBD", d1) is None
    asyncio.run(body())


def test_child_created_before_its_parent_in_one_transaction_and_self_relations():
    async def body():
        store = MemoryStore(store_specs(MODEL))
        vm, snap, vbd, gone = new_ref(), new_ref(), new_ref(), new_ref()

        def fn(t):
            t.create("VBD", vbd, _vbd(vm))            # parent not there yet
            t.create("VBD", gone, _vbd(vm))
            t.delete("VBD", gone)                     # created and dropped: not a child
            t.create("VM", vm, _vm(VBDs=["OpaqueRef:bogus"]))   # given derived value ignored
            t.create("VM", snap, _vm(snapshot_of=vm))
        await _write(store, fn)
        assert store.get("VM", vm)["VBDs"] == [vbd]
        assert store.get("VM", vm)["snapshots"] == [snap]
    asyncio.run(body())


def test_writes_to_a_derived_set_are_ignored():
    async def body():
        store = MemoryStore(store_specs(MODEL))
        vm, vbd = new_ref(), new_ref()
        await _write(store, lambda t: (t.create("VM", vm, _vm()), t.create("VBD", vbd, _vbd(vm))))
        gen = store.generation
        await _write(store, lambda t: t.update("VM", vm, {"VBDs": []}))
        assert store.get("VM", vm)["VBDs"] == [vbd] and store.generation == gen
        await _write(store, lambda t: t.update("VM", vm, {"VBDs": [], "name_label": "n"}))
        assert store.get("VM", vm)["VBDs"] == [vbd]
        assert store.get("VM", vm)["name_label"] == "n"
    asyncio.run(body())


def test_failed_call_changes_no_parent():
    async def body():
        store = MemoryStore(store_specs(MODEL))
        vm = new_ref()
        await _write(store, lambda t: t.create("VM", vm, _vm()))
        with pytest.raises(RuntimeError):
            async with store.transaction() as raw:
                REL.wrap(raw).create("VBD", new_ref(), _vbd(vm))
                raise RuntimeError("the call fails after writing")
        assert store.get("VM", vm)["VBDs"] == []
    asyncio.run(body())


# --- through the dispatcher -------------------------------------------------------------------

def test_messages_maintain_relations_and_event_from_sees_the_parent_change():
    async def body(h):
        s = await h.login()
        vm = await h.call("VM.create", s, dict(VM_REQUIRED))
        token = (await h.call("event.from", s, ["vm"], "", 0.0))["token"]
        vbd = await h.call("VBD.create", s, {
            "VM": vm, "VDI": NULL_REF, "userdevice": "3", "bootable": False, "mode": "RO",
            "type": "CD", "empty": True, "other_config": {}, "qos_algorithm_type": "",
            "qos_algorithm_params": {}})
        assert await h.call("VM.get_VBDs", s, vm) == [vbd]
        r = await h.call("event.from", s, ["vm"], token, 0.0)
        assert [(e["operation"], e["ref"]) for e in r["events"]] == [("mod", vm)]
        assert r["events"][0]["snapshot"]["VBDs"] == [vbd]
        await h.call("VBD.destroy", s, vbd)
        assert await h.call("VM.get_VBDs", s, vm) == []
    run(body)


def test_sqlite_does_not_rewrite_a_parent_set_on_each_child_change_and_reloads_it(tmp_path):
    """A parent's set is derived: a child's commit writes the child's row only (writing the
    whole set per child made 1,000 VM starts rewrite host.resident_VMs 1,000 times), and a
    store opened again on the file has every set back from the children."""
    import sqlite3

    from xenapi_impl.store.sqlite import SqliteStore

    path = str(tmp_path / "x.db")

    async def body():
        store = SqliteStore(path, store_specs(MODEL), exclusive=True)
        vm, vbds = new_ref(), [new_ref() for _ in range(3)]
        await _write(store, lambda t: t.create("VM", vm, _vm()))
        for d in vbds:
            await _write(store, lambda t, d=d: t.create("VBD", d, _vbd(vm)))
        assert store.get("VM", vm)["VBDs"] == vbds
        await store.close()
        column = sqlite3.connect(path).execute('SELECT "VBDs" FROM "c_VM"').fetchone()[0]
        assert column == "[]"               # as created: no rewrite per VBD
        again = SqliteStore(path, store_specs(MODEL), exclusive=True)
        assert again.get("VM", vm)["VBDs"] == vbds
        await _write(again, lambda t: t.delete("VBD", vbds[1]))
        await again.close()
        third = SqliteStore(path, store_specs(MODEL), exclusive=True)
        assert third.get("VM", vm)["VBDs"] == [vbds[0], vbds[2]]
        await third.close()
    asyncio.run(body())
