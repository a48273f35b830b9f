"""host.*: explicit messages answerable without a hypervisor (VM-related ones come later)."""
from __future__ import annotations

import datetime as _dt

from ..server.context import Context
from .registry import implements


@implements("host.get_servertime")
async def get_servertime(ctx: Context, host: str) -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)


@implements("host.get_server_localtime")
async def get_server_localtime(ctx: Context, host: str) -> _dt.datetime:
    return _dt.datetime.now().astimezone().replace(microsecond=0)
