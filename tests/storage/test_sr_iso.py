"""The ISO library driver on a real directory of files."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from sr_helpers import MiB, allocated, new_uuid, read_at
from xenapi_impl.storage import (
    DeviceConfigInvalid, FileSRDriver, ISOSRDriver, NotSupported, SRNotFound, VDIInUse,
    VDINotFound, VDIReadOnly,
)


def make_iso(lib: Path, name: str, content: bytes) -> Path:
    path = lib / name
    path.write_bytes(content)
    return path


def test_scan_lists_isos_with_sizes(iso_sr: ISOSRDriver, iso_dir: Path) -> None:
    make_iso(iso_dir, "debian.iso", b"D" * 6144)
    make_iso(iso_dir, "TOOLS.ISO", b"T" * 2048)
    make_iso(iso_dir, "notes.txt", b"x")
    make_iso(iso_dir, ".hidden.iso", b"h")
    (iso_dir / "dir.iso").mkdir()
    result = iso_sr.scan()
    by_name = {v.location: v for v in result.vdis}
    assert set(by_name) == {"debian.iso", "TOOLS.ISO"}
    deb = by_name["debian.iso"]
    assert deb.virtual_size == 6144 and deb.read_only and deb.name_label == "debian.iso"
    assert deb.physical_utilisation == allocated(str(iso_dir / "debian.iso"))
    assert {v.uuid for v in result.new} == {v.uuid for v in result.vdis}
    assert result.missing == []


def test_uuids_are_stable_across_instances(iso_sr: ISOSRDriver, iso_dir: Path) -> None:
    make_iso(iso_dir, "a.iso", b"a" * 2048)
    [first] = iso_sr.scan().vdis
    other = ISOSRDriver(iso_sr.sr_uuid, {"location": str(iso_dir)})
    other.attach()
    [again] = other.scan().vdis
    assert again.uuid == first.uuid
    # ... but another SR over the same directory names them differently
    third = ISOSRDriver(new_uuid(), {"location": str(iso_dir)})
    third.attach()
    assert third.scan().vdis[0].uuid != first.uuid


def test_scan_new_and_missing(iso_sr: ISOSRDriver, iso_dir: Path) -> None:
    a = make_iso(iso_dir, "a.iso", b"a" * 2048)
    first = iso_sr.scan()
    [va] = first.new
    make_iso(iso_dir, "b.iso", b"b" * 2048)
    second = iso_sr.scan(known={va.uuid})
    assert [v.location for v in second.new] == ["b.iso"]
    os.unlink(a)
    third = iso_sr.scan(known={v.uuid for v in second.vdis})
    assert third.new == [] and third.missing == [va.uuid]
    with pytest.raises(VDINotFound):
        iso_sr.vdi_stat(va.uuid)


def test_attach_is_read_only_cdrom(iso_sr: ISOSRDriver, iso_dir: Path) -> None:
    make_iso(iso_dir, "boot.iso", b"B" * 4096)
    [vdi] = iso_sr.scan().vdis
    with pytest.raises(VDIReadOnly):
        iso_sr.vdi_attach(vdi.uuid, writable=True)
    disk = iso_sr.vdi_attach(vdi.uuid, writable=False)
    assert disk.pdev_path == str(iso_dir / "boot.iso")
    assert disk.is_cdrom and not disk.readwrite and disk.format == "raw"
    iso_sr.vdi_attach(vdi.uuid, writable=False)
    assert iso_sr.attachments() == {vdi.uuid: 2}
    with pytest.raises(VDIInUse):
        iso_sr.detach()
    iso_sr.vdi_detach(vdi.uuid)
    with pytest.raises(VDIInUse):
        iso_sr.detach()
    iso_sr.vdi_detach(vdi.uuid)
    iso_sr.detach()


def test_no_vdi_create_or_delete(iso_sr: ISOSRDriver, iso_dir: Path) -> None:
    make_iso(iso_dir, "keep.iso", b"k" * 2048)
    [vdi] = iso_sr.scan().vdis
    for call, op in ((lambda: iso_sr.vdi_create(MiB), "vdi_create"),
                     (lambda: iso_sr.vdi_delete(vdi.uuid), "vdi_delete"),
                     (lambda: iso_sr.vdi_resize(vdi.uuid, MiB), "vdi_resize"),
                     (lambda: iso_sr.vdi_clone(vdi.uuid), "vdi_clone"),
                     (lambda: iso_sr.vdi_snapshot(vdi.uuid), "vdi_snapshot")):
        with pytest.raises(NotSupported) as e:
            call()
        assert e.value.code == "SR_OPERATION_NOT_SUPPORTED"
        assert e.value.params == [iso_sr.sr_uuid] and e.value.operation == op
    assert (iso_dir / "keep.iso").exists()


def test_copy_iso_into_a_file_sr(iso_sr: ISOSRDriver, iso_dir: Path, tmp_path: Path) -> None:
    content = os.urandom(8192)
    make_iso(iso_dir, "data.iso", content)
    [vdi] = iso_sr.scan().vdis
    target = FileSRDriver(new_uuid(), {"path": str(tmp_path / "disks")})
    target.create()
    target.attach()
    copy = iso_sr.vdi_copy(vdi.uuid, target)
    assert copy.virtual_size == 8192 and not copy.read_only
    assert read_at(os.path.join(target.path, copy.location + ".img"), 0, 8192) == content


def test_copy_into_an_iso_sr_not_supported(iso_sr: ISOSRDriver, file_sr: FileSRDriver) -> None:
    vdi = file_sr.vdi_create(MiB)
    with pytest.raises(NotSupported):
        file_sr.vdi_copy(vdi.uuid, iso_sr)
    file_sr.vdi_delete(vdi.uuid)     # the source was not left attached


def test_destroy_leaves_the_library_alone(iso_sr: ISOSRDriver, iso_dir: Path) -> None:
    make_iso(iso_dir, "mine.iso", b"m" * 2048)
    iso_sr.destroy()
    assert (iso_dir / "mine.iso").read_bytes() == b"m" * 2048


def test_stat(iso_sr: ISOSRDriver, iso_dir: Path) -> None:
    make_iso(iso_dir, "a.iso", b"a" * 4096)
    make_iso(iso_dir, "b.iso", b"b" * 8192)
    st = iso_sr.stat()
    assert st.virtual_allocation == 12288 and st.physical_size > 0


def test_create_and_attach_need_the_directory(tmp_path: Path) -> None:
    sr = ISOSRDriver(new_uuid(), {"location": str(tmp_path / "absent")})
    with pytest.raises(SRNotFound):
        sr.create()
    with pytest.raises(SRNotFound):
        sr.attach()
    assert not (tmp_path / "absent").exists()


@pytest.mark.parametrize("config", [{}, {"path": "/x"}, {"location": "isos"}])
def test_bad_device_config(config: dict) -> None:
    with pytest.raises(DeviceConfigInvalid) as e:
        ISOSRDriver(new_uuid(), config)
    assert e.value.key == "location" and e.value.code == "SR_BACKEND_FAILURE"


def test_read_only_library(iso_dir: Path) -> None:
    make_iso(iso_dir, "ro.iso", b"r" * 2048)
    os.chmod(iso_dir, 0o555)
    try:
        sr = ISOSRDriver(new_uuid(), {"location": str(iso_dir)})
        sr.create()
        sr.attach()
        assert [v.location for v in sr.scan().vdis] == ["ro.iso"]
        assert sorted(os.listdir(iso_dir)) == ["ro.iso"]     # nothing written
    finally:
        os.chmod(iso_dir, 0o755)
