"""DomainInfo, the value the hot paths build from the C shim's packed record."""
from __future__ import annotations

import copy
import pickle
import typing

import pytest

from xenlight_py import Context, DomainConfig, DomainInfo, DomainType, ShutdownReason

def _field_types() -> dict[str, type]:
    """Each field's declared type (the return annotation of its property)."""
    fields = DomainInfo._fields
    assert len(fields) == 21 and len(set(fields)) == 21
    return {f: typing.get_type_hints(getattr(DomainInfo, f).fget)["return"] for f in fields}


def _check_types(info: DomainInfo) -> None:
    hints = _field_types()
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
    with pytest.raises(AttributeError):
        info._r = ()              # type: ignore[misc]
    with pytest.raises(AttributeError):
        del info.domid
    assert hash(info) == hash(DomainInfo(**info._asdict()))
    assert copy.copy(info) == copy.deepcopy(info) == pickle.loads(pickle.dumps(info)) == info
    assert info != tuple(info._asdict().values()) and info != info._replace(cpu_time=-1)


def test_fast_path_equals_keyword_construction(ctx: Context, pv: DomainConfig) -> None:
    domid = ctx.create_domain(pv, paused=True)          # paused: cpu_time does not move
    a, b = ctx.domain_info(domid), ctx.list_domains()[1]
    assert a == b == DomainInfo(**a._asdict())
    assert a._replace(paused=False).paused is False and a.paused is True
    assert a._replace(paused=False) == DomainInfo(**{**a._asdict(), "paused": False})
    with pytest.raises(TypeError):
        a._replace(no_such_field=1)
    assert repr(a) == "DomainInfo(" + ", ".join(
        f"{k}={v!r}" for k, v in a._asdict().items()) + ")"
    assert f"uuid='{a.uuid}'" in repr(a) and "domain_type=<DomainType.PV: 2>" in repr(a)


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
    from xenlight_py.context import _DOMINFO
    raw = _DOMINFO.pack(7, b"0" * 36, 0, True, False, False, True, False, False, 42,
                        0, 1024, 0, 0, 2048, 5, 0, 1, 0, 52, 99)
    info = DomainInfo._from_record(_DOMINFO.unpack(raw))
    assert info.shutdown_reason == 42 and type(info.shutdown_reason) is int
    assert info.domain_type == 99 and type(info.domain_type) is int
    assert info.state == "r--s?-"
    assert info.uuid == "0" * 36


def test_annotations_resolve() -> None:
    hints = _field_types()
    assert hints["uuid"] is str and hints["domain_type"] is DomainType
    assert hints["shutdown_reason"] is ShutdownReason and hints["paused"] is bool
    # the keyword constructor takes exactly the fields, in order
    params = list(typing.get_type_hints(DomainInfo.__init__))
    assert params[:-1] == list(DomainInfo._fields) and params[-1] == "return"
