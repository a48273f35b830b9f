"""GET and PUT /blob: a blob's bytes, as xapi serves them.

    PUT /blob?ref=<blob ref>|uuid=<uuid>[&session_id=S]     the body becomes the blob's data
    GET /blob?ref=<blob ref>|uuid=<uuid>[&session_id=S]     the data, with the blob's mime type

A PUT needs blob.create's roles (pool-operator and up) and sets the blob's size and
last_updated; a GET needs a session of any role, except that a public blob is given to anyone
(the reference's `public` field). A blob never written reads as empty. Authentication as in
http_ops (session_id in the query or a cookie, or basic auth).
"""
from __future__ import annotations

import asyncio
import datetime as _dt
import os
from typing import Any

from aiohttp import web

from . import http_ops
from .http_ops import HttpFailure, text

PATH = "/blob"
CHUNK = 1 << 16


def _find(services: Any, query: Any) -> tuple[str, dict[str, Any]]:
    ref, uuid = query.get("ref"), query.get("uuid")
    if ref and (rec := services.store.get("blob", ref)) is not None:
        return ref, rec
    found = services.store.find_uuid(uuid) if uuid else None
    if found is not None and found[0] == "blob":
        return found[1], services.store.get("blob", found[1])
    raise HttpFailure(text(404, f"HANDLE_INVALID blob {ref or uuid or ''}"))


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


def handlers(services: Any) -> tuple[Any, Any]:
    from ..api.blob import blob_path

    async def get(request: web.Request) -> web.Response:
        opened = False
        try:
            ref, rec = _find(services, request.query)
            if not rec["public"]:
                session, _info, opened = await http_ops.authenticate(
                    services, request, "blob.get_record")
        except HttpFailure as f:
            return f.response
        try:
            data = await asyncio.get_running_loop().run_in_executor(
                None, _read, blob_path(services, rec["uuid"]))
        finally:
            if opened:
                await services.sessions.logout(session)
        return web.Response(body=data, content_type=rec["mime_type"] or "application/octet-stream")

    async def put(request: web.Request) -> web.Response:
        try:
            ref, rec = _find(services, request.query)
            session, _info, opened = await http_ops.authenticate(services, request, "blob.create")
        except HttpFailure as f:
            return f.response
        loop = asyncio.get_running_loop()
        path = blob_path(services, rec["uuid"])
        tmp = f"{path}.{id(request):x}.part"      # one per upload: concurrent PUTs do not mix
        size = 0
        try:
            f = await loop.run_in_executor(None, open, tmp, "wb")
            try:
                while chunk := await request.content.read(CHUNK):
                    size += len(chunk)
                    await loop.run_in_executor(None, f.write, chunk)
            finally:
                await loop.run_in_executor(None, f.close)
            async with services.transaction() as txn:
                if txn.get("blob", ref) is None:        # destroyed meanwhile: keep nothing
                    raise HttpFailure(text(404, f"HANDLE_INVALID blob {ref}"))
                # the bytes replace the old ones only with the record's update
                await loop.run_in_executor(None, os.replace, tmp, path)
                txn.update("blob", ref, {"size": size, "last_updated": _dt.datetime.now(
                    _dt.timezone.utc).replace(microsecond=0)})
        except HttpFailure as fail:
            return fail.response
        except (OSError, ConnectionError) as exc:
            return text(500, f"blob upload failed: {exc}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
            if opened:
                await services.sessions.logout(session)
        return text(200, "OK")

    return get, put


def register(http: Any, services: Any) -> None:
    get, put = handlers(services)
    http.add_route("GET", PATH, get)
    http.add_route("PUT", PATH, put)
