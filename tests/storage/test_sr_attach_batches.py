"""The file SR's attaches in batches (one lock hold for every attach queued meanwhile) and its
metadata read again only when the file is another one or changed: what another process does
is still seen, every caller hears its own outcome, and nothing is acknowledged before it is
durable."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sr_helpers import MiB, new_uuid, record_names
from xenapi_impl.storage import FileSRDriver, SRBusy, VDIInUse, VDINotFound, VDIReadOnly
from xenapi_impl.storage import file_sr as file_sr_module
from xenapi_impl.storage.file_sr import ATTACH_DIR, METADATA
from xenapi_impl.storage.locking import SRLock

OTHER = """
import sys
from xenapi_impl.storage import FileSRDriver
sr = FileSRDriver(sys.argv[1], {"path": sys.argv[2]})
sr.attach()
if sys.argv[3] == "create":
    print(sr.vdi_create(4096).uuid)
else:
    sr.vdi_delete(sys.argv[4])
"""


def other_process(sr: FileSRDriver, *args: str) -> str:
    return subprocess.run([sys.executable, "-c", OTHER, sr.sr_uuid, sr.path, *args],
                          check=True, capture_output=True, text=True).stdout.strip()


def test_another_process_changing_the_metadata_between_two_attaches(
        file_sr: FileSRDriver) -> None:
    first = file_sr.vdi_create(MiB).uuid
    file_sr.vdi_attach(first)                           # the metadata is read and kept
    made = other_process(file_sr, "create")             # another process adds a VDI...
    assert file_sr.vdi_attach(made).readwrite           # ...which the next attach sees
    doomed = file_sr.vdi_create(MiB).uuid
    file_sr.vdi_stat(doomed)                            # read and kept again
    other_process(file_sr, "delete", doomed)
    with pytest.raises(VDINotFound):
        file_sr.vdi_attach(doomed)
    assert not Path(file_sr.path, ATTACH_DIR, doomed).exists()


def same_size_doc(path: Path, change: dict) -> bytes:
    """The metadata at ``path`` with ``change`` applied to every VDI, padded (name_label) to
    exactly the old length."""
    old = path.read_bytes()
    doc = json.loads(old)
    for entry in doc["vdis"].values():
        entry.update(change)
        entry["name_label"] = ""
    new = json.dumps(doc, separators=(",", ":")).encode()
    vdi = next(iter(doc["vdis"]))
    doc["vdis"][vdi]["name_label"] = "x" * (len(old) - len(new))
    new = json.dumps(doc, separators=(",", ":")).encode()
    assert len(new) == len(old) and new != old
    return new


def read_once(file_sr: FileSRDriver) -> tuple[str, Path, os.stat_result]:
    """A VDI attached and detached once (its SR's metadata read and kept), the metadata file,
    and its stat as read."""
    vdi = file_sr.vdi_create(MiB, name_label="some label").uuid
    meta = Path(file_sr.path, METADATA)
    file_sr.vdi_attach(vdi, writable=False)
    file_sr.vdi_detach(vdi)
    return vdi, meta, meta.stat()


def test_a_file_replaced_with_the_same_size_and_mtime_is_read_again(
        file_sr: FileSRDriver) -> None:
    vdi, meta, st = read_once(file_sr)
    tmp = meta.with_name("replacement")
    tmp.write_bytes(same_size_doc(meta, {"read_only": True}))
    os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.rename(tmp, meta)                                # another inode, same size and mtime
    with pytest.raises(VDIReadOnly):
        file_sr.vdi_attach(vdi, writable=True)


def test_a_file_changed_in_place_with_the_same_size_and_mtime_is_read_again(
        file_sr: FileSRDriver) -> None:
    vdi, meta, st = read_once(file_sr)
    new = same_size_doc(meta, {"read_only": True})
    time.sleep(0.05)                                    # the ctime moves on
    with open(meta, "r+b") as f:                        # not our writers' way: in place
        f.write(new)
    os.utime(meta, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert meta.stat().st_ino == st.st_ino and meta.stat().st_size == st.st_size
    with pytest.raises(VDIReadOnly):
        file_sr.vdi_attach(vdi, writable=True)


def open_under(path: str) -> list[str]:
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except FileNotFoundError:
            continue
        if target.startswith(path + "/"):
            out.append(target)
    return out


def test_a_detached_sr_keeps_nothing_open(file_sr: FileSRDriver) -> None:
    vdi = file_sr.vdi_create(MiB).uuid
    file_sr.vdi_attach(vdi)
    assert open_under(file_sr.path) != []               # the metadata last read, kept open
    file_sr.vdi_detach(vdi)
    file_sr.detach()
    assert open_under(file_sr.path) == []               # its file system may be unmounted


def queued_behind_the_lock(sr: FileSRDriver, work: list) -> dict:
    """Run ``work`` ((vdi, writable) each) in threads while this thread holds the SR's lock;
    release it once all but the batch's leader have queued: one batch. Outcome per vdi."""
    outcomes: dict = {}

    def attach(vdi: str, writable: bool) -> None:
        try:
            outcomes[vdi] = sr.vdi_attach(vdi, writable)
        except Exception as exc:     # noqa: BLE001 - the outcome checked
            outcomes[vdi] = exc

    with SRLock(sr._lock_path, sr.sr_uuid):
        threads = [threading.Thread(target=attach, args=w) for w in work]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(sr._attacher._queue) < len(work) - 1:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    for t in threads:
        t.join(30)
    return outcomes


def test_one_lock_hold_for_a_batch_and_each_caller_gets_its_own_outcome(
        file_sr: FileSRDriver, monkeypatch: pytest.MonkeyPatch) -> None:
    good = [file_sr.vdi_create(MiB).uuid for _ in range(6)]
    ro = file_sr.vdi_create(MiB, read_only=True).uuid
    gone = new_uuid()                                   # no such VDI
    file_sr.vdi_stat(good[0])
    holds = []
    flock = SRLock._flock
    monkeypatch.setattr(SRLock, "_flock", lambda self, start: holds.append(1) or
                        flock(self, start))
    outcomes = queued_behind_the_lock(
        file_sr, [(v, True) for v in good] + [(ro, True), (gone, True)])
    assert len(holds) == 2              # the test's own, then the whole batch in one
    assert all(outcomes[v].readwrite for v in good)
    assert isinstance(outcomes[ro], VDIReadOnly)
    assert isinstance(outcomes[gone], VDINotFound)
    assert file_sr.attachments() == {v: 1 for v in good}
    assert record_names(Path(file_sr.path, ATTACH_DIR)) == sorted(good)  # none left staged


HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.readline()
"""


def test_a_lock_timeout_fails_the_attaches_queued_behind_it_and_leaves_nothing(
        file_sr: FileSRDriver, sr_path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    vdis = [file_sr.vdi_create(MiB).uuid for _ in range(5)]
    impatient = FileSRDriver(file_sr.sr_uuid, {"path": sr_path}, lock_timeout=2)
    impatient.attach()
    impatient.vdi_stat(vdis[0])
    waits = []
    flock = SRLock._flock
    monkeypatch.setattr(SRLock, "_flock", lambda self, start: waits.append(1) or
                        flock(self, start))
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, file_sr._lock_path],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        outcomes: dict = {}

        def attach(vdi: str) -> None:
            try:
                outcomes[vdi] = impatient.vdi_attach(vdi)
            except SRBusy as exc:
                outcomes[vdi] = exc
        threads = [threading.Thread(target=attach, args=(v,)) for v in vdis]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)
    assert all(isinstance(outcomes[v], SRBusy) for v in vdis)
    # the attaches queued behind the one that waited failed with it: one wait of lock_timeout
    # for all, not one more per attach ahead in the queue
    assert len(waits) == 1
    records = Path(sr_path, ATTACH_DIR)
    assert not records.exists() or os.listdir(records) == []   # nothing published or staged
    assert [impatient.vdi_attach(v).readwrite for v in vdis] == [True] * 5


class Recorder:
    """The order of the fsyncs, links and renames the SR makes (the real calls all run)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.events: list[tuple] = []
        self.lock = threading.Lock()
        fsync, link = os.fsync, os.link

        def on_fsync(fd: int) -> None:
            st = os.fstat(fd)
            fsync(fd)
            self.add("fsync", (st.st_dev, st.st_ino), os.path.isdir(f"/proc/self/fd/{fd}"))

        def on_link(src: str, dst: str) -> None:
            link(src, dst)
            st = os.stat(dst)
            self.add("link", (st.st_dev, st.st_ino), os.path.basename(dst))
        monkeypatch.setattr(os, "fsync", on_fsync)
        monkeypatch.setattr(os, "link", on_link)

    def add(self, *event: object) -> None:
        with self.lock:
            self.events.append(event)


def test_a_batch_shares_one_record_file_and_each_attach_is_durable_before_it_returns(
        file_sr: FileSRDriver, monkeypatch: pytest.MonkeyPatch) -> None:
    vdis = [file_sr.vdi_create(MiB).uuid for _ in range(6)]
    file_sr.vdi_stat(vdis[0])
    rec = Recorder(monkeypatch)
    returned: dict[str, int] = {}
    attach = file_sr.vdi_attach

    def attach_and_mark(vdi: str, writable: bool = True) -> object:
        out = attach(vdi, writable)
        rec.add("return", vdi)
        return out
    monkeypatch.setattr(file_sr, "vdi_attach", attach_and_mark)
    outcomes = queued_behind_the_lock(file_sr, [(v, True) for v in vdis])
    assert all(outcomes[v].readwrite for v in vdis)
    events = rec.events
    attach_dir = os.stat(Path(file_sr.path, ATTACH_DIR))
    dir_id = (attach_dir.st_dev, attach_dir.st_ino)
    for vdi in vdis:
        returned[vdi] = events.index(("return", vdi))
        at, inode = next((i, e[1]) for i, e in enumerate(events)
                         if e[0] == "link" and e[2] == vdi)
        # the record's bytes were durable before its name existed; its inode (link count)
        # and the directory were fsync'ed after the name was made, before the attach returned
        assert ("fsync", inode, False) in events[:at]
        assert ("fsync", inode, False) in events[at:returned[vdi]]
        assert ("fsync", dir_id, True) in events[at:returned[vdi]]
    file_syncs = [e for e in events if e[0] == "fsync" and not e[2]]
    assert len(file_syncs) == 2                         # one shared record, not six
    for vdi in vdis:
        path = Path(file_sr.path, ATTACH_DIR, vdi)
        assert json.loads(path.read_text()) == {"rw": True, "count": 1, "hosts": {"": 1}}
        assert path.stat().st_nlink == 7                # the six records and the shared name
    assert record_names(Path(file_sr.path, ATTACH_DIR)) == sorted(vdis)


def test_records_sharing_a_file_change_one_by_one(file_sr: FileSRDriver) -> None:
    vdis = [file_sr.vdi_create(MiB).uuid for _ in range(3)]
    file_sr.vdi_stat(vdis[0])
    outcomes = queued_behind_the_lock(file_sr, [(v, False) for v in vdis])
    assert not any(outcomes[v].readwrite for v in vdis)
    assert Path(file_sr.path, ATTACH_DIR, vdis[0]).stat().st_nlink == 4    # and the shared name
    file_sr.vdi_attach(vdis[0], writable=False)         # its record replaced, not rewritten
    file_sr.vdi_detach(vdis[1])
    assert file_sr.attachments() == {vdis[0]: 2, vdis[2]: 1}
    assert json.loads(Path(file_sr.path, ATTACH_DIR, vdis[2]).read_text()) == {
        "rw": False, "count": 1, "hosts": {"": 1}}
    with pytest.raises(VDIInUse):
        file_sr.vdi_attach(vdis[2], writable=True)


def test_without_hard_links_each_attach_renames_its_own_record(
        file_sr: FileSRDriver, monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(src: str, dst: str) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")
    monkeypatch.setattr(os, "link", refused)
    vdis = [file_sr.vdi_create(MiB).uuid for _ in range(4)]
    file_sr.vdi_stat(vdis[0])
    outcomes = queued_behind_the_lock(file_sr, [(v, True) for v in vdis])
    assert all(outcomes[v].readwrite for v in vdis)
    with pytest.raises(VDIInUse):
        file_sr.vdi_attach(vdis[0])
    assert file_sr.attachments() == {v: 1 for v in vdis}
    assert sorted(os.listdir(Path(file_sr.path, ATTACH_DIR))) == sorted(vdis)   # none shared
    assert all(Path(file_sr.path, ATTACH_DIR, v).stat().st_nlink == 1 for v in vdis)


def attach_dir_open(sr: FileSRDriver) -> list[str]:
    return open_under(str(Path(sr.path, ATTACH_DIR)))


def inode(path: Path) -> int:
    return path.stat().st_ino


def test_later_batches_link_the_same_shared_record_and_make_no_file(
        file_sr: FileSRDriver, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b, c = (file_sr.vdi_create(MiB).uuid for _ in range(3))
    file_sr.vdi_attach(a)
    records = Path(file_sr.path, ATTACH_DIR)

    def no_new_file(*args: object) -> str:
        raise AssertionError("an attach made a file")
    monkeypatch.setattr(file_sr_module, "stage_json", no_new_file)
    rec = Recorder(monkeypatch)
    file_sr.vdi_attach(b)
    file_sr.vdi_attach(c, writable=True)
    assert inode(records / a) == inode(records / b) == inode(records / c)
    assert (records / a).stat().st_nlink == 4           # a, b, c and the shared name
    # each later batch still fsyncs the inode (its link count) after linking, then the dir
    links = [i for i, e in enumerate(rec.events) if e[0] == "link"]
    syncs = [i for i, e in enumerate(rec.events) if e == ("fsync", rec.events[links[0]][1], False)]
    assert len(links) == len(syncs) == 2 and all(s > link for s, link in zip(syncs, links))
    assert attach_dir_open(file_sr) == []               # each batch closed what it opened
    file_sr.vdi_detach(b)
    assert file_sr.attachments() == {a: 1, c: 1}
    assert (records / a).stat().st_nlink == 3


def test_a_new_driver_writes_its_own_shared_record(file_sr: FileSRDriver, sr_path: str) -> None:
    a, b = (file_sr.vdi_create(MiB).uuid for _ in range(2))
    file_sr.vdi_attach(a)
    records = Path(sr_path, ATTACH_DIR)
    restarted = FileSRDriver(file_sr.sr_uuid, {"path": sr_path})   # a new process, say
    restarted.attach()
    restarted.vdi_attach(b)
    # the file an earlier run left is not trusted to hold this version's bytes: a new one is
    # renamed over its name, and the earlier records keep their inode
    assert inode(records / a) != inode(records / b)
    assert (records / a).stat().st_nlink == 1 and (records / b).stat().st_nlink == 2
    assert json.loads((records / b).read_text()) == {"rw": True, "count": 1, "hosts": {"": 1}}
    assert restarted.attachments() == {a: 1, b: 1}


def test_holders_share_no_record(file_sr: FileSRDriver, sr_path: str) -> None:
    a, b = (file_sr.vdi_create(MiB).uuid for _ in range(2))
    other = FileSRDriver(file_sr.sr_uuid, {"path": sr_path})   # another host of the pool
    other.holder = "host-b"
    other.attach()
    file_sr.vdi_attach(a)
    other.vdi_attach(b)
    records = Path(sr_path, ATTACH_DIR)
    assert json.loads((records / a).read_text())["hosts"] == {"": 1}
    assert json.loads((records / b).read_text())["hosts"] == {"host-b": 1}
    assert len(os.listdir(records)) == 4                # two records, two shared names
    assert file_sr.attachments() == {a: 1} and other.attachments() == {b: 1}   # its own


def test_a_holder_set_after_an_attach_gets_a_record_of_its_own(file_sr: FileSRDriver) -> None:
    a, b = (file_sr.vdi_create(MiB).uuid for _ in range(2))
    file_sr.vdi_attach(a)
    file_sr.holder = "host-b"            # the record is found by holder, not remembered
    file_sr.vdi_attach(b)
    records = Path(file_sr.path, ATTACH_DIR)
    assert json.loads((records / b).read_text())["hosts"] == {"host-b": 1}
    assert json.loads((records / a).read_text())["hosts"] == {"": 1}


def test_a_shared_record_linked_too_often_is_replaced_mid_batch(
        file_sr: FileSRDriver, monkeypatch: pytest.MonkeyPatch) -> None:
    vdis = [file_sr.vdi_create(MiB).uuid for _ in range(3)]
    file_sr.vdi_stat(vdis[0])
    rec = Recorder(monkeypatch)
    recorded_link = os.link
    calls: list[str] = []

    def full_on_second(src: str, dst: str) -> None:
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(errno.EMLINK, "Too many links")
        recorded_link(src, dst)
    monkeypatch.setattr(os, "link", full_on_second)
    outcomes = queued_behind_the_lock(file_sr, [(v, True) for v in vdis])
    assert all(outcomes[v].readwrite for v in vdis)
    records = Path(file_sr.path, ATTACH_DIR)
    linked = {e[2]: e[1] for e in rec.events if e[0] == "link"}
    assert len(set(linked.values())) == 2               # the first record, then a new file
    shared = next(records.glob(".first-*"))
    assert shared.stat().st_ino == linked[calls[-1].rsplit("/", 1)[1]][1]
    # both inodes' link counts were fsync'ed after their links, before the attaches returned
    for ino in set(linked.values()):
        last_link = max(i for i, e in enumerate(rec.events) if e[0] == "link" and e[1] == ino)
        assert ("fsync", ino, False) in rec.events[last_link:]
    assert file_sr.attachments() == {v: 1 for v in vdis}
    assert attach_dir_open(file_sr) == []


def test_a_shared_record_removed_behind_the_drivers_back_is_made_again(
        file_sr: FileSRDriver) -> None:
    a, b = (file_sr.vdi_create(MiB).uuid for _ in range(2))
    file_sr.vdi_attach(a)
    records = Path(file_sr.path, ATTACH_DIR)
    for shared in records.glob(".first-*"):
        shared.unlink()
    file_sr.vdi_attach(b)
    assert (records / b).stat().st_nlink == 2 and (records / a).stat().st_nlink == 1
    assert file_sr.attachments() == {a: 1, b: 1}
    assert attach_dir_open(file_sr) == []


def test_a_thread_holding_the_sr_lock_attaches_while_a_batch_waits_for_it(
        file_sr: FileSRDriver) -> None:
    first, second = (file_sr.vdi_create(MiB).uuid for _ in range(2))
    file_sr.vdi_stat(first)
    attached: list[str] = []

    def holder() -> None:
        with SRLock(file_sr._lock_path, file_sr.sr_uuid):
            waiting.start()                             # leads a batch: waits for this lock
            deadline = time.monotonic() + 30
            while not file_sr._attacher._busy:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            file_sr.vdi_attach(first)                   # not queued behind it
            attached.append(first)

    waiting = threading.Thread(target=lambda: (file_sr.vdi_attach(second),
                                               attached.append(second)), daemon=True)
    holding = threading.Thread(target=holder, daemon=True)
    holding.start()
    holding.join(30)
    waiting.join(30)
    assert attached == [first, second]                  # (a deadlock leaves it empty)
    assert file_sr.attachments() == {first: 1, second: 1}
