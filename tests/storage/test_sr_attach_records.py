"""The file SR keeps each attachment in its own small record (.attach/<vdi>), not in the SR-wide
metadata: attaching costs the same with 1 or 1,000 VDIs, and stays exclusive and crash-safe."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sr_helpers import MiB, record_names
from xenapi_impl.storage import BackendFailure, FileSRDriver, SRNotFound, VDIInUse, VDINotFound
from xenapi_impl.storage.file_sr import ATTACH_DIR, METADATA


def record(sr: FileSRDriver, vdi: str) -> dict | None:
    path = Path(sr.path, ATTACH_DIR, vdi)
    return json.loads(path.read_text()) if path.exists() else None


def test_attach_writes_one_record_and_leaves_the_metadata_alone(file_sr: FileSRDriver) -> None:
    vdi = file_sr.vdi_create(MiB)
    meta = Path(file_sr.path, METADATA)
    before = (meta.stat().st_ino, meta.read_bytes())
    file_sr.vdi_attach(vdi.uuid)
    assert (meta.stat().st_ino, meta.read_bytes()) == before
    assert record(file_sr, vdi.uuid) == {"rw": True, "count": 1, "hosts": {"": 1}}
    assert record_names(Path(file_sr.path, ATTACH_DIR)) == [vdi.uuid]   # nothing staged is left
    file_sr.vdi_detach(vdi.uuid)
    assert record(file_sr, vdi.uuid) is None
    assert (meta.stat().st_ino, meta.read_bytes()) == before


def test_read_only_attachments_count_in_the_record(file_sr: FileSRDriver) -> None:
    vdi = file_sr.vdi_create(MiB)
    file_sr.vdi_attach(vdi.uuid, writable=False)
    file_sr.vdi_attach(vdi.uuid, writable=False)
    assert record(file_sr, vdi.uuid) == {"rw": False, "count": 2, "hosts": {"": 2}}
    with pytest.raises(VDIInUse):
        file_sr.vdi_attach(vdi.uuid, writable=True)
    assert record(file_sr, vdi.uuid) == {"rw": False, "count": 2, "hosts": {"": 2}}     # a refusal changes nothing
    file_sr.vdi_detach(vdi.uuid)
    assert record(file_sr, vdi.uuid) == {"rw": False, "count": 1, "hosts": {"": 1}}
    assert record_names(Path(file_sr.path, ATTACH_DIR)) == [vdi.uuid]


def test_attachment_left_in_the_metadata_by_an_older_version(file_sr: FileSRDriver) -> None:
    vdi = file_sr.vdi_create(MiB)
    meta = Path(file_sr.path, METADATA)
    doc = json.loads(meta.read_text())
    doc["attached"][vdi.uuid] = {"rw": False, "count": 1}
    meta.write_text(json.dumps(doc))
    assert file_sr.attachments() == {vdi.uuid: 1}
    with pytest.raises(VDIInUse):
        file_sr.vdi_delete(vdi.uuid)
    with pytest.raises(VDIInUse):
        file_sr.detach()
    file_sr.vdi_attach(vdi.uuid, writable=False)          # moves into its own record
    assert record(file_sr, vdi.uuid) == {"rw": False, "count": 2, "hosts": {"": 2}}
    assert json.loads(meta.read_text())["attached"] == {}
    file_sr.vdi_detach(vdi.uuid, all_attachments=True)
    assert file_sr.attachments() == {}
    file_sr.vdi_delete(vdi.uuid)


def test_corrupt_record_is_a_backend_failure(file_sr: FileSRDriver) -> None:
    vdi = file_sr.vdi_create(MiB)
    file_sr.vdi_attach(vdi.uuid)
    Path(file_sr.path, ATTACH_DIR, vdi.uuid).write_text('{"rw": true, "count": 0}')
    with pytest.raises(BackendFailure) as e:
        file_sr.attachments()
    assert e.value.params[0] == "MetadataCorrupt"
    with pytest.raises(BackendFailure):
        file_sr.vdi_delete(vdi.uuid)
    assert Path(file_sr.path, vdi.location + ".img").exists()


def test_half_staged_record_is_ignored_and_destroy_cleans_up(file_sr: FileSRDriver) -> None:
    vdi = file_sr.vdi_create(MiB)
    file_sr.vdi_attach(vdi.uuid)
    file_sr.vdi_detach(vdi.uuid)
    # what a crash between staging and renaming leaves behind
    Path(file_sr.path, ATTACH_DIR, ".tmp-crashed.json").write_text('{"rw": true, "count": 1}')
    assert file_sr.attachments() == {}
    file_sr.vdi_delete(vdi.uuid)
    file_sr.destroy()
    assert not os.path.exists(file_sr.path)


def test_destroy_refuses_while_a_record_exists(file_sr: FileSRDriver) -> None:
    vdi = file_sr.vdi_create(MiB)
    file_sr.vdi_attach(vdi.uuid)
    with pytest.raises(VDIInUse) as e:
        file_sr.destroy()
    assert e.value.params[0] == vdi.uuid
    assert record(file_sr, vdi.uuid) == {"rw": True, "count": 1, "hosts": {"": 1}}


def test_a_changed_metadata_file_is_read_again(file_sr: FileSRDriver, sr_path: str) -> None:
    # the parsed metadata is reused only while the file is byte for byte the same
    other = FileSRDriver(file_sr.sr_uuid, {"path": sr_path})
    other.attach()
    vdi = file_sr.vdi_create(MiB)
    other.vdi_attach(vdi.uuid, writable=False)             # other parses (and keeps) the file
    snap = file_sr.vdi_snapshot(vdi.uuid)                  # changed by someone else
    assert other.vdi_stat(snap.uuid) == snap
    other.vdi_attach(snap.uuid, writable=False)
    other.vdi_detach(vdi.uuid)
    file_sr.vdi_delete(vdi.uuid)                           # now gone for `other` too
    with pytest.raises(VDINotFound):
        other.vdi_attach(vdi.uuid, writable=False)


def test_attach_when_the_sr_directory_is_gone(file_sr: FileSRDriver, sr_path: str) -> None:
    vdi = file_sr.vdi_create(MiB)
    shutil.rmtree(sr_path)
    with pytest.raises(SRNotFound):
        file_sr.vdi_attach(vdi.uuid)
    assert not os.path.exists(sr_path)


ATTACHER = """
import sys
from xenapi_impl.storage import FileSRDriver, VDIInUse
sr = FileSRDriver(sys.argv[1], {"path": sys.argv[2]})
sr.attach()
won = 0
for vdi in sys.argv[3:]:
    try:
        sr.vdi_attach(vdi, writable=True)
        won += 1
    except VDIInUse:
        pass
print(won)
"""


def test_processes_racing_for_the_same_vdis(file_sr: FileSRDriver, sr_path: str) -> None:
    # read-write attachment is exclusive across processes: each VDI is won exactly once
    vdis = [file_sr.vdi_create(4096).uuid for _ in range(20)]
    procs = [subprocess.Popen([sys.executable, "-c", ATTACHER, file_sr.sr_uuid, sr_path, *vdis],
                              stdout=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    assert sum(int(o) for o in outs) == 20
    assert file_sr.attachments() == {v: 1 for v in vdis}
    for v in vdis:
        file_sr.vdi_detach(v)
    assert file_sr.attachments() == {}
    assert record_names(Path(sr_path, ATTACH_DIR)) == []
