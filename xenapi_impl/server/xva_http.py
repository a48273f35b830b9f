"""GET /export and PUT /import: whole VMs in the XVA format (api/xva.py, xvaformat.py).

    GET /export?ref=<VM ref>|uuid=<VM uuid>[&task_id=T][&session_id=S]
    PUT /import[?sr_id=<SR ref>|sr_uuid=<uuid>][&restore=true][&task_id=T][&session_id=S]

Authentication and tasks as in http_ops (session_id in the query or a cookie, or basic auth).
The import's task result is the new VMs' refs as an XML-RPC value (what xapi's clients parse
with `task.get_result`); `restore=true` keeps the VMs' uuids (when free here); a failure
leaves no VM and no VDI behind and fails the task.
"""
from __future__ import annotations

import asyncio
import os
from typing import Any

from aiohttp import web

from ..api import xva
from ..api.context import TaskCancelled
from ..errors import XenAPIError
from ..store import NULL_REF
from . import http_ops
from .http_ops import HttpFailure, Progress, text

EXPORT_PATH = "/export"
IMPORT_PATH = "/import"


def _find(services: Any, cls: str, ref: str | None, uuid: str | None) -> str:
    if ref and services.store.get(cls, ref) is not None:
        return ref
    key = uuid or ref
    found = services.store.find_uuid(key) if key else None
    if found is not None and found[0] == cls:
        return found[1]
    raise HttpFailure(text(404, f"HANDLE_INVALID {cls} {key or ''}"))


def export_handler(services: Any) -> Any:
    async def export(request: web.Request) -> web.StreamResponse:
        from .vdi_http import close_image, open_image
        q = request.query
        try:
            vm = _find(services, "VM", q.get("ref"), q.get("uuid"))
            req = await http_ops.begin(services, request, "VM.copy", "export")
        except HttpFailure as f:
            return f.response
        ctx = req.ctx
        loop = asyncio.get_running_loop()
        response: web.StreamResponse | None = None
        opened: list[tuple[Any, str, int]] = []
        try:
            ova, disks = xva.export_plan(ctx, vm)
            total = sum(services.store.get("VDI", d)["virtual_size"] for _p, d in disks)
            for _prefix, vdi in disks:
                drv, uuid, path = await open_image(ctx, vdi, writable=False)
                opened.append((drv, uuid, os.open(path, os.O_RDONLY)))
            name = services.store.get("VM", vm)["name_label"] or "vm"
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
            response = web.StreamResponse(headers={
                "Content-Type": "application/octet-stream", "Task-Id": req.task.ref,
                "Content-Disposition": f'attachment; filename="{safe}.xva"'})
            response.enable_chunked_encoding()
            await response.prepare(request)
            await response.write(xva.fmt.member("ova.xml", ova))
            progress = Progress(req, total, loop)

            def pump() -> None:
                for (prefix, vdi), (_d, _u, fd) in zip(disks, opened):
                    size = services.store.get("VDI", vdi)["virtual_size"]
                    for covered, piece in xva.export_pieces(fd, prefix, size):
                        if piece:
                            http_ops.on_loop(loop, response.write(piece))
                        progress.add(covered)
                http_ops.on_loop(loop, response.write(xva.fmt.END))
            await http_ops.run_in_thread(pump)
            await response.write_eof()
        except (TaskCancelled, XenAPIError, ConnectionError, OSError) as exc:
            return await http_ops.export_failed(req, exc, response)
        finally:
            for drv, uuid, fd in opened:
                os.close(fd)
                await close_image(ctx, drv, uuid)
        await http_ops.finish(req)
        return response

    return export


def import_handler(services: Any) -> Any:
    async def import_(request: web.Request) -> web.StreamResponse:
        q = request.query
        try:
            sr = NULL_REF
            if q.get("sr_id") or q.get("sr_uuid"):
                sr = _find(services, "SR", q.get("sr_id"), q.get("sr_uuid"))
            req = await http_ops.begin(services, request, "VM.import", "import")
        except HttpFailure as f:
            return f.response
        loop = asyncio.get_running_loop()
        try:
            total = request.content_length or 0
            if total >= (1 << 50):          # Xen Orchestra's "length unknown"
                total = 0
            body = http_ops.BodyReader(request, loop,
                                       Progress(req, total, loop) if total else None)
            restore = q.get("restore", "false").lower() == "true"
            refs = await xva.import_xva(req.ctx, body.read, sr, restore=restore)
        except Exception as exc:  # noqa: BLE001 - cancelled, refused, or a broken upload
            return await http_ops.import_failed(req, exc)
        await http_ops.finish(req, result=refs)
        return text(200, " ".join(refs), **{"Task-Id": req.task.ref})

    return import_


def register(http: Any, services: Any) -> None:
    # also with a trailing slash: Xen Orchestra asks for /export/ and /import/
    for path in (EXPORT_PATH, EXPORT_PATH + "/"):
        http.add_route("GET", path, export_handler(services))
    for path in (IMPORT_PATH, IMPORT_PATH + "/"):
        http.add_route("PUT", path, import_handler(services))
        http.add_route("POST", path, import_handler(services))
