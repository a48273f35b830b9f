"""The monitor's time series over HTTP, as xapi serves them.

    GET /rrd_updates?session_id=S&start=T&cf=AVERAGE&interval=5&host=true&json=true[&vm_uuid=U]
    GET /host_rrd?session_id=S                 this host's whole RRD
    GET /vm_rrd?session_id=S&uuid=U            a VM's whole RRD
    GET /sr_rrd?session_id=S&uuid=U            an SR's whole RRD

/rrd_updates gives the rows since `start` (what Xen Orchestra graphs): `json=true` gives
xapi's JSON layout, otherwise its `<xport>` XML. The per-object exports give the object's
every archive in rrdtool's dump layout (rrd_xml.py). A live session is required (any role may
read: xapi lets read-only users see the graphs); no or an invalid session_id is answered 401,
bad query parameters 400 and an unknown object 404, with the reason as text.
"""
from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from ..errors import XenAPIError
from ..rrd import Rrd, RrdError, to_json, to_xml
from .. import rrd_xml
from .replies import JSON_TYPE, XML_TYPE
from .http_ops import session_of

PATH = "/rrd_updates"
#: the per-object exports: path -> (owner kind, class whose uuid the query names)
OBJECT_PATHS = {"/host_rrd": ("host", "host"), "/vm_rrd": ("vm", "VM"), "/sr_rrd": ("sr", "SR")}
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


async def _unauthorised(services: Any, request: web.Request) -> web.Response | None:
    """A 401 answer unless the request carries a live session (in a pool, also one the
    master opened: clients read every host's graphs with the master's session)."""
    session = request.query.get("session_id") or request.cookies.get("session_id")
    if not session:
        return _bad("session_id is required", 401)
    try:
        await session_of(services, session)
    except XenAPIError as exc:
        return _bad(" ".join([exc.code, *map(str, exc.params)]), 401)
    return None


def handler(services: Any) -> Any:
    """The aiohttp handler bound to `services` (sessions, and `services.monitor.rrd`)."""
    empty = Rrd()       # answers with no rows while no monitor runs (no backend)

    async def rrd_updates(request: web.Request) -> web.Response:
        q = request.query
        refused = await _unauthorised(services, request)
        if refused is not None:
            return refused
        try:
            start = _int(q, "start", 0)
            if start < 0:               # xapi: a negative start counts back from now
                start = int(time.time()) + start
            interval = _int(q, "interval", 5)
            cf = q.get("cf", "AVERAGE").upper()
            vm_uuid = q.get("vm_uuid") or None
            if services.monitor is not None:
                await services.monitor.ready()
            rrd = services.monitor.rrd if services.monitor is not None else empty
            export = rrd.export(start, interval, cf=cf,
                                host=q.get("host", "false").lower() in _TRUE, vm_uuid=vm_uuid)
        except RrdError as exc:
            return _bad(str(exc))
        if q.get("json", "false").lower() in _TRUE:
            return web.Response(body=to_json(export).encode(), content_type=JSON_TYPE)
        return web.Response(body=to_xml(export).encode(), content_type=XML_TYPE)

    return rrd_updates


def object_handler(services: Any, kind: str, cls: str) -> Any:
    """GET of one object's whole RRD (`kind` "host", "vm" or "sr")."""
    empty = Rrd()

    async def object_rrd(request: web.Request) -> web.Response:
        refused = await _unauthorised(services, request)
        if refused is not None:
            return refused
        uuid = request.query.get("uuid") or ""
        if kind == "host":
            rec = services.store.get("host", services.host_ref)
            uuid = uuid or (rec["uuid"] if rec is not None else "")
        if not uuid:
            return _bad("uuid is required")
        if not any(r["uuid"] == uuid for r in services.store.records(cls).values()):
            return _bad(f"no {cls} with uuid {uuid}", 404)
        if services.monitor is not None:
            await services.monitor.ready()
        rrd = services.monitor.rrd if services.monitor is not None else empty
        return web.Response(body=rrd_xml.to_xml(rrd, kind, uuid).encode(),
                            content_type=XML_TYPE)

    return object_rrd


def register(http: Any, services: Any) -> None:
    """Add the routes to an `HttpServer` (before it starts)."""
    http.add_route("GET", PATH, handler(services))
    for path, (kind, cls) in OBJECT_PATHS.items():
        http.add_route("GET", path, object_handler(services, kind, cls))
