"""A full disk, for real: the server's database on a small tmpfs that a filler file fills up.

While the disk is full, writes fail with SQLite's own words and change nothing (reads still
answer the last acknowledged state), the monitor logs one line instead of a traceback a round;
once the filler is removed, writes resume without a restart, and after a restart the database
holds every acknowledged write and none of the refused ones.
"""
from __future__ import annotations

import errno
import os
import subprocess
import time

import pytest
import XenAPI
from sdk import details
from serverproc import ServerProcess
from vm_records import vm_create_record

FULL = ["INTERNAL_ERROR", "database write failed: database or disk is full (SQLITE_FULL)"]


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MiB tmpfs (the test runs as root: a failed mount fails the test, no skip)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", str(mnt)],
                   check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def fill(path: str) -> None:
    """Write `path` until the filesystem refuses (ENOSPC)."""
    chunk = b"\0" * (64 << 10)
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                f.write(chunk)
            except OSError as e:
                assert e.errno == errno.ENOSPC
                break
    # what is left is less than a page: smaller writes may still fit it
    with open(path, "ab", buffering=0) as f:
        for size in (4096, 512, 1):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError as e:
                assert e.errno == errno.ENOSPC


def wait_for(pred, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.1)


def login(srv: ServerProcess) -> XenAPI.Session:
    s = XenAPI.Session(srv.url)
    s.xenapi.login_with_password("root", srv.password, "1.0", "pytest-disk-full")
    return s


def test_writes_resume_once_the_disk_has_room_and_nothing_is_lost(tmp_path, small_disk):
    db = str(small_disk / "xapi.db")
    filler = str(small_disk / "filler")
    srv = ServerProcess(str(tmp_path), db=db, extra=["--monitor-interval", "0.2"]).start()
    try:
        x = login(srv).xenapi
        vm = x.VM.create(vm_create_record("kept"))
        x.VM.set_name_description(vm, "acknowledged before")
        x.VM.start(vm, False, False)          # a running VM: the monitor writes its metrics
        networks = set(x.network.get_all())

        fill(filler)
        # refused with SQLite's reason, every time, and nothing changes
        assert details(x.VM.set_name_description, vm, "refused 1") == FULL
        assert details(x.network.create, {"name_label": "refused", "name_description": "",
                                          "MTU": "1500", "other_config": {}}) == FULL
        assert details(x.VM.set_name_description, vm, "refused 2") == FULL
        assert x.VM.get_name_description(vm) == "acknowledged before"
        assert set(x.network.get_all()) == networks
        # the monitor's rounds fail too: one line, not a traceback per round
        wait_for(lambda: "monitor round failed: database write failed" in srv.log(),
                 "the monitor reports the full disk")
        time.sleep(2)       # ~10 more rounds at 0.2 s: still the one line (not a timing check)
        failed_rounds = srv.log().count("monitor round failed")

        os.unlink(filler)
        x.VM.set_name_description(vm, "acknowledged after")      # no restart needed
        net = x.network.create({"name_label": "after", "name_description": "", "MTU": "1500",
                                "other_config": {}})
        assert x.VM.get_name_description(vm) == "acknowledged after"
        wait_for(lambda: "monitor round succeeds again" in srv.log(),
                 "the monitor writes again")
        log = srv.log()
        assert "Traceback" not in log
        assert failed_rounds == log.count("monitor round failed") == 1
        assert log.count("database write failed, will retry with the next write") == 1
        assert "database writes succeed again" in log
        x.VM.hard_shutdown(vm)
    finally:
        srv.stop()

    # after a restart: every acknowledged write, none of the refused ones
    srv = ServerProcess(str(tmp_path), db=db).start()
    try:
        x = login(srv).xenapi
        assert x.VM.get_name_description(vm) == "acknowledged after"
        assert set(x.network.get_all()) == networks | {net}
        assert x.network.get_name_label(net) == "after"
        assert x.network.get_by_name_label("refused") == []
    finally:
        srv.stop()
