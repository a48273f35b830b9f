"""Dispatcher.immediate: the generic reads, which the RPC lane runs at once in the turn of the
loop that read them (server/eager.py). They must answer without ever waiting: checked here for
every one of them, on a real SQLite store."""
from __future__ import annotations

from harness import HTTP, Harness, run
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
