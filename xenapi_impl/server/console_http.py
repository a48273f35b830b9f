"""The guests' text consoles over HTTP, at the console record's `location`, and `GET /`.

    CONNECT /console?uuid=<console uuid>|ref=<console ref>[&session_id=S]   (HTTP/1.0 or 1.1)
    GET     /console?uuid=...|ref=...&session_id=S   with Upgrade: websocket
    GET     /console?uuid=...|ref=...&session_id=S   plain: the console's text so far
    GET     /console/<domid>?session_id=S            the same, by domain id

The location xapi gives is `https://<host address>/console?uuid=<uuid>`; Xen Orchestra opens
it with CONNECT (session_id in a cookie), XenCenter likewise, and browsers' clients with a
websocket. After CONNECT's `200 OK` (or the websocket handshake) the console's bytes follow
as the guest writes them: what it wrote so far first, then new output, polled every 0.2 s
from the console's tty (`Hypervisor.console_text`: libxl_primary_console_get_tty, the same on
Xen and on the simulator). What the client sends is read and dropped (no console input). The stream ends when the domain goes away. Authentication as http_ops
(session_id in the query or cookie, or basic auth); the caller needs VM.pause's roles
(xapi: vm-operator and up hold http/connect_console).
"""
from __future__ import annotations

import asyncio
import logging
import urllib.parse
from typing import Any

from aiohttp import WSMsgType, web

from ..store import NULL_REF
from . import http_ops
from .http_ops import HttpFailure, text

log = logging.getLogger(__name__)

PATH = "/console"
POLL = 0.2
PERMISSION = "VM.pause"


def new_output(before: str, now: str) -> str:
    """What `now` (a ring's content) adds after `before` (its content earlier)."""
    if now.startswith(before):
        return now[len(before):]
    for k in range(1, len(before)):            # the ring dropped its oldest bytes
        if now.startswith(before[k:]):
            return now[len(before) - k:]
    return now


def _domain(services: Any, query: Any, match: dict[str, str]) -> tuple[int, str]:
    """(domid, domain name: the VM's uuid, see xen/config.py) of the console asked for, or
    HttpFailure(404)."""
    store = services.store
    if "domid" in match:
        try:
            domid = int(match["domid"])
        except ValueError:
            raise HttpFailure(text(404, "no such console")) from None
        for vm in store.records("VM").values():
            if vm["domid"] == domid and vm["power_state"] in ("Running", "Paused"):
                return domid, vm["uuid"]
        raise HttpFailure(text(404, f"no running domain {domid}"))
    ref = query.get("ref")
    if not (ref and store.get("console", ref) is not None):
        found = store.find_uuid(query.get("uuid", "")) if query.get("uuid") else None
        ref = found[1] if found is not None and found[0] == "console" else None
    if ref is None:
        raise HttpFailure(text(404, "HANDLE_INVALID console"))
    vm = store.get("VM", store.get("console", ref)["VM"]) \
        if store.get("console", ref)["VM"] != NULL_REF else None
    if vm is None or vm["power_state"] not in ("Running", "Paused") or vm["domid"] < 0:
        raise HttpFailure(text(404, "the console's VM is not running"))
    return vm["domid"], vm["uuid"]


def _alive(services: Any, domid: int) -> bool:
    return any(vm["domid"] == domid and vm["power_state"] in ("Running", "Paused")
               for vm in services.store.records("VM").values())


async def _stream(services: Any, domid: int, name: str, send: Any,
                  closed: asyncio.Event) -> None:
    hv = services.backend.hypervisor
    before = ""
    while not closed.is_set():
        try:
            now = await hv.console_text(domid, name)
        except Exception:          # noqa: BLE001 - the domain went away meanwhile
            now = before
        out = new_output(before, now)
        before = now
        if out:
            await send(out.encode())
        if not _alive(services, domid):
            return
        try:
            await asyncio.wait_for(closed.wait(), POLL)
        except asyncio.TimeoutError:
            pass


def handler(services: Any) -> Any:
    async def console(request: web.Request) -> web.StreamResponse:
        if request.method == "CONNECT":
            query: Any = dict(urllib.parse.parse_qsl(request.raw_path.partition("?")[2]))
        else:
            query = request.query
        sessions = []
        try:
            if getattr(services.backend, "hypervisor", None) is None:
                raise HttpFailure(text(503, "no hypervisor backend: no consoles"))
            domid, name = _domain(services, query, dict(request.match_info))
            ref, _info, opened = await http_ops.authenticate(services, request, PERMISSION,
                                                             query)
            if opened:
                sessions.append(ref)
        except HttpFailure as f:
            return f.response
        try:
            closed = asyncio.Event()
            if request.method == "CONNECT":
                response = web.StreamResponse(status=200, reason="OK")
                response.force_close()
                await response.prepare(request)
                transport = request.transport
                assert transport is not None

                async def send_raw(data: bytes) -> None:
                    if transport.is_closing():
                        closed.set()
                        return
                    transport.write(data)

                async def drain_input() -> None:
                    try:
                        while await request.content.read(4096):
                            pass
                    except Exception:      # noqa: BLE001 - the client went away
                        pass
                    closed.set()
                reader = asyncio.ensure_future(drain_input())
                try:
                    await _stream(services, domid, name, send_raw, closed)
                finally:
                    reader.cancel()
                return response
            if request.headers.get("Upgrade", "").lower() == "websocket":
                ws = web.WebSocketResponse(protocols=("binary", "base64"))
                await ws.prepare(request)

                async def send_ws(data: bytes) -> None:
                    if ws.closed:
                        closed.set()
                        return
                    await ws.send_bytes(data)

                async def read_ws() -> None:
                    async for msg in ws:
                        if msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                            break
                    closed.set()
                reader = asyncio.ensure_future(read_ws())
                try:
                    await _stream(services, domid, name, send_ws, closed)
                finally:
                    reader.cancel()
                    await ws.close()
                return ws
            body = await services.backend.hypervisor.console_text(domid, name)
            return web.Response(text=body, content_type="text/plain")
        finally:
            for ref in sessions:
                await services.sessions.logout(ref)

    return console


def index(services: Any, version: str) -> Any:
    """GET /: what this server is and where its endpoints are (a small HTML page)."""
    async def root(request: web.Request) -> web.Response:
        rows = [
            ("POST /", "XML-RPC: the XenAPI (the official SDKs, XenCenter, Xen Orchestra)"),
            ("POST /jsonrpc", "JSON-RPC 2.0: the XenAPI"),
            ("GET /rrd_updates", "performance time series (session_id=...)"),
            ("GET /export_raw_vdi", "a VDI's contents: vdi=, format=raw|vhd"),
            ("PUT /import_raw_vdi", "into a VDI: vdi=, format=raw|vhd"),
            ("GET /export", "a halted VM as XVA: ref= or uuid="),
            ("PUT /import", "an XVA into new VM(s): sr_id= or sr_uuid= (else the default SR)"),
            ("CONNECT /console", "a guest's text console: uuid= (also GET, websocket)"),
        ]
        items = "".join(f"<tr><td><code>{p}</code></td><td>{d}</td></tr>" for p, d in rows)
        page = (f"<!DOCTYPE html><html><head><title>XenAPI server</title></head><body>"
                f"<h1>XenAPI server {version}</h1><p>Authentication: session_id=... "
                f"(session.login_with_password) or HTTP basic auth; task_id=... to follow "
                f"progress.</p><table>{items}</table></body></html>")
        if "text/html" not in request.headers.get("Accept", "text/html"):
            plain = "\n".join(f"{p}\t{d}" for p, d in rows)
            return web.Response(text=f"XenAPI server {version}\n{plain}\n",
                                content_type="text/plain")
        return web.Response(text=page, content_type="text/html")
    return root


def register(http: Any, services: Any) -> None:
    try:
        from importlib.metadata import version
        v = version("xen-py-toolstack")
    except Exception:       # noqa: BLE001 - not installed as a distribution
        v = "(development)"
    h = handler(services)
    http.add_route("GET", PATH, h)
    http.add_route("GET", PATH + "/{domid}", h)
    http.add_connect(PATH, h)
    http.add_route("GET", "/", index(services, v))
