"""Resync at start (in process): a start cut short by a crash leaves no duplicate domain."""
from __future__ import annotations

import asyncio

from test_vm_lifecycle import VmHarness, domains, new_vm
from xenapi_impl.api.resync import resync


def test_interrupted_start_and_vanished_domain(tmp_path):
    async def main() -> None:
        h = await VmHarness(str(tmp_path)).start()
        try:
            s = await h.login()
            cut = await new_vm(h, s)
            gone = await new_vm(h, s)
            await h.call("VM.start", s, gone, False, False)
            h.xl.destroy(await h.call("VM.get_domid", s, gone))
            # what a crash between "start announced" and "start recorded" leaves behind:
            # the announcement committed, the domain made with the VM's uuid
            import xenlight_py as xl
            uuid = await h.call("VM.get_uuid", s, cut)
            async with h.store.transaction() as txn:
                txn.update("VM", cut, {"current_operations": {"OpaqueRef:gone-task": "start"},
                                       "allowed_operations": []})
            h.xl.create_domain(xl.DomainConfig(name=uuid, uuid=uuid, kernel="/k", memory=64))
            done = await resync(h.services)
            assert done["interrupted"] == [cut] and done["halted"] == [gone]
            assert done["unknown"] == []
            assert domains(h) == []
            rec = await h.call("VM.get_record", s, cut)
            assert rec["power_state"] == "Halted" and rec["current_operations"] == {}
            assert "start" in rec["allowed_operations"]
            assert await h.call("VM.get_power_state", s, gone) == "Halted"
            await h.call("VM.start", s, cut, False, False)
            assert [d.uuid for d in domains(h)] == [uuid]
        finally:
            await h.close()
    asyncio.run(main())
