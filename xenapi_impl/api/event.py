"""event.*: event.from, inject, get_current_id and the legacy register/unregister/next."""
from __future__ import annotations

from typing import Any

from .context import Context
from .registry import implements


@implements("event.from")
async def event_from(ctx: Context, classes: list[str], token: str,
                     timeout: float) -> dict[str, Any]:
    assert ctx.session is not None
    # reads only: release the (empty) transaction before a possibly long wait
    ctx.txn.rollback()
    return await ctx.services.events.event_from(ctx.session, classes, token, timeout)


@implements("event.inject")
async def inject(ctx: Context, cls: str, ref: str) -> str:
    return await ctx.services.events.inject(cls, ref)


@implements("event.get_current_id")
async def get_current_id(ctx: Context) -> int:
    return ctx.services.events.current_id()


@implements("event.register")
async def register(ctx: Context, classes: list[str]) -> None:
    assert ctx.session is not None
    ctx.services.events.register(ctx.session, classes)


@implements("event.unregister")
async def unregister(ctx: Context, classes: list[str]) -> None:
    assert ctx.session is not None
    ctx.services.events.unregister(ctx.session, classes)


@implements("event.next")
async def next_events(ctx: Context) -> list[dict[str, Any]]:
    assert ctx.session is not None
    ctx.txn.rollback()
    return await ctx.services.events.next(ctx.session)
