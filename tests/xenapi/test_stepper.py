"""A coroutine driven without a task (server/stepper.py): it runs, waits, is cancelled and
fails as it would in a task, and leaves its owner's set at its end."""
from __future__ import annotations

import asyncio
import contextvars
import logging
import types

import pytest

from xenapi_impl.server.stepper import Stepper

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR", default="outside")


def run(body):
    return asyncio.run(body())


def test_a_coroutine_that_never_waits_ends_inside_start():
    async def main():
        seen = []

        async def call():
            seen.append(asyncio.current_task())
            VAR.set("inside")

        owner: set[Stepper] = set()
        s = Stepper(asyncio.get_running_loop(), call(), owner)
        asyncio.get_running_loop().call_soon(s.start)   # from a plain callback, as the lane's
        await asyncio.sleep(0.01)
        assert s.done() and not owner and seen == [None]
        assert VAR.get() == "outside"           # its context is its own copy
        assert s.finished().done()
    run(main)


def test_it_waits_for_futures_and_bare_yields_then_ends():
    async def main():
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        steps = []

        async def call():
            VAR.set("mine")
            steps.append(await fut)
            await asyncio.sleep(0)              # a bare yield
            await asyncio.sleep(0.001)          # a timer's future
            steps.append(VAR.get())

        owner: set[Stepper] = set()
        s = Stepper(loop, call(), owner)
        s.start()
        assert not s.done() and owner == {s}
        done = s.finished()
        loop.call_later(0.01, fut.set_result, "value")
        await asyncio.wait_for(done, 5)
        assert steps == ["value", "mine"] and not owner and VAR.get() == "outside"
    run(main)


@pytest.mark.parametrize("when", ["waiting", "woken"])
def test_cancel_raises_where_it_waits(when):
    """Cancelled while its future is pending (the future is cancelled), or after the future
    finished but before its wake-up ran (CancelledError thrown in at that next step): either
    way the coroutine sees CancelledError where it waits, and ends."""
    async def main():
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        seen = []

        async def call():
            try:
                await fut
                seen.append("resumed")
            except asyncio.CancelledError:
                seen.append("cancelled")
                raise

        owner: set[Stepper] = set()
        s = Stepper(loop, call(), owner)
        s.start()
        if when == "woken":
            fut.set_result(1)                   # its wake-up is scheduled, not yet run
        s.cancel()
        await asyncio.wait_for(s.finished(), 5)
        assert seen == ["cancelled"] and not owner
        assert fut.cancelled() == (when == "waiting")
    run(main)


def test_a_failure_is_logged_and_the_owner_forgets_it(caplog):
    async def main():
        async def call():
            await asyncio.sleep(0)
            raise RuntimeError("kaput")

        owner: set[Stepper] = set()
        s = Stepper(asyncio.get_running_loop(), call(), owner)
        s.start()
        await asyncio.wait_for(s.finished(), 5)
        assert not owner
    with caplog.at_level(logging.ERROR, logger="xenapi_impl.server.stepper"):
        run(main)
    assert "kaput" in caplog.text


def test_yielding_something_else_than_a_future_raises_in_the_coroutine():
    @types.coroutine
    def odd():
        yield "not a future"

    async def main():
        seen = []

        async def call():
            try:
                await odd()
            except RuntimeError as exc:
                seen.append(str(exc))

        s = Stepper(asyncio.get_running_loop(), call(), set())
        s.start()
        await asyncio.wait_for(s.finished(), 5)
        assert seen and "not a future" in seen[0]
    run(main)


def test_keyboard_interrupt_still_propagates():
    async def main():
        async def call():
            raise KeyboardInterrupt

        owner: set[Stepper] = set()
        s = Stepper(asyncio.get_running_loop(), call(), owner)
        with pytest.raises(KeyboardInterrupt):
            s.start()
        assert s.done() and not owner
    run(main)
