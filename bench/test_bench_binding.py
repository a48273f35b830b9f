"""xenlight_py benchmarks (pytest-benchmark), baselines in the same run.

(a) domain_info through the Python API vs the raw cffi call (init + libxl_domain_info +
    dispose), and vs the raw call plus reading every field through cffi (what a naive
    binding pays to get the same data into Python). Target: API <= 2x the raw call.
(a') DomainInfo built from the unpacked record + every field read, against the frozen
    dataclass it replaced (uuid and enums are converted on read now: the reads cost more).
(b) list_domains at 1, 64, 1024 and 4096 domains. Target: <= 4 ms at 4096.
(c) the simulator's own cost for the same calls, timed from C (clock_gettime loop in the sim
    target), reported per call in extra_info.

Run: .venv/bin/python -m pytest bench/test_bench_binding.py --benchmark-only \
        --benchmark-columns=min,median,mean,ops
"""
from __future__ import annotations

import operator
import os
from dataclasses import dataclass
from typing import Iterator

import pytest

from benchsize import size

from xenlight_py import Context, DomainConfig, DomainInfo, DomainType, ShutdownReason

os.environ.pop("XLSIM_STATE_FILE", None)

C_LOOP = size(20000, 100)


@pytest.fixture(scope="module")
def ctx() -> Iterator[Context]:
    c = Context(backend="sim")
    c.sim.configure(total_memkb=1 << 40)
    yield c
    c.sim.configure()
    c.close()


@pytest.fixture(scope="module")
def domid(ctx: Context) -> int:
    return ctx.create_domain(DomainConfig(name="bench", kernel="/k", memory=64, vcpus=2))


# ---- (a) domain_info ----

def test_domain_info_api(benchmark, ctx: Context, domid: int) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = "domain_info"
    info = benchmark(ctx.domain_info, domid)
    assert info.domid == domid


def test_domain_info_raw_call(benchmark, ctx: Context, domid: int) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = "domain_info"
    ffi, lib, c = ctx._ffi, ctx._lib, ctx._ctx
    p = ffi.new("libxl_dominfo *")

    def raw() -> int:
        lib.libxl_dominfo_init(p)
        rc = lib.libxl_domain_info(c, p, domid)
        lib.libxl_dominfo_dispose(p)
        return rc

    assert benchmark(raw) == 0


def test_domain_info_raw_call_and_fields(benchmark, ctx: Context, domid: int) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = "domain_info"
    ffi, lib, c = ctx._ffi, ctx._lib, ctx._ctx
    p = ffi.new("libxl_dominfo *")
    names = [f for f, _ in ffi.typeof("libxl_dominfo").fields if f not in ("uuid", "ssid_label")]

    def raw() -> dict:  # type: ignore[type-arg]
        lib.libxl_dominfo_init(p)
        lib.libxl_domain_info(c, p, domid)
        d = {n: getattr(p, n) for n in names}
        d["uuid"] = bytes(p.uuid.uuid)
        lib.libxl_dominfo_dispose(p)
        return d

    assert benchmark(raw)["domid"] == domid


# DomainInfo converts uuid and the enums when they are read: build + read every field,
# against the frozen dataclass it replaced (built the fast way, one instance-dict literal),
# so the cost moved to the reads is visible too.

@dataclass(frozen=True)
class _FrozenDomainInfo:
    domid: int
    uuid: str
    ssidref: int
    running: bool
    blocked: bool
    paused: bool
    shutdown: bool
    dying: bool
    never_stop: bool
    shutdown_reason: ShutdownReason
    outstanding_memkb: int
    current_memkb: int
    shared_memkb: int
    paged_memkb: int
    max_memkb: int
    cpu_time: int
    vcpu_max_id: int
    vcpu_online: int
    cpupool: int
    gpaddr_bits: int
    domain_type: DomainType


_REASONS = {int(r): r for r in ShutdownReason}
_TYPES = {int(t): t for t in DomainType}


def _frozen_from_record(v: tuple) -> _FrozenDomainInfo:  # type: ignore[type-arg]
    """What the binding did before: bypass __init__, one instance-dict literal."""
    (domid, uuid, ssidref, running, blocked, paused, shutdown, dying, never_stop, reason,
     outstanding, current, shared, paged, maxmem, cpu_time, vcpu_max_id, vcpu_online,
     cpupool, gpaddr_bits, dtype) = v
    o = object.__new__(_FrozenDomainInfo)
    object.__setattr__(o, "__dict__", {
        "domid": domid, "uuid": uuid.decode("ascii"), "ssidref": ssidref,
        "running": running, "blocked": blocked, "paused": paused, "shutdown": shutdown,
        "dying": dying, "never_stop": never_stop,
        "shutdown_reason": _REASONS.get(reason, reason), "outstanding_memkb": outstanding,
        "current_memkb": current, "shared_memkb": shared, "paged_memkb": paged,
        "max_memkb": maxmem, "cpu_time": cpu_time, "vcpu_max_id": vcpu_max_id,
        "vcpu_online": vcpu_online, "cpupool": cpupool, "gpaddr_bits": gpaddr_bits,
        "domain_type": _TYPES.get(dtype, dtype)})
    return o


@pytest.mark.parametrize("kind", ["DomainInfo", "frozen dataclass"])
def test_dominfo_build_and_read_every_field(benchmark, ctx: Context, domid: int,  # type: ignore[no-untyped-def]
                                            kind: str) -> None:
    benchmark.group = "DomainInfo: build from the record + read all 21 fields"
    from xenlight_py.context import _DOMINFO
    buf = bytearray(_DOMINFO.size)
    assert ctx._lib.xlpy_domain_info_flat(ctx._ctx, domid, ctx._ffi.from_buffer(buf)) == 0
    rec = _DOMINFO.unpack(buf)
    build = DomainInfo._from_record if kind == "DomainInfo" else _frozen_from_record
    getters = [operator.attrgetter(f) for f in DomainInfo._fields]

    def run() -> list:  # type: ignore[type-arg]
        o = build(rec)
        return [g(o) for g in getters]

    values = benchmark(run)
    api = ctx.domain_info(domid)
    moving = DomainInfo._fields.index("cpu_time")     # the domain runs: its cpu_time moves
    assert [v for i, v in enumerate(values) if i != moving] == \
        [getattr(api, f) for i, f in enumerate(DomainInfo._fields) if i != moving]


def test_domain_info_sim_from_c(benchmark, ctx: Context, domid: int) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = "domain_info (simulator, C loop of 20000)"
    ns = benchmark.pedantic(ctx.sim.bench_domain_info_ns, args=(ctx, domid, C_LOOP),
                            rounds=size(10, 1), iterations=1)
    benchmark.extra_info["per_call_ns"] = ns / C_LOOP


# ---- (b) list_domains ----

def _populate(ctx: Context, n: int) -> None:
    have = len(ctx.list_domains())
    for i in range(have, n):
        ctx.create_domain(DomainConfig(name=f"b{i}", kernel="/k", memory=8), paused=True)
    assert len(ctx.list_domains()) == n


@pytest.mark.parametrize("n", size([1, 64, 1024, 4096], [1, 64]))
def test_list_domains(benchmark, n: int) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = "list_domains"
    with Context(backend="sim") as c:
        c.sim.configure(total_memkb=1 << 40)
        _populate(c, n)
        doms = benchmark(c.list_domains)
        assert len(doms) == n
        c.sim.configure()


@pytest.mark.parametrize("n", size([1, 64, 1024, 4096], [1, 64]))
def test_list_domains_sim_from_c(benchmark, n: int) -> None:  # type: ignore[no-untyped-def]
    benchmark.group = "list_domains (simulator, C loop of 200)"
    with Context(backend="sim") as c:
        c.sim.configure(total_memkb=1 << 40)
        _populate(c, n)
        ns = benchmark.pedantic(c.sim.bench_list_domain_ns, args=(c, 200), rounds=5,
                                iterations=1)
        benchmark.extra_info["per_call_ns"] = ns / 200
        c.sim.configure()
