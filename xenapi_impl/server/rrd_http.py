"""GET /rrd_updates: the monitor's time series, as xapi serves them (what Xen Orchestra graphs).

    /rrd_updates?session_id=S&start=T&cf=AVERAGE&interval=5&host=true&json=true[&vm_uuid=U]

A live session is required (any role may read: xapi lets read-only users see the graphs); no or
an invalid session_id is answered 401, bad query parameters 400 with the reason as text.
`json=true` gives xapi's JSON layout, otherwise its `<xport>` XML.
"""
from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from ..errors import XenAPIError
from ..rrd import Rrd, RrdError, to_json, to_xml
from .http import JSON_TYPE, XML_TYPE

PATH = "/rrd_updates"
_TRUE = ("true", "yes", "1", "on")


def _bad(text: str, status: int = 400) -> web.Response:
    return web.Response(status=status, text=text + "\n", content_type="text/plain")


def _int(query: Any, name: str, default: int | None) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        if default is None:
            raise RrdError(f"{name} is required")
        return default
    try:
        return int(raw)
    except ValueError:
        raise RrdError(f"{name} must be an integer (seconds), got {raw!r}") from None


def handler(services: Any) -> Any:
    """The aiohttp handler bound to `services` (sessions, and `services.monitor.rrd`)."""
    empty = Rrd()       # answers with no rows while no monitor runs (no backend)

    async def rrd_updates(request: web.Request) -> web.Response:
        q = request.query
        session = q.get("session_id") or request.cookies.get("session_id")
        if not session:
            return _bad("session_id is required", 401)
        try:
            services.sessions.validate(session)
        except XenAPIError as exc:
            return _bad(" ".join([exc.code, *map(str, exc.params)]), 401)
        try:
            start = _int(q, "start", 0)
            if start < 0:               # xapi: a negative start counts back from now
                start = int(time.time()) + start
            interval = _int(q, "interval", 5)
            cf = q.get("cf", "AVERAGE").upper()
            vm_uuid = q.get("vm_uuid") or None
            rrd = services.monitor.rrd if services.monitor is not None else empty
            export = rrd.export(start, interval, cf=cf,
                                host=q.get("host", "false").lower() in _TRUE, vm_uuid=vm_uuid)
        except RrdError as exc:
            return _bad(str(exc))
        if q.get("json", "false").lower() in _TRUE:
            return web.Response(body=to_json(export).encode(), content_type=JSON_TYPE)
        return web.Response(body=to_xml(export).encode(), content_type=XML_TYPE)

    return rrd_updates


def register(http: Any, services: Any) -> None:
    """Add the route to an `HttpServer` (before it starts)."""
    http.add_route("GET", PATH, handler(services))
