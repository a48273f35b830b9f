"""Async calls, task records, cancellation, destroy, garbage collection."""
from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from harness import VM_REQUIRED, run
from xenapi_impl.api.registry import IMPLEMENTATIONS
from xenapi_impl.errors import XenAPIError


async def finished(h, s, task):
    await h.services.tasks.wait(task)
    return await h.call("task.get_record", s, task)


def test_async_create_succeeds_with_an_xml_fragment_result():
    async def body(h):
        s = await h.login()
        task = await h.call("Async.VM.create", s, dict(VM_REQUIRED))
        rec = await finished(h, s, task)
        assert rec["status"] == "success" and rec["progress"] == 1.0
        vm = next(iter(h.store.records("VM")))
        assert rec["result"] == f"<value>{vm}</value>"
        assert rec["error_info"] == [] and rec["finished"] >= rec["created"]
        assert rec["resident_on"] == h.services.host_ref and rec["name_label"] == "Async.VM.create"
        task = await h.call("Async.VM.destroy", s, vm)
        assert (await finished(h, s, task))["result"] == ""          # void
    run(body)


def test_async_argument_errors_are_synchronous_and_run_errors_go_to_the_task():
    async def body(h):
        s = await h.login()
        with pytest.raises(XenAPIError) as info:        # checked before any task exists
            await h.call("Async.VM.create", s, {"name_label": "x"})
        assert info.value.description == ["FIELD_TYPE_ERROR", "user_version"]
        assert h.store.records("task") == {}

        async def failing_destroy(ctx, ref):
            ctx.txn.delete("VM", ref)
            raise XenAPIError("VM_BAD_POWER_STATE", ref, "halted", "running")

        vm = await h.call("VM.create", s, dict(VM_REQUIRED))
        h.dispatcher._table["Async.VM.destroy"].impl = failing_destroy
        task = await h.call("Async.VM.destroy", s, vm)
        rec = await finished(h, s, task)
        assert rec["status"] == "failure"
        assert rec["error_info"] == ["VM_BAD_POWER_STATE", vm, "halted", "running"]
        assert h.store.get("VM", vm) is not None        # its transaction was discarded
    run(body)


def test_cancel_reaches_the_running_operation():
    async def body(h):
        s = await h.login()
        started = asyncio.Event()
        release = asyncio.Event()

        async def slow_destroy(ctx, ref):          # a stand-in long operation
            started.set()
            await release.wait()
            ctx.task.check_cancelled()
            ctx.txn.delete("VM", ref)

        vm = await h.call("VM.create", s, dict(VM_REQUIRED))
        h.dispatcher._table["Async.VM.destroy"].impl = slow_destroy
        task = await h.call("Async.VM.destroy", s, vm)
        await started.wait()
        assert (await h.call("task.get_record", s, task))["allowed_operations"] == ["cancel"]
        await h.call("task.cancel", s, task)
        assert await h.call("task.get_status", s, task) == "cancelling"
        release.set()
        rec = await finished(h, s, task)
        assert rec["status"] == "cancelled"
        assert h.store.get("VM", vm) is not None        # the operation stopped before acting
        with pytest.raises(XenAPIError) as info:
            await h.call("task.cancel", s, task)
        assert info.value.code == "OPERATION_NOT_ALLOWED"
    run(body)


def test_client_tasks_setters_and_destroy():
    async def body(h):
        s = await h.login()
        t = await h.call("task.create", s, "backup", "nightly")
        rec = await h.call("task.get_record", s, t)
        assert (rec["name_label"], rec["name_description"], rec["status"]) == \
            ("backup", "nightly", "pending")
        await h.call("task.set_progress", s, t, 0.5)
        await h.call("task.add_to_other_config", s, t, "k", "v")
        await h.call("task.set_status", s, t, "success")
        rec = await h.call("task.get_record", s, t)
        assert (rec["progress"], rec["other_config"], rec["status"]) == (0.5, {"k": "v"}, "success")
        with pytest.raises(XenAPIError) as info:
            await h.call("task.set_status", s, t, "exploded")
        assert info.value.code == "INVALID_VALUE"
        await h.call("task.destroy", s, t)
        with pytest.raises(XenAPIError) as info:
            await h.call("task.get_record", s, t)
        assert info.value.description == ["HANDLE_INVALID", "task", t]
    run(body)


def test_finished_tasks_are_garbage_collected_by_xapis_rule():
    async def body(h):
        s = await h.login()
        mgr = h.services.tasks
        mgr.gc_keep = 5
        refs = [await h.call("task.create", s, f"t{i}", "") for i in range(8)]
        for r in refs:
            await h.call("task.set_status", s, r, "success")
        old = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
        async with h.store.transaction() as txn:
            for r in refs[:6]:
                txn.update("task", r, {"finished": old})
        assert await mgr.gc() == 6
        assert set(h.store.records("task")) == set(refs[6:])
        assert await mgr.gc() == 0            # 2 left, under the threshold
    run(body)


def test_explicit_implementations_registered_for_the_core_messages():
    for name in ("session.login_with_password", "session.logout", "session.change_password",
                 "task.cancel", "event.from", "event.next", "event.inject"):
        assert name in IMPLEMENTATIONS


def test_only_owners_and_operators_cancel_or_destroy_a_task():
    async def body(h):
        alice = await h.login("alice")
        bob = await h.login("bob")
        ops = await h.login("ops")
        t = await h.call("task.create", alice, "mine", "")
        for method in ("task.cancel", "task.destroy"):
            with pytest.raises(XenAPIError) as info:
                await h.call(method, bob, t)
            action = method.split(".")[1]
            assert info.value.description == [
                "RBAC_PERMISSION_DENIED", f"task.{action}/any",
                "No permission in user session. (Roles with this permission: pool-admin, "
                "pool-operator)"]
        await h.call("task.cancel", alice, t)               # the owner may
        assert await h.call("task.get_status", bob, t) == "cancelled"
        await h.call("task.destroy", ops, t)                # and so may a pool operator
        assert h.store.get("task", t) is None
    run(body, users={"alice": "vm-operator", "bob": "vm-operator", "ops": "pool-operator"})


def test_only_owners_and_operators_write_a_task():
    """task.set_status/result/error_info/progress on a vm-admin's task: refused (exact
    RBAC_PERMISSION_DENIED, nothing written) for every lesser role; allowed to the owner and
    to pool operators."""
    writes = {"task.set_status": "success", "task.set_result": "<value>forged</value>",
              "task.set_error_info": ["FORGED"], "task.set_progress": 0.9}

    async def body(h):
        admin = await h.login("admin")
        t = await h.call("task.create", admin, "mine", "")
        before = await h.call("task.get_record", admin, t)
        for user in ("ro", "vmop", "vmpower"):
            other = await h.login(user)
            for method, value in writes.items():
                with pytest.raises(XenAPIError) as info:
                    await h.call(method, other, t, value)
                action = method.split(".")[1]
                assert info.value.description == [
                    "RBAC_PERMISSION_DENIED", f"task.{action}/any",
                    "No permission in user session. (Roles with this permission: pool-admin, "
                    "pool-operator)"]
        assert await h.call("task.get_record", admin, t) == before
        ops = await h.login("ops")
        await h.call("task.set_progress", ops, t, 0.5)          # a pool operator may
        for method, value in writes.items():                     # and so may the owner
            await h.call(method, admin, t, value)
        rec = await h.call("task.get_record", admin, t)
        assert (rec["status"], rec["result"], rec["error_info"], rec["progress"]) == (
            "success", "<value>forged</value>", ["FORGED"], 0.9)
    run(body, users={"admin": "vm-admin", "ro": "read-only", "vmop": "vm-operator",
                     "vmpower": "vm-power-admin", "ops": "pool-operator"})


def test_task_progress_refuses_nan_and_clamps_the_rest():
    async def body(h):
        s = await h.login()
        t = await h.call("task.create", s, "t", "")
        with pytest.raises(XenAPIError) as info:
            await h.call("task.set_progress", s, t, float("nan"))
        assert info.value.description == ["INVALID_VALUE", "value", "nan"]
        assert await h.call("task.get_progress", s, t) == 0.0
        await h.call("task.set_progress", s, t, float("inf"))
        assert await h.call("task.get_progress", s, t) == 1.0
    run(body)
