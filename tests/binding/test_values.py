"""DomainInfo, the value the hot paths build from the C shim's packed record."""
from __future__ import annotations

import typing

import pytest

from xenlight_py import Context, DomainConfig, DomainInfo, DomainType, ShutdownReason

def _check_types(info: DomainInfo) -> None:
    hints = typing.get_type_hints(DomainInfo)
    assert tuple(hints) == DomainInfo._fields and len(hints) == 21
    for name, hint in hints.items():
        value = getattr(info, name)
        # bool is an int: demand the exact type the annotation names
        assert type(value) is hint, (name, value)


def test_fields_have_their_declared_types(ctx: Context, pv: DomainConfig) -> None:
    domid = ctx.create_domain(pv, paused=True)
    for info in (ctx.domain_info(domid), ctx.domain_info(0), *ctx.list_domains()):
        _check_types(info)
    info = ctx.domain_info(domid)
    assert info.domain_type is DomainType.PV and info.shutdown_reason is ShutdownReason.UNKNOWN
    assert info.uuid == info.uuid.lower() and len(info.uuid) == 36


def test_is_immutable(ctx: Context, pv: DomainConfig) -> None:
    info = ctx.domain_info(ctx.create_domain(pv))
    with pytest.raises(AttributeError):
        info.paused = True        # type: ignore[misc]
    with pytest.raises(AttributeError):
        info.extra = 1            # type: ignore[attr-defined]
    assert hash(info) == hash(DomainInfo(**info._asdict()))


def test_fast_path_equals_keyword_construction(ctx: Context, pv: DomainConfig) -> None:
    domid = ctx.create_domain(pv, paused=True)          # paused: cpu_time does not move
    a, b = ctx.domain_info(domid), ctx.list_domains()[1]
    assert a == b == DomainInfo(**a._asdict())
    assert a._replace(paused=False).paused is False and a.paused is True


def test_derived_values(ctx: Context, pv: DomainConfig) -> None:
    domid = ctx.create_domain(pv, paused=True)
    info = ctx.domain_info(domid)
    assert info.state == "--p---"
    assert info.memory_mib == (info.current_memkb + info.outstanding_memkb) // 1024 == 256
    assert info.cpu_time_s == info.cpu_time / 1e9
    ctx.unpause(domid)
    ctx.sim.guest_crash(domid)
    crashed = ctx.domain_info(domid)
    assert crashed.shutdown and crashed.shutdown_reason is ShutdownReason.CRASH
    assert crashed.state[3:5] == "sc"
    _check_types(crashed)


def test_unknown_enum_values_stay_ints() -> None:
    from xenlight_py.context import _DOMINFO, _make_dominfo
    raw = _DOMINFO.pack(7, b"0" * 36, 0, True, False, False, True, False, False, 42,
                        0, 1024, 0, 0, 2048, 5, 0, 1, 0, 52, 99)
    info = _make_dominfo(_DOMINFO.unpack(raw))
    assert info.shutdown_reason == 42 and type(info.shutdown_reason) is int
    assert info.domain_type == 99 and type(info.domain_type) is int
    assert info.state == "r--s?-"
    assert info.uuid == "0" * 36


def test_annotations_resolve() -> None:
    hints = typing.get_type_hints(DomainInfo)
    assert hints["uuid"] is str and hints["domain_type"] is DomainType
