"""libxl_cdrom_insert: Context.cdrom_insert changes and ejects an HVM guest's CD media."""
from __future__ import annotations

import pytest

from xenlight_py import (Context, DiskConfig, DomainConfig, DomainNotFound, DomainType,
                         InvalidArgument, XenlightError)


def hvm(ctx: Context) -> int:
    return ctx.create_domain(DomainConfig(
        name="hvm1", type=DomainType.HVM, memory=256, boot="dc",
        disks=(DiskConfig("hda", "/srv/hvm1.img"), DiskConfig("hdc", None, is_cdrom=True))))


def test_insert_change_eject(ctx: Context) -> None:
    domid = hvm(ctx)
    assert ctx.sim.disk_path(domid, "hdc") is None
    ctx.cdrom_insert(domid, "hdc", "/srv/iso/debian.iso")
    assert ctx.sim.disk_path(domid, "hdc") == "/srv/iso/debian.iso"
    ctx.cdrom_insert(domid, "hdc", "/srv/iso/tools.iso")
    assert ctx.sim.disk_path(domid, "hdc") == "/srv/iso/tools.iso"
    ctx.cdrom_insert(domid, "hdc", None)
    assert ctx.sim.disk_path(domid, "hdc") is None
    assert ctx.sim.disk_path(domid, "hda") == "/srv/hvm1.img"


def test_refusals_change_nothing(ctx: Context, pv: DomainConfig) -> None:
    domid = hvm(ctx)
    ctx.cdrom_insert(domid, "hdc", "/srv/a.iso")
    with pytest.raises(InvalidArgument, match="not a cdrom"):
        ctx.cdrom_insert(domid, "hda", "/srv/b.iso")
    with pytest.raises(XenlightError, match="Virtual device not found"):
        ctx.cdrom_insert(domid, "hdd", "/srv/b.iso")
    with pytest.raises(InvalidArgument):
        ctx.cdrom_insert(domid, "hdc", "")
    with pytest.raises(DomainNotFound):
        ctx.cdrom_insert(999, "hdc", "/srv/b.iso")
    assert ctx.sim.disk_path(domid, "hdc") == "/srv/a.iso"
    assert ctx.sim.disk_path(domid, "hda") == "/srv/hvm1.img"
    pvid = ctx.create_domain(DomainConfig(name="pvcd", kernel="/k",
                                          disks=(DiskConfig("xvdd", None, is_cdrom=True),)))
    with pytest.raises(InvalidArgument, match="requires an HVM domain"):
        ctx.cdrom_insert(pvid, "xvdd", "/srv/a.iso")
    assert ctx.sim.disk_path(pvid, "xvdd") is None
