"""Tasks: records of (mostly Async) operations, run in the background, cancellable.

A task created by an Async call runs its implementation in its own asyncio task. Its record
goes pending -> success | failure | cancelled (cancelling in between when task.cancel reached
it). task.cancel sets the TaskHandle's token; the implementation stops where it checks it
(TaskHandle.check_cancelled), so an operation is never interrupted at an unsafe point.
Finished tasks are destroyed by `gc` (xapi's rule: once more than 200 exist, those finished
more than 65 minutes ago).

In a pool, a call forwarded to another host runs there for the caller's task (api/host_agent
RelayedTask): task.cancel here is relayed to that host, which sets the token of the call it
runs for the task (`relayed`); a cancellation that arrives before the call does is kept a
minute for it.
"""
from __future__ import annotations

import asyncio
import collections
import datetime as _dt
import logging
import time
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from ..api.context import FINISHED, TaskCancelled, TaskHandle
from ..errors import XenAPIError
from ..model.roles import R_TASK_ANY
from ..store import NULL_REF, NoSuchObject, new_ref, new_uuid
from . import rbac

if TYPE_CHECKING:
    from .app import Services
    from .sessions import SessionInfo

log = logging.getLogger(__name__)

GC_KEEP = 200
GC_AGE = 65 * 60.0
#: how long, and how many, cancellations of forwarded calls not arrived yet are kept
EARLY_CANCEL_AGE = 60.0
EARLY_CANCEL_MAX = 256


def rbac_denied_any(action: str) -> XenAPIError:
    return rbac.denied(f"task.{action}/any", R_TASK_ANY)


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


class TaskManager:
    def __init__(self, services: "Services", *, gc_keep: int = GC_KEEP,
                 gc_age: float = GC_AGE) -> None:
        self.services = services
        self.gc_keep = gc_keep
        self.gc_age = gc_age
        self._running: dict[str, tuple[TaskHandle, asyncio.Task[Any]]] = {}
        self._owners: dict[str, str] = {}     # task ref -> user whose session made it
        # another host's task ref -> the handle of the call this host runs for it
        self._relayed: dict[str, TaskHandle] = {}
        self._early: collections.OrderedDict[str, float] = collections.OrderedDict()

    def check_owner(self, action: str, ref: str, session: "SessionInfo") -> None:
        """Only a task's owner, or a holder of xapi's `task.<action>/any` permission, may
        cancel, destroy or write it (else anyone could forge another user's result);
        RBAC_PERMISSION_DENIED otherwise."""
        owner = self._owners.get(ref)
        if (owner is None or owner == session.user or session.local_superuser
                or session.role in R_TASK_ANY):
            return
        raise rbac_denied_any(action)

    async def create(self, name_label: str, name_description: str = "",
                     owner: str | None = None) -> str:
        services = self.services
        ref = new_ref()
        rec = services.default_record("task")
        rec.update({
            "uuid": new_uuid(), "name_label": name_label, "name_description": name_description,
            "allowed_operations": ["cancel"], "current_operations": {}, "created": _now(),
            "finished": services.epoch, "status": "pending", "resident_on": services.host_ref,
            "progress": 0.0, "type": "", "result": "", "error_info": [], "other_config": {},
            "subtask_of": NULL_REF, "subtasks": [], "backtrace": "()",
        })
        async with services.store.transaction() as txn:
            txn.create("task", ref, rec)
        if owner is not None:
            self._owners[ref] = owner
        return ref

    def forget(self, ref: str) -> None:
        self._owners.pop(ref, None)

    def start(self, ref: str, run: Callable[[TaskHandle], Awaitable[tuple[Any, bool]]]) -> None:
        """Run `run(handle)` in the background; it returns (value, is_void)."""
        handle = TaskHandle(ref, self.services)
        job = asyncio.get_running_loop().create_task(self._drive(handle, run),
                                                      name=f"task {ref}")
        self._running[ref] = (handle, job)

    async def _drive(self, handle: TaskHandle,
                     run: Callable[[TaskHandle], Awaitable[tuple[Any, bool]]]) -> None:
        ref = handle.ref
        try:
            try:
                value, void = await run(handle)
            except TaskCancelled:
                await self._finish(ref, "cancelled")
            except XenAPIError as exc:
                await self._finish(ref, "failure", error_info=exc.description)
            except asyncio.CancelledError:
                await self._finish(ref, "cancelled")
                raise
            except Exception as exc:     # noqa: BLE001 - becomes the task's INTERNAL_ERROR
                log.exception("task %s failed", ref)
                await self._finish(ref, "failure", error_info=["INTERNAL_ERROR", str(exc)])
            else:
                if not handle.succeeded:
                    result = "" if void else self.services.value_fragment(value)
                    await self._finish(ref, "success", result=result)
        finally:
            self._running.pop(ref, None)

    def succeed_in(self, txn: Any, handle: TaskHandle) -> bool:
        """Write the success of the void call `handle` runs into `txn`, the call's last
        write, so that both are one commit (one generation, one event.from wake-up) instead
        of two; the caller sets `handle.succeeded` once `txn` committed. False (nothing
        written) if the task is not one this manager runs, or is not pending any more (a
        cancellation asked meanwhile ends the usual way)."""
        running = self._running.get(handle.ref)
        rec = txn.get("task", handle.ref)
        if running is None or running[0] is not handle or rec is None \
                or rec["status"] != "pending":
            return False
        txn.update("task", handle.ref, self._finished("success", "", None))
        return True

    @staticmethod
    def _finished(status: str, result: str, error_info: list[str] | None) -> dict[str, Any]:
        changes = {"status": status, "finished": _now(), "allowed_operations": [],
                   "current_operations": {}, "result": result, "error_info": error_info or []}
        if status == "success":
            changes["progress"] = 1.0
        return changes

    async def _finish(self, ref: str, status: str, *, result: str = "",
                      error_info: list[str] | None = None) -> None:
        store = self.services.store
        if store.get("task", ref) is None:
            return                  # destroyed while it ran: nobody is waiting for it
        changes = self._finished(status, result, error_info)
        try:
            async with store.transaction() as txn:
                txn.update("task", ref, changes)
        except NoSuchObject:
            pass

    async def set_progress(self, ref: str, progress: float) -> None:
        progress = min(max(float(progress), 0.0), 1.0)
        async with self.services.store.transaction() as txn:
            txn.update("task", ref, {"progress": progress})

    async def cancel(self, ref: str) -> None:
        rec = self.services.store.get("task", ref)
        if rec is None:
            raise XenAPIError("HANDLE_INVALID", "task", ref)
        if rec["status"] in FINISHED:
            raise XenAPIError("OPERATION_NOT_ALLOWED", "The task has already finished")
        running = self._running.get(ref)
        if running is not None:
            handle = running[0]
            handle.cancelled = True
            if handle.remote is not None:   # its call runs on another host: tell it
                asyncio.get_running_loop().create_task(self._relay_cancel(ref, handle.remote))
            if rec["status"] == "pending":
                async with self.services.store.transaction() as txn:
                    txn.update("task", ref, {"status": "cancelling", "allowed_operations": []})
            return
        # a task made with task.create: nothing runs here, the cancellation is immediate
        async with self.services.store.transaction() as txn:
            txn.update("task", ref, {"status": "cancelled", "finished": _now(),
                                     "allowed_operations": []})

    async def _relay_cancel(self, ref: str, host: str) -> None:
        from ..api.host_agent import RemoteAgent
        try:
            await RemoteAgent(self.services, host).cancel(ref)
        except XenAPIError as exc:
            log.warning("task %s: the cancellation did not reach the host running it: %s",
                        ref, exc.description)

    # --- calls run here for another host's task ----------------------------------------------
    def relay_begin(self, handle: TaskHandle) -> None:
        """`handle` runs a forwarded call for another host's task `handle.ref`."""
        if self._early.pop(handle.ref, None) is not None:
            handle.cancelled = True
        self._relayed[handle.ref] = handle

    def relay_end(self, handle: TaskHandle) -> None:
        if self._relayed.get(handle.ref) is handle:
            del self._relayed[handle.ref]

    def cancel_relayed(self, ref: str) -> None:
        """task.cancel of another host's task whose call runs (or is about to run) here."""
        handle = self._relayed.get(ref)
        if handle is not None:
            handle.cancelled = True
            return
        now = time.monotonic()
        early = self._early
        early[ref] = now
        while early and (len(early) > EARLY_CANCEL_MAX
                         or next(iter(early.values())) < now - EARLY_CANCEL_AGE):
            early.popitem(last=False)

    def is_running(self, ref: str) -> bool:
        return ref in self._running

    async def wait(self, ref: str) -> None:
        """Wait for a background task to end (tests, shutdown)."""
        running = self._running.get(ref)
        if running is not None:
            await asyncio.wait({running[1]})

    async def drain(self, timeout: float) -> int:
        """Wait up to `timeout` for running tasks; returns how many were still running."""
        jobs = [job for _h, job in self._running.values()]
        if not jobs:
            return 0
        _done, pending = await asyncio.wait(jobs, timeout=timeout)
        return len(pending)

    async def gc(self, now: _dt.datetime | None = None) -> int:
        """Destroy old finished tasks once more than `gc_keep` exist; returns how many."""
        now = now or _now()
        tasks = self.services.store.records("task")
        finished = [(rec["finished"], ref) for ref, rec in tasks.items()
                    if rec["status"] in FINISHED and ref not in self._running]
        if len(finished) <= self.gc_keep:
            return 0
        cutoff = now - _dt.timedelta(seconds=self.gc_age)
        old = [ref for fin, ref in finished if fin < cutoff]
        if old:
            async with self.services.store.transaction() as txn:
                for ref in old:
                    txn.delete("task", ref)
            for ref in old:
                self.forget(ref)
            log.info("garbage-collected %d finished task(s)", len(old))
        return len(old)
