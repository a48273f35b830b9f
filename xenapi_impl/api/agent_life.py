"""host.restart_agent and host.shutdown_agent: the server stops itself on request.

As xapi's, after a 10 second pause (so the answer reaches the caller and the caller's other
calls can finish): shutdown_agent stops the server as SIGTERM does (exit status 0: a service
manager leaves it stopped); restart_agent stops it and executes the same command again
(pool_join.restart_soon, the path pool.join takes), keeping its database and state."""
from __future__ import annotations

import asyncio
import logging

from ..errors import XenAPIError
from .context import Context
from .pool_join import restart_soon
from .registry import implements

log = logging.getLogger(__name__)
PAUSE = 10.0


def _this_host(ctx: Context, host: str) -> None:
    if host != ctx.services.host_ref:
        raise XenAPIError("HOST_OFFLINE", host)     # a live host's call is routed to it


@implements("host.restart_agent")
async def restart_agent(ctx: Context, host: str) -> None:
    _this_host(ctx, host)
    log.warning("host.restart_agent: restarting in %.0f s", PAUSE)
    restart_soon(ctx.services, PAUSE)


@implements("host.shutdown_agent")
async def shutdown_agent(ctx: Context) -> None:
    log.warning("host.shutdown_agent: stopping in %.0f s", PAUSE)
    asyncio.get_running_loop().call_later(PAUSE, ctx.services.stop_requested.set)
