"""Driving a call's coroutine on the event loop without an asyncio Task.

A Task costs a setter on the RPC lane about 12 us of the loop's ~90 (bench/RESULTS.md): the Task
and its registration among the loop's tasks, its first step and each wake-up in turns of their
own, its done-callbacks in one more. A `Stepper` sends the coroutine on at once, where it is
started, and again from the done-callback of each future it waits for: the same steps, in the
same contexts (one copy per call, as a task's), without the rest.

It is only for code that never asks for its task: inside it `asyncio.current_task()` is None
(or the task that started it), so `asyncio.timeout`, `TaskGroup` and the like cannot be used
there. `Dispatcher.light` says which calls qualify (the generic writes on this host's store).
Cancellation is a task's: the future waited for is cancelled, else CancelledError is thrown in
at the next step.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Stepper:
    """One coroutine driven to its end; a member of `owner` until then."""

    __slots__ = ("_coro", "_context", "_loop", "_owner", "_waiting", "_throw", "_done",
                 "_finished")

    def __init__(self, loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any],
                 owner: set["Stepper"]) -> None:
        self._coro = coro
        self._context = contextvars.copy_context()     # the call's own, as a task's
        self._loop = loop
        self._owner = owner
        self._waiting: asyncio.Future[Any] | None = None
        self._throw: BaseException | None = None      # thrown in at the next step
        self._done = False
        self._finished: asyncio.Future[None] | None = None

    def start(self) -> None:
        """Run the coroutine now, as far as it goes without waiting."""
        self._owner.add(self)
        self._step()

    def done(self) -> bool:
        return self._done

    def cancel(self) -> None:
        """As Task.cancel: the wait is cancelled, or the next step raises CancelledError."""
        if self._done:
            return
        waiting = self._waiting
        if waiting is None or not waiting.cancel():
            self._throw = asyncio.CancelledError()

    def finished(self) -> asyncio.Future[None]:
        """A future that is done once the coroutine has ended (for asyncio.wait)."""
        if self._finished is None:
            self._finished = self._loop.create_future()
            if self._done:
                self._finished.set_result(None)
        return self._finished

    def _wake(self, _future: asyncio.Future[Any]) -> None:
        self._step()

    def _step(self) -> None:
        self._waiting = None
        throw, self._throw = self._throw, None
        try:
            if throw is None:
                waiting = self._context.run(self._coro.send, None)
            else:
                waiting = self._context.run(self._coro.throw, throw)
        except (StopIteration, asyncio.CancelledError):
            self._end()
            return
        except (KeyboardInterrupt, SystemExit):
            self._end()
            raise
        except BaseException:       # noqa: BLE001 - a task would keep it; nobody awaits this
            log.exception("a call driven without a task failed")
            self._end()
            return
        if waiting is None:
            # a bare yield (asyncio.sleep(0)): the next step in the loop's next turn
            self._loop.call_soon(self._step)
        elif getattr(waiting, "_asyncio_future_blocking", None) and \
                asyncio.isfuture(waiting) and waiting.get_loop() is self._loop:
            waiting._asyncio_future_blocking = False
            self._waiting = waiting
            waiting.add_done_callback(self._wake)
            if self._throw is not None and waiting.cancel():   # cancelled while it stepped
                self._throw = None
        else:                                   # what a task refuses too
            self._throw = RuntimeError(f"a call driven without a task yielded {waiting!r}")
            self._loop.call_soon(self._step)

    def _end(self) -> None:
        self._done = True
        self._owner.discard(self)
        if self._finished is not None and not self._finished.done():
            self._finished.set_result(None)
