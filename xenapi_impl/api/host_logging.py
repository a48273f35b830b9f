"""host.logging (the server's own log levels and destinations, see server/logconfig.py) and
host.get_log.

A change is validated as a whole map before anything is stored (bad input: INVALID_VALUE
[key, value], nothing changes), committed, and only then applied to the running process.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Mapping

from ..errors import XenAPIError
from ..logconfig import LOGCONFIG, LoggingConfigError, apply_stored
from .context import Context
from .registry import implements

log = logging.getLogger(__name__)


async def _store_and_apply(ctx: Context, host: str, new: Mapping[str, str]) -> None:
    try:
        LOGCONFIG.parse(new)
    except LoggingConfigError as exc:
        raise XenAPIError("INVALID_VALUE", exc.key, exc.value) from None
    ctx.txn.update("host", host, {"logging": dict(new)})
    await ctx.txn.commit()              # a change that did not commit is never applied
    if host == ctx.services.host_ref:
        apply_stored(ctx.services)      # what is stored now (a later call may have won)


@implements("host.set_logging")
async def set_logging(ctx: Context, host: str, value: dict[str, str]) -> None:
    """Replace the map: keys left out go back to their defaults."""
    await _store_and_apply(ctx, host, value)


@implements("host.add_to_logging")
async def add_to_logging(ctx: Context, host: str, key: str, value: str) -> None:
    rec = ctx.txn.get("host", host)
    current = dict(rec["logging"] or {})
    if key in current:
        raise XenAPIError("MAP_DUPLICATE_KEY", "host", "logging", rec["uuid"], key)
    current[key] = value
    await _store_and_apply(ctx, host, current)


@implements("host.remove_from_logging")
async def remove_from_logging(ctx: Context, host: str, key: str) -> None:
    current = dict(ctx.txn.get("host", host)["logging"] or {})
    if key not in current:
        return                          # xapi: removing an absent key does nothing
    del current[key]
    await _store_and_apply(ctx, host, current)


@implements("host.get_log")
async def get_log(ctx: Context, host: str) -> str:
    """The last 64 KiB of this server's log file: the `file` of host.logging, else the file
    the server was started to log to; "" when it logs to no file (stderr/syslog only)."""
    if host != ctx.services.host_ref:
        return ""
    text = await asyncio.to_thread(LOGCONFIG.tail)
    log.debug("host.get_log: %d characters for session %s", len(text), ctx.session_ref)
    return text
