"""pool.*: the update-sync and telemetry settings, and the repository proxy's removal.

This toolstack installs no dom0 packages (README: "What answers NOT_IMPLEMENTED"): the
Repository class is not served, so a pool has no repository and enabling the periodic sync
is refused as xapi refuses it without one (NO_REPOSITORY_ENABLED). The settings themselves are
kept as the reference keeps them.
"""
from __future__ import annotations

import datetime as _dt

from ..errors import XenAPIError
from ..model.types import format_datetime
from ..store import NULL_REF
from .context import Context
from .registry import implements

#: how far ahead the next telemetry collection may be set, per telemetry_frequency
TELEMETRY_WINDOW = {"daily": _dt.timedelta(days=2), "weekly": _dt.timedelta(days=14),
                    "monthly": _dt.timedelta(days=62)}


@implements("pool.configure_update_sync")
async def configure_update_sync(ctx: Context, self: str, update_sync_frequency: str,
                                update_sync_day: int) -> None:
    if update_sync_frequency == "daily":
        update_sync_day = 0                     # "For 'daily' schedule, the value is ignored"
    elif not 0 <= update_sync_day <= 6:
        raise XenAPIError("INVALID_UPDATE_SYNC_DAY", str(update_sync_day))
    ctx.txn.update("pool", self, {"update_sync_frequency": update_sync_frequency,
                                  "update_sync_day": update_sync_day})


@implements("pool.set_update_sync_enabled")
async def set_update_sync_enabled(ctx: Context, self: str, value: bool) -> None:
    if value and not ctx.txn.get("pool", self)["repositories"]:
        raise XenAPIError("NO_REPOSITORY_ENABLED")
    ctx.txn.update("pool", self, {"update_sync_enabled": value})


@implements("pool.set_telemetry_next_collection")
async def set_telemetry_next_collection(ctx: Context, self: str, value: _dt.datetime) -> None:
    rec = ctx.txn.get("pool", self)
    latest = _dt.datetime.now(_dt.timezone.utc) + TELEMETRY_WINDOW[rec["telemetry_frequency"]]
    when = value if value.tzinfo is not None else value.replace(tzinfo=_dt.timezone.utc)
    if when > latest:
        raise XenAPIError("TELEMETRY_NEXT_COLLECTION_TOO_LATE", format_datetime(when))
    ctx.txn.update("pool", self, {"telemetry_next_collection": when})


@implements("pool.disable_repository_proxy")
async def disable_repository_proxy(ctx: Context, self: str) -> None:
    ctx.txn.update("pool", self, {"repository_proxy_url": "", "repository_proxy_username": "",
                                  "repository_proxy_password": NULL_REF})
