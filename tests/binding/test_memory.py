"""Memory accounting as seen through the binding."""
from __future__ import annotations

import pytest

from xenlight_py import Context, DomainConfig, InvalidArgument, XenlightError


def test_free_memory_follows_domains(ctx: Context) -> None:
    p = ctx.physinfo()
    free0 = ctx.free_memory()
    assert free0 == p.free_pages * 4
    assert p.total_memkb == p.total_pages * 4 >= free0
    domid = ctx.create_domain(DomainConfig(name="m", kernel="/k", memory=1024, maxmem=2048))
    info = ctx.domain_info(domid)
    assert info.current_memkb == 1024 * 1024
    assert info.max_memkb >= 2048 * 1024
    assert ctx.memory_target(domid) == 1024 * 1024
    used = free0 - ctx.free_memory()
    assert used >= info.current_memkb
    ctx.destroy(domid)
    assert ctx.free_memory() == free0


def test_balloon_target(ctx: Context) -> None:
    domid = ctx.create_domain(DomainConfig(name="m", kernel="/k", memory=1024, maxmem=2048))
    ctx.set_memory_target(domid, 512 * 1024)
    assert ctx.memory_target(domid) == 512 * 1024
    ctx.set_memory_target(domid, 256 * 1024, relative=True)
    assert ctx.memory_target(domid) == 768 * 1024
    ctx.set_memory_target(domid, -(1 << 40), relative=True)   # clamped, as real Xen 4.17
    assert ctx.memory_target(domid) == 0
    ctx.set_max_memory(domid, 4096 * 1024)
    assert ctx.domain_info(domid).max_memkb >= 4096 * 1024


def test_host_too_small(ctx: Context) -> None:
    ctx.sim.configure(total_memkb=8 * 1024 * 1024, dom0_memkb=1024 * 1024)
    free = ctx.free_memory()
    # as real Xen 4.17: libxenguest cannot allocate, libxl says ERROR_FAIL (not NOMEM)
    with pytest.raises(XenlightError) as ei:
        ctx.create_domain(DomainConfig(name="big", kernel="/k", memory=free // 1024 + 1))
    # what libxl gave, not a guess: the binding cannot tell for sure that it was memory
    e = ei.value
    assert type(e) is XenlightError and not isinstance(e, MemoryError)
    assert (e.rc, e.name, e.function) == (-3, "fail", "libxl_domain_create_new")
    assert any("failed to allocate" in line for line in ei.value.log)
    assert ctx.free_memory() == free
    assert [d.domid for d in ctx.list_domains()] == [0]


def test_dom0_and_host_config(ctx: Context) -> None:
    ctx.sim.configure(nr_cpus=8, dom0_memkb=2 * 1024 * 1024, dom0_vcpus=2)
    p = ctx.physinfo()
    assert p.nr_cpus == 8
    d0 = ctx.domain_info(0)
    assert d0.current_memkb == 2 * 1024 * 1024 and d0.vcpu_online == 2
    assert ctx.sim.config().nr_cpus == 8
    with pytest.raises(InvalidArgument):
        ctx.sim.configure(nr_cpus=-1)
    with pytest.raises(InvalidArgument):
        ctx.sim.configure(no_such_field=1)
    assert ctx.physinfo().nr_cpus == 8


def test_sim_control_validates(ctx: Context) -> None:
    for call in (lambda: ctx.sim.guest_crash(-1), lambda: ctx.sim.set_load(0, 2.0),
                 lambda: ctx.sim.fail_next("libxl_domain_info", rc=5),
                 lambda: ctx.sim.disk_stats(0, "")):
        with pytest.raises(InvalidArgument):
            call()
