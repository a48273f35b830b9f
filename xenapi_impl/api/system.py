"""system.*: XML-RPC introspection (no session)."""
from __future__ import annotations

from ..values import Bare
from .context import Context
from .registry import implements


@implements("system.listMethods")
async def list_methods(ctx: Context) -> Bare:
    return Bare(ctx.services.dispatcher.method_names())


@implements("system.isAlive")
async def is_alive(ctx: Context, value: str = "") -> str:
    return value
