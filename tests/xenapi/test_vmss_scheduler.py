"""The snapshot scheduler (api/vmss.py) with a fast clock: days of schedule in a moment,
through the in-process server (real model, store, dispatcher, VM.snapshot)."""
from __future__ import annotations

import datetime as dt

from harness import UNIX_ROOT, VM_REQUIRED, run
from xenapi_impl.api.vmss import Scheduler, last_due

UTC = dt.timezone.utc


def at(day: int, hour: int, minute: int) -> dt.datetime:
    """A time in March 2026 (the 2nd is a Monday)."""
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def test_last_due_of_each_frequency() -> None:
    now = at(4, 10, 20)                                   # Wednesday 10:20
    assert last_due("hourly", {"min": "15"}, now) == at(4, 10, 15)
    assert last_due("hourly", {"min": "30"}, now) == at(4, 9, 30)
    assert last_due("hourly", {}, now) == at(4, 10, 0)
    assert last_due("daily", {"hour": "10", "min": "15"}, now) == at(4, 10, 15)
    assert last_due("daily", {"hour": "23", "min": "45"}, now) == at(3, 23, 45)
    assert last_due("weekly", {"hour": "1", "min": "0", "days": "Monday"}, now) == at(2, 1, 0)
    assert last_due("weekly", {"hour": "11", "min": "0", "days": "Wednesday,Monday"},
                    now) == at(2, 11, 0)
    assert last_due("weekly", {"hour": "9", "days": "Wednesday"}, now) == at(4, 9, 0)


def test_schedule_runs_at_its_times_and_keeps_the_newest() -> None:
    async def body(h):
        s = await h.call("session.login_with_password", "root", "", caller=UNIX_ROOT)

        async def call(method, *args):
            return await h.call(method, s, *args, caller=UNIX_ROOT)

        vm = await call("VM.create", {**VM_REQUIRED, "name_label": "app"})
        vmss = await call("VMSS.create", {
            "name_label": "hourly", "type": "snapshot", "frequency": "hourly",
            "schedule": {"min": "15"}, "retained_snapshots": "2"})
        await call("VM.set_snapshot_schedule", vm, vmss)
        clock = [at(2, 10, 5)]
        sched = Scheduler(h.services, clock=lambda: clock[0])

        async def tick_at(when: dt.datetime) -> int:
            clock[0] = when
            return await sched.tick()

        def snapshots() -> list[dict]:
            return sorted((r for r in h.store.records("VM").values()
                           if r["snapshot_of"] == vm and r["is_vmss_snapshot"]),
                          key=lambda r: r["other_config"]["vmss_run_time"])

        # seen first at 10:05: 09:15 is past, nothing runs until 10:15
        ran = [await tick_at(at(2, 10, 5)), await tick_at(at(2, 10, 14))]
        assert ran == [0, 0] and snapshots() == []
        assert await tick_at(at(2, 10, 15)) == 1
        assert [r["name_label"] for r in snapshots()] == ["app-hourly-20260302-1015"]
        assert h.store.get("VMSS", vmss)["last_run_time"] == at(2, 10, 15)
        assert await tick_at(at(2, 10, 40)) == 0          # already ran for 10:15
        assert await tick_at(at(2, 11, 16)) == 1
        # hours missed (server busy or down): one run for the latest time, no catch-up
        assert await tick_at(at(2, 18, 50)) == 1
        names = [r["name_label"] for r in snapshots()]
        assert names == ["app-hourly-20260302-1115", "app-hourly-20260302-1815"]

        await call("VMSS.set_enabled", vmss, False)
        assert await tick_at(at(2, 19, 15)) == 0
        await call("VMSS.set_enabled", vmss, True)
        # daily at 02:30: not before the next 02:30
        await call("VMSS.set_frequency", vmss, "daily")
        await call("VMSS.set_schedule", vmss, {"hour": "2", "min": "30"})
        assert await tick_at(at(2, 23, 59)) == 0
        assert await tick_at(at(3, 2, 30)) == 1
        assert len(snapshots()) == 2
        assert [r["name_label"] for r in snapshots()][-1] == "app-hourly-20260303-0230"

        # a schedule without VMs does nothing; one created now waits for its next time
        await call("VM.set_snapshot_schedule", vm, "OpaqueRef:NULL")
        assert await tick_at(at(4, 2, 30)) == 0
        assert h.store.get("VMSS", vmss)["last_run_time"] == at(3, 2, 30)
        other = await call("VMSS.create", {
            "name_label": "new", "type": "snapshot", "frequency": "hourly", "schedule": {}})
        await call("VM.set_snapshot_schedule", vm, other)
        assert await tick_at(at(4, 2, 59)) == 0
        assert await tick_at(at(4, 3, 0)) == 1
        assert len(snapshots()) == 3          # the new schedule keeps 7 of the VM
    run(body)
