"""Cyclic garbage collection on the event loop's timer (server/gcpace.py)."""
from __future__ import annotations

import asyncio
import gc
import weakref

from xenapi_impl.server import gcpace
from xenapi_impl.server.gcpace import GcPacer


class Node:
    other: "Node"


def _cycle() -> weakref.ref[Node]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_young_garbage_is_collected_by_the_timer_not_by_allocations():
    saved = gc.get_threshold()

    async def main():
        pacer = GcPacer(asyncio.get_running_loop())
        pacer.start()
        try:
            assert gc.get_threshold() == (gcpace.SAFETY, *saved[1:])
            assert gc.get_freeze_count() > 0       # what was loaded before start: frozen
            gone = _cycle()
            kept = [[] for _ in range(2 * gcpace.YOUNG)]     # past CPython's own threshold
            assert gone() is not None               # no collection inside the allocations
            for _ in range(40):
                await asyncio.sleep(gcpace.PERIOD)
                if gone() is None:
                    break
            assert gone() is None and pacer.collections[0] >= 1
            del kept
        finally:
            pacer.stop()
            gc.unfreeze()
        assert gc.get_threshold() == saved
    asyncio.run(main())


def test_every_tenth_collection_takes_the_middle_generation_and_full_ones_are_rare(
        monkeypatch):
    collected: list[int] = []
    monkeypatch.setattr(gc, "collect", lambda generation=2: collected.append(generation))
    monkeypatch.setattr(gc, "get_count", lambda: (gcpace.YOUNG, 0, 0))

    async def main():
        pacer = GcPacer(asyncio.get_running_loop())
        for _ in range(20):
            pacer._tick()
        assert collected == [0] * 9 + [1] + [0] * 9 + [1]      # FULL_EVERY not yet passed
        collected.clear()
        monkeypatch.setattr(gcpace, "FULL_EVERY", 0.0)
        for _ in range(10):
            pacer._tick()
        assert collected == [0] * 9 + [2]
        assert pacer.collections == [27, 2, 1]
        monkeypatch.setattr(gc, "get_count", lambda: (gcpace.YOUNG - 1, 0, 0))
        pacer._tick()                               # too few new objects: nothing to do
        assert len(collected) == 10
        pacer.stop()
    asyncio.run(main())
