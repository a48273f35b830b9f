"""VM_appliance.*: a group of VMs started and shut down together, as xapi does it.

The VMs that are not yet in the wanted power state are grouped by VM.order; the groups run one
after the other (start: ascending order, the shutdowns: descending), the VMs of one group
together. VM.start waits the VM's start_delay after starting it, the shutdowns its
shutdown_delay (api/vm.py), so the next group begins that much later. VMs that did not reach
the wanted state make the call fail with OPERATION_PARTIALLY_FAILED [operation, vm...] after
every group has run. One appliance operation at a time (current_operations); allowed_operations
follows the power states of the VMs (refreshed by every VM power operation).

Recovery (disaster recovery into the pool of `session_to`): this server only knows its own
database, so `session_to` is a session of this server and the SRs required are looked up here
by uuid, as xapi looks them up in the destination pool.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, AsyncIterator, Awaitable, Callable

from ..errors import XenAPIError
from ..store import NULL_REF, new_ref
from .context import Context
from .internal_calls import call_as
from .registry import implements

log = logging.getLogger(__name__)

#: operation -> (power states of a VM that make it possible, refusal when no VM is in one)
_POSSIBLE: dict[str, tuple[Callable[[str], bool], str]] = {
    "start": (lambda s: s == "Halted", "There are no halted VMs in this appliance."),
    "clean_shutdown": (lambda s: s == "Running", "There are no running VMs in this appliance."),
    "hard_shutdown": (lambda s: s != "Halted", "All VMs in this appliance are halted."),
    "shutdown": (lambda s: s != "Halted", "All VMs in this appliance are halted."),
}
OPERATIONS = tuple(_POSSIBLE)


def operation_error(txn: Any, app: str, op: str) -> XenAPIError | None:
    """Why `op` is not possible on appliance `app` now (None when it is)."""
    rec = txn.get("VM_appliance", app)
    for op_ref, running in rec["current_operations"].items():
        return XenAPIError("OTHER_OPERATION_IN_PROGRESS", "VM_appliance", app, running, op_ref)
    vms = rec["VMs"]
    if not vms:
        return XenAPIError("OPERATION_NOT_ALLOWED", "Appliance has no VMs.")
    possible, refusal = _POSSIBLE[op]
    if any(possible(txn.get("VM", vm)["power_state"]) for vm in vms):
        return None
    return XenAPIError("OPERATION_NOT_ALLOWED", refusal)


def refresh_allowed(txn: Any, app: str) -> None:
    """Recompute the appliance's allowed_operations (after its VMs changed state or set)."""
    if app == NULL_REF or txn.get("VM_appliance", app) is None:
        return
    allowed = [op for op in OPERATIONS if operation_error(txn, app, op) is None]
    txn.update("VM_appliance", app, {"allowed_operations": allowed})


@implements("VM_appliance.destroy")
async def destroy(ctx: Context, self: str) -> None:
    """The VMs stay, out of the appliance (xapi would leave them naming a destroyed one)."""
    for vm in ctx.txn.get("VM_appliance", self)["VMs"]:
        ctx.txn.update("VM", vm, {"appliance": NULL_REF})
    ctx.txn.delete("VM_appliance", self)


@contextlib.asynccontextmanager
async def _announced(ctx: Context, app: str, op: str) -> AsyncIterator[None]:
    """Check `op`, put it in current_operations (committed now) until the body ends."""
    err = operation_error(ctx.txn, app, op)
    if err is not None:
        raise err
    op_ref = ctx.task.ref if ctx.task is not None else new_ref()
    ctx.txn.update("VM_appliance", app, {"current_operations": {op_ref: op},
                                         "allowed_operations": []})
    await ctx.txn.commit()
    try:
        yield
    finally:
        async with ctx.services.transaction() as txn:
            rec = txn.get("VM_appliance", app)
            if rec is not None:
                cur = {k: v for k, v in rec["current_operations"].items() if k != op_ref}
                txn.update("VM_appliance", app, {"current_operations": cur})
                refresh_allowed(txn, app)


def _groups(txn: Any, vms: list[str], ascending: bool) -> list[list[str]]:
    """The VMs grouped by VM.order, groups in the order they run."""
    by_order: dict[int, list[str]] = {}
    for vm in vms:
        by_order.setdefault(int(txn.get("VM", vm)["order"]), []).append(vm)
    return [sorted(by_order[k]) for k in sorted(by_order, reverse=not ascending)]


async def _on_vm(ctx: Context, name: str, fn: Callable[..., Awaitable[Any]], vm: str,
                 *args: Any) -> None:
    """Run VM.<name> on one VM as its own call; a failure is logged (the caller checks the
    power states afterwards, as xapi does)."""
    try:
        await call_as(ctx, f"VM.{name}", fn, vm, *args)
    except Exception as exc:  # noqa: BLE001 - reported as OPERATION_PARTIALLY_FAILED
        log.info("%s: VM.%s of %s failed: %s", ctx.method, name, vm, exc)


async def _perform(ctx: Context, app: str, op: str, wanted: str, ascending: bool,
                   name: str, fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
    async with _announced(ctx, app, op):
        txn = ctx.store.transaction()
        vms = [vm for vm in txn.get("VM_appliance", app)["VMs"]
               if txn.get("VM", vm)["power_state"] != wanted]
        for group in _groups(txn, vms, ascending):
            if ctx.task is not None:
                ctx.task.check_cancelled()
            await asyncio.gather(*(_on_vm(ctx, name, fn, vm, *args) for vm in group))
        txn = ctx.store.transaction()
        failed = [vm for vm in vms
                  if txn.get("VM", vm) is None or txn.get("VM", vm)["power_state"] != wanted]
    if failed:
        raise XenAPIError("OPERATION_PARTIALLY_FAILED", f"VM_appliance.{op}", *failed)


@implements("VM_appliance.start")
async def start(ctx: Context, self: str, paused: bool) -> None:
    from .vm import start as vm_start
    await _perform(ctx, self, "start", "Paused" if paused else "Running", True,
                   "start", vm_start, paused, False)


@implements("VM_appliance.clean_shutdown")
async def clean_shutdown(ctx: Context, self: str) -> None:
    from .vm import clean_shutdown as vm_clean_shutdown
    await _perform(ctx, self, "clean_shutdown", "Halted", False,
                   "clean_shutdown", vm_clean_shutdown)


@implements("VM_appliance.hard_shutdown")
async def hard_shutdown(ctx: Context, self: str) -> None:
    from .vm import hard_shutdown as vm_hard_shutdown
    await _perform(ctx, self, "hard_shutdown", "Halted", False,
                   "hard_shutdown", vm_hard_shutdown)


@implements("VM_appliance.shutdown")
async def shutdown(ctx: Context, self: str) -> None:
    from .vm import shutdown as vm_shutdown
    await _perform(ctx, self, "shutdown", "Halted", False, "shutdown", vm_shutdown)


# --- recovery --------------------------------------------------------------------------------
@implements("VM_appliance.assert_can_be_recovered")
async def assert_can_be_recovered(ctx: Context, self: str, session_to: str) -> None:
    from .vm_recovery import assert_recoverable
    for vm in ctx.txn.get("VM_appliance", self)["VMs"]:
        assert_recoverable(ctx, vm)


@implements("VM_appliance.get_SRs_required_for_recovery")
async def get_SRs_required_for_recovery(ctx: Context, self: str, session_to: str) -> list[str]:
    from .vm_recovery import missing_srs
    out: list[str] = []
    for vm in ctx.txn.get("VM_appliance", self)["VMs"]:
        out += [sr for sr in missing_srs(ctx, vm) if sr not in out]
    return out


@implements("VM.set_appliance", nullable=("value",))
async def set_appliance(ctx: Context, self: str, value: str) -> None:
    rec = ctx.txn.get("VM", self)
    if rec["is_control_domain"] or rec["is_a_template"] or rec["is_a_snapshot"]:
        raise XenAPIError("OPERATION_NOT_ALLOWED", "Control domains, templates and snapshots "
                          "cannot be assigned to appliances.")
    previous = rec["appliance"]
    ctx.txn.update("VM", self, {"appliance": value})
    refresh_allowed(ctx.txn, previous)
    refresh_allowed(ctx.txn, value)
