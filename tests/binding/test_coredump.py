"""libxl_domain_core_dump: Context.core_dump writes an ELF core of the simulated guest."""
from __future__ import annotations

import os
import struct

import pytest

from xenlight_py import Context, DomainConfig, DomainNotFound, InvalidArgument, XenlightError


def test_core_of_crashed_guest(ctx: Context, pv: DomainConfig, tmp_path) -> None:  # type: ignore[no-untyped-def]
    domid = ctx.create_domain(pv)                # 256 MiB, 2 vCPUs
    ctx.sim.guest_crash(domid)
    core = tmp_path / "core"
    ctx.core_dump(domid, core)
    st = os.stat(core)
    assert st.st_size == 4096 + 256 * 1024 * 1024
    assert st.st_blocks * 512 < 1024 * 1024      # the memory body is a hole
    head = core.read_bytes()[:4096]
    assert head[:4] == b"\x7fELF" and struct.unpack_from("<H", head, 16)[0] == 4  # ET_CORE
    assert f"domid={domid}\nname=pv1\n".encode() in head
    assert b"vcpus=2\nmemory_kb=262144\nshutdown_reason=3\n" in head


def test_refusals(ctx: Context, pv: DomainConfig, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainNotFound):
        ctx.core_dump(999, tmp_path / "c")
    # As on Xen 4.17: libxc creates the file before it asks about the domain.
    assert (tmp_path / "c").stat().st_size == 0
    (tmp_path / "c").unlink()
    domid = ctx.create_domain(pv)
    with pytest.raises(InvalidArgument):
        ctx.core_dump(domid, "")
    with pytest.raises(XenlightError, match="cannot write core file"):
        ctx.core_dump(domid, tmp_path / "no" / "such" / "dir")
    assert not (tmp_path / "c").exists()
