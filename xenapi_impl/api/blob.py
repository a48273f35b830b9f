"""blob.* and `<class>.create_new_blob`: named binary data attached to objects.

A blob's record holds its name, mime type, size and last update; its bytes live in this host's
state, `<state_base>.blobs/<uuid>` (a server without a state keeps them in a directory of its
own for its lifetime), written and read over HTTP at /blob (server/blob_http.py).
`create_new_blob` also files the blob in the object's `blobs` map under its name (a name the
map has already is MAP_DUPLICATE_KEY, as xapi's add_to_blobs); destroying a blob takes it out
of every map and deletes its bytes; destroying an owner leaves its blobs as xapi does.
"""
from __future__ import annotations

import datetime as _dt
import os
import tempfile
from typing import Any

from ..errors import XenAPIError
from ..store import new_ref, new_uuid
from .context import Context
from .registry import implements

DEFAULT_MIME = "application/octet-stream"
#: the classes with a `blobs` map (and a create_new_blob)
OWNERS = ("pool", "host", "VM", "network", "SR")
_scratch: dict[int, str] = {}


def blob_dir(services: Any) -> str:
    """Where blobs' bytes are kept (created on first use)."""
    base = services.state_base
    if base:
        path = os.path.abspath(base) + ".blobs"
    else:
        path = _scratch.get(id(services)) or tempfile.mkdtemp(prefix="xapi-blobs-")
        _scratch[id(services)] = path
    os.makedirs(path, exist_ok=True)
    return path


def blob_path(services: Any, uuid: str) -> str:
    return os.path.join(blob_dir(services), uuid)


def new_blob(ctx: Context, name: str, mime_type: str, public: bool) -> str:
    ref = new_ref()
    ctx.txn.create("blob", ref, {
        **ctx.services.default_record("blob"), "uuid": new_uuid(), "name_label": name,
        "public": public, "mime_type": mime_type or DEFAULT_MIME, "size": 0,
        "last_updated": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)})
    return ref


@implements("blob.create")
async def create(ctx: Context, mime_type: str, public: bool) -> str:
    return new_blob(ctx, "", mime_type, public)


@implements("blob.destroy")
async def destroy(ctx: Context, self: str) -> None:
    uuid = ctx.txn.get("blob", self)["uuid"]
    for cls in OWNERS:
        for ref, rec in ctx.store.records(cls).items():
            names = [k for k, v in rec["blobs"].items() if v == self]
            if names:
                ctx.txn.update(cls, ref, {"blobs": {k: v for k, v in rec["blobs"].items()
                                                    if v != self}})
    ctx.txn.delete("blob", self)
    try:
        os.unlink(blob_path(ctx.services, uuid))
    except FileNotFoundError:
        pass                    # never written


def _register(cls: str) -> None:
    async def create_new_blob(ctx: Context, obj: str, name: str, mime_type: str,
                              public: bool) -> str:
        rec = ctx.txn.get(cls, obj)
        if name in rec["blobs"]:
            raise XenAPIError("MAP_DUPLICATE_KEY", cls, "blobs", rec["uuid"], name)
        ref = new_blob(ctx, name, mime_type, public)
        ctx.txn.update(cls, obj, {"blobs": {**rec["blobs"], name: ref}})
        return ref
    implements(f"{cls}.create_new_blob")(create_new_blob)


for _cls in OWNERS:
    _register(_cls)
