"""`serve --busy-poll MICROSECONDS`: the event loop polls for a while before it sleeps.

When the loop has nothing to do it blocks in epoll_wait, its thread sleeps and, in a virtual
machine (a dom0 is one too), the vCPU halts. The next request then waits for the vCPU to be
woken and finds its caches cold: on the 2-vCPU VM of bench/RESULTS.md a setter's own Python
took 2-2.6x longer after 10 ms of idling, and a client making one call after another (a
script, Ansible, `xe`) pays that on every call. With a window W, a loop whose last sleep ended
within W of its start (calls are coming back to back) first polls without blocking for up to
W; a window that passes with nothing to do ends the polling until the next sleep that ends
within W again. So the loop spins only while calls come faster than W apart, at most W after
the last one, and never on an idle server.

The cost is CPU: up to one core while a client keeps calling, which would otherwise idle. It
is off by default (a dom0's vCPUs are shared with its guests' backends).
"""
from __future__ import annotations

import asyncio
import selectors
import time
from typing import Any, Callable


class BusyPollSelector(selectors.EpollSelector):
    """An epoll selector that polls for up to `window` seconds before blocking, while the
    loop's sleeps keep ending within that window."""

    def __init__(self, window: float) -> None:
        super().__init__()
        self.window = window
        #: the last sleep ended within the window: the next wait polls first
        self.hot = False
        self.spins = 0          # waits that found their events while polling (tests)

    def select(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        if timeout is not None and timeout <= 0:
            return super().select(0)
        if self.hot:
            limit = self.window if timeout is None else min(self.window, timeout)
            end = time.monotonic() + limit
            while True:
                ready = super().select(0)
                if ready:
                    self.spins += 1
                    return ready
                if time.monotonic() >= end:
                    break
            self.hot = False
            if timeout is not None:
                timeout -= limit
                if timeout <= 0:
                    return []
        start = time.monotonic()
        ready = super().select(timeout)
        self.hot = bool(ready) and time.monotonic() - start <= self.window
        return ready


def loop_factory(microseconds: int) -> Callable[[], asyncio.AbstractEventLoop]:
    """A factory of asyncio loops that busy-poll for up to `microseconds` (asyncio.Runner)."""
    def new_loop() -> asyncio.AbstractEventLoop:
        return asyncio.SelectorEventLoop(BusyPollSelector(microseconds / 1e6))
    return new_loop
