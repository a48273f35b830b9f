"""Guests acting by themselves: the event pump applies actions_after_* (sim backend)."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from test_vm_lifecycle import VmHarness, domains, new_vm
from xenapi_impl.api.agent_hooks import agent_hooks


def run(tmp_path: Any, body: Any) -> Any:
    async def main() -> Any:
        h = await VmHarness(str(tmp_path)).start()
        h.services.backend.start(h.services, agent_hooks(h.services))
        try:
            return await body(h, await h.login())
        finally:
            await h.close()
    return asyncio.run(main())


async def until(h: VmHarness, s: str, vm: str, pred: Any, what: str) -> dict[str, Any]:
    """The VM's record once `pred` holds (the pump acts asynchronously); fail after 10 s."""
    for _ in range(1000):
        rec = await h.call("VM.get_record", s, vm)
        if pred(rec):
            return rec
        await asyncio.sleep(0.01)
    pytest.fail(f"VM never reached: {what}; last record {rec}")


def test_poweroff_destroys_and_event_from_sees_it(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        vm = await new_vm(h, s)             # actions_after_shutdown = destroy
        await h.call("VM.start", s, vm, False, False)
        domid = await h.call("VM.get_domid", s, vm)
        token = (await h.call("event.from", s, ["vm"], "", 0.0))["token"]
        h.sim.guest_poweroff(domid)
        await until(h, s, vm, lambda r: r["power_state"] == "Halted", "Halted")
        assert domains(h) == []
        seen = []
        while not any(e["snapshot"]["power_state"] == "Halted" for e in seen):
            got = await h.call("event.from", s, [f"vm/{vm}"], token, 5.0)
            assert got["events"], "event.from timed out without the VM's change"
            seen += got["events"]
            token = got["token"]
        assert all(e["operation"] == "mod" and e["ref"] == vm for e in seen)
    run(tmp_path, body)


def test_guest_reboot_restarts_with_new_domid(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        vm = await new_vm(h, s)             # actions_after_reboot = restart
        await h.call("VM.start", s, vm, False, False)
        domid = await h.call("VM.get_domid", s, vm)
        h.sim.guest_reboot(domid)
        rec = await until(h, s, vm, lambda r: r["domid"] not in (domid, -1), "a new domid")
        assert rec["power_state"] == "Running" and rec["current_operations"] == {}
        assert [d.domid for d in domains(h)] == [rec["domid"]]
        assert h.xl.domain_info(rec["domid"]).uuid == rec["uuid"]
    run(tmp_path, body)


def test_crash_actions(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        restart = await new_vm(h, s, actions_after_crash="restart")
        destroy = await new_vm(h, s, actions_after_crash="destroy")
        preserve = await new_vm(h, s, actions_after_crash="preserve")
        for vm in (restart, destroy, preserve):
            await h.call("VM.start", s, vm, False, False)
        ids = {vm: await h.call("VM.get_domid", s, vm) for vm in (restart, destroy, preserve)}
        for vm in ids:
            h.sim.guest_crash(ids[vm])
        r = await until(h, s, restart, lambda r: r["domid"] not in (ids[restart], -1),
                        "restarted")
        assert r["power_state"] == "Running"
        await until(h, s, destroy, lambda r: r["power_state"] == "Halted", "Halted")
        assert not h.xl.domain_exists(ids[destroy])
        p = await until(h, s, preserve, lambda r: r["power_state"] == "Paused", "preserved")
        assert p["domid"] == ids[preserve] and h.xl.domain_info(ids[preserve]).shutdown
        await h.call("VM.hard_shutdown", s, preserve)
        assert not h.xl.domain_exists(ids[preserve])
    run(tmp_path, body)


def test_domain_destroyed_behind_our_back(tmp_path):
    async def body(h: VmHarness, s: str) -> None:
        vm = await new_vm(h, s)
        await h.call("VM.start", s, vm, False, False)
        h.xl.destroy(await h.call("VM.get_domid", s, vm))     # like `xl destroy`
        rec = await until(h, s, vm, lambda r: r["power_state"] == "Halted", "Halted")
        assert rec["resident_on"] == "OpaqueRef:NULL"
    run(tmp_path, body)
