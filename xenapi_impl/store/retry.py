"""Running a step again when a shared store refused its commit as based on a stale read."""
from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from .base import Store
from .errors import StoreConflict, StoreError

T = TypeVar("T")

#: tries of a step whose commit keeps losing to other hosts' (dispatch.py's for API calls)
STALE_RETRIES = 10


async def again_if_stale(store: Store, step: Callable[[], Awaitable[T]], *,
                         also: tuple[type[StoreError], ...] = ()) -> T:
    """Run `step`, a function that reads the store and commits what it decided; while a shared
    store refuses that commit because another process wrote an object it writes since it read
    (StoreConflict, or one of `also`: another process made the same record first), take in
    what the others wrote and run it again (`back_off`)."""
    for attempt in range(STALE_RETRIES):
        try:
            return await step()
        except (StoreConflict, *also):
            if not store.shared or attempt == STALE_RETRIES - 1:
                raise
            await back_off(store, attempt)
    raise AssertionError("unreachable")


async def back_off(store: Store, attempt: int) -> None:
    """Between a commit refused as stale and the next try (`attempt` counts from 0): a random,
    growing pause (a writer that keeps losing to a busier one backs off), then what the other
    processes wrote."""
    await asyncio.sleep(random.uniform(0, 0.002 * 2 ** attempt))
    await store.catch_up()
