"""host.dmesg / host.dmesg_clear: the hypervisor's console ring read through libxl."""
from __future__ import annotations

from test_vm_lifecycle import VmHarness, new_vm, run


def test_dmesg_shows_domains_and_clears(tmp_path):  # type: ignore[no-untyped-def]
    async def body(h: VmHarness, s: str) -> None:
        host = (await h.call("host.get_all", s))[0]
        text = await h.call("host.dmesg", s, host)
        assert "Xen version 4.17.0" in text and text.endswith("\n")
        assert all(line.startswith("(XEN) [") for line in text.splitlines())
        vm = await new_vm(h, s)
        await h.call("VM.start", s, vm, False, False)
        domid = int(await h.call("VM.get_domid", s, vm))
        await h.call("VM.hard_shutdown", s, vm)
        text = await h.call("host.dmesg_clear", s, host)
        assert f"d{domid}: domain created" in text
        assert f"d{domid}: domain destroyed" in text
        assert await h.call("host.dmesg", s, host) == ""
        # The ring is the hypervisor's, not a copy: the binding reads the same text.
        await h.call("VM.start", s, vm, False, False)
        assert await h.call("host.dmesg", s, host) == h.xl.xen_dmesg()
    run(tmp_path, body)
