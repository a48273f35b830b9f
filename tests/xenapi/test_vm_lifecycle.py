"""VM lifecycle in process, on the simulated Xen host (the real binding, no stubs)."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from harness import PASSWORD, VM_REQUIRED, Harness
from xenapi_impl.errors import XenAPIError
from xenapi_impl.server.seed import add_user, seed
from xenapi_impl.xen.adapter import open_backend


class VmHarness(Harness):
    """The in-process server with the sim backend and a local SR beside its database."""

    def __init__(self, tmp: str) -> None:
        super().__init__()
        self.tmp = tmp
        self.services.backend = open_backend("sim")
        self.services.backend.clean_timeout = 5.0
        self.sim = self.services.backend.context.sim
        self.sim.configure()                       # only dom0 left

    async def start(self) -> "VmHarness":
        from xenapi_impl.server.dispatch import Dispatcher
        await seed(self.services, backend="sim", db_path=f"{self.tmp}/x.db")
        await add_user(self.services, "root", PASSWORD, "pool-admin")
        self.dispatcher = Dispatcher(self.services)
        return self

    @property
    def xl(self) -> Any:
        return self.services.backend.context


def run(tmp_path: Any, body: Any) -> Any:
    async def main() -> Any:
        h = await VmHarness(str(tmp_path)).start()
        try:
            return await body(h, await h.login())
        finally:
            await h.close()
    return asyncio.run(main())


async def new_vm(h: Harness, s: str, **over: Any) -> str:
    rec = {**VM_REQUIRED, "PV_kernel": "/boot/vmlinuz", "PV_args": "console=hvc0", **over}
    return await h.call("VM.create", s, rec)


async def fails(coro: Any) -> list[str]:
    with pytest.raises(XenAPIError) as ei:
        await coro
    return [ei.value.code, *ei.value.params]


def domains(h: VmHarness) -> list[Any]:
    return [d for d in h.xl.list_domains() if d.domid != 0]


def test_host_from_hypervisor(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        host = (await h.call("host.get_all", s))[0]
        rec = await h.call("host.get_record", s, host)
        phys = h.xl.physinfo()
        assert rec["software_version"]["xen"] == h.xl.version_info().xen_version == "4.17.0"
        assert rec["cpu_info"]["cpu_count"] == str(phys.nr_cpus) == "16"
        assert "hvm-3.0-x86_64" in rec["capabilities"]
        assert len(rec["host_CPUs"]) == 16
        numbers = sorted([(await h.call("host_cpu.get_record", s, c))["number"]
                          for c in rec["host_CPUs"]])
        assert numbers == list(range(16))
        m = await h.call("host_metrics.get_record", s, rec["metrics"])
        assert m["memory_total"] == phys.total_pages * 4096
        assert m["memory_free"] == phys.free_pages * 4096
        dom0 = [r for r in (await h.call("VM.get_all_records", s)).values()
                if r["is_control_domain"]]
        assert len(dom0) == 1 and dom0[0]["power_state"] == "Running"
        assert dom0[0]["domid"] == 0 and dom0[0]["resident_on"] == host
        assert "VM.start" in await h.call("host.list_methods", s)
        assert "Xen version 4.17.0" in await h.call("host.dmesg", s, host)
        vm = await new_vm(h, s)
        await h.call("host.disable", s, host)
        assert await fails(h.call("VM.start", s, vm, False, False)) == ["HOST_DISABLED", host]
        await h.call("host.enable", s, host)
        await h.call("VM.start", s, vm, False, False)
    run(tmp_path, body)


def test_start_pause_shutdown_reboot(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        vm = await new_vm(h, s, VCPUs_params={"mask": "2,3"})
        assert "start" in await h.call("VM.get_allowed_operations", s, vm)
        await h.call("VM.start", s, vm, False, False)
        rec = await h.call("VM.get_record", s, vm)
        assert rec["power_state"] == "Running" and rec["domid"] > 0
        assert rec["resident_on"] == h.services.host_ref
        assert "pause" in rec["allowed_operations"] and rec["current_operations"] == {}
        info = h.xl.domain_info(rec["domid"])
        assert info.uuid == rec["uuid"] and h.xl.memory_target(rec["domid"]) == 256 * 1024
        assert info.max_memkb == (256 + 1) * 1024          # libxl adds LIBXL_MAXMEM_CONSTANT
        assert info.vcpu_online == 1 and info.vcpu_max_id == 1
        assert all(v.affinity == {2, 3} for v in h.xl.list_vcpus(rec["domid"]))
        m = await h.call("VM_metrics.get_record", s, rec["metrics"])
        assert m["VCPUs_number"] == 1 and m["memory_actual"] == 256 * 1024 * 1024
        assert len(rec["consoles"]) == 1
        assert await fails(h.call("VM.start", s, vm, False, False)) == \
            ["VM_BAD_POWER_STATE", vm, "halted", "running"]

        await h.call("VM.pause", s, vm)
        assert h.xl.domain_info(rec["domid"]).paused
        assert await h.call("VM.get_power_state", s, vm) == "Paused"
        assert await fails(h.call("VM.clean_shutdown", s, vm)) == \
            ["VM_BAD_POWER_STATE", vm, "running", "paused"]
        await h.call("VM.unpause", s, vm)
        assert not h.xl.domain_info(rec["domid"]).paused

        await h.call("VM.clean_reboot", s, vm)
        domid2 = await h.call("VM.get_domid", s, vm)
        assert domid2 != rec["domid"] and not h.xl.domain_exists(rec["domid"])
        assert await h.call("VM.get_power_state", s, vm) == "Running"
        await h.call("VM.hard_reboot", s, vm)
        domid3 = await h.call("VM.get_domid", s, vm)
        assert domid3 not in (domid2, rec["domid"])

        await h.call("VM.clean_shutdown", s, vm)
        rec = await h.call("VM.get_record", s, vm)
        assert rec["power_state"] == "Halted" and rec["domid"] == -1
        assert rec["resident_on"] == "OpaqueRef:NULL" and rec["consoles"] == []
        assert domains(h) == []
        assert "start" in rec["allowed_operations"]

        await h.call("VM.start", s, vm, True, False)
        assert await h.call("VM.get_power_state", s, vm) == "Paused"
        await h.call("VM.hard_shutdown", s, vm)
        assert domains(h) == []
    run(tmp_path, body)


def test_guest_ignoring_shutdown(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        vm = await new_vm(h, s)
        await h.call("VM.start", s, vm, False, False)
        domid = await h.call("VM.get_domid", s, vm)
        h.sim.set_ignore_shutdown(domid, True)
        err = await fails(h.call("VM.clean_shutdown", s, vm))
        assert err[0] in ("VM_FAILED_SHUTDOWN_ACKNOWLEDGMENT", "VM_SHUTDOWN_TIMEOUT")
        assert err[1] == vm
        assert await h.call("VM.get_power_state", s, vm) == "Running"
        assert h.xl.domain_exists(domid)
        await h.call("VM.shutdown", s, vm)          # clean fails -> hard
        assert await h.call("VM.get_power_state", s, vm) == "Halted"
        assert domains(h) == []
    run(tmp_path, body)


def test_failed_start_leaves_nothing(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        vm = await new_vm(h, s)
        before = await h.call("VM.get_record", s, vm)
        h.sim.fail_next("libxl_domain_create_new", -3, 1)
        err = await fails(h.call("VM.start", s, vm, False, False))
        assert err[0] == "INTERNAL_ERROR" and "libxl_domain_create_new" in err[1]
        rec = await h.call("VM.get_record", s, vm)
        assert rec["power_state"] == "Halted" and rec["domid"] == before["domid"]
        assert rec["resident_on"] == "OpaqueRef:NULL" and rec["consoles"] == []
        assert rec["current_operations"] == {} and "start" in rec["allowed_operations"]
        assert domains(h) == []
        await h.call("VM.start", s, vm, False, False)       # and it can start afterwards
        assert len(domains(h)) == 1
    run(tmp_path, body)


def test_start_checks(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        tmpl = await new_vm(h, s, is_a_template=True)
        assert await fails(h.call("VM.start", s, tmpl, False, False)) == \
            ["VM_IS_TEMPLATE", tmpl]
        big = await new_vm(h, s, memory_static_max=str(1 << 40),
                           memory_dynamic_max=str(1 << 30))
        err = await fails(h.call("VM.start", s, big, False, False))
        assert err[:2] == ["HOST_NOT_ENOUGH_FREE_MEMORY", str(1 << 40)]
        assert int(err[2]) == h.xl.free_memory() * 1024
        nokernel = await new_vm(h, s, PV_kernel="")
        assert await fails(h.call("VM.start", s, nokernel, False, False)) == \
            ["VALUE_NOT_SUPPORTED", "PV_kernel", "",
             "a PV VM needs PV_kernel or PV_bootloader"]
        badmask = await new_vm(h, s, VCPUs_params={"mask": "99"})
        err = await fails(h.call("VM.start", s, badmask, False, False))
        assert err[:3] == ["VALUE_NOT_SUPPORTED", "VCPUs_params", "mask=99"]
        assert await fails(new_vm(h, s, memory_dynamic_min=str(1 << 30))) == \
            ["MEMORY_CONSTRAINT_VIOLATION", "Memory limits must satisfy: static_min <= "
             "dynamic_min <= dynamic_max <= static_max"]
        assert domains(h) == []
    run(tmp_path, body)


def test_concurrent_operation_refused(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        vm = await new_vm(h, s)
        await h.call("VM.start", s, vm, False, False)
        h.sim.set_shutdown_delay(await h.call("VM.get_domid", s, vm), 1500)  # a slow guest
        task = await h.call("Async.VM.clean_shutdown", s, vm)
        for _ in range(200):
            if await h.call("VM.get_current_operations", s, vm):
                break
            await asyncio.sleep(0.01)
        assert await h.call("VM.get_current_operations", s, vm) == {task: "clean_shutdown"}
        assert await h.call("VM.get_allowed_operations", s, vm) == []
        assert await fails(h.call("VM.pause", s, vm)) == \
            ["OTHER_OPERATION_IN_PROGRESS", "VM", vm, "clean_shutdown", task]
        while await h.call("task.get_status", s, task) == "pending":
            await asyncio.sleep(0.05)
        assert await h.call("task.get_status", s, task) == "success"
        assert await h.call("VM.get_power_state", s, vm) == "Halted"
    run(tmp_path, body)


def test_suspend_resume(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        vm = await new_vm(h, s)
        await h.call("VM.start", s, vm, False, False)
        await h.call("VM.suspend", s, vm)
        rec = await h.call("VM.get_record", s, vm)
        assert rec["power_state"] == "Suspended" and domains(h) == []
        vdi = await h.call("VDI.get_record", s, rec["suspend_VDI"])
        assert vdi["type"] == "suspend" and vdi["virtual_size"] >= 256 * 1024 * 1024
        # what the written image occupies, not the empty file made for it
        assert 0 < vdi["physical_utilisation"] <= vdi["virtual_size"]
        await h.call("VM.resume", s, vm, False, False)
        rec2 = await h.call("VM.get_record", s, vm)
        assert rec2["power_state"] == "Running" and rec2["suspend_VDI"] == "OpaqueRef:NULL"
        assert h.xl.domain_info(rec2["domid"]).uuid == rec["uuid"]
        assert await fails(h.call("VDI.get_record", s, rec["suspend_VDI"])) == \
            ["HANDLE_INVALID", "VDI", rec["suspend_VDI"]]
        await h.call("VM.hard_shutdown", s, vm)
    run(tmp_path, body)


def test_failed_start_checks_in_order_and_releases_disks(tmp_path):
    """A start's steps keep their order (free memory, then each disk in turn, then the
    domain) and a failure at any of them leaves no attachment, domain or operation behind."""
    from test_storage_api import file_sr, vbd_rec, vdi_rec
    from xenapi_impl.api.pbd import AttachedSRs

    async def body(h: VmHarness, s: str) -> None:
        sr_a = await file_sr(h, s, str(tmp_path / "a"), "a")
        sr_b = await file_sr(h, s, str(tmp_path / "b"), "b")
        disk_a = await h.call("VDI.create", s, vdi_rec(sr_a, 1 << 20))
        disk_b = await h.call("VDI.create", s, vdi_rec(sr_b, 1 << 20))
        vm = await new_vm(h, s)
        await h.call("VBD.create", s, vbd_rec(vm, disk_a, userdevice="0"))
        await h.call("VBD.create", s, vbd_rec(vm, disk_b, userdevice="1"))
        [pbd_b] = await h.call("SR.get_PBDs", s, sr_b)
        await h.call("PBD.unplug", s, pbd_b)
        big = await new_vm(h, s, memory_static_max=str(1 << 40),
                           memory_dynamic_max=str(1 << 30))
        await h.call("VBD.create", s, vbd_rec(big, disk_b, userdevice="0", mode="RO"))
        # memory is checked before any disk
        err = await fails(h.call("VM.start", s, big, False, False))
        assert err[:2] == ["HOST_NOT_ENOUGH_FREE_MEMORY", str(1 << 40)]
        # the first disk attached, the second's SR unplugged: the first is released
        assert await fails(h.call("VM.start", s, vm, False, False)) == ["SR_NOT_ATTACHED", sr_b]
        rec = await h.call("VM.get_record", s, vm)
        assert rec["power_state"] == "Halted" and rec["current_operations"] == {}
        assert "start" in rec["allowed_operations"] and domains(h) == []
        uuid_a = await h.call("VDI.get_uuid", s, disk_a)
        drv_a = AttachedSRs.of(h.services).drivers[await h.call("SR.get_uuid", s, sr_a)]
        drv_a.vdi_attach(uuid_a, True)          # refused if the failed start still held it
        drv_a.vdi_detach(uuid_a)
        # a libxl failure after both attaches releases both
        await h.call("PBD.plug", s, pbd_b)
        h.sim.fail_next("libxl_domain_create_new", -3, 1)
        err = await fails(h.call("VM.start", s, vm, False, False))
        assert err[0] == "INTERNAL_ERROR" and "libxl_domain_create_new" in err[1]
        assert domains(h) == []
        await h.call("VM.start", s, vm, False, False)
        assert len(domains(h)) == 1
        vbds = await h.call("VM.get_VBDs", s, vm)
        assert all([await h.call("VBD.get_currently_attached", s, b) for b in vbds])
    run(tmp_path, body)


def test_async_start_task_succeeds_in_the_commit_recording_it_running(tmp_path):
    """Async.VM.start: event.from shows the operation announced (VM Halted, the task in its
    current_operations), then, at one generation, the VM Running with the operation gone and
    the task succeeded (the call's last write and the task's end are one commit). With a
    start_delay the call, and so the task, ends only after the delay."""
    async def events_until_success(h: VmHarness, s: str, token: str, task: str) -> list[Any]:
        seen: list[Any] = []
        while not any(e["class"] == "task" and e["ref"] == task
                      and e["snapshot"]["status"] == "success" for e in seen):
            got = await h.call("event.from", s, ["vm", "task"], token, 5.0)
            assert got["events"], "event.from timed out before the task ended"
            seen += got["events"]
            token = got["token"]
        return seen

    async def body(h: VmHarness, s: str) -> None:
        vm = await new_vm(h, s)
        token = (await h.call("event.from", s, ["vm", "task"], "", 0.0))["token"]
        task = await h.call("Async.VM.start", s, vm, False, False)
        seen = await events_until_success(h, s, token, task)
        vm_events = [e for e in seen if e["class"] == "vm"]
        assert vm_events[0]["snapshot"]["power_state"] == "Halted"
        assert vm_events[0]["snapshot"]["current_operations"] == {task: "start"}
        running = vm_events[-1]
        assert running["snapshot"]["power_state"] == "Running"
        assert running["snapshot"]["current_operations"] == {}
        [done] = [e for e in seen if e["class"] == "task" and e["snapshot"]["status"] != "pending"]
        assert done["id"] == running["id"]
        assert done["snapshot"]["progress"] == 1.0 and done["snapshot"]["result"] == ""
        assert await h.call("task.get_status", s, task) == "success"
        # a start_delay follows the start: the task ends after it, in a commit of its own
        await h.call("VM.hard_shutdown", s, vm)
        await h.call("VM.set_start_delay", s, vm, 1)
        token = (await h.call("event.from", s, ["vm", "task"], "", 0.0))["token"]
        task = await h.call("Async.VM.start", s, vm, False, False)
        seen = await events_until_success(h, s, token, task)
        running = [e for e in seen if e["class"] == "vm"
                   and e["snapshot"]["power_state"] == "Running"][-1]
        [done] = [e for e in seen if e["class"] == "task" and e["snapshot"]["status"] != "pending"]
        assert done["id"] > running["id"]
    run(tmp_path, body)
