"""VM settings: memory limits and ranges, vCPU counts (static and live), live vCPU
parameters, is_a_template. Static changes need a halted VM (templates included, like
xapi); live ones a running VM, applied through the hypervisor before they are recorded."""
from __future__ import annotations

from typing import Any

from ..errors import XenAPIError
from ..store import NULL_REF
from ..xen.sched import SCHED_KEYS, BadSchedValue, parse_sched
from .context import Context
from .registry import implements
from .vm import VmOps, allowed_operations, check_memory, check_operation, check_vcpus, hypervisor


@implements("VM.set_memory_static_range")
async def set_memory_static_range(ctx: Context, self: str, min: int, max: int) -> None:
    """static_min and static_max of a halted VM (or template)."""
    rec = check_operation(ctx, self, "changing_static_range", ("Halted",), template_ok=True)
    values = {"memory_static_min": min, "memory_static_max": max}
    check_memory({**rec, **values})
    ctx.txn.update("VM", self, values)


def parse_mask(value: str, nr_cpus: int) -> list[int]:
    """A "mask" value: physical CPU numbers separated by commas ("0,2,3")."""
    try:
        cpus = sorted({int(p) for p in value.split(",")})
    except ValueError:
        raise XenAPIError("INVALID_VALUE", "VCPUs_params:mask", value) from None
    if not cpus or any(not 0 <= c < nr_cpus for c in cpus):
        raise XenAPIError("INVALID_VALUE", "VCPUs_params:mask", value)
    return cpus


@implements("VM.add_to_VCPUs_params_live")
async def add_to_VCPUs_params_live(ctx: Context, self: str, key: str, value: str) -> None:
    """"mask" pins every vCPU of the running guest to those pCPUs (hard affinity);
    "weight"/"cap" set the domain's credit scheduler parameters. Applied to the domain
    first, then recorded; a bad value is INVALID_VALUE ["VCPUs_params:<key>", value]."""
    rec = check_operation(ctx, self, "changing_VCPUs_live", ("Running",), template_ok=False)
    if key in SCHED_KEYS:
        hv = hypervisor(ctx)
        info = await hv.domain_info(rec["domid"])
        if info is None:
            raise XenAPIError("VM_BAD_POWER_STATE", self, "running", "halted")
        try:
            n = parse_sched(key, value, info.vcpu_max_id + 1)
        except BadSchedValue:
            raise XenAPIError("INVALID_VALUE", f"VCPUs_params:{key}", value) from None
        await hv.run("scheduler parameters", hv.context.set_sched_params, rec["domid"],
                     **{key: n})
        ctx.txn.update("VM", self, {"VCPUs_params": {**rec["VCPUs_params"], key: value}})
        return
    if key != "mask":
        raise XenAPIError("INVALID_VALUE", "VCPUs_params", key)
    hv = hypervisor(ctx)
    phys = await hv.physinfo()
    cpus = parse_mask(value, phys.nr_cpus)
    info = await hv.domain_info(rec["domid"])
    if info is None:
        raise XenAPIError("VM_BAD_POWER_STATE", self, "running", "halted")
    for vcpu in range(info.vcpu_max_id + 1):
        await hv.run("vcpu affinity", hv.context.set_vcpu_affinity, rec["domid"], vcpu, cpus)
    ctx.txn.update("VM", self, {"VCPUs_params": {**rec["VCPUs_params"], key: value}})


@implements("VM.set_is_a_template")
async def set_is_a_template(ctx: Context, self: str, value: bool) -> None:
    """A halted VM may become a template (a running one: VM_BAD_POWER_STATE); a template
    made a VM again is no longer a default one; a snapshot stays a template."""
    rec = ctx.txn.get("VM", self)
    if rec["is_control_domain"]:
        raise XenAPIError("OPERATION_NOT_ALLOWED",
                          "This operation is not allowed on the control domain")
    if value and rec["power_state"] != "Halted":
        raise XenAPIError("VM_BAD_POWER_STATE", self, "halted", rec["power_state"].lower())
    if value and rec["appliance"] != NULL_REF:
        raise XenAPIError("VM_IS_PART_OF_AN_APPLIANCE", self, rec["appliance"])
    if value and rec["snapshot_schedule"] != NULL_REF:
        raise XenAPIError("VM_ASSIGNED_TO_SNAPSHOT_SCHEDULE", self, rec["snapshot_schedule"])
    if not value and rec["is_a_snapshot"]:
        raise XenAPIError("OPERATION_NOT_ALLOWED", "A snapshot cannot be made a VM; use "
                          "VM.clone or VM.revert")
    busy = VmOps.of(ctx.services).busy.get(self)
    if busy is not None:
        raise XenAPIError("OTHER_OPERATION_IN_PROGRESS", "VM", self, busy[0], busy[1])
    values: dict[str, Any] = {"is_a_template": value}
    if not value:
        values["is_default_template"] = False
        values["other_config"] = {k: v for k, v in rec["other_config"].items()
                                  if k != "default_template"}
    ctx.txn.update("VM", self, values)
    ctx.txn.update("VM", self, {"allowed_operations":
                                allowed_operations(ctx.txn.get("VM", self))})


# --- memory and vCPU counts ------------------------------------------------------------------
def _set_memory(ctx: Context, vm: str, rec: dict[str, Any], **values: int) -> None:
    check_memory({**rec, **values})
    ctx.txn.update("VM", vm, values)


@implements("VM.set_memory_limits")
async def set_memory_limits(ctx: Context, self: str, static_min: int, static_max: int,
                            dynamic_min: int, dynamic_max: int) -> None:
    rec = check_operation(ctx, self, "changing_memory_limits", ("Halted",), template_ok=True)
    _set_memory(ctx, self, rec, memory_static_min=static_min, memory_static_max=static_max,
                memory_dynamic_min=dynamic_min, memory_dynamic_max=dynamic_max)


@implements("VM.set_memory")
async def set_memory(ctx: Context, self: str, value: int) -> None:
    """static_max, dynamic_min and dynamic_max to `value`, static_min unchanged (xapi)."""
    rec = check_operation(ctx, self, "changing_memory_limits", ("Halted",), template_ok=True)
    _set_memory(ctx, self, rec, memory_static_max=value, memory_dynamic_min=value,
                memory_dynamic_max=value)


@implements("VM.set_memory_static_max")
async def set_memory_static_max(ctx: Context, self: str, value: int) -> None:
    rec = check_operation(ctx, self, "changing_static_range", ("Halted",), template_ok=True)
    _set_memory(ctx, self, rec, memory_static_max=value)


@implements("VM.set_memory_static_min")
async def set_memory_static_min(ctx: Context, self: str, value: int) -> None:
    rec = check_operation(ctx, self, "changing_static_range", ("Halted",), template_ok=True)
    _set_memory(ctx, self, rec, memory_static_min=value)


async def _dynamic(ctx: Context, vm: str, dmin: int | None, dmax: int | None) -> None:
    rec = check_operation(ctx, vm, "changing_dynamic_range", ("Halted", "Running"), template_ok=True)
    values = {"memory_dynamic_min": rec["memory_dynamic_min"] if dmin is None else dmin,
              "memory_dynamic_max": rec["memory_dynamic_max"] if dmax is None else dmax}
    check_memory({**rec, **values})
    if rec["power_state"] == "Running":
        # no memory squeezer here: the balloon target is dynamic_max, as when it started
        hv = hypervisor(ctx)
        await hv.run("memory target", hv.context.set_memory_target, rec["domid"],
                     values["memory_dynamic_max"] // 1024)
        values["memory_target"] = values["memory_dynamic_max"]
        info = await hv.domain_info(rec["domid"])
        if info is not None and _metrics(ctx, rec):
            ctx.txn.update("VM_metrics", rec["metrics"],
                           {"memory_actual": info.current_memkb * 1024})
    ctx.txn.update("VM", vm, values)


def _metrics(ctx: Context, rec: dict[str, Any]) -> bool:
    return rec["metrics"] != NULL_REF and ctx.txn.get("VM_metrics", rec["metrics"]) is not None


@implements("VM.set_memory_dynamic_range")
async def set_memory_dynamic_range(ctx: Context, self: str, min: int, max: int) -> None:
    await _dynamic(ctx, self, min, max)


@implements("VM.set_memory_dynamic_max")
async def set_memory_dynamic_max(ctx: Context, self: str, value: int) -> None:
    await _dynamic(ctx, self, None, value)


@implements("VM.set_memory_dynamic_min")
async def set_memory_dynamic_min(ctx: Context, self: str, value: int) -> None:
    await _dynamic(ctx, self, value, None)


# --- vCPUs -------------------------------------------------------------------------------
@implements("VM.set_VCPUs_max")
async def set_VCPUs_max(ctx: Context, self: str, value: int) -> None:
    rec = check_operation(ctx, self, "changing_VCPUs", ("Halted",), template_ok=True)
    check_vcpus({**rec, "VCPUs_max": value})
    ctx.txn.update("VM", self, {"VCPUs_max": value})


@implements("VM.set_VCPUs_at_startup")
async def set_VCPUs_at_startup(ctx: Context, self: str, value: int) -> None:
    rec = check_operation(ctx, self, "changing_VCPUs", ("Halted",), template_ok=True)
    check_vcpus({**rec, "VCPUs_at_startup": value})
    ctx.txn.update("VM", self, {"VCPUs_at_startup": value})


@implements("VM.set_VCPUs_number_live")
async def set_VCPUs_number_live(ctx: Context, self: str, nvcpu: int) -> None:
    """vCPUs 0..nvcpu-1 online in the running guest; like xapi, VCPUs_at_startup follows
    (the guest keeps the count across reboots) and the metrics' VCPUs_number."""
    rec = check_operation(ctx, self, "changing_VCPUs_live", ("Running",), template_ok=False)
    if not 1 <= nvcpu <= rec["VCPUs_max"]:
        raise XenAPIError("INVALID_VALUE", "nvcpu", str(nvcpu))
    hv = hypervisor(ctx)
    await hv.run("vcpu hot-plug", hv.context.set_vcpus_online, rec["domid"], nvcpu)
    ctx.txn.update("VM", self, {"VCPUs_at_startup": nvcpu})
    if _metrics(ctx, rec):
        ctx.txn.update("VM_metrics", rec["metrics"], {"VCPUs_number": nvcpu})
