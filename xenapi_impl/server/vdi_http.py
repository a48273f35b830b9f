"""GET /export_raw_vdi and PUT /import_raw_vdi: a VDI's contents over HTTP, as xapi serves them.

    GET /export_raw_vdi?vdi=<ref or uuid>[&format=raw|vhd][&task_id=T][&session_id=S]
    PUT /import_raw_vdi?vdi=<ref or uuid>[&format=raw|vhd][&task_id=T][&session_id=S]

Authentication: `session_id` or HTTP basic auth (http_ops). `raw` is the disk byte for byte
(Content-Length = virtual_size); an import of raw data writes only the non-zero 1 MiB pieces
into a freshly emptied image, so holes stay holes. `vhd` is a dynamic VHD (storage/vhd.py)
holding only the allocated blocks; an import accepts dynamic and fixed VHDs. The task (the
client's `task_id`, else one made here, named in the `Task-Id` answer header) shows the
progress and ends success or failure; a failure is also the HTTP answer (text: the XenAPI
error). The VDI must not be in use by a running VM for an import.
"""
from __future__ import annotations

import asyncio
import os
from typing import Any

from aiohttp import web

from ..api.context import TaskCancelled
from ..api.pbd import exclusive
from ..api.vdi import _in_use
from ..api.vdi_image import close_image, open_image, refresh_sizes
from ..errors import XenAPIError
from ..storage import vhd
from ..storage.sparse import PIECE, data_extents, empty_image, raw_pieces, write_sparse
from . import http_ops
from .http_ops import HttpFailure, Progress, text

EXPORT_PATH = "/export_raw_vdi"
IMPORT_PATH = "/import_raw_vdi"
#: Xen Orchestra's Content-Length for a body whose length it does not know (2^50): larger
#: declared lengths are not taken as the image's size
UNKNOWN_LENGTH = 1 << 50


def find_vdi(services: Any, key: str) -> str:
    """A VDI given by ref or uuid, or HttpFailure(404)."""
    if key and services.store.get("VDI", key) is not None:
        return key
    found = services.store.find_uuid(key) if key else None
    if found is not None and found[0] == "VDI":
        return found[1]
    raise HttpFailure(text(404, f"HANDLE_INVALID VDI {key}"))


def _format(request: web.Request) -> str:
    fmt = request.query.get("format", "raw").lower()
    if fmt not in ("raw", "vhd"):
        raise HttpFailure(text(400, f"format must be raw or vhd, not {fmt!r}"))
    return fmt


def import_into(fd: int, size: int, fmt: str, body: http_ops.BodyReader, vdi: str) -> None:
    """Fill the image from the body (in a worker thread). Raises XenAPIError."""
    empty_image(fd, size)
    if fmt == "raw":
        # at most the disk's size is read: a client that does not know the length (Xen
        # Orchestra) announces a huge Content-Length and waits for the answer
        pos = 0
        while pos < size:
            chunk = body.read_exact(min(PIECE, size - pos))
            if not chunk:
                break
            write_sparse(fd, pos, chunk)
            pos += len(chunk)
        return
    reader = vhd.VhdReader(body.read)
    try:
        for off, data in reader.runs():
            if off + len(data) > size:
                raise XenAPIError("VDI_TOO_SMALL", vdi, str(reader.size or off + len(data)))
            write_sparse(fd, off, data)
    except vhd.VhdError as exc:
        raise XenAPIError("IMPORT_ERROR", f"bad VHD: {exc}") from None
    if reader.size > size:
        raise XenAPIError("VDI_TOO_SMALL", vdi, str(reader.size))


# --- the handlers ---------------------------------------------------------------------------
def export_handler(services: Any) -> Any:
    async def export_raw_vdi(request: web.Request) -> web.StreamResponse:
        try:
            fmt = _format(request)
            vdi = find_vdi(services, request.query.get("vdi", ""))
            req = await http_ops.begin(services, request, "VDI.copy", "export_raw_vdi")
        except HttpFailure as f:
            return f.response
        ctx = req.ctx
        loop = asyncio.get_running_loop()
        response: web.StreamResponse | None = None
        try:
            with exclusive(ctx, vdi, "export_raw_vdi"):
                drv, uuid, path = await open_image(ctx, vdi, writable=False)
                try:
                    fd = os.open(path, os.O_RDONLY)
                    try:
                        size = services.store.get("VDI", vdi)["virtual_size"]
                        if fmt == "vhd":
                            plan = await http_ops.run_in_thread(
                                vhd.plan, fd, size, data_extents(fd, size))
                            length, pieces = plan.length, vhd.write(fd, plan)
                        else:
                            length, pieces = size, raw_pieces(fd, size)
                        response = web.StreamResponse(headers={
                            "Content-Type": "application/octet-stream",
                            "Task-Id": req.task.ref,
                            "Content-Disposition":
                                f'attachment; filename="{uuid}.{fmt}"'})
                        response.content_length = length
                        await response.prepare(request)
                        progress = Progress(req, length, loop)

                        def pump() -> None:
                            for piece in pieces:
                                http_ops.on_loop(loop, response.write(piece))
                                progress.add(len(piece))
                        await http_ops.run_in_thread(pump)
                        await response.write_eof()
                    finally:
                        os.close(fd)
                finally:
                    await close_image(ctx, drv, uuid)
        except (TaskCancelled, XenAPIError, ConnectionError, OSError) as exc:
            return await http_ops.export_failed(req, exc, response)
        await http_ops.finish(req)
        return response

    return export_raw_vdi


def import_handler(services: Any) -> Any:
    async def import_raw_vdi(request: web.Request) -> web.StreamResponse:
        try:
            fmt = _format(request)
            vdi = find_vdi(services, request.query.get("vdi", ""))
            req = await http_ops.begin(services, request, "VDI.create", "import_raw_vdi")
        except HttpFailure as f:
            return f.response
        ctx = req.ctx
        loop = asyncio.get_running_loop()
        try:
            ctx.txn = services.model.relations.wrap(services.store.transaction())
            _in_use(ctx, vdi, "import_raw_vdi")
            rec = services.store.get("VDI", vdi)
            if rec["read_only"]:
                raise XenAPIError("VDI_READONLY", vdi)
            length = request.content_length
            if (fmt == "raw" and length is not None
                    and rec["virtual_size"] < length < UNKNOWN_LENGTH):
                raise XenAPIError("VDI_TOO_SMALL", vdi, str(length))
            with exclusive(ctx, vdi, "import_raw_vdi"):
                drv, uuid, path = await open_image(ctx, vdi, writable=True)
                try:
                    fd = os.open(path, os.O_RDWR)
                    try:
                        total = min(request.content_length or rec["virtual_size"],
                                    rec["virtual_size"] if fmt == "raw" else UNKNOWN_LENGTH)
                        body = http_ops.BodyReader(request, loop, Progress(req, total, loop))
                        await http_ops.run_in_thread(
                            import_into, fd, rec["virtual_size"], fmt, body, vdi)
                        os.fsync(fd)
                    finally:
                        os.close(fd)
                finally:
                    await close_image(ctx, drv, uuid)
                await refresh_sizes(ctx, vdi, drv)
        except Exception as exc:  # noqa: BLE001 - cancelled, refused, or a broken upload
            return await http_ops.import_failed(req, exc)
        await http_ops.finish(req, result=None)
        return text(200, "OK", **{"Task-Id": req.task.ref})

    return import_raw_vdi


def register(http: Any, services: Any) -> None:
    # also with a trailing slash: Xen Orchestra asks for /export_raw_vdi/ and /import_raw_vdi/
    for path in (EXPORT_PATH, EXPORT_PATH + "/"):
        http.add_route("GET", path, export_handler(services))
    for path in (IMPORT_PATH, IMPORT_PATH + "/"):
        http.add_route("PUT", path, import_handler(services))
        http.add_route("POST", path, import_handler(services))
