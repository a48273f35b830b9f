"""Encoding at write time, off the request path.

When a commit replaces a Record whose encoding is memoized (a client was sent it in that
encoding), the new version is encoded soon after, on the event loop in slices of at most
SLICE seconds with the loop's I/O served between them. The next read then finds it encoded:
the first get_all_records after the records changed costs what a warm one does. Records no
client reads (metrics the monitor rewrites every round, say) are never encoded ahead, so the
memo's memory stays bounded by what clients read.
"""
from __future__ import annotations

import asyncio
import collections
import logging
import time
import weakref
from typing import Any, Callable

from ..values import Record
from .memo import CODECS

log = logging.getLogger(__name__)

SLICE = 0.001       # seconds of encoding before the loop serves its I/O again


class Prewarmer:
    """`replaced` is a store listener (MemoryStore.replaced_listeners)."""

    def __init__(self) -> None:
        self._pending: collections.deque[tuple[weakref.ref[Record], Callable[[Record], Any]]] \
            = collections.deque()
        self._scheduled = False

    def __len__(self) -> int:
        return len(self._pending)

    def replaced(self, pairs: list[tuple[Record, Record]]) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:            # not on a loop (a command-line tool): nobody to serve
            return
        pending = self._pending
        for memo, encode in CODECS:
            for old, new in pairs:
                if memo.get(old) is not None:
                    pending.append((weakref.ref(new), encode))
        if pending and not self._scheduled:
            loop.call_soon(self._drain)
            self._scheduled = True

    def _drain(self) -> None:
        self._scheduled = False
        pending = self._pending
        deadline = time.perf_counter() + SLICE
        while pending:
            ref, encode = pending.popleft()
            rec = ref()
            if rec is not None:         # else already replaced again: nobody can read it
                try:
                    encode(rec)
                except Exception:       # noqa: BLE001 - the read that needs it reports it
                    log.debug("cannot encode a record ahead", exc_info=True)
            if time.perf_counter() >= deadline:
                break
        if pending:
            asyncio.get_running_loop().call_soon(self._drain)
            self._scheduled = True
