"""The HA failover planner (api/ha.py): its rules on made-up pools, and the pool.ha_* messages
through a real one-host server with the official SDK."""
from __future__ import annotations

import pytest
import XenAPI
from vm_records import vm_create_record
from xenapi_impl.api.ha import max_failures, plan, tolerates

GiB = 1 << 30


def test_planner_rules():
    hosts = {"h1": 8 * GiB, "h2": 8 * GiB, "h3": 8 * GiB}
    # 3 protected VMs of 6 GiB, one per host: one failure moves one VM (fits), two move two
    # VMs onto one host with 8 GiB (does not fit)
    vms = {f"v{i}": (f"h{i}", 6 * GiB) for i in (1, 2, 3)}
    assert tolerates(hosts, vms, 1) and not tolerates(hosts, vms, 2)
    assert max_failures(hosts, vms) == 1
    # small VMs: two failures are fine; never more than hosts - 1
    small = {f"v{i}": (f"h{i}", 1 * GiB) for i in (1, 2, 3)}
    assert max_failures(hosts, small) == 2
    assert max_failures({"h1": 0}, {}) == 0
    # the plan puts the largest first on the host with the most free memory
    placed = plan({"a": 4 * GiB, "b": 10 * GiB, "c": 0}, {"x": ("c", 3 * GiB),
                                                          "y": ("c", 9 * GiB)}, {"c"})
    assert placed == {"y": "b", "x": "a"}
    assert plan({"a": GiB, "c": 0}, {"x": ("c", 2 * GiB)}, {"c"}) == {"x": None}


def test_pool_ha_messages_on_one_host(x):
    pool = x.pool.get_all()[0]
    host = x.host.get_all()[0]
    vm = x.VM.create(vm_create_record("ha-vm", ha_restart_priority="restart"))
    x.VM.start(vm, False, False)
    try:
        # one host: nothing can fail over
        assert x.pool.ha_compute_max_host_failures_to_tolerate() == "0"
        assert x.pool.ha_compute_hypothetical_max_host_failures_to_tolerate({vm: "restart"}) \
            == "0"
        assert x.pool.ha_failover_plan_exists("0") is True
        assert x.pool.ha_failover_plan_exists("1") is False
        assert x.pool.ha_compute_vm_failover_plan([host], [vm]) == \
            {vm: {"error_code": "HOST_NOT_ENOUGH_FREE_MEMORY"}}
        assert x.pool.ha_compute_vm_failover_plan([], [vm]) == {vm: {"host": host}}
        x.pool.set_ha_host_failures_to_tolerate(pool, "2")
        assert x.pool.get_ha_host_failures_to_tolerate(pool) == "2"
        with pytest.raises(XenAPI.Failure) as e:
            x.pool.set_ha_host_failures_to_tolerate(pool, "-1")
        assert e.value.details == ["INVALID_VALUE", "ha_host_failures_to_tolerate", "-1"]
        assert x.pool.get_ha_host_failures_to_tolerate(pool) == "2"
        with pytest.raises(XenAPI.Failure) as e:
            x.pool.disable_ha()
        assert e.value.details == ["HA_NOT_ENABLED"]
    finally:
        x.VM.hard_shutdown(vm)
        x.VM.destroy(vm)

