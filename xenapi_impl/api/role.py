"""role.*: the permissions a role holds and the roles that hold a permission.

Roles and permissions are both role records (model/roles.py): a permission is internal and
has no subroles; a role's subroles are its permissions (followed through any nesting)."""
from __future__ import annotations

from typing import Any

from .context import Context
from .registry import implements


def _permissions(records: dict[str, Any], ref: str) -> list[str]:
    out: list[str] = []
    seen: set[str] = {ref}
    todo = list(records[ref]["subroles"])
    while todo:
        r = todo.pop(0)
        if r in seen or r not in records:
            continue
        seen.add(r)
        out.append(r)
        todo.extend(records[r]["subroles"])
    return out


def _holders(records: dict[str, Any], permission: str) -> list[str]:
    return [ref for ref in records if permission in _permissions(records, ref)]


def _labels(records: dict[str, Any], refs: list[str]) -> list[str]:
    return [records[r]["name_label"] for r in refs]


@implements("role.get_permissions")
async def get_permissions(ctx: Context, self: str) -> list[str]:
    return _permissions(ctx.store.records("role"), self)


@implements("role.get_permissions_name_label")
async def get_permissions_name_label(ctx: Context, self: str) -> list[str]:
    records = ctx.store.records("role")
    return _labels(records, _permissions(records, self))


@implements("role.get_by_permission")
async def get_by_permission(ctx: Context, permission: str) -> list[str]:
    return _holders(ctx.store.records("role"), permission)


@implements("role.get_by_permission_name_label")
async def get_by_permission_name_label(ctx: Context, label: str) -> list[str]:
    # permission names are stored lowercase, as xapi's: "VM.start" names "vm.start"
    records = ctx.store.records("role")
    named = [ref for ref, rec in records.items() if rec["name_label"].lower() == label.lower()]
    return sorted({h for ref in named for h in _holders(records, ref)})
