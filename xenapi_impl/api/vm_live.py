"""VM settings beside those in api/vm.py (which holds the memory limits, dynamic range and
vCPU setters): the static memory range, live vCPU parameters, and is_a_template."""
from __future__ import annotations

from typing import Any

from ..errors import XenAPIError
from ..server.context import Context
from .registry import implements
from .vm import VmOps, allowed_operations, check_memory, hypervisor
from .vm_copy import check

#: VCPUs_params keys the credit scheduler knows (xapi passes these to Xen)
SCHED_KEYS = ("weight", "cap")


@implements("VM.set_memory_static_range")
async def set_memory_static_range(ctx: Context, self: str, min: int, max: int) -> None:
    """static_min and static_max of a halted VM (or template)."""
    rec = check(ctx, self, "changing_static_range", ("Halted",), template_ok=True)
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
    """"mask" pins every vCPU of the running guest to those pCPUs (hard affinity) and is
    recorded. "weight"/"cap" would need the credit scheduler's per-domain parameters, which
    the binding does not expose: NOT_IMPLEMENTED, nothing recorded (never a silent no-op)."""
    rec = check(ctx, self, "changing_VCPUs_live", ("Running",), template_ok=False)
    if key in SCHED_KEYS:
        raise XenAPIError("NOT_IMPLEMENTED", f"VM.add_to_VCPUs_params_live: {key}: the "
                          "scheduler parameters of a running domain cannot be changed here")
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
