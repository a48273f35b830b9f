"""One message's implementation run by another (an appliance starting its VMs, a schedule
snapshotting them) as a call of its own: a fresh transaction committed when it returns (or
by the implementation itself), the dispatcher's error mapping, the same caller."""
from __future__ import annotations

from typing import Any

from .context import Context
from .registry import Impl


async def call_as(ctx: Context, method: str, impl: Impl, *args: Any) -> Any:
    """Run `impl` (the implementation of `method`) with `args` for `ctx`'s caller."""
    sub = Context(ctx.services, ctx.caller, method, ctx.store.transaction(),
                  ctx.session_ref, ctx.session, None)
    return await ctx.services.dispatcher.call_checked(sub, impl, list(args))
