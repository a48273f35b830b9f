"""role.*: permissions of a role and roles holding a permission (xapi's xapi_role.ml).

Role records come from the model (model/roles.py): one per static role whose `subroles` are
its permissions, one per permission (a message, no subroles). A role's permissions are every
role reachable through `subroles`; the roles holding a permission are those that reach it.
"""
from __future__ import annotations

from ..server.context import Context
from .registry import implements


def _reachable(ctx: Context, role: str) -> list[str]:
    """Every role below `role` through subroles (each once, in a stable order)."""
    seen: dict[str, None] = {}
    todo = list(ctx.store.get("role", role)["subroles"])
    while todo:
        ref = todo.pop(0)
        rec = ctx.store.get("role", ref)
        if ref in seen or rec is None:
            continue
        seen[ref] = None
        todo.extend(rec["subroles"])
    return list(seen)


@implements("role.get_permissions")
async def get_permissions(ctx: Context, self: str) -> list[str]:
    return _reachable(ctx, self)


@implements("role.get_permissions_name_label")
async def get_permissions_name_label(ctx: Context, self: str) -> list[str]:
    return [ctx.store.get("role", r)["name_label"] for r in _reachable(ctx, self)]


@implements("role.get_by_permission")
async def get_by_permission(ctx: Context, permission: str) -> list[str]:
    return [ref for ref in ctx.store.records("role") if permission in _reachable(ctx, ref)]


@implements("role.get_by_permission_name_label")
async def get_by_permission_name_label(ctx: Context, label: str) -> list[str]:
    for ref, rec in ctx.store.records("role").items():
        if rec["name_label"] == label:
            return await get_by_permission(ctx, ref)
    return []
