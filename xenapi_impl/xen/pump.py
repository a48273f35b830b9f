"""The event pump: domain events from the hypervisor (every domain, `domids=None`) applied to
the VMs through the same service functions the API uses (api/vm.py `guest_shut_down`)."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

log = logging.getLogger(__name__)

#: libxl shutdown reason -> the VM field naming what to do
REASON_FIELD = {"POWEROFF": "actions_after_shutdown", "REBOOT": "actions_after_reboot",
                "CRASH": "actions_after_crash", "WATCHDOG": "actions_after_crash"}


class EventPump:
    def __init__(self, services: Any, hypervisor: Any) -> None:
        self.services = services
        self.hv = hypervisor
        self._task: asyncio.Task[None] | None = None
        self._stream: Any = None
        #: events handled so far (tests wait on it instead of sleeping)
        self.handled = 0
        self.changed = asyncio.Event()

    def start(self) -> None:
        self._stream = self.hv.events()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    async def _run(self) -> None:
        async for ev in self._stream:
            try:
                await self.handle(ev.kind, ev.domid,
                                  ev.reason.name if ev.reason is not None else None)
            except Exception:       # noqa: BLE001 - one bad event must not stop the pump
                log.exception("applying %s of domain %d failed", ev.kind, ev.domid)
            self.handled += 1
            self.changed.set()
            self.changed = asyncio.Event()

    async def handle(self, kind: str, domid: int, reason: str | None) -> None:
        from ..api import vm as vmapi
        vm = vmapi.vm_of_domid(self.services, domid)
        if vm is None:
            return
        if kind == "death":
            await vmapi.guest_vanished(self.services, vm, domid)
            return
        field = REASON_FIELD.get(reason or "")
        if field is None:               # suspend / soft reset: the operation that asked acts
            return
        await vmapi.guest_shut_down(self.services, vm, domid, field)
