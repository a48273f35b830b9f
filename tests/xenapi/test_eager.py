"""server/eager.py: a coroutine run at once in the current turn of the loop, the rest of it (if
it waits) carried on by a task, as a task of its own would run it."""
from __future__ import annotations

import asyncio
import contextvars

import pytest

from xenapi_impl.server import eager

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("eager_test", default="unset")


def test_a_coroutine_that_never_waits_is_done_before_start_returns():
    async def main() -> None:
        loop = asyncio.get_running_loop()
        steps: list[str] = []

        async def call() -> None:
            steps.append("ran")

        assert eager.start(loop, call()) is None
        assert steps == ["ran"]          # no turn of the loop in between
    asyncio.run(main())


def test_a_coroutine_that_waits_goes_on_in_a_task_in_its_own_context():
    async def main() -> None:
        loop = asyncio.get_running_loop()
        gate = loop.create_future()
        steps: list[str] = []

        async def call() -> str:
            VAR.set("mine")
            steps.append("before")
            got = await gate
            steps.append(f"after {got} {VAR.get()}")
            await asyncio.sleep(0)      # a bare yield, then a timer, in the task
            await asyncio.sleep(0.01)
            steps.append("end")
            return "result"

        task = eager.start(loop, call())
        assert isinstance(task, asyncio.Task) and steps == ["before"]
        assert VAR.get() == "unset"      # the call's context is its own
        await asyncio.sleep(0.01)
        assert not task.done()
        gate.set_result("x")
        assert await task == "result"
        assert steps == ["before", "after x mine", "end"]
    asyncio.run(main())


def test_cancelling_the_task_reaches_the_coroutine_where_it_waits():
    async def main() -> None:
        loop = asyncio.get_running_loop()
        seen: list[str] = []

        async def call() -> None:
            try:
                await loop.create_future()
            except asyncio.CancelledError:
                seen.append("cancelled")
                raise

        task = eager.start(loop, call())
        assert task is not None
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert seen == ["cancelled"]
    asyncio.run(main())


def test_an_error_after_the_wait_ends_the_task_with_it():
    async def main() -> None:
        loop = asyncio.get_running_loop()

        async def call() -> None:
            await asyncio.sleep(0)
            raise ValueError("late")

        task = eager.start(loop, call())
        assert task is not None
        with pytest.raises(ValueError, match="late"):
            await task
    asyncio.run(main())


def test_a_cancellation_the_coroutine_absorbs_lets_it_finish():
    async def main() -> None:
        loop = asyncio.get_running_loop()

        async def call() -> str:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                pass
            await asyncio.sleep(0)
            return "finished"

        task = eager.start(loop, call())
        assert task is not None
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.wait([task])
        assert not task.cancelled()
    asyncio.run(main())
