"""VM/host/SR data sources (the monitor's series) and the RRD backups.

    get_data_sources        every source the owner has: data_source records (name_label,
                            name_description, enabled, standard, units, min, max, value)
    query_data_source       the source's latest value (the last 5 s sample)
    record_data_source      start archiving a source the catalogue does not record by default
    forget_data_source_archives   drop the source's stored history
    host.backup_rrds        write every RRD of this host to `<state_base>.rrds/` now (after
                            `delay` seconds); the monitor reads them back when it starts
    host.sync_data          what a host keeps outside the shared database is its RRDs: the
                            same backup

A name the owner does not have fails as xapi's does: the RRD daemon's exception escapes as an
INTERNAL_ERROR naming it (`Rrd.Invalid_data_source("foo")`). A VM that is not running here has
no live sources (an empty list), as in xapi where only resident VMs have RRDs.
"""
from __future__ import annotations

import asyncio
import math
from typing import Any

from ..datasources import describe
from ..errors import XenAPIError
from ..rrd import Rrd
from ..rrd_backup import backup
from .context import Context
from .registry import implements

KINDS = {"VM": "vm", "host": "host", "SR": "sr"}


def _rrd(ctx: Context) -> Rrd | None:
    monitor = ctx.services.monitor
    return monitor.rrd if monitor is not None else None


def _owner(ctx: Context, cls: str, ref: str) -> tuple[str, str]:
    return KINDS[cls], ctx.txn.get(cls, ref)["uuid"]


def _invalid(name: str) -> XenAPIError:
    return XenAPIError("INTERNAL_ERROR", f'Rrd.Invalid_data_source("{name}")')


def _wire(v: float) -> float:
    """A source not measured yet reads 0.0: a number every client parses (NaN is not one
    for strict JSON parsers, and several SDKs' XML-RPC decoders refuse it)."""
    return 0.0 if math.isnan(v) else v


def _known(ctx: Context, cls: str, ref: str, name: str) -> tuple[Rrd, tuple[str, str, str]]:
    rrd = _rrd(ctx)
    kind, uuid = _owner(ctx, cls, ref)
    if rrd is None or name not in rrd.sources(kind, uuid):
        raise _invalid(name)
    return rrd, (kind, uuid, name)


def data_sources(ctx: Context, cls: str, ref: str) -> list[dict[str, Any]]:
    rrd = _rrd(ctx)
    if rrd is None:
        return []
    kind, uuid = _owner(ctx, cls, ref)
    out = []
    for name in rrd.sources(kind, uuid):
        key = (kind, uuid, name)
        info = describe(kind, name)
        out.append({
            "name_label": name,
            "name_description": info.description if info is not None else name,
            "enabled": rrd.recorded(key),
            "standard": info.standard if info is not None else True,
            "units": info.units if info is not None else "",
            "min": _wire(info.min if info is not None else -math.inf),
            "max": _wire(info.max if info is not None else math.inf),
            "value": _wire(rrd.latest.get(key, math.nan)),
        })
    return out


def query(ctx: Context, cls: str, ref: str, name: str) -> float:
    rrd, key = _known(ctx, cls, ref, name)
    return _wire(rrd.latest.get(key, math.nan))


def record(ctx: Context, cls: str, ref: str, name: str) -> None:
    rrd, key = _known(ctx, cls, ref, name)
    rrd.record(key)


def forget(ctx: Context, cls: str, ref: str, name: str) -> None:
    rrd, key = _known(ctx, cls, ref, name)
    rrd.forget_archives(key)


async def _ready(ctx: Context) -> None:
    """The series hold the last backup (a server just started restores it while serving)."""
    monitor = ctx.services.monitor
    if monitor is not None:
        await monitor.ready()


def _register(cls: str) -> None:
    async def get_data_sources(ctx: Context, self: str) -> list[dict[str, Any]]:
        await _ready(ctx)
        return data_sources(ctx, cls, self)

    async def query_data_source(ctx: Context, self: str, data_source: str) -> float:
        await _ready(ctx)
        return query(ctx, cls, self, data_source)

    async def record_data_source(ctx: Context, self: str, data_source: str) -> None:
        await _ready(ctx)
        record(ctx, cls, self, data_source)

    async def forget_data_source_archives(ctx: Context, self: str, data_source: str) -> None:
        await _ready(ctx)
        forget(ctx, cls, self, data_source)

    for fn in (get_data_sources, query_data_source, record_data_source,
               forget_data_source_archives):
        implements(f"{cls}.{fn.__name__}")(fn)


for _cls in KINDS:
    _register(_cls)


# --- backups (rrd_backup.py) -------------------------------------------------------------
async def _backup(ctx: Context) -> None:
    await _ready(ctx)           # else a backup taken meanwhile would replace the files with less
    rrd = _rrd(ctx)
    if rrd is not None:
        await backup(ctx.services, rrd)


def _here(ctx: Context, host: str) -> None:
    if host != ctx.services.host_ref:
        raise XenAPIError("HOST_OFFLINE", host)     # routed here when live (host_agent)


@implements("host.backup_rrds")
async def backup_rrds(ctx: Context, host: str, delay: float) -> None:
    _here(ctx, host)
    if delay > 0:               # xapi spreads the writes over `delay`; a call waits 60 s at most
        await asyncio.sleep(min(delay, 60.0))
    await _backup(ctx)


@implements("host.sync_data")
async def sync_data(ctx: Context, host: str) -> None:
    # messages live in the shared database already; what a host keeps apart are its RRDs
    _here(ctx, host)
    await _backup(ctx)
