"""Running a call at once, in the loop's current turn, instead of in a task of its own.

A read the store answers from memory never waits: as a task it costs the task itself and two
more turns of the event loop (the task's first step, then its done-callbacks), about a tenth
of such a call's CPU (bench/RESULTS.md). `start` runs the coroutine now, as far as it goes
without waiting. If it does wait, a task carries the rest on, in the same context.

This is Python 3.12's eager task start (`asyncio.Task(..., eager_start=True)`), which 3.12
and later do natively. On 3.11 the coroutine is stepped here, and until its first wait it runs
outside any task (`asyncio.current_task()` is None, so `asyncio.timeout` refuses to start): it
is only for code that does not use them before it waits (`Dispatcher.immediate`).
"""
from __future__ import annotations

import asyncio
import contextvars
import sys
import types
from collections.abc import Coroutine, Generator
from typing import Any

NATIVE = sys.version_info >= (3, 12)


def start(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any]
          ) -> asyncio.Task[Any] | None:
    """Run `coro` now; None if it finished, else the task that runs the rest of it."""
    if NATIVE:
        task: asyncio.Task[Any] = asyncio.Task(coro, loop=loop,  # type: ignore[call-arg]
                                                eager_start=True)
        return None if task.done() else task
    context = contextvars.copy_context()     # the call's own, as a task would have
    try:
        waiting = context.run(coro.send, None)
    except StopIteration:
        return None
    return loop.create_task(_rest(coro, waiting), context=context)


@types.coroutine
def _rest(coro: Coroutine[Any, Any, Any], waiting: Any) -> Generator[Any, Any, Any]:
    """The rest of a coroutine stepped once by hand: the task first waits for what it was
    waiting for (a future, or None: a bare yield), then drives it on; a cancellation goes
    where the coroutine waits, as it would in its own task."""
    while True:
        try:
            value = yield waiting
        except BaseException as exc:     # noqa: BLE001 - the task's cancellation, thrown in
            try:
                waiting = coro.throw(exc)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                waiting = coro.send(value)
            except StopIteration as stop:
                return stop.value
