"""Utilisation from CPU time deltas."""
from __future__ import annotations

import time

from xenlight_py import Context, DomainConfig
from xenlight_py.stats import UsageSampler, utilisation


def test_utilisation_masks_bit_63() -> None:
    flag = 1 << 63
    assert utilisation(1_000, 501_000 | flag, 1_000_000) == 0.5
    assert utilisation(1_000 | flag, 1_000, 10) == 0.0
    assert utilisation(5_000, 1_000, 10) == 0.0         # counter went back (reboot)
    assert utilisation(0, 10, 0) == 0.0


def test_sampler_follows_simulated_load(ctx: Context) -> None:
    domid = ctx.create_domain(DomainConfig(name="busy", kernel="/k", vcpus=2))
    ctx.sim.set_load(domid, 0.5)
    s = UsageSampler(ctx)
    assert s.sample() == {}
    time.sleep(0.2)
    u = s.sample()[domid]
    # the simulator accrues load x wall time on each running vCPU
    assert abs(u.cpu - 1.0) < 0.25
    assert set(u.vcpus) == {0, 1}
    for v in u.vcpus.values():
        assert abs(v - 0.5) < 0.15
    assert abs(u.percent - 100.0) < 25


def test_sampler_skips_replaced_domain(ctx: Context) -> None:
    domid = ctx.create_domain(DomainConfig(name="a", kernel="/k", domid=7))
    keep = ctx.create_domain(DomainConfig(name="k", kernel="/k"))
    s = UsageSampler(ctx)
    s.sample()
    ctx.destroy(domid)
    # a different domain under the same domid: its counter restarted, no delta to take
    assert ctx.create_domain(DomainConfig(name="b", kernel="/k", domid=7)) == 7
    out = s.sample()
    assert 7 not in out and keep in out and 0 in out
