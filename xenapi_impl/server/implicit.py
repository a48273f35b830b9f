"""Generic implementations of the implicit messages (getters, setters, create, destroy...).

Each factory takes the MessageDef and returns `async fn(ctx, *args)`; arguments arrive checked
and converted, and references in them already point at live objects.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable

from ..api.context import Context
from ..errors import XenAPIError
from ..model.dsl import MessageDef
from ..store import new_ref, new_uuid

Impl = Callable[..., Awaitable[Any]]


def _get(ctx: Context, cls: str, ref: str) -> dict[str, Any]:
    rec = ctx.txn.get(cls, ref)
    if rec is None:
        raise XenAPIError("HANDLE_INVALID", cls, ref)
    return rec


def make(msg: MessageDef) -> Impl | None:
    kind = msg.implicit
    cls = msg.cls
    fname = msg.field.name if msg.field is not None else ""

    if kind == "get_field":
        async def get_field(ctx: Context, ref: str) -> Any:
            return _get(ctx, cls, ref)[fname]
        return get_field

    if kind == "set_field":
        async def set_field(ctx: Context, ref: str, value: Any) -> None:
            _get(ctx, cls, ref)
            ctx.txn.update(cls, ref, {fname: value})
        return set_field

    if kind == "add_to":
        async def add_to(ctx: Context, ref: str, key: Any, value: Any) -> None:
            rec = _get(ctx, cls, ref)
            current = rec[fname] or {}
            if key in current:
                raise XenAPIError("MAP_DUPLICATE_KEY", cls, fname, rec.get("uuid", ref), key)
            new = dict(current)
            new[key] = value
            ctx.txn.update(cls, ref, {fname: new})
        return add_to

    if kind == "remove_from":
        async def remove_from(ctx: Context, ref: str, key: Any) -> None:
            current = _get(ctx, cls, ref)[fname] or {}
            if key in current:
                new = dict(current)
                del new[key]
                ctx.txn.update(cls, ref, {fname: new})
        return remove_from

    if kind == "add":
        async def add(ctx: Context, ref: str, value: Any) -> None:
            current = _get(ctx, cls, ref)[fname] or []
            if value not in current:
                ctx.txn.update(cls, ref, {fname: [*current, value]})
        return add

    if kind == "remove":
        async def remove(ctx: Context, ref: str, value: Any) -> None:
            current = _get(ctx, cls, ref)[fname] or []
            if value in current:
                ctx.txn.update(cls, ref, {fname: [v for v in current if v != value]})
        return remove

    if kind == "get_record":
        async def get_record(ctx: Context, ref: str) -> Any:
            return _get(ctx, cls, ref)
        return get_record

    if kind == "get_all":
        async def get_all(ctx: Context) -> list[str]:
            return list(ctx.store.records(cls))
        return get_all

    if kind == "get_all_records":
        async def get_all_records(ctx: Context) -> dict[str, Any]:
            return dict(ctx.store.records(cls))
        return get_all_records

    if kind == "get_by_uuid":
        async def get_by_uuid(ctx: Context, uuid: str) -> str:
            found = ctx.store.find_uuid(uuid)
            if found is None or found[0] != cls:
                raise XenAPIError("UUID_INVALID", cls, uuid)
            return found[1]
        return get_by_uuid

    if kind == "get_by_name_label":
        async def get_by_name_label(ctx: Context, label: str) -> list[str]:
            return [ref for ref, rec in ctx.store.records(cls).items()
                    if rec.get("name_label") == label]
        return get_by_name_label

    if kind == "create":
        async def create(ctx: Context, record: dict[str, Any]) -> str:
            full = ctx.services.default_record(cls)
            full.update(record)
            full["uuid"] = new_uuid()
            ref = new_ref()
            ctx.txn.create(cls, ref, full)
            return ref
        return create

    if kind == "destroy":
        async def destroy(ctx: Context, ref: str) -> None:
            _get(ctx, cls, ref)
            ctx.txn.delete(cls, ref)
        return destroy

    return None


_MAP_ACCESSORS = (("add_to_", "add_to", 2), ("remove_from_", "remove_from", 1),
                  ("set_", "set_field", 1))


def map_accessor(msg: MessageDef, classdef: Any) -> Impl | None:
    """A generic implementation for an explicit map-field accessor (VM.add_to_other_config,
    VM.set_platform...): xapi declares these explicitly for extra checks on some keys, but
    their effect is the implicit one. Only used when the parameter types match the field's."""
    for prefix, kind, nvalues in _MAP_ACCESSORS:
        if not msg.name.startswith(prefix):
            continue
        fdef = classdef.fields.get(msg.name[len(prefix):])
        params = msg.arg_params
        if fdef is None or fdef.type.kind != "map" or len(params) != 1 + nvalues:
            return None
        if params[0].type.kind != "ref" or params[0].type.cls != classdef.name:
            return None
        t = fdef.type
        wanted = {"add_to": [t.key, t.value], "remove_from": [t.key], "set_field": [t]}[kind]
        if [p.type for p in params[1:]] != wanted:
            return None
        shadow = MessageDef(cls=msg.cls, name=msg.name, params=msg.params, result=msg.result,
                            roles=msg.roles, implicit=kind, field=fdef)
        return make(shadow)
    return None
