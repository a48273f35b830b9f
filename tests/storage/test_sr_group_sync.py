"""Group commit of the file SR's attachment records: attaches waiting at the same time share
one directory fsync, and none returns before an fsync that began after its own rename."""
from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sr_helpers import MiB, record_names
from xenapi_impl.storage import FileSRDriver
from xenapi_impl.storage.file_sr import ATTACH_DIR
from xenapi_impl.storage.metadata import GroupSync, fsync_dir


class Recorder:
    """A directory sync that logs when each fsync began and ended (the real fsync runs)."""

    def __init__(self, fail_first: bool = False) -> None:
        self.syncs: list[tuple[float, float]] = []
        self.fail_first = fail_first
        self.lock = threading.Lock()

    def __call__(self, directory: str) -> None:
        began = time.monotonic()
        time.sleep(0.01)                 # a slow disk: callers pile up meanwhile
        with self.lock:
            if self.fail_first:
                self.fail_first = False
                raise OSError(5, "Input/output error")
        fsync_dir(directory)
        with self.lock:
            self.syncs.append((began, time.monotonic()))


def covered(rec: Recorder, called: float, returned: float) -> bool:
    """A sync began after the call and ended before the return."""
    return any(called <= b and e <= returned for b, e in rec.syncs)


def test_concurrent_callers_share_fsyncs_and_each_waits_for_one_begun_after_it(
        tmp_path: Path) -> None:
    rec = Recorder()
    group = GroupSync(str(tmp_path), rec)
    times: list[tuple[float, float]] = []

    def caller(_: int) -> None:
        called = time.monotonic()
        group.sync()
        times.append((called, time.monotonic()))

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(caller, range(64)))
    assert len(times) == 64
    assert all(covered(rec, c, r) for c, r in times)
    assert len(rec.syncs) < 64


def test_a_failed_fsync_is_raised_to_its_caller_and_the_others_get_a_good_one(
        tmp_path: Path) -> None:
    rec = Recorder(fail_first=True)
    group = GroupSync(str(tmp_path), rec)
    outcomes: list[tuple[float, float, BaseException | None]] = []

    def caller(_: int) -> None:
        called = time.monotonic()
        try:
            group.sync()
            outcomes.append((called, time.monotonic(), None))
        except OSError as e:
            outcomes.append((called, time.monotonic(), e))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(caller, range(16)))
    failed = [o for o in outcomes if o[2] is not None]
    assert len(failed) == 1
    assert all(covered(rec, c, r) for c, r, e in outcomes if e is None)


def test_concurrent_attaches_on_the_file_sr_share_directory_fsyncs(
        file_sr: FileSRDriver) -> None:
    vdis = [file_sr.vdi_create(MiB).uuid for _ in range(24)]
    rec = Recorder()
    file_sr._attach_sync = GroupSync(os.path.join(file_sr.path, ATTACH_DIR), rec)
    times: dict[str, tuple[float, float]] = {}

    def attach(vdi: str) -> None:
        called = time.monotonic()
        file_sr.vdi_attach(vdi)
        times[vdi] = (called, time.monotonic())

    with ThreadPoolExecutor(24) as pool:
        list(pool.map(attach, vdis))
    assert file_sr.attachments() == {v: 1 for v in vdis}
    assert record_names(Path(file_sr.path, ATTACH_DIR)) == sorted(vdis)
    assert all(covered(rec, *times[v]) for v in vdis)
    assert len(rec.syncs) < len(vdis)
