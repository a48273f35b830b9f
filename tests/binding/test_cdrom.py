"""libxl_cdrom_insert: Context.cdrom_insert changes and ejects an HVM guest's CD media."""
from __future__ import annotations

from typing import Callable

import pytest

from xenlight_py import (Context, DiskConfig, DomainConfig, DomainNotFound, DomainType,
                         InvalidArgument, XenlightError)


def hvm(ctx: Context, image: Callable[..., str]) -> int:
    return ctx.create_domain(DomainConfig(
        name="hvm1", type=DomainType.HVM, memory=256, boot="dc",
        disks=(DiskConfig("hda", image("hvm1.img")), DiskConfig("hdc", None, is_cdrom=True))))


def test_insert_change_eject(ctx: Context, image: Callable[..., str]) -> None:
    domid = hvm(ctx, image)
    assert ctx.sim.disk_path(domid, "hdc") is None
    debian, tools = image("iso/debian.iso"), image("iso/tools.iso")
    ctx.cdrom_insert(domid, "hdc", debian)
    assert ctx.sim.disk_path(domid, "hdc") == debian
    ctx.cdrom_insert(domid, "hdc", tools)
    assert ctx.sim.disk_path(domid, "hdc") == tools
    ctx.cdrom_insert(domid, "hdc", None)
    assert ctx.sim.disk_path(domid, "hdc") is None
    assert ctx.sim.disk_path(domid, "hda") == image("hvm1.img")


def test_refusals_change_nothing(ctx: Context, pv: DomainConfig,
                                 image: Callable[..., str]) -> None:
    domid = hvm(ctx, image)
    a, b = image("a.iso"), image("b.iso")
    ctx.cdrom_insert(domid, "hdc", a)
    with pytest.raises(InvalidArgument, match="not a cdrom"):
        ctx.cdrom_insert(domid, "hda", b)
    with pytest.raises(XenlightError, match="Virtual device not found"):
        ctx.cdrom_insert(domid, "hdd", b)
    with pytest.raises(InvalidArgument):
        ctx.cdrom_insert(domid, "hdc", "")
    with pytest.raises(DomainNotFound):
        ctx.cdrom_insert(999, "hdc", b)
    with pytest.raises(InvalidArgument, match="failed to stat"):
        ctx.cdrom_insert(domid, "hdc", a + ".missing")
    assert ctx.sim.disk_path(domid, "hdc") == a
    assert ctx.sim.disk_path(domid, "hda") == image("hvm1.img")
    pvid = ctx.create_domain(DomainConfig(name="pvcd", kernel="/k",
                                          disks=(DiskConfig("xvdd", None, is_cdrom=True),)))
    with pytest.raises(InvalidArgument, match="requires an HVM domain"):
        ctx.cdrom_insert(pvid, "xvdd", a)
    assert ctx.sim.disk_path(pvid, "xvdd") is None
