"""pool.ha_*: the HA failover planner, and the HA messages meaningful while HA is disabled.

HA itself (pool.enable_ha: a heartbeat on a shared statefile SR and xhad fencing hosts) is
not offered (README: "What answers NOT_IMPLEMENTED"); the planner that XenCenter and `xe
pool-ha-compute-max-host-failures-to-tolerate` consult before enabling it is:

- protected VMs are those with `ha_restart_priority` "restart" (or the `configuration` given
  to the hypothetical computation); only running ones need a new host when theirs fails;
- a plan for a set of failed hosts places each protected VM of those hosts, largest memory
  first, on the surviving enabled host with the most free memory (host_metrics.memory_free),
  needing its static max plus its overhead (api/vm_misc.memory_overhead) as a start does;
- `n` failures are tolerated when every set of `n` hosts has a plan; the maximum is at most
  the number of hosts minus one (a one-host pool tolerates 0).
"""
from __future__ import annotations

import itertools
from typing import Any

from ..errors import XenAPIError
from .context import Context
from .registry import implements
from .vm_misc import memory_overhead

PROTECTED = "restart"
#: hosts beyond which the worst case is not searched over every combination (xapi's planner
#: is a heuristic too); combinations of the hosts with the most protected memory are tried
MAX_COMBINATIONS = 5000


def _hosts(store: Any) -> dict[str, int]:
    """Enabled hosts -> free memory in bytes."""
    out = {}
    for ref, h in store.records("host").items():
        if not h["enabled"]:
            continue
        m = store.get("host_metrics", h["metrics"])
        out[ref] = m["memory_free"] if m is not None else 0
    return out


def _protected(store: Any, config: dict[str, str] | None) -> dict[str, tuple[str, int]]:
    """Running protected VMs -> (resident host, memory a restart needs)."""
    out = {}
    for ref, rec in store.records("VM").items():
        prio = config.get(ref, "") if config is not None else rec["ha_restart_priority"]
        if prio != PROTECTED or rec["is_a_template"] or rec["is_control_domain"] or \
                rec["power_state"] not in ("Running", "Paused"):
            continue
        need = max(rec["memory_static_max"], rec["memory_dynamic_max"]) + memory_overhead(rec)
        out[ref] = (rec["resident_on"], need)
    return out


def plan(hosts: dict[str, int], vms: dict[str, tuple[str, int]], failed: set[str],
         to_place: list[str] | None = None) -> dict[str, str | None]:
    """VM -> the surviving host it restarts on (None: no room). `to_place`: those VMs
    (default: the protected VMs of the failed hosts)."""
    free = {h: f for h, f in hosts.items() if h not in failed}
    if to_place is None:
        to_place = [vm for vm, (host, _n) in vms.items() if host in failed]
    out: dict[str, str | None] = {}
    for vm in sorted(to_place, key=lambda v: -vms[v][1]):
        need = vms[vm][1]
        best = max(free, key=lambda h: free[h], default=None)
        if best is None or free[best] < need:
            out[vm] = None
            continue
        free[best] -= need
        out[vm] = best
    return out


def tolerates(hosts: dict[str, int], vms: dict[str, tuple[str, int]], n: int) -> bool:
    if n < 0:
        return False
    if n == 0:
        return True
    if n >= len(hosts):
        return not vms          # every host gone: only with nothing to restart
    load = {h: sum(need for host, need in vms.values() if host == h) for h in hosts}
    ranked = sorted(hosts, key=lambda h: -load[h])
    for i, failed in enumerate(itertools.combinations(ranked, n)):
        if i >= MAX_COMBINATIONS:
            break
        if None in plan(hosts, vms, set(failed)).values():
            return False
    return True


def max_failures(hosts: dict[str, int], vms: dict[str, tuple[str, int]]) -> int:
    n = 0
    while n + 1 < len(hosts) and tolerates(hosts, vms, n + 1):
        n += 1
    return n


@implements("pool.ha_compute_max_host_failures_to_tolerate")
async def ha_compute_max_host_failures_to_tolerate(ctx: Context) -> int:
    return max_failures(_hosts(ctx.store), _protected(ctx.store, None))


@implements("pool.ha_compute_hypothetical_max_host_failures_to_tolerate")
async def ha_compute_hypothetical_max_host_failures_to_tolerate(
        ctx: Context, configuration: dict[str, str]) -> int:
    for vm in configuration:
        if ctx.store.get("VM", vm) is None:
            raise XenAPIError("HANDLE_INVALID", "VM", vm)
    return max_failures(_hosts(ctx.store), _protected(ctx.store, configuration))


@implements("pool.ha_failover_plan_exists")
async def ha_failover_plan_exists(ctx: Context, n: int) -> bool:
    return tolerates(_hosts(ctx.store), _protected(ctx.store, None), n)


@implements("pool.ha_compute_vm_failover_plan")
async def ha_compute_vm_failover_plan(ctx: Context, failed_hosts: list[str],
                                      failed_vms: list[str]) -> dict[str, dict[str, str]]:
    store = ctx.store
    vms = {}
    for vm in failed_vms:
        rec = store.get("VM", vm)
        if rec is None:
            raise XenAPIError("HANDLE_INVALID", "VM", vm)
        vms[vm] = (rec["resident_on"], max(rec["memory_static_max"], rec["memory_dynamic_max"])
                   + memory_overhead(rec))
    placed = plan(_hosts(store), vms, set(failed_hosts), list(failed_vms))
    return {vm: ({"host": host} if host is not None
                 else {"error_code": "HOST_NOT_ENOUGH_FREE_MEMORY"})
            for vm, host in placed.items()}


@implements("pool.set_ha_host_failures_to_tolerate")
async def set_ha_host_failures_to_tolerate(ctx: Context, self: str, value: int) -> None:
    if value < 0:
        raise XenAPIError("INVALID_VALUE", "ha_host_failures_to_tolerate", str(value))
    rec = ctx.txn.get("pool", self)
    if rec["ha_enabled"] and not tolerates(_hosts(ctx.store), _protected(ctx.store, None),
                                           value):
        raise XenAPIError("HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN")
    ctx.txn.update("pool", self, {"ha_host_failures_to_tolerate": value})


@implements("pool.disable_ha")
async def disable_ha(ctx: Context) -> None:
    """HA_NOT_ENABLED, as xapi's, unless the records say it is on (a database from elsewhere):
    then they are made to say off (no heartbeat runs here to stop)."""
    pools = {ref: rec for ref, rec in ctx.store.records("pool").items() if rec["ha_enabled"]}
    if not pools:
        raise XenAPIError("HA_NOT_ENABLED")
    for ref in pools:
        ctx.txn.update("pool", ref, {"ha_enabled": False, "ha_statefiles": [],
                                     "ha_configuration": {}, "ha_plan_exists_for": 0})
