"""actions_after_crash coredump_and_*: the crashed guest's core goes into a crashdump VDI
of the pool's crash_dump_SR, with a crashdump record; crashdump.destroy removes both."""
from __future__ import annotations

import os
import struct

from test_vm_events import run, until
from test_vm_lifecycle import VmHarness, fails, new_vm
from xenapi_impl.store import NULL_REF
from xenapi_impl.api.crashdump import core_vdi_size


async def vdi_path(h: VmHarness, s: str, vdi: str) -> str:
    sr = await h.call("VDI.get_SR", s, vdi)
    pbd = (await h.call("SR.get_PBDs", s, sr))[0]
    base = (await h.call("PBD.get_device_config", s, pbd))["path"]
    uuid = await h.call("VDI.get_uuid", s, vdi)
    found = [os.path.join(base, f) for f in os.listdir(base) if f.startswith(uuid)]
    assert len(found) == 1, (base, os.listdir(base))
    return found[0]


def test_coredump_and_destroy_and_restart(tmp_path):  # type: ignore[no-untyped-def]
    async def body(h: VmHarness, s: str) -> None:
        gone = await new_vm(h, s, actions_after_crash="coredump_and_destroy")
        again = await new_vm(h, s, actions_after_crash="coredump_and_restart")
        for vm in (gone, again):
            await h.call("VM.start", s, vm, False, False)
        ids = {vm: await h.call("VM.get_domid", s, vm) for vm in (gone, again)}
        for vm in ids:
            h.sim.guest_crash(ids[vm])
        await until(h, s, gone, lambda r: r["power_state"] == "Halted", "Halted")
        r = await until(h, s, again, lambda r: r["domid"] not in (ids[again], -1), "restarted")
        assert r["power_state"] == "Running"

        pool = (await h.call("pool.get_all", s))[0]
        crash_sr = await h.call("pool.get_crash_dump_SR", s, pool)
        for vm in (gone, again):
            rec = await h.call("VM.get_record", s, vm)
            assert len(rec["crash_dumps"]) == 1
            cd = await h.call("crashdump.get_record", s, rec["crash_dumps"][0])
            assert cd["VM"] == vm and cd["other_config"]["domid"] == str(ids[vm])
            assert cd["other_config"]["timestamp"].endswith("Z")
            v = await h.call("VDI.get_record", s, cd["VDI"])
            assert v["type"] == "crashdump" and v["SR"] == crash_sr
            assert v["crash_dumps"] == [rec["crash_dumps"][0]]
            static_max = int(rec["memory_static_max"])
            assert int(v["virtual_size"]) == core_vdi_size(static_max)
            # The real file libxl wrote: an ELF core naming the domain, memory sized.
            path = await vdi_path(h, s, cd["VDI"])
            with open(path, "rb") as f:
                head = f.read(4096)
            assert head[:4] == b"\x7fELF" and struct.unpack_from("<H", head, 16)[0] == 4
            assert f"domid={ids[vm]}\nname={rec['uuid']}\n".encode() in head
            assert f"memory_kb={static_max // 1024}\nshutdown_reason=3\n".encode() in head
            assert os.path.getsize(path) >= 4096 + static_max

        # crashdump.destroy: the record, its VDI and the image go.
        cd = (await h.call("VM.get_crash_dumps", s, gone))[0]
        vdi = await h.call("crashdump.get_VDI", s, cd)
        path = await vdi_path(h, s, vdi)
        await h.call("crashdump.destroy", s, cd)
        assert await h.call("VM.get_crash_dumps", s, gone) == []
        assert (await fails(h.call("VDI.get_record", s, vdi)))[0] == "HANDLE_INVALID"
        assert not os.path.exists(path)
    run(tmp_path, body)


def test_no_crash_dump_sr_still_destroys(tmp_path):  # type: ignore[no-untyped-def]
    async def body(h: VmHarness, s: str) -> None:
        pool = (await h.call("pool.get_all", s))[0]
        await h.call("pool.set_crash_dump_SR", s, pool, NULL_REF)
        vm = await new_vm(h, s, actions_after_crash="coredump_and_destroy")
        await h.call("VM.start", s, vm, False, False)
        h.sim.guest_crash(await h.call("VM.get_domid", s, vm))
        await until(h, s, vm, lambda r: r["power_state"] == "Halted", "Halted")
        assert await h.call("VM.get_crash_dumps", s, vm) == []
        assert await h.call("crashdump.get_all", s) == []
    run(tmp_path, body)
