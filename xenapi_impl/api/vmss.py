"""VMSS.*: snapshot schedules that run.

A schedule (`frequency` hourly/daily/weekly; `schedule` keys `min` in 0/15/30/45, `hour` 0-23,
`days` a comma list of weekdays; in the host's local time) is checked and completed with
defaults as xapi does (INVALID_VALUE ["schedule:<key>", value]). At each scheduled time the
server's scheduler (`Scheduler`, started by the server, only on the pool master) snapshots every
VM of each enabled schedule (`type` snapshot; checkpoint for running VMs when the type is
checkpoint) as VMSS.snapshot_now does now: the snapshot is marked `is_vmss_snapshot`, the
oldest such snapshots of the VM beyond `retained_snapshots` are destroyed with their disks,
`last_run_time` is set, and a VMSS_SNAPSHOT_SUCCEEDED / VMSS_SNAPSHOT_FAILED message about the
schedule says how it went. The scheduler's clock is a parameter, so tests run days of
schedule in a moment.
"""
from __future__ import annotations

import asyncio
import datetime as _dt
import logging
from typing import Any, Callable

from ..errors import XenAPIError
from ..store import NULL_REF, new_ref, new_uuid
from .context import Context
from .internal_calls import call_as
from .registry import implements

log = logging.getLogger(__name__)

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MINUTES = ("0", "15", "30", "45")
#: frequency -> its schedule keys with their defaults (xapi's)
KEYS: dict[str, dict[str, str]] = {
    "hourly": {"min": "0"},
    "daily": {"hour": "0", "min": "0"},
    "weekly": {"hour": "0", "min": "0", "days": "Monday"},
}
ALL_KEYS = ("hour", "min", "days")
EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
#: xapi's bounds of retained_snapshots
RETAINED = (1, 10)
#: other_config key of a VMSS snapshot: the time of the run that took it (microseconds)
RUN_KEY = "vmss_run_time"


# --- checks ----------------------------------------------------------------------------------
def _bad(key: str, value: str) -> XenAPIError:
    return XenAPIError("INVALID_VALUE", f"schedule:{key}" if key else "schedule", value)


def check_value(key: str, value: str) -> str:
    """The canonical form of one schedule entry, or INVALID_VALUE."""
    if key == "min":
        if value not in MINUTES:
            raise _bad(key, value)
        return value
    if key == "hour":
        try:
            hour = int(value)
        except ValueError:
            raise _bad(key, value) from None
        if not 0 <= hour <= 23:
            raise _bad(key, value)
        return value
    if key == "days":
        out: list[str] = []
        for v in value.split(","):
            day = next((d for d in DAYS if d.lower() == v.lower()), None)
            if day is None:
                raise _bad(key, v)
            if day in out:
                raise _bad(key, value)
            out.append(day)
        return ",".join(out)
    raise _bad(key, value)


def check_schedule(schedule: dict[str, str], keys: tuple[str, ...]) -> dict[str, str]:
    """Every entry a key of `keys` with a valid value (canonical form)."""
    out = {}
    for k, v in schedule.items():
        if k not in keys:
            raise _bad(k, v)
        out[k] = check_value(k, v)
    return out


def complete(frequency: str, schedule: dict[str, str]) -> dict[str, str]:
    """The schedule for `frequency`: its keys only, missing ones at their default."""
    keys = KEYS[frequency]
    return check_schedule({k: schedule.get(k, d) for k, d in keys.items()}, tuple(keys))


def _check_retained(value: int) -> None:
    if not RETAINED[0] <= value <= RETAINED[1]:
        raise XenAPIError("INVALID_VALUE", "retained_snapshots", str(value))


def _check_type(value: str) -> None:
    # VSS support has been removed: xapi's pools never have the VSS feature
    if value == "snapshot_with_quiesce":
        raise XenAPIError("LICENCE_RESTRICTION", "VSS")


# --- constructor, destructor, setters --------------------------------------------------------
@implements("VMSS.create")
async def create(ctx: Context, record: dict[str, Any]) -> str:
    rec = {**ctx.services.default_record("VMSS"), **record}
    _check_type(rec["type"])
    check_schedule(rec["schedule"], tuple(KEYS[rec["frequency"]]))
    rec["schedule"] = complete(rec["frequency"], rec["schedule"])
    _check_retained(rec["retained_snapshots"])
    rec.update(uuid=new_uuid(), last_run_time=EPOCH, VMs=[])
    ref = new_ref()
    ctx.txn.create("VMSS", ref, rec)
    return ref


@implements("VMSS.destroy")
async def destroy(ctx: Context, self: str) -> None:
    rec = ctx.txn.get("VMSS", self)
    if rec["VMs"]:
        raise XenAPIError("VMSS_HAS_VM")
    for ref, msg in ctx.store.records("message").items():
        if msg["obj_uuid"] == rec["uuid"]:
            ctx.txn.delete("message", ref)
    ctx.txn.delete("VMSS", self)


@implements("VMSS.set_frequency")
async def set_frequency(ctx: Context, self: str, value: str) -> None:
    """The schedule follows: keys the new frequency has not go, missing ones get defaults."""
    schedule = ctx.txn.get("VMSS", self)["schedule"]
    ctx.txn.update("VMSS", self, {"frequency": value, "schedule": complete(value, schedule)})


@implements("VMSS.set_schedule")
async def set_schedule(ctx: Context, self: str, value: dict[str, str]) -> None:
    """xapi merges the new entries into the schedule (keys it does not name stay)."""
    schedule = ctx.txn.get("VMSS", self)["schedule"]
    ctx.txn.update("VMSS", self, {"schedule": check_schedule({**schedule, **value}, ALL_KEYS)})


@implements("VMSS.add_to_schedule")
async def add_to_schedule(ctx: Context, self: str, key: str, value: str) -> None:
    rec = ctx.txn.get("VMSS", self)
    if key in rec["schedule"]:
        raise XenAPIError("MAP_DUPLICATE_KEY", "VMSS", "schedule", self, key)
    value = check_schedule({key: value}, ALL_KEYS)[key]
    ctx.txn.update("VMSS", self, {"schedule": {**rec["schedule"], key: value}})


@implements("VMSS.remove_from_schedule")
async def remove_from_schedule(ctx: Context, self: str, key: str) -> None:
    schedule = ctx.txn.get("VMSS", self)["schedule"]
    ctx.txn.update("VMSS", self, {"schedule": {k: v for k, v in schedule.items() if k != key}})


@implements("VMSS.set_retained_snapshots")
async def set_retained_snapshots(ctx: Context, self: str, value: int) -> None:
    _check_retained(value)
    ctx.txn.update("VMSS", self, {"retained_snapshots": value})


@implements("VMSS.set_type")
async def set_type(ctx: Context, self: str, value: str) -> None:
    _check_type(value)
    ctx.txn.update("VMSS", self, {"type": value})


@implements("VMSS.set_last_run_time")
async def set_last_run_time(ctx: Context, self: str, value: _dt.datetime) -> None:
    ctx.txn.update("VMSS", self, {"last_run_time": value})


# --- running a schedule ----------------------------------------------------------------------
async def _destroy_snapshot(ctx: Context, snap: str) -> None:
    """A VMSS snapshot goes with its disks and memory image (VDIs no other VM uses)."""
    from . import vdi as vdi_api
    from .vm import destroy as vm_destroy
    rec = ctx.store.get("VM", snap)
    vdis = [ctx.store.get("VBD", b)["VDI"] for b in rec["VBDs"]
            if ctx.store.get("VBD", b)["type"] != "CD"]
    if rec["suspend_VDI"] != NULL_REF:
        vdis.append(rec["suspend_VDI"])
    await call_as(ctx, "VM.destroy", vm_destroy, snap)
    for vdi in vdis:
        vrec = ctx.store.get("VDI", vdi)
        if vdi == NULL_REF or vrec is None or vrec["VBDs"]:
            continue
        await call_as(ctx, "VDI.destroy", vdi_api.destroy, vdi)


async def snapshot_vm(ctx: Context, vmss: dict[str, Any], vm: str, when: _dt.datetime) -> str:
    """One VM's scheduled snapshot, then the oldest beyond retained_snapshots go."""
    from .vm_copy import checkpoint, snapshot
    rec = ctx.store.get("VM", vm)
    name = f"{rec['name_label']}-{vmss['name_label']}-{when.strftime('%Y%m%d-%H%M')}"
    if vmss["type"] == "checkpoint" and rec["power_state"] == "Running":
        snap = await call_as(ctx, "VM.checkpoint", checkpoint, vm, name)
    else:
        snap = await call_as(ctx, "VM.snapshot", snapshot, vm, name, [])
    async with ctx.services.transaction() as txn:
        # snapshot_time has whole seconds: the run's own time orders runs of one second
        other = {**txn.get("VM", snap)["other_config"], RUN_KEY: when.isoformat()}
        txn.update("VM", snap, {"is_vmss_snapshot": True, "other_config": other})
    ours = sorted((r["snapshot_time"], r["other_config"].get(RUN_KEY, ""), ref)
                  for ref, r in ctx.store.records("VM").items()
                  if r["snapshot_of"] == vm and r["is_vmss_snapshot"])
    for *_, old in ours[:max(0, len(ours) - int(vmss["retained_snapshots"]))]:
        await _destroy_snapshot(ctx, old)
    return snap


async def run_schedule(ctx: Context, ref: str, when: _dt.datetime) -> list[str]:
    """Snapshot every VM of schedule `ref`; returns the VMs that failed (each reported)."""
    from .message import new_message
    vmss = ctx.store.get("VMSS", ref)
    failed = []
    for vm in sorted(vmss["VMs"]):
        try:
            await snapshot_vm(ctx, vmss, vm, when)
        except Exception as exc:  # noqa: BLE001 - reported in a message, the others go on
            log.warning("VMSS %s: snapshot of %s failed: %s", vmss["uuid"], vm, exc)
            failed.append(vm)
            detail = exc.code if isinstance(exc, XenAPIError) else type(exc).__name__
            async with ctx.services.transaction() as txn:
                new_message(ctx.services, txn, "VMSS_SNAPSHOT_FAILED", 3, "VMSS", vmss["uuid"],
                            f"VM {ctx.store.get('VM', vm)['uuid']}: {detail}")
    async with ctx.services.transaction() as txn:
        txn.update("VMSS", ref, {"last_run_time": when.astimezone(_dt.timezone.utc)
                                 .replace(microsecond=0)})
        if not failed and vmss["VMs"]:
            new_message(ctx.services, txn, "VMSS_SNAPSHOT_SUCCEEDED", 5, "VMSS", vmss["uuid"],
                        f"{len(vmss['VMs'])} VM(s) snapshotted")
    return failed


@implements("VMSS.snapshot_now")
async def snapshot_now(ctx: Context, vmss: str) -> str:
    """Runs the schedule now; answers "SUCCESS", or "FAILED: <VM uuids>" for the VMs whose
    snapshot failed (each has a VMSS_SNAPSHOT_FAILED message)."""
    failed = await run_schedule(ctx, vmss, _dt.datetime.now(_dt.timezone.utc))
    if failed:
        return "FAILED: " + ",".join(ctx.store.get("VM", vm)["uuid"] for vm in failed)
    return "SUCCESS"


# --- the scheduler ---------------------------------------------------------------------------
def last_due(frequency: str, schedule: dict[str, str], now: _dt.datetime) -> _dt.datetime:
    """The latest scheduled time at or before `now` (local time, as `now` is given)."""
    s = complete(frequency, schedule)
    minute = int(s["min"])
    if frequency == "hourly":
        t = now.replace(minute=minute, second=0, microsecond=0)
        return t if t <= now else t - _dt.timedelta(hours=1)
    t = now.replace(hour=int(s["hour"]), minute=minute, second=0, microsecond=0)
    if t > now:
        t -= _dt.timedelta(days=1)
    if frequency == "weekly":
        days = {DAYS.index(d) for d in s["days"].split(",")}
        while t.weekday() not in days:
            t -= _dt.timedelta(days=1)
    return t


def _local_now() -> _dt.datetime:
    return _dt.datetime.now().astimezone()


class Scheduler:
    """Runs each enabled schedule at its times. A schedule is due when its latest scheduled
    time is after both its last run and the moment the scheduler first saw it (a new schedule,
    or one seen at server start, waits for its next time instead of running at once)."""

    def __init__(self, services: Any, clock: Callable[[], _dt.datetime] = _local_now,
                 interval: float = 30.0) -> None:
        self.services = services
        self.clock = clock
        self.interval = interval
        self.first_seen: dict[str, _dt.datetime] = {}
        self._task: asyncio.Task[None] | None = None

    def _is_master(self) -> bool:
        role = getattr(self.services, "pool_role", None)
        return role is None or role.is_master

    def due(self, now: _dt.datetime) -> list[tuple[str, _dt.datetime]]:
        out = []
        records = self.services.store.records("VMSS")
        for gone in set(self.first_seen) - set(records):
            del self.first_seen[gone]
        for ref, rec in records.items():
            seen = self.first_seen.setdefault(ref, now)
            if not rec["enabled"] or not rec["VMs"]:
                continue
            when = last_due(rec["frequency"], rec["schedule"], now)
            if when > seen and when > rec["last_run_time"]:
                out.append((ref, when))
        return out

    async def tick(self) -> int:
        """Run the schedules due now; returns how many ran."""
        if not self._is_master():
            return 0
        from .caller import Caller
        ran = 0
        for ref, when in self.due(self.clock()):
            ctx = Context(self.services, Caller("unix", "vmss", local_superuser=True),
                          "VMSS.snapshot_now", self.services.store.transaction())
            await run_schedule(ctx, ref, when)
            ran += 1
        return ran

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # noqa: BLE001 - keep scheduling; say why this round failed
                log.exception("snapshot schedules: a round failed")
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None


@implements("VM.set_snapshot_schedule", nullable=("value",))
async def set_snapshot_schedule(ctx: Context, self: str, value: str) -> None:
    """Into a schedule (NULL: out of it); not dom0 nor a template, as xapi."""
    rec = ctx.txn.get("VM", self)
    if value != NULL_REF:
        if rec["is_control_domain"]:
            raise XenAPIError("INVALID_VALUE", value)
        if rec["is_a_template"]:
            raise XenAPIError("VM_IS_TEMPLATE", self)
    ctx.txn.update("VM", self, {"snapshot_schedule": value})
