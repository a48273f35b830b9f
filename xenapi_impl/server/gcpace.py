"""Cyclic garbage collection between calls, not inside them.

CPython collects its youngest generation after every 700 net allocations of container
objects, so each collection runs inside whichever call made the 700th: with 1,000 VMs
loaded, a second-generation pass took 0.3-0.8 ms and a full one 15 ms, landing on one call in
ten of a writer/watcher pair and making the tail of `event.from` wake-ups (bench/RESULTS.md).
Here the automatic collector only acts past a far higher count (a safety net for a burst of
allocations), and a timer on the event loop collects the young generations as often as
CPython would, between callbacks, where a call is rarely waiting. The records loaded at start
are frozen out of the collector first (`gc.freeze`): they are long-lived and hold no cycles,
so full collections never walk them. Freed records are still freed by reference counting.
"""
from __future__ import annotations

import asyncio
import gc
import time

PERIOD = 0.05           # seconds between looks at the collector's count
YOUNG = 700             # CPython's own first threshold: collect past this many net allocations
SAFETY = 100_000        # the automatic collector's first threshold meanwhile
FULL_EVERY = 60.0       # seconds at least between full collections (cyclic garbage that
                        # reached the oldest generation waits that long, no more)


class GcPacer:
    """Young collections on the loop's timer; a full one at most every FULL_EVERY seconds."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._handle: asyncio.TimerHandle | None = None
        self._saved = gc.get_threshold()
        self._young = 0
        self._last_full = time.monotonic()
        self.collections = [0, 0, 0]        # by generation (tests, diagnostics)

    def start(self) -> None:
        # no collection first: at start it found nothing to free and held the loop 27 ms
        # (1,000 VMs) to 79 ms (10,000), just as the server began to serve
        gc.freeze()
        gc.set_threshold(SAFETY, *self._saved[1:])
        self._handle = self._loop.call_later(PERIOD, self._tick)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        gc.set_threshold(*self._saved)

    def _tick(self) -> None:
        self._handle = self._loop.call_later(PERIOD, self._tick)
        if gc.get_count()[0] < YOUNG:
            return
        self._young += 1
        generation = 0
        if self._young % max(1, self._saved[1]) == 0:   # every 10th, as CPython's cascade
            generation = 1
            now = time.monotonic()
            if now - self._last_full >= FULL_EVERY:
                generation = 2
                self._last_full = now
        gc.collect(generation)
        self.collections[generation] += 1
