"""Context.sample_domains and DomainSample.derive (xenlight_py/sample.py): every domain in one
C call, the counters the request names, and the derivation against the previous sample."""
from __future__ import annotations

import struct
import time

import pytest

from xenlight_py import Context, DomainConfig, NicConfig, errors
from xenlight_py.sample import DERIVED_HEAD, DomainSample, request


def test_every_domain_with_the_counters_asked(ctx: Context, pv: DomainConfig) -> None:
    domid = ctx.create_domain(pv)
    ctx.add_nic(domid, NicConfig(bridge="br0"))
    s = ctx.sample_domains(request([(domid, ["xvdz"], [0], True)]))
    recs = {r.domid: r for r in s.records()}
    assert set(recs) == {0, domid} and len(s) == 2
    dom0, r = recs[0], recs[domid]
    assert dom0.disks == () and dom0.nics == () and dom0.guest is None
    info = ctx.domain_info(domid)
    assert (r.domain_info.uuid, r.domain_info.vcpu_online) == (info.uuid, info.vcpu_online)
    assert [v[0] for v in r.vcpus] == [0, 1] and all(v[2] for v in r.vcpus)
    assert r.cpu_stamp <= r.stamp <= time.monotonic_ns()
    (ok, rd, wr, name), = r.disks                   # no such disk: not ok, named
    assert not ok and (rd, wr) == (0, 0) and name.rstrip(b"\0") == b"xvdz"
    (ok, _rx, _tx, name), = r.nics
    assert ok and name.rstrip(b"\0") == b"0"
    assert r.guest is not None and r.guest[3].startswith(b"Debian")


def test_a_malformed_request_is_refused(ctx: Context) -> None:
    good = request([(0, ["xvda"], [], False)])
    with pytest.raises(errors.InvalidArgument):
        ctx.sample_domains(good[:-1])           # a disk name cut short
    with pytest.raises(errors.InvalidArgument):
        ctx.sample_domains(struct.pack("<IHHB3x", 0, 1000, 0, 0))    # names it lacks


def test_derive_utilisation_and_sameness(ctx: Context, pv: DomainConfig) -> None:
    domid = ctx.create_domain(pv)
    ctx.sim.set_load(domid, 0.5)
    req = request([(domid, [], [], False)])
    first = ctx.sample_domains(req)
    d1 = first.derive(None, None, 16)
    assert d1.nload == 0 and d1.load == 0.0        # no previous sample: no rates
    time.sleep(0.02)
    second = ctx.sample_domains(req)
    d2 = second.derive(first, d1, 16)
    off = d2.index()[domid]
    h = DERIVED_HEAD.unpack_from(d2.data, off)
    raw = struct.unpack_from(f"<{h[5]}d", d2.data, off + DERIVED_HEAD.size + h[3] + 8 * h[4])
    assert raw == pytest.approx([0.5, 0.5], abs=0.02) and h[6]     # regular layout
    assert sum(d2.pcpu) == pytest.approx(d2.load) and d2.nload >= 2
    ctx.pause(domid)                                # still figures: the same values twice
    p1 = ctx.sample_domains(req)
    p2 = ctx.sample_domains(req)
    dp1 = p1.derive(second, d2, 16)
    dp2 = p2.derive(p1, dp1, 16)
    dp3 = p2.derive(p1, dp2, 16)
    assert not DERIVED_HEAD.unpack_from(dp1.data, dp1.index()[domid])[7]
    assert DERIVED_HEAD.unpack_from(dp3.data, dp3.index()[domid])[7]


@pytest.mark.parametrize("data", [b"garbage", b"\0" * 200, b""])
def test_derive_refuses_buffers_it_did_not_write(ctx: Context, data: bytes) -> None:
    good = ctx.sample_domains()
    bad = DomainSample(data, 1, ctx._ffi, ctx._lib)
    if data:
        with pytest.raises(ValueError):
            bad.derive(None, None, 4)
        with pytest.raises(ValueError):
            good.derive(bad, None, 4)
    else:
        assert bad.derive(good, None, 4).count == 0
