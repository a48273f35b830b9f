"""event.from, event.inject, event.get_current_id, legacy register/next."""
from __future__ import annotations

import asyncio

import pytest

from harness import VM_REQUIRED, run
from xenapi_impl.errors import XenAPIError
from xenapi_impl.server import events as events_mod


async def desc_of(coro):
    with pytest.raises(XenAPIError) as info:
        await coro
    return info.value.description


def test_first_call_returns_every_object_then_only_changes():
    async def body(h):
        s = await h.login()
        vm = await h.call("VM.create", s, dict(VM_REQUIRED))
        r = await h.call("event.from", s, ["VM", "pool"], "", 0.0)
        got = {(e["class"], e["operation"], e["ref"]) for e in r["events"]}
        assert got == {("vm", "add", vm), ("pool", "add", h.services.pool_ref)}
        ev = next(e for e in r["events"] if e["ref"] == vm)
        assert ev["snapshot"] == h.store.get("VM", vm) and isinstance(ev["id"], int)
        counts = r["valid_ref_counts"]
        assert (counts["vm"], counts["pool"], counts["task"], counts["host"]) == (1, 1, 0, 1)
        assert set(counts) == {c.lower() for c in h.services.event_classes}
        token = r["token"]
        assert len(token) == 41 and token[20] == ","          # xapi's "%020d,%020d"
        again = await h.call("event.from", s, ["VM", "pool"], token, 0.0)
        assert again["events"] == [] and again["token"] == token

        await h.call("VM.set_name_label", s, vm, "renamed")
        vm2 = await h.call("VM.create", s, dict(VM_REQUIRED))
        await h.call("VM.set_name_label", s, vm2, "x")
        r = await h.call("event.from", s, ["vm"], token, 0.0)
        ops = [(e["operation"], e["ref"]) for e in r["events"]]
        assert ops == [("mod", vm), ("add", vm2)]                  # coalesced, in order
        assert r["events"][0]["snapshot"]["name_label"] == "renamed"
        assert r["token"] > token                                  # compares as a string
        await h.call("VM.destroy", s, vm)
        r2 = await h.call("event.from", s, ["vm"], r["token"], 0.0)
        assert [(e["operation"], e["ref"]) for e in r2["events"]] == [("del", vm)]
        assert "snapshot" not in r2["events"][0]
        assert r2["valid_ref_counts"]["vm"] == 1
    run(body)


def test_subscriptions_and_parse_failures():
    async def body(h):
        s = await h.login()
        a = await h.call("VM.create", s, dict(VM_REQUIRED))
        b = await h.call("VM.create", s, dict(VM_REQUIRED))
        r = await h.call("event.from", s, [f"vm/{a}"], "", 0.0)
        assert [e["ref"] for e in r["events"]] == [a]
        r = await h.call("event.from", s, ["*"], "", 0.0)
        assert {a, b, h.services.pool_ref, h.services.host_ref} <= {e["ref"] for e in r["events"]}
        assert r["valid_ref_counts"]["task"] == 0 and r["valid_ref_counts"]["vm"] == 2
        assert await desc_of(h.call("event.from", s, ["nosuchclass"], "", 0.0)) == \
            ["EVENT_SUBSCRIPTION_PARSE_FAILURE", "nosuchclass"]
        for bad in ("garbage", "1,2,3", "-5", "12,x", "12", ","):
            assert await desc_of(h.call("event.from", s, ["vm"], bad, 0.0)) == \
                ["EVENT_FROM_TOKEN_PARSE_FAILURE", bad]
        assert await desc_of(h.call("event.from", s, ["vm"], "", "soon")) == \
            ["FIELD_TYPE_ERROR", "timeout"]
    run(body)


def test_a_write_wakes_a_blocked_event_from_at_once():
    async def body(h):
        s = await h.login()
        token = (await h.call("event.from", s, ["vm"], "", 0.0))["token"]
        blocked = asyncio.create_task(h.call("event.from", s, ["vm"], token, 60.0))
        await asyncio.sleep(0.05)
        assert not blocked.done()
        await h.call("pool.set_name_label", s, h.services.pool_ref, "p")   # not subscribed
        await asyncio.sleep(0.05)
        assert not blocked.done()
        vm = await h.call("VM.create", s, dict(VM_REQUIRED))
        r = await asyncio.wait_for(blocked, 5)
        assert [e["ref"] for e in r["events"]] == [vm]
    run(body)


def test_the_woken_event_from_answers_before_the_write_that_woke_it():
    """A write that wakes watchers lets them answer first (one loop turn): a watcher never
    learns of a change later than its writer does. Calls that wake nobody do not wait."""
    async def body(h):
        s = await h.login()
        token = (await h.call("event.from", s, ["vm"], "", 0.0))["token"]
        order: list[str] = []

        async def watch():
            r = await h.call("event.from", s, ["vm"], token, 60.0)
            order.append("event.from")
            return r
        blocked = asyncio.create_task(watch())
        await asyncio.sleep(0.05)
        vm = await h.call("VM.create", s, dict(VM_REQUIRED))
        order.append("VM.create")
        assert [e["ref"] for e in (await asyncio.wait_for(blocked, 5))["events"]] == [vm]
        assert order == ["event.from", "VM.create"]

        # nobody waiting: the writer's answer is not deferred behind anything
        order.clear()
        other = asyncio.create_task(asyncio.sleep(0))
        await h.call("VM.set_name_label", s, vm, "x")
        assert not other.done()
        await other
    run(body)


def test_timeout_returns_empty_with_counts():
    async def body(h):
        s = await h.login()
        token = (await h.call("event.from", s, ["task"], "", 0.0))["token"]
        r = await h.call("event.from", s, ["task"], token, 0.05)
        assert (r["events"], r["valid_ref_counts"]["task"], r["token"]) == ([], 0, token)
    run(body)


def test_inject_and_current_id_and_task_events():
    async def body(h):
        s = await h.login()
        pool = h.services.pool_ref
        token = await h.call("event.inject", s, "pool", pool)
        assert isinstance(token, str) and int(token.split(",")[0]) == \
            await h.call("event.get_current_id", s)
        assert await desc_of(h.call("event.inject", s, "pool", "OpaqueRef:x")) == \
            ["HANDLE_INVALID", "pool", "OpaqueRef:x"]
        before = (await h.call("event.from", s, ["pool"], "", 0.0))["token"]
        await h.call("event.inject", s, "pool", pool)
        r = await h.call("event.from", s, ["pool"], before, 0.0)
        assert [(e["operation"], e["ref"]) for e in r["events"]] == [("mod", pool)]

        task = await h.call("Async.VM.create", s, dict(VM_REQUIRED))
        await h.services.tasks.wait(task)
        r = await h.call("event.from", s, ["task"], before, 0.0)
        assert [(e["operation"], e["snapshot"]["status"]) for e in r["events"]] == \
            [("add", "success")]
        assert r["valid_ref_counts"]["task"] == 1
    run(body)


def test_legacy_register_next():
    async def body(h):
        s = await h.login()
        assert await desc_of(h.call("event.next", s)) == ["SESSION_NOT_REGISTERED", s]
        await h.call("event.register", s, ["vm"])
        waiter = asyncio.create_task(h.call("event.next", s))
        await asyncio.sleep(0.05)
        assert not waiter.done()
        vm = await h.call("VM.create", s, dict(VM_REQUIRED))
        evs = await asyncio.wait_for(waiter, 5)
        assert [(e["class"], e["operation"], e["ref"]) for e in evs] == [("vm", "add", vm)]
        assert evs[0]["obj_uuid"] == h.store.get("VM", vm)["uuid"]

        old = events_mod.LEGACY_QUEUE_MAX
        events_mod.LEGACY_QUEUE_MAX = 2
        try:
            for _ in range(3):
                await h.call("VM.create", s, dict(VM_REQUIRED))
            assert await desc_of(h.call("event.next", s)) == ["EVENTS_LOST"]
        finally:
            events_mod.LEGACY_QUEUE_MAX = old
        await h.call("event.unregister", s, ["vm"])
        assert await desc_of(h.call("event.next", s)) == ["SESSION_NOT_REGISTERED", s]
    run(body)


def test_python_sdk_alias_event_from():
    async def body(h):
        s = await h.login()
        r = await h.call("event_from", s, ["pool"], "", 0.0)
        assert len(r["events"]) == 1
    run(body)


def test_a_token_older_than_the_remembered_deletions_gets_events_lost(monkeypatch):
    """Deletions are forgotten past a count and an age; event.from from a token before what is
    remembered answers EVENTS_LOST (the client re-reads everything) instead of silently
    missing the "del" events; tokens within the memory still work."""
    from xenapi_impl.store import memory

    monkeypatch.setattr(memory, "MAX_TOMBSTONES", 2)

    async def body(h):
        s = await h.login()
        vms = [await h.call("VM.create", s, dict(VM_REQUIRED)) for _ in range(3)]
        old = (await h.call("event.from", s, ["vm"], "", 0.0))["token"]
        await h.call("VM.destroy", s, vms[0])
        await h.call("VM.destroy", s, vms[1])
        recent = (await h.call("event.from", s, ["vm"], "", 0.0))["token"]
        await h.call("VM.destroy", s, vms[2])
        # each destroy deletes a VM and its metrics: only the last one's two are remembered
        assert await desc_of(h.call("event.from", s, ["vm"], old, 0.0)) == ["EVENTS_LOST"]
        r = await h.call("event.from", s, ["vm"], recent, 0.0)
        assert {(e["ref"], e["operation"]) for e in r["events"]} >= {(vms[2], "del")}
        r = await h.call("event.from", s, ["vm"], "", 0.0)      # starting afresh works
        assert not {e["ref"] for e in r["events"]} & set(vms)
    run(body)


def test_deletions_are_forgotten_after_the_age_bound(monkeypatch):
    import datetime as dt

    from xenapi_impl.store import memory

    async def body(h):
        s = await h.login()
        vm = await h.call("VM.create", s, dict(VM_REQUIRED))
        token = (await h.call("event.from", s, ["vm"], "", 0.0))["token"]
        await h.call("VM.destroy", s, vm)
        r = await h.call("event.from", s, ["vm"], token, 0.0)
        assert [(e["ref"], e["operation"]) for e in r["events"]] == [(vm, "del")]
        later = memory._now() + memory.TOMBSTONE_MAX_AGE + dt.timedelta(seconds=1)
        monkeypatch.setattr(memory, "_now", lambda: later)
        await h.call("pool.set_name_label", s, h.services.pool_ref, "any commit prunes")
        assert h.store.horizon > events_mod.parse_token(token)
        assert await desc_of(h.call("event.from", s, ["vm"], token, 0.0)) == ["EVENTS_LOST"]
    run(body)
