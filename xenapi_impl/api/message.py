"""message.*: alerts about objects (xapi defines these explicitly, not as implicit messages).

The server itself raises messages too (e.g. resync reporting a domain no VM knows:
`new_message`). get_all_records_where takes xapi's expression language (server/where.py).
"""
from __future__ import annotations

import datetime as _dt
from typing import Any

from ..errors import XenAPIError
from ..store import new_ref, new_uuid
from .context import Context
from .registry import implements


def new_message(services: Any, txn: Any, name: str, priority: int, cls: str, obj_uuid: str,
                body: str) -> str:
    ref = new_ref()
    txn.create("message", ref, {
        **services.default_record("message"), "uuid": new_uuid(), "name": name,
        "priority": priority, "cls": cls, "obj_uuid": obj_uuid, "body": body,
        "timestamp": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)})
    return ref


def _all(ctx: Context) -> dict[str, Any]:
    return dict(ctx.store.records("message"))


@implements("message.create")
async def create(ctx: Context, name: str, priority: int, cls: str, obj_uuid: str,
                 body: str) -> str:
    if not name:
        raise XenAPIError("INVALID_VALUE", "name", name)
    found = ctx.store.find_uuid(obj_uuid)
    if found is None or found[0].lower() != cls.lower():
        raise XenAPIError("UUID_INVALID", cls, obj_uuid)
    return new_message(ctx.services, ctx.txn, name, priority, cls, obj_uuid, body)


@implements("message.get_all")
async def get_all(ctx: Context) -> list[str]:
    return list(_all(ctx))


@implements("message.get_all_records")
async def get_all_records(ctx: Context) -> dict[str, Any]:
    return _all(ctx)


@implements("message.get_all_records_where")
async def get_all_records_where(ctx: Context, expr: str) -> dict[str, Any]:
    from ..model import MODEL
    from .where import records_where
    return records_where(_all(ctx), MODEL.classes["message"], expr)


@implements("message.get_record")
async def get_record(ctx: Context, self: str) -> Any:
    return ctx.txn.get("message", self)


@implements("message.get_by_uuid")
async def get_by_uuid(ctx: Context, uuid: str) -> str:
    found = ctx.store.find_uuid(uuid)
    if found is None or found[0] != "message":
        raise XenAPIError("UUID_INVALID", "message", uuid)
    return found[1]


@implements("message.get_since")
async def get_since(ctx: Context, since: _dt.datetime) -> dict[str, Any]:
    return {r: m for r, m in _all(ctx).items() if m["timestamp"] > since}


@implements("message.get")
async def get(ctx: Context, cls: str, obj_uuid: str, since: _dt.datetime) -> dict[str, Any]:
    return {r: m for r, m in _all(ctx).items()
            if m["cls"] == cls and m["obj_uuid"] == obj_uuid and m["timestamp"] > since}


@implements("message.destroy")
async def destroy(ctx: Context, self: str) -> None:
    ctx.txn.delete("message", self)


@implements("message.destroy_many")
async def destroy_many(ctx: Context, messages: list[str]) -> None:
    for m in messages:
        ctx.txn.delete("message", m)


@implements("message.destroy_all")
async def destroy_all(ctx: Context, filters: dict[str, str]) -> None:
    """Destroy the messages whose fields equal every filter (name, cls, obj_uuid...)."""
    fields = ctx.services.model.classes["message"].fields
    for key in filters:
        if key not in fields:
            raise XenAPIError("INVALID_VALUE", "filters", key)
    for ref, m in _all(ctx).items():
        if all(str(m[k]) == v for k, v in filters.items()):
            ctx.txn.delete("message", ref)
