"""Live and static VM changes in process, checked against the simulated domain (the real
binding): vCPUs online, balloon target, vCPU affinity, and every refusal with its params."""
from __future__ import annotations

from test_vm_lifecycle import VmHarness, fails, new_vm, run

MiB = 1024 ** 2


async def running(h: VmHarness, s: str, **over) -> tuple[str, int]:
    vm = await new_vm(h, s, VCPUs_max="4", VCPUs_at_startup="2", **over)
    await h.call("VM.start", s, vm, False, False)
    return vm, await h.call("VM.get_domid", s, vm)


def test_vcpus_live(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        vm, domid = await running(h, s)
        assert h.xl.domain_info(domid).vcpu_online == 2
        await h.call("VM.set_VCPUs_number_live", s, vm, "3")
        assert h.xl.domain_info(domid).vcpu_online == 3
        assert [v.online for v in h.xl.list_vcpus(domid)] == [True, True, True, False]
        rec = await h.call("VM.get_record", s, vm)
        assert rec["VCPUs_at_startup"] == 3
        assert await h.call("VM_metrics.get_VCPUs_number", s, rec["metrics"]) == 3
        await h.call("VM.set_VCPUs_number_live", s, vm, "1")
        assert h.xl.domain_info(domid).vcpu_online == 1
        for bad in ("0", "5"):
            # xapi answers INVALID_VALUE [nvcpu, n]
            assert await fails(h.call("VM.set_VCPUs_number_live", s, vm, bad)) == [
                "INVALID_VALUE", "nvcpu", bad]
        assert h.xl.domain_info(domid).vcpu_online == 1
        assert await h.call("VM.get_VCPUs_at_startup", s, vm) == 1
        # static changes need a halted VM
        assert await fails(h.call("VM.set_VCPUs_max", s, vm, "8")) == [
            "VM_BAD_POWER_STATE", vm, "halted", "running"]
        assert await fails(h.call("VM.set_VCPUs_at_startup", s, vm, "2")) == [
            "VM_BAD_POWER_STATE", vm, "halted", "running"]
        await h.call("VM.hard_shutdown", s, vm)
        assert await fails(h.call("VM.set_VCPUs_number_live", s, vm, "2")) == [
            "VM_BAD_POWER_STATE", vm, "running", "halted"]
    run(tmp_path, body)


def test_vcpus_static(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        vm = await new_vm(h, s)                    # max 2, at startup 1
        await h.call("VM.set_VCPUs_max", s, vm, "4")
        await h.call("VM.set_VCPUs_at_startup", s, vm, "3")
        assert await fails(h.call("VM.set_VCPUs_at_startup", s, vm, "5")) == [
            "VALUE_NOT_SUPPORTED", "VCPUs_at_startup", "5",
            "value must be between 1 and VCPUs_max"]
        assert await fails(h.call("VM.set_VCPUs_at_startup", s, vm, "0")) == [
            "VALUE_NOT_SUPPORTED", "VCPUs_at_startup", "0",
            "value must be between 1 and VCPUs_max"]
        assert await fails(h.call("VM.set_VCPUs_max", s, vm, "2")) == [
            "VALUE_NOT_SUPPORTED", "VCPUs_at_startup", "3",
            "value must be between 1 and VCPUs_max"]
        assert await fails(h.call("VM.set_VCPUs_max", s, vm, "0")) == [
            "VALUE_NOT_SUPPORTED", "VCPUs_max", "0", "value must be at least 1"]
        rec = await h.call("VM.get_record", s, vm)
        assert (rec["VCPUs_max"], rec["VCPUs_at_startup"]) == (4, 3)
        await h.call("VM.start", s, vm, False, False)
        info = h.xl.domain_info(await h.call("VM.get_domid", s, vm))
        assert (info.vcpu_max_id + 1, info.vcpu_online) == (4, 3)
    run(tmp_path, body)


def test_memory_dynamic_range_live(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        vm, domid = await running(h, s)            # static 128..256 MiB, dynamic 128..256
        assert h.xl.memory_target(domid) == 256 * 1024
        await h.call("VM.set_memory_dynamic_range", s, vm, str(128 * MiB), str(192 * MiB))
        assert h.xl.memory_target(domid) == 192 * 1024
        rec = await h.call("VM.get_record", s, vm)
        assert (rec["memory_dynamic_min"], rec["memory_dynamic_max"],
                rec["memory_target"]) == (128 * MiB, 192 * MiB, 192 * MiB)
        for lo, hi in ((64, 192), (128, 512), (200, 150)):
            assert await fails(h.call("VM.set_memory_dynamic_range", s, vm,
                                      str(lo * MiB), str(hi * MiB))) == [
                "MEMORY_CONSTRAINT_VIOLATION",
                "Memory limits must satisfy: static_min <= dynamic_min <= dynamic_max <= "
                "static_max"]
        assert h.xl.memory_target(domid) == 192 * 1024
        assert await h.call("VM.get_memory_dynamic_max", s, vm) == 192 * MiB
        for call in (h.call("VM.set_memory_limits", s, vm, str(64 * MiB), str(256 * MiB),
                            str(128 * MiB), str(256 * MiB)),
                     h.call("VM.set_memory", s, vm, str(256 * MiB)),
                     h.call("VM.set_memory_static_range", s, vm, str(64 * MiB),
                            str(256 * MiB))):
            assert await fails(call) == ["VM_BAD_POWER_STATE", vm, "halted", "running"]
        await h.call("VM.pause", s, vm)
        assert await fails(h.call("VM.set_memory_dynamic_range", s, vm, str(128 * MiB),
                                  str(128 * MiB))) == [
            "VM_BAD_POWER_STATE", vm, "halted,running", "paused"]
    run(tmp_path, body)


def test_memory_static_changes_halted(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        vm = await new_vm(h, s)
        await h.call("VM.set_memory_limits", s, vm, str(64 * MiB), str(512 * MiB),
                     str(256 * MiB), str(384 * MiB))
        rec = await h.call("VM.get_record", s, vm)
        assert [rec[k] for k in ("memory_static_min", "memory_dynamic_min",
                                 "memory_dynamic_max", "memory_static_max")] == [
            64 * MiB, 256 * MiB, 384 * MiB, 512 * MiB]
        await h.call("VM.set_memory_static_range", s, vm, str(32 * MiB), str(1024 * MiB))
        assert await fails(h.call("VM.set_memory_static_range", s, vm, str(300 * MiB),
                                  str(1024 * MiB))) == [
            "MEMORY_CONSTRAINT_VIOLATION",
            "Memory limits must satisfy: static_min <= dynamic_min <= dynamic_max <= "
            "static_max"]
        await h.call("VM.set_memory", s, vm, str(300 * MiB))
        rec = await h.call("VM.get_record", s, vm)
        assert [rec[k] for k in ("memory_static_min", "memory_dynamic_min",
                                 "memory_dynamic_max", "memory_static_max")] == [
            32 * MiB, 300 * MiB, 300 * MiB, 300 * MiB]
        await h.call("VM.start", s, vm, False, False)
        domid = await h.call("VM.get_domid", s, vm)
        assert h.xl.domain_info(domid).max_memkb >= 300 * 1024
        assert h.xl.memory_target(domid) == 300 * 1024
        # templates may be configured too (xapi allows it)
        t = (await h.call("VM.get_by_name_label", s, "Generic Linux PV"))[0]
        c = await h.call("VM.clone", s, t, "tpl")
        await h.call("VM.set_memory", s, c, str(512 * MiB))
        await h.call("VM.set_VCPUs_max", s, c, "2")
        assert (await h.call("VM.get_record", s, c))["memory_static_max"] == 512 * MiB
    run(tmp_path, body)


def test_vcpu_params_live(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        vm, domid = await running(h, s)
        await h.call("VM.add_to_VCPUs_params_live", s, vm, "mask", "1,3")
        assert [v.affinity for v in h.xl.list_vcpus(domid)] == [{1, 3}] * 4
        assert await h.call("VM.get_VCPUs_params", s, vm) == {"mask": "1,3"}
        for bad in ("", "a", "99", "-1"):
            assert await fails(h.call("VM.add_to_VCPUs_params_live", s, vm, "mask",
                                      bad)) == ["INVALID_VALUE", "VCPUs_params:mask", bad]
        assert await fails(h.call("VM.add_to_VCPUs_params_live", s, vm, "colour",
                                  "red")) == ["INVALID_VALUE", "VCPUs_params", "colour"]
        # weight/cap: tests/xenapi/test_vm_sched.py
        assert await fails(h.call("VM.add_to_VCPUs_params_live", s, vm, "weight",
                                  "0")) == ["INVALID_VALUE", "VCPUs_params:weight", "0"]
        assert await h.call("VM.get_VCPUs_params", s, vm) == {"mask": "1,3"}
        assert [v.affinity for v in h.xl.list_vcpus(domid)] == [{1, 3}] * 4
        await h.call("VM.hard_shutdown", s, vm)
        assert await fails(h.call("VM.add_to_VCPUs_params_live", s, vm, "mask", "0")) == [
            "VM_BAD_POWER_STATE", vm, "running", "halted"]
    run(tmp_path, body)


def test_plain_fields(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        vm = await new_vm(h, s)
        await h.call("VM.set_name_description", s, vm, "a web server")
        await h.call("VM.set_user_version", s, vm, "7")
        rec = await h.call("VM.get_record", s, vm)
        assert (rec["name_description"], rec["user_version"]) == ("a web server", 7)
        assert rec["crash_dumps"] == []
    run(tmp_path, body)


def test_vm_live_setters_directly(tmp_path):
    """vm_live's setters called as the dispatcher would, inside one explicit transaction."""
    from xenapi_impl.api import vm_live
    from xenapi_impl.api.caller import Caller
    from xenapi_impl.api.context import Context
    from xenapi_impl.errors import XenAPIError

    async def body(h: VmHarness, s: str) -> None:
        vm, domid = await running(h, s)

        async def call(fn, *args):
            ctx = Context(h.services, Caller("unix", "test", local_superuser=True),
                          "VM.test", h.store.transaction())
            try:
                await fn(ctx, vm, *args)
            except XenAPIError:
                ctx.txn.rollback()
                raise
            await ctx.txn.commit()

        await call(vm_live.set_VCPUs_number_live, 4)
        assert h.xl.domain_info(domid).vcpu_online == 4
        rec = await h.call("VM.get_record", s, vm)
        assert rec["VCPUs_at_startup"] == 4
        assert await h.call("VM_metrics.get_VCPUs_number", s, rec["metrics"]) == 4
        assert await fails(call(vm_live.set_VCPUs_number_live, 5)) == [
            "INVALID_VALUE", "nvcpu", "5"]
        await call(vm_live.set_memory_dynamic_range, 128 * MiB, 160 * MiB)
        assert h.xl.memory_target(domid) == 160 * 1024
        rec = await h.call("VM.get_record", s, vm)
        assert rec["memory_target"] == 160 * MiB
        actual = await h.call("VM_metrics.get_memory_actual", s, rec["metrics"])
        # the guest balloons towards the target over time: only its bounds are fixed
        assert 0 < actual <= 256 * MiB
        assert await fails(call(vm_live.set_memory_limits, 1, 2, 3, 4)) == [
            "VM_BAD_POWER_STATE", vm, "halted", "running"]
        assert await fails(call(vm_live.set_VCPUs_max, 8)) == [
            "VM_BAD_POWER_STATE", vm, "halted", "running"]
        await h.call("VM.hard_shutdown", s, vm)
        await call(vm_live.set_memory, 200 * MiB)
        await call(vm_live.set_VCPUs_max, 6)
        await call(vm_live.set_VCPUs_at_startup, 5)
        rec = await h.call("VM.get_record", s, vm)
        assert (rec["memory_static_max"], rec["memory_dynamic_min"], rec["VCPUs_max"],
                rec["VCPUs_at_startup"]) == (200 * MiB, 200 * MiB, 6, 5)
    run(tmp_path, body)
