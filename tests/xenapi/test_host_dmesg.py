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


def test_send_debug_keys_reach_xen(tmp_path):  # type: ignore[no-untyped-def]
    """host.send_debug_keys goes through libxl_send_debug_keys: the handlers of the keys
    Xen has print to its console ring; keys without a handler print nothing."""
    async def body(h: VmHarness, s: str) -> None:
        from xenapi_impl.errors import XenAPIError
        host = (await h.call("host.get_all", s))[0]
        await h.call("host.dmesg_clear", s, host)
        await h.call("host.send_debug_keys", s, host, "hqj")
        lines = (await h.call("host.dmesg", s, host)).splitlines()
        assert [line.split("] ", 1)[1] for line in lines] == [
            "'h' pressed -> showing installed handlers", "'q' pressed -> dumping domain info"]
        try:
            await h.call("host.send_debug_keys", s, host, "h\n")
            raise AssertionError("accepted a control character")
        except XenAPIError as exc:
            assert exc.description == ["INVALID_VALUE", "keys", "h\n"]
        assert len((await h.call("host.dmesg", s, host)).splitlines()) == 2
    run(tmp_path, body)
