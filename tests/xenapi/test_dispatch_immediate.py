"""Dispatcher.immediate: the generic reads, which the RPC lane runs at once in the turn of the
loop that read them (server/eager.py). They must answer without ever waiting: checked here for
every one of them, on a real SQLite store."""
from __future__ import annotations

from harness import HTTP, VM_REQUIRED, Harness, run
from xenapi_impl.api.registry import IMPLEMENTATIONS
from xenapi_impl.errors import XenAPIError
from xenapi_impl.model import MODEL

def test_the_generic_reads_are_immediate_and_nothing_else():
    async def body(h):
        d = h.dispatcher
        for name in ("VM.get_record", "VM.get_name_label", "VM.get_all", "VM.get_all_records",
                     "VM.get_by_uuid", "VM.get_by_name_label", "host.get_record",
                     "VM_get_record"):      # the Python SDK's alias of VM.get_record
            assert d.immediate(name), name
        for name in ("VM.set_name_label", "VM.add_to_other_config", "VM.create", "VM.destroy",
                     "Async.VM.destroy", "VM.start", "event.from", "event.next",
                     "session.login_with_password", "VM.get_all_records_where",
                     "no.such_method"):
            assert not d.immediate(name), name
        # a getter with an explicit implementation may wait (it may ask the hypervisor or
        # read a file): message.get_record, host.get_servertime...
        explicit = [n for n in IMPLEMENTATIONS
                    if n in MODEL.methods and n.split(".", 1)[1].startswith("get")]
        assert "message.get_record" in explicit and "host.get_servertime" in explicit
        assert not any(d.immediate(n) for n in explicit)
    run(body)


def test_every_immediate_method_answers_without_waiting(tmp_path):
    async def body(h: Harness):
        d = h.dispatcher
        s = await h.login()
        waited, failed, answered = [], [], 0
        for name in d.method_names():
            if not d.immediate(name):
                continue
            msg = MODEL.methods[name]
            records = h.store.records(msg.cls)
            ref, rec = next(iter(records.items()), ("OpaqueRef:none", None))
            arg = {"get_field": ref, "get_record": ref,
                   "get_by_uuid": rec["uuid"] if rec else "no-such-uuid",
                   "get_by_name_label": rec.get("name_label", "x") if rec else "x"
                   }.get(msg.implicit)
            coro = d.call(name, [s] if arg is None else [s, arg], HTTP)
            try:
                coro.send(None)
            except StopIteration:
                answered += 1
            except XenAPIError as e:
                # only a reference or uuid of no object may fail, and without waiting too
                if rec is not None or e.code not in ("HANDLE_INVALID", "UUID_INVALID"):
                    failed.append((name, e.description))
            else:
                coro.close()
                waited.append(name)
        assert not waited and not failed
        # most classes have objects in a seeded store: their reads ran to the answer
        assert answered > 300
    run(body, str(tmp_path / "db.sqlite"))


# --- Dispatcher.light: the generic writes the RPC lane drives without a task --------------------

def test_the_generic_field_writes_are_light_on_a_store_of_this_host_only():
    async def body(h):
        d = h.dispatcher
        for name in ("VM.set_name_label", "VM.add_to_xenstore_data",
                     "VM.remove_from_xenstore_data", "VM.add_tags", "VM.remove_tags",
                     "host.set_name_description", "VM_set_name_label"):
            assert d.light(name), name
        for name in ("VM.get_record", "VM.create", "VM.destroy", "Async.VM.destroy", "VM.start",
                     "VM.add_to_other_config",      # an explicit implementation
                     "event.from", "session.login_with_password", "no.such_method"):
            assert not d.light(name), name
        # a setter with an explicit implementation may do anything (VM.set_memory_limits...)
        explicit = [n for n in IMPLEMENTATIONS
                    if n in MODEL.methods and n.split(".", 1)[1].startswith("set_")]
        assert explicit and not any(d.light(n) for n in explicit)
        # a pool's store times its commits (asyncio.timeout needs the task): none there
        h.store.shared = True
        assert not d.light("VM.set_name_label")
    run(body)


def test_light_writes_run_to_their_durable_answer_without_a_task(tmp_path):
    """Driven as the lane drives them (server/stepper.py, no task: asyncio.timeout and the
    like would fail), the generic writes of a VM reach SQLite and their answers."""
    import asyncio
    from xenapi_impl.server.stepper import Stepper
    from xenapi_impl.store import open_store, store_specs
    path = str(tmp_path / "db.sqlite")

    async def body(h: Harness):
        d = h.dispatcher
        s = await h.login()
        vm = await h.call("VM.create", s, dict(VM_REQUIRED, name_label="before"))
        loop = asyncio.get_running_loop()
        calls = [("VM.set_name_label", [vm, "after"]),
                 ("VM.add_to_xenstore_data", [vm, "k", "v"]),
                 ("VM.add_to_xenstore_data", [vm, "gone", "x"]),
                 ("VM.remove_from_xenstore_data", [vm, "gone"]),
                 ("VM.add_tags", [vm, "t1"]),
                 ("VM.set_name_label", ["OpaqueRef:nonexistent", "x"])]
        outcomes: list = []

        async def one(name, args):
            try:
                outcomes.append(("ok", await d.call(name, [s, *args], HTTP),
                                 asyncio.current_task()))
            except XenAPIError as e:
                outcomes.append(("error", e.description[0], asyncio.current_task()))

        owner: set[Stepper] = set()
        for name, args in calls:
            assert d.light(name)
            st = Stepper(loop, one(name, args), owner)
            loop.call_soon(st.start)            # from a plain callback, as the lane's reads
            await asyncio.sleep(0)
            await asyncio.wait_for(st.finished(), 10)
        assert [o[:2] for o in outcomes] == [("ok", None)] * 5 + [("error", "HANDLE_INVALID")]
        assert all(o[2] is None for o in outcomes)
        # several at once: the loop is not idle, so their commits go to the writer thread and
        # each stepper waits for its commit's future
        handed = []
        hand_over = h.store._hand_over
        h.store._hand_over = lambda: (handed.append(len(h.store._turn)), hand_over())[1]
        vms = [await h.call("VM.create", s, dict(VM_REQUIRED, name_label=f"v{i}"))
               for i in range(8)]
        outcomes.clear()
        steppers = [Stepper(loop, one("VM.set_name_label", [v, f"renamed-{i}"]), owner)
                    for i, v in enumerate(vms)]
        for st in steppers:
            loop.call_soon(st.start)
        await asyncio.wait_for(asyncio.gather(*(st.finished() for st in steppers)), 10)
        assert [o[:2] for o in outcomes] == [("ok", None)] * 8 and not owner
        assert all(o[2] is None for o in outcomes) and sum(handed) >= 1
        assert [h.store.get("VM", v)["name_label"] for v in vms] == \
            [f"renamed-{i}" for i in range(8)]
        return vm

    vm = run(body, path)
    rec = open_store(path, store_specs(MODEL)).get("VM", vm)
    assert rec["name_label"] == "after" and rec["xenstore_data"] == {"k": "v"}
    assert rec["tags"] == ["t1"]
