"""VM_group.* and VM.set_groups: VMs grouped under a placement policy (xapi allows a VM in
one group at most). VM.groups and VM_group.VMs are kept the inverse of each other here (a
many-to-many pair, outside the one-to-many relations of model/relations.py)."""
from __future__ import annotations

from typing import Any

from ..errors import XenAPIError
from .context import Context
from .registry import implements


def _set_groups(txn: Any, vm: str, groups: list[str]) -> None:
    old = txn.get("VM", vm)["groups"]
    for g in old:
        if g not in groups and txn.get("VM_group", g) is not None:
            txn.update("VM_group", g, {"VMs": [v for v in txn.get("VM_group", g)["VMs"]
                                               if v != vm]})
    for g in groups:
        if g not in old:
            txn.update("VM_group", g, {"VMs": [*txn.get("VM_group", g)["VMs"], vm]})
    txn.update("VM", vm, {"groups": list(groups)})


def leave_groups(txn: Any, vm: str) -> None:
    """A VM that goes leaves its groups."""
    _set_groups(txn, vm, [])


@implements("VM.set_groups")
async def set_groups(ctx: Context, self: str, value: list[str]) -> None:
    rec = ctx.txn.get("VM", self)
    if rec["is_control_domain"] or rec["is_a_template"] or rec["is_a_snapshot"]:
        raise XenAPIError("OPERATION_NOT_ALLOWED", "Control domains, templates, and snapshots "
                          "cannot be added to VM groups.")
    if len(set(value)) > 1:
        raise XenAPIError("TOO_MANY_GROUPS")
    _set_groups(ctx.txn, self, sorted(set(value)))


@implements("VM_group.destroy")
async def destroy(ctx: Context, self: str) -> None:
    for vm in ctx.txn.get("VM_group", self)["VMs"]:
        if ctx.txn.get("VM", vm) is not None:
            ctx.txn.update("VM", vm, {"groups": [g for g in ctx.txn.get("VM", vm)["groups"]
                                                 if g != self]})
    ctx.txn.delete("VM_group", self)
