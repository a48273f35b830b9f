"""The simulated guest agent's data (xlsim_guest_info) through ctx.sim.guest_info."""
from __future__ import annotations

import pytest

from xenlight_py import Context, DomainConfig, NicConfig


def _ipv4(ctx: Context, ip: str | None, devid: int = -1) -> str:
    cfg = DomainConfig(name="g", kernel="/k", nics=(NicConfig(ip=ip, devid=devid),))
    domid = ctx.create_domain(cfg)
    try:
        return ctx.sim.guest_info(domid).ipv4
    finally:
        ctx.destroy(domid)


@pytest.mark.parametrize("ip, expected", [
    ("192.168.7.9", "192.168.7.9"),
    ("fe80::1 192.168.7.9 10.0.0.1", "192.168.7.9"),         # the first IPv4 of the list
    # 47 characters, the longest ip= the simulator keeps: did not fit ipv4[40] whole
    ("fe80::1 fe80::2 fe80::3 fe80::4 172.16.254.253", "172.16.254.253"),
    ("2001:db8::1 fe80::2", ""),                             # no IPv4 on that nic
])
def test_ipv4_is_the_first_ipv4_of_the_nic(ctx: Context, ip: str, expected: str) -> None:
    assert len(ip) <= 47
    assert _ipv4(ctx, ip) == expected


def test_ipv4_without_ip_is_derived_from_domid_and_devid(ctx: Context) -> None:
    domid = ctx.create_domain(DomainConfig(name="g", kernel="/k",
                                           nics=(NicConfig(devid=3),)))
    assert ctx.sim.guest_info(domid).ipv4 == f"10.{domid >> 8 & 255}.{domid & 255}.5"
