"""Credit scheduler parameters: DomainConfig weight/cap at create, sched_params live."""
from __future__ import annotations

import pytest

from xenlight_py import (Context, DomainConfig, DomainNotFound, InvalidArgument, SchedParams,
                         XenlightError)


def test_defaults_and_at_create(ctx: Context, pv: DomainConfig) -> None:
    assert ctx.sched_params(0) == SchedParams(256, 0)
    domid = ctx.create_domain(pv)
    assert ctx.sched_params(domid) == SchedParams(256, 0)
    d2 = ctx.create_domain(DomainConfig(name="w", kernel="/k", vcpus=2, weight=512, cap=150))
    assert ctx.sched_params(d2) == SchedParams(512, 150)


@pytest.mark.parametrize("over, message", [
    ({"weight": 0}, "weight 0 must be between 1 and 65535"),
    ({"weight": 65536}, "weight 65536 must be between 1 and 65535"),
    ({"cap": -1}, "cap -1 must be between 0 and 200"),
    ({"cap": 201}, "cap 201 must be between 0 and 200"),
    ({"weight": True}, "weight True must be between 1 and 65535"),
])
def test_bad_config(over: dict[str, int], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        DomainConfig(name="w", kernel="/k", vcpus=2, **over)


def test_set_live(ctx: Context, pv: DomainConfig) -> None:
    domid = ctx.create_domain(pv)                    # 2 vCPUs
    ctx.set_sched_params(domid, weight=1000)
    assert ctx.sched_params(domid) == SchedParams(1000, 0)
    ctx.set_sched_params(domid, cap=50)
    assert ctx.sched_params(domid) == SchedParams(1000, 50)
    with pytest.raises(InvalidArgument, match="cap 300 must be between 0 and 200"):
        ctx.set_sched_params(domid, weight=7, cap=300)
    with pytest.raises(InvalidArgument):
        ctx.set_sched_params(domid)
    assert ctx.sched_params(domid) == SchedParams(1000, 50)
    with pytest.raises(DomainNotFound):
        ctx.sched_params(999)
    with pytest.raises(DomainNotFound):
        ctx.set_sched_params(999, weight=5)


def test_libxl_rejects_what_it_must(ctx: Context, pv: DomainConfig) -> None:
    """The C layer checks too (the binding's check is not the only guard)."""
    domid = ctx.create_domain(pv)
    ctx.sim.fail_next("libxl_domain_sched_params_set", -3)
    with pytest.raises(XenlightError):
        ctx.set_sched_params(domid, weight=9)
    assert ctx.sched_params(domid) == SchedParams(256, 0)
    lib, ffi = ctx._lib, ctx._ffi
    p = ffi.new("libxl_domain_sched_params *")
    lib.libxl_domain_sched_params_init(p)
    p.cap = 201
    assert lib.libxl_domain_sched_params_set(ctx._c(), domid, p) == -6     # ERROR_INVAL
    assert ctx.sched_params(domid) == SchedParams(256, 0)
