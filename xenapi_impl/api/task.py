"""task.*: tasks made by clients, and the setters xapi exposes for them."""
from __future__ import annotations

import datetime
import math
from typing import Any

from ..errors import XenAPIError
from .context import FINISHED, Context
from .registry import implements, implements_setter


@implements("task.create")
async def create(ctx: Context, label: str, description: str) -> str:
    assert ctx.session is not None
    return await ctx.services.tasks.create(label, description, owner=ctx.session.user)


@implements("task.cancel")
async def cancel(ctx: Context, task: str) -> None:
    assert ctx.session is not None
    ctx.services.tasks.check_owner("cancel", task, ctx.session)
    await ctx.services.tasks.cancel(task)


@implements("task.destroy")
async def destroy(ctx: Context, self: str) -> None:
    assert ctx.session is not None
    ctx.services.tasks.check_owner("destroy", self, ctx.session)
    ctx.txn.delete("task", self)
    ctx.services.tasks.forget(self)


def _check_writer(ctx: Context, method: str, task: str) -> None:
    assert ctx.session is not None
    ctx.services.tasks.check_owner(method, task, ctx.session)


@implements("task.set_status")
async def set_status(ctx: Context, self: str, value: str) -> None:
    _check_writer(ctx, "set_status", self)
    changes: dict[str, Any] = {"status": value}
    if value in FINISHED:           # a client finishing its own task: stamp it for the GC
        changes.update(finished=datetime.datetime.now(datetime.timezone.utc),
                       allowed_operations=[])
    ctx.txn.update("task", self, changes)


@implements("task.set_result")
async def set_result(ctx: Context, self: str, value: str) -> None:
    _check_writer(ctx, "set_result", self)
    ctx.txn.update("task", self, {"result": value})


@implements("task.set_error_info")
async def set_error_info(ctx: Context, self: str, value: list[str]) -> None:
    _check_writer(ctx, "set_error_info", self)
    ctx.txn.update("task", self, {"error_info": value})


implements_setter("task.set_other_config", "other_config")


@implements("task.set_progress")
async def set_progress(ctx: Context, self: str, value: float) -> None:
    _check_writer(ctx, "set_progress", self)
    if math.isnan(value):           # clamping would keep a NaN: refuse it like event.from
        raise XenAPIError("INVALID_VALUE", "value", "%.16g" % value)
    ctx.txn.update("task", self, {"progress": min(max(value, 0.0), 1.0)})


@implements("task.add_to_other_config")
async def add_to_other_config(ctx: Context, self: str, key: str, value: str) -> None:
    current = dict(ctx.txn.get("task", self)["other_config"])
    current[key] = value
    ctx.txn.update("task", self, {"other_config": current})


@implements("task.remove_from_other_config")
async def remove_from_other_config(ctx: Context, self: str, key: str) -> None:
    current = dict(ctx.txn.get("task", self)["other_config"])
    if current.pop(key, None) is not None:
        ctx.txn.update("task", self, {"other_config": current})
