"""VCPUs_params weight/cap: applied to the domain at VM.start and live, checked first."""
from __future__ import annotations

from test_vm_lifecycle import VmHarness, fails, new_vm, run
from xenlight_py import SchedParams


def test_weight_cap_at_start_and_live(tmp_path):  # type: ignore[no-untyped-def]
    async def body(h: VmHarness, s: str) -> None:
        vm = await new_vm(h, s, VCPUs_params={"weight": "512", "cap": "150"})  # VCPUs_max 2
        await h.call("VM.start", s, vm, False, False)
        domid = int(await h.call("VM.get_domid", s, vm))
        assert h.xl.sched_params(domid) == SchedParams(512, 150)

        await h.call("VM.add_to_VCPUs_params_live", s, vm, "weight", "1024")
        await h.call("VM.add_to_VCPUs_params_live", s, vm, "cap", "0")
        assert h.xl.sched_params(domid) == SchedParams(1024, 0)
        assert await h.call("VM.get_VCPUs_params", s, vm) == {"weight": "1024", "cap": "0"}
        for key, bad in (("weight", "0"), ("weight", "65536"), ("weight", "x"),
                         ("cap", "201"), ("cap", "-1"), ("cap", "")):
            assert await fails(h.call("VM.add_to_VCPUs_params_live", s, vm, key, bad)) == [
                "INVALID_VALUE", f"VCPUs_params:{key}", bad]
        assert h.xl.sched_params(domid) == SchedParams(1024, 0)
        assert await h.call("VM.get_VCPUs_params", s, vm) == {"weight": "1024", "cap": "0"}

        # A restart applies the recorded values again.
        await h.call("VM.hard_shutdown", s, vm)
        assert await fails(h.call("VM.add_to_VCPUs_params_live", s, vm, "weight", "5")) == [
            "VM_BAD_POWER_STATE", vm, "running", "halted"]
        await h.call("VM.start", s, vm, False, False)
        domid = int(await h.call("VM.get_domid", s, vm))
        assert h.xl.sched_params(domid) == SchedParams(1024, 0)
    run(tmp_path, body)


def test_defaults_and_bad_values_at_start(tmp_path):  # type: ignore[no-untyped-def]
    async def body(h: VmHarness, s: str) -> None:
        plain = await new_vm(h, s)
        await h.call("VM.start", s, plain, False, False)
        domid = int(await h.call("VM.get_domid", s, plain))
        assert h.xl.sched_params(domid) == SchedParams(256, 0)
        before = len(h.xl.list_domains())
        for params, field in (({"weight": "70000"}, "weight=70000"),
                              ({"cap": "250"}, "cap=250"), ({"weight": "heavy"}, "weight=heavy")):
            vm = await new_vm(h, s, VCPUs_params=params)
            err = await fails(h.call("VM.start", s, vm, False, False))
            assert err[:3] == ["VALUE_NOT_SUPPORTED", "VCPUs_params", field]
            assert await h.call("VM.get_power_state", s, vm) == "Halted"
        assert len(h.xl.list_domains()) == before
    run(tmp_path, body)
