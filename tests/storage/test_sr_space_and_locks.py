"""Full disks (a real 1 MiB tmpfs) and concurrent users (threads and processes)."""
from __future__ import annotations

import dataclasses
import errno
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from sr_helpers import MiB, new_uuid, write_at
from xenapi_impl.storage import FileSRDriver, NoSpace, SRBusy, SRNotFound
from xenapi_impl.storage import file_sr as file_sr_module
from xenapi_impl.storage.file_sr import METADATA
from xenapi_impl.storage.locking import SRLock


def sr_on(path: Path) -> FileSRDriver:
    sr = FileSRDriver(new_uuid(), {"path": str(path / "sr")})
    sr.create()
    sr.attach()
    return sr


def leftovers(sr: FileSRDriver) -> list[str]:
    return sorted(n for n in os.listdir(sr.path) if n.endswith(".part") or n.startswith(".tmp-"))


def metadata(sr: FileSRDriver) -> dict:
    return json.loads(Path(sr.path, METADATA).read_text())


# -- full disk ---------------------------------------------------------------------------------

def test_thin_vdi_bigger_than_the_disk(tiny_tmpfs: Path) -> None:
    sr = sr_on(tiny_tmpfs)
    vdi = sr.vdi_create(64 * MiB)         # thin provisioning: nothing is allocated yet
    assert vdi.virtual_size == 64 * MiB and vdi.physical_utilisation == 0
    assert sr.stat().physical_size == MiB
    assert sr.vdi_resize(vdi.uuid, 128 * MiB).virtual_size == 128 * MiB


def test_clone_without_room_is_refused_up_front(tiny_tmpfs: Path) -> None:
    sr = sr_on(tiny_tmpfs)
    vdi = sr.vdi_create(4 * MiB)
    write_at(sr.vdi_attach(vdi.uuid).pdev_path, MiB, os.urandom(600 * 1024))
    sr.vdi_detach(vdi.uuid)
    before = metadata(sr)
    with pytest.raises(NoSpace) as e:
        sr.vdi_clone(vdi.uuid)
    assert e.value.code == "SR_FULL"
    assert int(e.value.params[0]) >= 600 * 1024 > int(e.value.params[1])
    assert metadata(sr) == before and leftovers(sr) == []


def test_disk_filling_up_during_a_clone(tiny_tmpfs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sr = sr_on(tiny_tmpfs)
    vdi = sr.vdi_create(4 * MiB)
    write_at(sr.vdi_attach(vdi.uuid).pdev_path, 0, os.urandom(600 * 1024))
    sr.vdi_detach(vdi.uuid)
    before = metadata(sr)
    # Fault injection: the up-front check is told there is room, so the copy itself must hit
    # the real ENOSPC of the tmpfs and clean up after itself.
    monkeypatch.setattr(file_sr_module, "free_space", lambda path: 1 << 40)
    with pytest.raises(NoSpace) as e:
        sr.vdi_snapshot(vdi.uuid)
    assert e.value.code == "SR_FULL"
    assert metadata(sr) == before and leftovers(sr) == []
    monkeypatch.undo()
    # the space is given back: a small VDI can still be cloned
    small = sr.vdi_create(MiB)
    write_at(sr.vdi_attach(small.uuid).pdev_path, 0, b"fits")
    sr.vdi_detach(small.uuid)
    assert sr.vdi_clone(small.uuid).physical_utilisation > 0


def test_copy_to_a_full_sr(tiny_tmpfs: Path, file_sr: FileSRDriver,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    small = sr_on(tiny_tmpfs)
    vdi = file_sr.vdi_create(8 * MiB)
    write_at(file_sr.vdi_attach(vdi.uuid).pdev_path, 0, os.urandom(2 * MiB))
    file_sr.vdi_detach(vdi.uuid)
    with pytest.raises(NoSpace) as e:
        file_sr.vdi_copy(vdi.uuid, small)
    assert int(e.value.params[0]) >= 2 * MiB
    assert small.scan().vdis == []
    # when the destination's free space was overstated, the real ENOSPC ends the copy and the
    # half-written VDI is deleted again
    real = small.stat()
    monkeypatch.setattr(small, "stat", lambda: dataclasses.replace(real, free_space=1 << 40))
    with pytest.raises(NoSpace):
        file_sr.vdi_copy(vdi.uuid, small)
    assert small.scan().vdis == [] and metadata(small)["attached"] == {}
    assert [n for n in os.listdir(small.path) if n.endswith(".img")] == []
    file_sr.vdi_delete(vdi.uuid)       # the source was detached again


def test_metadata_write_on_a_full_disk_keeps_the_old_metadata(tiny_tmpfs: Path) -> None:
    sr = sr_on(tiny_tmpfs)
    kept = sr.vdi_create(MiB)
    before = metadata(sr)
    fd = os.open(tiny_tmpfs / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\xff" * 4096):
            pass
    except OSError as e:
        assert e.errno == errno.ENOSPC
    finally:
        os.close(fd)
    with pytest.raises(NoSpace):
        sr.vdi_create(MiB)
    assert metadata(sr) == before and leftovers(sr) == []
    assert sorted(n for n in os.listdir(sr.path) if n.endswith(".img")) == [kept.uuid + ".img"]
    os.unlink(tiny_tmpfs / "filler")
    assert sr.vdi_create(MiB).virtual_size == MiB


# -- locking -----------------------------------------------------------------------------------

HOLDER = """
import sys
from xenapi_impl.storage.locking import SRLock
with SRLock(sys.argv[1], "holder"):
    print("held", flush=True)
    sys.stdin.readline()
"""


def test_lock_held_by_another_process(file_sr: FileSRDriver, sr_path: str) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, file_sr._lock_path],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        impatient = FileSRDriver(file_sr.sr_uuid, {"path": sr_path}, lock_timeout=0.2)
        impatient.attach()
        with pytest.raises(SRBusy) as e:
            impatient.vdi_create(MiB)
        assert e.value.code == "SR_VDI_LOCKING_FAILED" and e.value.params == []
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)
    assert holder.returncode == 0
    assert impatient.vdi_create(MiB).virtual_size == MiB


CREATOR = """
import sys
from xenapi_impl.storage import FileSRDriver
sr = FileSRDriver(sys.argv[1], {"path": sys.argv[2]})
sr.attach()
for _ in range(int(sys.argv[3])):
    sr.vdi_create(4096)
"""


def test_concurrent_processes_lose_no_update(file_sr: FileSRDriver, sr_path: str) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", CREATOR, file_sr.sr_uuid, sr_path, "15"])
             for _ in range(3)]
    for _ in range(15):
        file_sr.vdi_create(4096)
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    vdis = metadata(file_sr)["vdis"]
    assert len(vdis) == 60
    images = [n for n in os.listdir(sr_path) if n.endswith(".img")]
    assert sorted(images) == sorted(v + ".img" for v in vdis)


def test_concurrent_threads_lose_no_update(file_sr: FileSRDriver, sr_path: str) -> None:
    other = FileSRDriver(file_sr.sr_uuid, {"path": sr_path})     # a second instance, same SR
    other.attach()
    errors: list[BaseException] = []

    def work(sr: FileSRDriver) -> None:
        try:
            for _ in range(10):
                vdi = sr.vdi_create(4096)
                sr.vdi_attach(vdi.uuid)
                sr.vdi_detach(vdi.uuid)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(sr,)) for sr in (file_sr, other) * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    doc = metadata(file_sr)
    assert len(doc["vdis"]) == 40 and doc["attached"] == {}


def test_lock_is_reentrant_within_a_thread_and_exclusive_across(file_sr: FileSRDriver) -> None:
    with SRLock(file_sr._lock_path, file_sr.sr_uuid):
        vdi = file_sr.vdi_create(MiB)           # takes the same lock again: no deadlock
        outcome: list[object] = []

        def elsewhere() -> None:
            sr = FileSRDriver(file_sr.sr_uuid, {"path": file_sr.path}, lock_timeout=0.1)
            sr.attach()
            try:
                sr.vdi_delete(vdi.uuid)
                outcome.append("deleted")
            except SRBusy as e:
                outcome.append(e)

        t = threading.Thread(target=elsewhere)
        t.start()
        t.join()
        assert len(outcome) == 1 and isinstance(outcome[0], SRBusy)
    file_sr.vdi_delete(vdi.uuid)


def test_sr_directory_removed_underneath(file_sr: FileSRDriver) -> None:
    import shutil
    shutil.rmtree(file_sr.path)
    with pytest.raises(SRNotFound) as e:
        file_sr.vdi_create(MiB)
    assert e.value.code == "SR_BACKEND_FAILURE" and e.value.params[0] == "SRUnavailable"
    with pytest.raises(SRNotFound):
        file_sr.stat()


def test_lock_follows_a_replaced_lock_file(file_sr: FileSRDriver,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # Race: a waiter opened the lock file just before destroy unlinked it and someone made a
    # new one. A lock on the unlinked file excludes nobody, so the waiter must notice and lock
    # the file that is there now, which the holder of the new file then keeps it from taking.
    stale = os.open(file_sr._lock_path, os.O_RDWR)
    os.unlink(file_sr._lock_path)
    real_open = SRLock._open
    opened: list[int] = []

    def open_stale_first(self: SRLock) -> int:
        fd = os.dup(stale) if not opened else real_open(self)
        opened.append(fd)
        return fd

    monkeypatch.setattr(SRLock, "_open", open_stale_first)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, file_sr._lock_path],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(SRBusy):
            with SRLock(file_sr._lock_path, file_sr.sr_uuid, timeout=0.2):
                pass
        assert len(opened) == 2        # the stale file, then the current one
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)
        os.close(stale)
