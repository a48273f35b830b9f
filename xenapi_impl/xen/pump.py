"""The event pump: domain events from the hypervisor (every domain, `domids=None`) handed to
the API layer's `domain_event` hook (api/vm.py), which applies them to the VMs through the
same service functions the API uses."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)


class EventPump:
    def __init__(self, hypervisor: Any,
                 on_event: Callable[[str, int, str | None], Awaitable[None]]) -> None:
        self.hv = hypervisor
        self.on_event = on_event
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
                await self.on_event(ev.kind, ev.domid,
                                    ev.reason.name if ev.reason is not None else None)
            except Exception:       # noqa: BLE001 - one bad event must not stop the pump
                log.exception("applying %s of domain %d failed", ev.kind, ev.domid)
            self.handled += 1
            self.changed.set()
            self.changed = asyncio.Event()
