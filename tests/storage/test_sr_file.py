"""The file SR driver on real directories and real sparse files."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sr_helpers import MiB, allocated, new_uuid, read_at, write_at
from xenapi_impl.storage import (
    BackendFailure, DeviceConfigInvalid, FileSRDriver, InvalidArgument, InvalidSize, SRExists,
    SRNotAttached, SRNotEmpty, SRNotFound, VDIInUse, VDINotFound, VDIReadOnly, VDITooLarge,
    VDITooSmall,
)
from xenapi_impl.storage.file_sr import METADATA

# A VDI holding a few KiB of data must occupy a few KiB, whatever its virtual size.
SPARSE_LIMIT = 256 * 1024


def fill(sr: FileSRDriver, vdi: str, writes: dict[int, bytes]) -> str:
    path = sr.vdi_attach(vdi).pdev_path
    for offset, data in writes.items():
        write_at(path, offset, data)
    sr.vdi_detach(vdi)
    return path


def image(sr: FileSRDriver, vdi: str) -> str:
    return os.path.join(sr.path, sr.vdi_stat(vdi).location + ".img")


# -- SR lifecycle ------------------------------------------------------------------------------

def test_create_makes_directory_and_metadata(sr_path: str) -> None:
    uuid = new_uuid()
    sr = FileSRDriver(uuid, {"path": sr_path})
    sr.create()
    doc = json.loads(Path(sr_path, METADATA).read_text())
    assert doc["sr_uuid"] == uuid and doc["vdis"] == {}
    assert not sr.attached
    sr.attach()
    stat = sr.stat()
    assert stat.physical_size > 0 and stat.physical_utilisation == 0
    assert stat.virtual_allocation == 0 and 0 < stat.free_space <= stat.physical_size


def test_create_on_existing_sr_refused(file_sr: FileSRDriver, sr_path: str) -> None:
    other = FileSRDriver(new_uuid(), {"path": sr_path})
    with pytest.raises(SRExists) as e:
        other.create()
    assert e.value.code == "SR_BACKEND_FAILURE"
    assert e.value.params == ["SRInUse", f"{sr_path} already holds SR {file_sr.sr_uuid}", ""]
    assert json.loads(Path(sr_path, METADATA).read_text())["sr_uuid"] == file_sr.sr_uuid


def test_create_needs_parent_directory(tmp_path: Path) -> None:
    sr = FileSRDriver(new_uuid(), {"path": str(tmp_path / "no" / "such")})
    with pytest.raises(SRNotFound):
        sr.create()
    assert not (tmp_path / "no").exists()


def test_attach_checks_the_sr_is_there(tmp_path: Path, sr_path: str) -> None:
    with pytest.raises(SRNotFound):
        FileSRDriver(new_uuid(), {"path": str(tmp_path / "missing")}).attach()
    os.mkdir(sr_path)
    with pytest.raises(SRNotFound) as e:
        FileSRDriver(new_uuid(), {"path": sr_path}).attach()   # a directory, but no SR
    assert e.value.params[0] == "SRUnavailable"


def test_attach_refuses_another_srs_directory(file_sr: FileSRDriver, sr_path: str) -> None:
    with pytest.raises(SRNotFound) as e:
        FileSRDriver(new_uuid(), {"path": sr_path}).attach()
    assert file_sr.sr_uuid in e.value.message


@pytest.mark.parametrize("config, key", [
    ({}, "path"),
    ({"path": ""}, "path"),
    ({"location": "/srv/sr"}, "path"),
    ({"path": "relative/dir"}, "path"),
    ({"path": "/a\0b"}, "path"),
    ({"path": 7}, "path"),
])
def test_bad_device_config(config: dict, key: str) -> None:
    with pytest.raises(DeviceConfigInvalid) as e:
        FileSRDriver(new_uuid(), config)
    assert e.value.key == key
    assert e.value.code == "SR_BACKEND_FAILURE"
    assert e.value.params[0] == "DeviceConfigInvalid" and "path" in e.value.params[1]


def test_device_config_not_a_map() -> None:
    with pytest.raises(DeviceConfigInvalid):
        FileSRDriver(new_uuid(), [("path", "/x")])  # type: ignore[arg-type]


def test_extra_device_config_keys_kept(sr_path: str) -> None:
    sr = FileSRDriver(new_uuid(), {"path": sr_path, "SRmaster": "true"})
    assert sr.device_config == {"path": sr_path, "SRmaster": "true"}


def test_bad_sr_uuid(sr_path: str) -> None:
    with pytest.raises(InvalidArgument) as e:
        FileSRDriver("not-a-uuid", {"path": sr_path})
    assert e.value.code == "INVALID_VALUE" and e.value.params == ["sr_uuid", "not-a-uuid"]


def test_operations_need_attach(sr_path: str) -> None:
    sr = FileSRDriver(new_uuid(), {"path": sr_path})
    sr.create()
    for call in (lambda: sr.vdi_create(MiB), sr.stat, sr.scan):
        with pytest.raises(SRNotAttached) as e:
            call()
        assert e.value.params == [sr.sr_uuid]


def test_destroy_empty_sr_removes_what_it_made(file_sr: FileSRDriver, sr_path: str) -> None:
    file_sr.destroy()
    assert not os.path.exists(sr_path)
    assert not file_sr.attached


def test_destroy_keeps_a_directory_it_did_not_make(sr_path: str) -> None:
    os.mkdir(sr_path)
    Path(sr_path, "notes.txt").write_text("keep me")
    sr = FileSRDriver(new_uuid(), {"path": sr_path})
    sr.create()
    sr.attach()
    sr.destroy()
    assert os.listdir(sr_path) == ["notes.txt"]


def test_destroy_refuses_non_empty(file_sr: FileSRDriver, sr_path: str) -> None:
    vdi = file_sr.vdi_create(MiB)
    with pytest.raises(SRNotEmpty) as e:
        file_sr.destroy()
    assert e.value.code == "SR_NOT_EMPTY" and e.value.params == []
    assert os.path.exists(os.path.join(sr_path, METADATA))
    file_sr.vdi_delete(vdi.uuid)
    Path(sr_path, "stray.img").write_bytes(b"x")       # an image scan would find also counts
    with pytest.raises(SRNotEmpty):
        file_sr.destroy()


# -- VDI create / delete / resize --------------------------------------------------------------

def test_vdi_create_is_sparse(file_sr: FileSRDriver) -> None:
    vdi = file_sr.vdi_create(512 * MiB)
    path = image(file_sr, vdi.uuid)
    assert os.path.getsize(path) == 512 * MiB
    assert allocated(path) == 0 == vdi.physical_utilisation
    assert vdi.virtual_size == 512 * MiB and vdi.location == vdi.uuid
    assert not vdi.read_only and not vdi.is_a_snapshot
    assert file_sr.stat().virtual_allocation == 512 * MiB


def test_vdi_size_rounded_to_sectors(file_sr: FileSRDriver) -> None:
    assert file_sr.vdi_create(1000).virtual_size == 1024
    assert file_sr.vdi_create(0).virtual_size == 0


@pytest.mark.parametrize("size", [-1, "1024", 1.5, True, None, 1 << 63])
def test_vdi_create_bad_size(file_sr: FileSRDriver, size: object) -> None:
    with pytest.raises(InvalidSize) as e:
        file_sr.vdi_create(size)  # type: ignore[arg-type]
    assert e.value.code == "INVALID_VALUE" and e.value.params[0] == "virtual_size"
    assert file_sr.scan().vdis == []


def test_vdi_too_large_for_file_system(file_sr: FileSRDriver) -> None:
    # ext4 and tmpfs cap a file below 2^63 bytes: the driver reports the real maximum.
    with pytest.raises(VDITooLarge) as e:
        file_sr.vdi_create((1 << 63) - 512)
    assert e.value.code == "VDI_TOO_LARGE"
    maximum = e.value.maximum
    assert 0 < maximum < (1 << 63) - 512 and maximum % 512 == 0
    assert file_sr.scan().vdis == []
    assert sorted(os.listdir(file_sr.path)) == sorted([METADATA, ".xenapi-sr.lock"])
    assert file_sr.vdi_create(maximum).virtual_size == maximum


def test_vdi_delete(file_sr: FileSRDriver) -> None:
    vdi = file_sr.vdi_create(MiB)
    path = image(file_sr, vdi.uuid)
    file_sr.vdi_delete(vdi.uuid)
    assert not os.path.exists(path)
    with pytest.raises(VDINotFound) as e:
        file_sr.vdi_delete(vdi.uuid)
    assert e.value.code == "VDI_MISSING" and e.value.params == [file_sr.sr_uuid, vdi.uuid]


@pytest.mark.parametrize("bad", ["../../etc/passwd", "", "A" * 36,
                                 "9AA579CD-28CA-457B-85CC-8FFDE79F9046"])
def test_vdi_names_that_are_not_uuids_never_reach_the_disk(file_sr: FileSRDriver,
                                                            bad: str) -> None:
    for call in (file_sr.vdi_stat, file_sr.vdi_delete, file_sr.vdi_clone, file_sr.vdi_attach):
        with pytest.raises(VDINotFound):
            call(bad)


def test_resize_grows_keeping_data_and_sparseness(file_sr: FileSRDriver) -> None:
    vdi = file_sr.vdi_create(4 * MiB)
    path = fill(file_sr, vdi.uuid, {MiB: b"abc" * 100})
    grown = file_sr.vdi_resize(vdi.uuid, 1024 * MiB)
    assert grown.virtual_size == os.path.getsize(path) == 1024 * MiB
    assert read_at(path, MiB, 300) == b"abc" * 100
    assert allocated(path) < SPARSE_LIMIT
    assert file_sr.vdi_resize(vdi.uuid, 1024 * MiB).virtual_size == 1024 * MiB   # same size ok


def test_shrink_refused(file_sr: FileSRDriver) -> None:
    vdi = file_sr.vdi_create(8 * MiB)
    with pytest.raises(VDITooSmall) as e:
        file_sr.vdi_resize(vdi.uuid, 4 * MiB)
    assert e.value.code == "VDI_TOO_SMALL"
    assert e.value.params == [vdi.uuid, str(8 * MiB)]
    assert file_sr.vdi_stat(vdi.uuid).virtual_size == 8 * MiB


# -- clone / snapshot / copy -------------------------------------------------------------------

def test_clone_keeps_data_and_holes(file_sr: FileSRDriver) -> None:
    vdi = file_sr.vdi_create(256 * MiB)
    writes = {0: b"boot" * 128, 100 * MiB: b"middle", 256 * MiB - 4096: b"E" * 4096}
    fill(file_sr, vdi.uuid, writes)
    clone = file_sr.vdi_clone(vdi.uuid)
    path = image(file_sr, clone.uuid)
    assert clone.uuid != vdi.uuid and clone.virtual_size == 256 * MiB
    assert not clone.read_only and not clone.is_a_snapshot and clone.snapshot_of is None
    for offset, data in writes.items():
        assert read_at(path, offset, len(data)) == data
    assert read_at(path, 50 * MiB, 4096) == bytes(4096)
    assert allocated(path) < SPARSE_LIMIT
    assert clone.physical_utilisation == allocated(path)
    # the clone is independent of its source
    write_at(path, 0, b"CHANGED!")
    assert read_at(image(file_sr, vdi.uuid), 0, 8) == b"bootboot"


def test_snapshot_is_read_only_and_marked(file_sr: FileSRDriver) -> None:
    vdi = file_sr.vdi_create(16 * MiB)
    fill(file_sr, vdi.uuid, {5 * MiB: b"state"})
    snap = file_sr.vdi_snapshot(vdi.uuid)
    assert snap.read_only and snap.is_a_snapshot and snap.snapshot_of == vdi.uuid
    assert snap.snapshot_time is not None and snap.snapshot_time.tzinfo is not None
    assert read_at(image(file_sr, snap.uuid), 5 * MiB, 5) == b"state"
    with pytest.raises(VDIReadOnly) as e:
        file_sr.vdi_attach(snap.uuid, writable=True)
    assert e.value.code == "VDI_READONLY" and e.value.params == [snap.uuid]
    with pytest.raises(VDIReadOnly):
        file_sr.vdi_resize(snap.uuid, 32 * MiB)
    ro = file_sr.vdi_attach(snap.uuid, writable=False)
    assert not ro.readwrite and ro.format == "raw"
    file_sr.vdi_detach(snap.uuid)
    # a clone of a snapshot is writable again (that is how a VM is made from a snapshot)
    clone = file_sr.vdi_clone(snap.uuid)
    assert not clone.read_only and not clone.is_a_snapshot
    assert read_at(image(file_sr, clone.uuid), 5 * MiB, 5) == b"state"


def test_copy_to_another_sr(file_sr: FileSRDriver, tmp_path: Path) -> None:
    other = FileSRDriver(new_uuid(), {"path": str(tmp_path / "other")})
    other.create()
    other.attach()
    vdi = file_sr.vdi_create(64 * MiB + 1000)
    fill(file_sr, vdi.uuid, {3 * MiB: b"payload" * 50, 64 * MiB: b"tail"})
    copy = file_sr.vdi_copy(vdi.uuid, other)
    path = image(other, copy.uuid)
    assert path.startswith(other.path)
    assert copy.virtual_size == vdi.virtual_size == 64 * MiB + 1024
    assert read_at(path, 3 * MiB, 350) == b"payload" * 50
    assert read_at(path, 64 * MiB, 4) == b"tail"
    assert allocated(path) < SPARSE_LIMIT
    assert [v.uuid for v in other.scan().vdis] == [copy.uuid]
    # the source is released again: it can be deleted
    file_sr.vdi_delete(vdi.uuid)


def test_copy_within_one_sr(file_sr: FileSRDriver) -> None:
    vdi = file_sr.vdi_create(MiB)
    fill(file_sr, vdi.uuid, {0: b"same sr"})
    copy = file_sr.vdi_copy(vdi.uuid, file_sr)
    assert read_at(image(file_sr, copy.uuid), 0, 7) == b"same sr"
    assert len(file_sr.scan().vdis) == 2


# -- attach / detach ---------------------------------------------------------------------------

def test_attach_gives_the_raw_image_path(file_sr: FileSRDriver) -> None:
    vdi = file_sr.vdi_create(MiB)
    disk = file_sr.vdi_attach(vdi.uuid)
    assert disk.pdev_path == os.path.join(file_sr.path, vdi.uuid + ".img")
    assert disk.format == "raw" and disk.readwrite and not disk.is_cdrom
    assert os.path.isabs(disk.pdev_path) and os.path.getsize(disk.pdev_path) == MiB


def test_attached_vdi_is_in_use(file_sr: FileSRDriver) -> None:
    vdi = file_sr.vdi_create(MiB)
    file_sr.vdi_attach(vdi.uuid, writable=True)
    with pytest.raises(VDIInUse) as e:
        file_sr.vdi_delete(vdi.uuid)
    assert e.value.code == "VDI_IN_USE" and e.value.params == [vdi.uuid, "destroy"]
    with pytest.raises(VDIInUse):
        file_sr.vdi_resize(vdi.uuid, 2 * MiB)
    with pytest.raises(VDIInUse):
        file_sr.vdi_attach(vdi.uuid, writable=False)     # RW attachments are exclusive
    with pytest.raises(VDIInUse):
        file_sr.detach()
    assert file_sr.attached
    file_sr.vdi_detach(vdi.uuid)
    file_sr.vdi_detach(vdi.uuid)                          # detach is idempotent
    file_sr.vdi_delete(vdi.uuid)
    file_sr.detach()
    assert not file_sr.attached


def test_read_only_attachments_are_counted(file_sr: FileSRDriver) -> None:
    vdi = file_sr.vdi_create(MiB)
    file_sr.vdi_attach(vdi.uuid, writable=False)
    file_sr.vdi_attach(vdi.uuid, writable=False)
    with pytest.raises(VDIInUse):
        file_sr.vdi_attach(vdi.uuid, writable=True)
    file_sr.vdi_detach(vdi.uuid)
    with pytest.raises(VDIInUse):
        file_sr.vdi_delete(vdi.uuid)
    file_sr.vdi_detach(vdi.uuid)
    file_sr.vdi_delete(vdi.uuid)


# -- scan and persistence ----------------------------------------------------------------------

def test_scan_finds_new_images_and_missing_ones(file_sr: FileSRDriver) -> None:
    kept = file_sr.vdi_create(MiB)
    gone = file_sr.vdi_create(MiB)
    os.unlink(image(file_sr, gone.uuid))
    dropped = new_uuid()
    with open(os.path.join(file_sr.path, dropped + ".img"), "wb") as f:
        f.truncate(3 * MiB)
    Path(file_sr.path, "my disk.img").write_bytes(b"\x01" * 4096)
    Path(file_sr.path, "readme.txt").write_text("not an image")
    os.symlink("/etc/hostname", os.path.join(file_sr.path, "link.img"))

    result = file_sr.scan(known={kept.uuid, gone.uuid})
    assert result.missing == [gone.uuid]
    new = {v.location: v for v in result.new}
    assert set(new) == {dropped, "my disk"}
    assert new[dropped].uuid == dropped and new[dropped].virtual_size == 3 * MiB
    named = new["my disk"]
    assert named.uuid != "my disk" and named.name_label == "my disk"
    assert named.virtual_size == 4096 and not named.read_only
    assert {v.uuid for v in result.vdis} == {kept.uuid, dropped, named.uuid}
    # the found image is now an ordinary VDI: usable and no longer new
    assert file_sr.vdi_attach(named.uuid).pdev_path == os.path.join(file_sr.path, "my disk.img")
    file_sr.vdi_detach(named.uuid)
    again = file_sr.scan(known={kept.uuid, gone.uuid, dropped, named.uuid})
    assert again.new == [] and again.missing == [gone.uuid]
    # a missing VDI can be deleted (forgotten), after which nobody reports it
    with pytest.raises(VDINotFound):
        file_sr.vdi_stat(gone.uuid)
    file_sr.vdi_delete(gone.uuid)
    assert file_sr.scan().missing == []


def test_scan_reports_caller_known_uuids_that_are_absent(file_sr: FileSRDriver) -> None:
    stranger = new_uuid()
    assert file_sr.scan(known=[stranger]).missing == [stranger]


def test_metadata_survives_a_new_driver_instance(file_sr: FileSRDriver, sr_path: str) -> None:
    vdi = file_sr.vdi_create(2 * MiB)
    fill(file_sr, vdi.uuid, {0: b"persist"})
    snap = file_sr.vdi_snapshot(vdi.uuid)
    file_sr.vdi_attach(vdi.uuid, writable=False)
    file_sr.vdi_detach(vdi.uuid)
    file_sr.detach()

    again = FileSRDriver(file_sr.sr_uuid, {"path": sr_path})
    again.attach()
    info = again.vdi_stat(snap.uuid)
    assert info == snap
    assert again.scan(known={vdi.uuid, snap.uuid}).new == []
    with pytest.raises(VDIReadOnly):
        again.vdi_attach(snap.uuid)


def test_attachments_survive_a_new_driver_instance(file_sr: FileSRDriver, sr_path: str) -> None:
    vdi = file_sr.vdi_create(MiB)
    file_sr.vdi_attach(vdi.uuid)
    again = FileSRDriver(file_sr.sr_uuid, {"path": sr_path})
    again.attach()
    assert again.attachments() == {vdi.uuid: 1}
    with pytest.raises(VDIInUse):
        again.vdi_delete(vdi.uuid)
    again.vdi_detach(vdi.uuid)
    assert file_sr.attachments() == {}
    file_sr.vdi_delete(vdi.uuid)


def test_detach_all_attachments_for_resync(file_sr: FileSRDriver) -> None:
    vdi = file_sr.vdi_create(MiB)
    for _ in range(3):
        file_sr.vdi_attach(vdi.uuid, writable=False)
    assert file_sr.attachments() == {vdi.uuid: 3}
    file_sr.vdi_detach(vdi.uuid, all_attachments=True)
    assert file_sr.attachments() == {}
    file_sr.vdi_delete(vdi.uuid)


def test_metadata_file_is_replaced_atomically(file_sr: FileSRDriver) -> None:
    before = os.stat(os.path.join(file_sr.path, METADATA)).st_ino
    file_sr.vdi_create(MiB)
    after = os.stat(os.path.join(file_sr.path, METADATA)).st_ino
    assert before != after       # a new file renamed over the old one, not rewritten in place
    assert [n for n in os.listdir(file_sr.path) if n.startswith(".tmp-")] == []


def test_corrupt_metadata_is_a_backend_failure(file_sr: FileSRDriver) -> None:
    Path(file_sr.path, METADATA).write_text("{not json")
    with pytest.raises(BackendFailure) as e:
        file_sr.vdi_create(MiB)
    assert e.value.params[0] == "MetadataCorrupt"
    assert [n for n in os.listdir(file_sr.path) if n.endswith(".img")] == []


def test_probe(file_sr: FileSRDriver, sr_path: str, tmp_path: Path) -> None:
    [found] = FileSRDriver.probe({"path": sr_path})
    assert found.sr_uuid == file_sr.sr_uuid and found.complete
    [empty] = FileSRDriver.probe({"path": str(tmp_path)})
    assert empty.sr_uuid is None
    assert FileSRDriver.probe({"path": str(tmp_path / "nothing")}) == []


def test_scan_known_must_be_uuid_strings(file_sr: FileSRDriver) -> None:
    with pytest.raises(InvalidArgument) as e:
        file_sr.scan(known=[1, 2])  # type: ignore[list-item]
    assert e.value.code == "INVALID_VALUE" and e.value.params[0] == "known"


def test_unreadable_image_is_a_backend_failure_not_an_os_error(file_sr: FileSRDriver) -> None:
    vdi = file_sr.vdi_create(MiB)
    path = image(file_sr, vdi.uuid)
    os.unlink(path)
    os.mkdir(path)                     # something that cannot be opened for writing
    with pytest.raises(BackendFailure) as e:
        file_sr.vdi_resize(vdi.uuid, 2 * MiB)
    assert e.value.params[0] == "EISDIR"
