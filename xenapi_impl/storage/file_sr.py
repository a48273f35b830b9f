"""The ``file`` SR: a local directory of sparse raw disk images.

Layout of the SR directory (device_config["path"]):
    <location>.img        one VDI each; VDIs made here have location == uuid
    .xenapi-sr.json       sidecar metadata: SR uuid, per-VDI flags ("attached" is only read:
                          SRs written before .attach/ kept their attachments there)
    .attach/<vdi-uuid>    one small JSON record per attached VDI: {"rw": bool, "count": n,
                          "hosts": {holder: n}}; first attachments are hard links of one file
    .attach/.first-*      that file, one per holder and rw flag (hidden: never a record)
    .xenapi-sr.lock       flock'ed by whoever changes the SR
    .<uuid>.img.part      an image being written (never seen by scan)

Every change to the metadata happens under the SR lock, and the metadata is re-read inside the
lock, so several processes may drive the same SR. Long copies (clone, snapshot) run outside the
lock into a hidden temporary file that is renamed into place under the lock afterwards.

Attaching a VDI must not cost O(number of VDIs): it writes only the VDI's own record.
Concurrent attaches run in batches (``combine.Combiner``): one caller takes the lock once for
every attach queued meanwhile. A first attachment's record has the same bytes for every VDI, and
records are only ever replaced (renamed over) or removed, never changed in place, so the
driver writes and fsyncs one such record once (per holder and rw flag) and links it in under
each VDI's name (link(2) refuses an existing name: that is the check); a file system without
hard links gets one renamed record each. No file is made per attach: on ext4 without a journal,
making a file while many were deleted recently (a burst of VDI creations rewrites the metadata
file each time) cost 0.7 ms of CPU in the kernel's scan for a free inode. After the lock, the
shared record's inode and the directory are fsync'ed (the directory fsync shared by the
attaches that wait for one at the same time: group commit), and only then does any attach of
the batch return. The metadata is read again only when the file at its path is
another one than the one last read (whose inode is held open, so its number cannot be reused
meanwhile) or was changed in place. Delete, resize, SR detach and destroy look at the records
under the same lock, so none of them races an attach.
"""
from __future__ import annotations

import datetime as _dt
import errno
import hashlib
import os
import threading
import uuid as _uuid
from dataclasses import dataclass
from typing import Any, Callable

from . import sparse
from .combine import Combiner, Request
from .driver import (
    INT64_MAX, SR_ATTACH, SR_CREATE, SR_DELETE, SR_DETACH, SR_PROBE, SR_SCAN, THIN_PROVISIONING,
    VDI_ATTACH, VDI_CLONE, VDI_CREATE, VDI_DELETE, VDI_DETACH, VDI_RESIZE, VDI_SNAPSHOT,
    SRDriver, canonical_uuid, free_space, os_errors,
)
from .errors import (
    BackendFailure, DeviceConfigInvalid, NoSpace, SRExists, SRNotEmpty, SRNotFound, VDIInUse,
    VDINotFound, VDIReadOnly, VDITooLarge, VDITooSmall,
)
from .info import AttachInfo, ProbeResult, ScanResult, SRStat, VDIInfo
from .locking import SRLock
from .metadata import (
    GroupSync, fsync_dir, parse_json, publish, read_json, stage_json, write_json,
)

METADATA = ".xenapi-sr.json"
LOCKFILE = ".xenapi-sr.lock"
ATTACH_DIR = ".attach"
SUFFIX = ".img"
FORMAT = 1

Doc = dict[str, Any]


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


@dataclass
class _Attach:
    """An attach queued for a batch (see _vdi_attach)."""
    vdi: str
    writable: bool
    handover: bool
    checked_location: str | None        #: whose image was checked before the lock
    rewrote: bool = False               #: the metadata was rewritten for it
    linked: "_Shared | None" = None     #: the shared record linked in as its record
    published: bool = False             #: its own record renamed in (no hard links)


@dataclass(eq=False)             # hashed by identity: one per open
class _Shared:
    """The shared first-attachment record as one batch links it: its path, and a descriptor of
    the inode the batch linked (the inode fsync after the lock must reach that inode even if
    the name was given to a new file meanwhile)."""
    path: str
    fd: int


class _BatchRecords:
    """The shared records one batch opened, by rw flag (the one to link next) and all of them."""

    def __init__(self) -> None:
        self.current: dict[bool, _Shared] = {}
        self.opened: list[_Shared] = []


def _unlink_quiet(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class FileSRDriver(SRDriver):
    TYPE = "file"
    NAME = "Local file SR"
    DESCRIPTION = "VDIs as sparse raw image files in a local directory"
    VENDOR = "xen-py-toolstack"
    COPYRIGHT = "(C) xen-py-toolstack contributors, LGPL-2.1-only"
    VERSION = "1.0"
    CAPABILITIES = frozenset({
        SR_PROBE, SR_CREATE, SR_DELETE, SR_ATTACH, SR_DETACH, SR_SCAN,
        VDI_CREATE, VDI_DELETE, VDI_ATTACH, VDI_DETACH, VDI_RESIZE, VDI_CLONE, VDI_SNAPSHOT,
        THIN_PROVISIONING,
    })
    CONFIGURATION = {"path": "absolute path of the directory that holds the SR's disk images"}
    REQUIRED_CONFIG = frozenset({"path"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.path = os.path.normpath(self.device_config["path"])
        self._meta_path = os.path.join(self.path, METADATA)
        self._lock_path = os.path.join(self.path, LOCKFILE)
        self._attach_dir = os.path.join(self.path, ATTACH_DIR)
        #: the directory fsync that makes a published record durable, shared by the attaches
        #: waiting at the same time
        self._attach_sync = GroupSync(self._attach_dir)
        #: the metadata last read by _view: (descriptor held open, its identity, parsed)
        self._cached: tuple[int, tuple[int, ...], Doc] | None = None
        self._cached_lock = threading.Lock()
        self._sr_lock: SRLock | None = None
        #: attaches queued while another caller holds the lock for a batch of them
        self._attacher: Combiner[AttachInfo] = Combiner()
        #: records are hard links of a shared one (until link(2) is refused)
        self._links = True
        #: the paths of the shared first-attachment records this driver wrote (`_shared_path`)
        self._shared: set[str] = set()

    def __del__(self) -> None:
        if getattr(self, "_cached", None) is not None:
            self._forget()

    def _release_view(self) -> None:
        """Close the metadata file _view holds open: a detached SR keeps nothing open on its
        file system (it may be unmounted next)."""
        with self._cached_lock:
            self._forget()

    @classmethod
    def _check_device_config(cls, config: dict[str, str]) -> None:
        path = config["path"]
        if "\0" in path or not os.path.isabs(path):
            raise DeviceConfigInvalid("path", f"device_config path must be an absolute path, "
                                              f"got {path!r}")

    # -- helpers -----------------------------------------------------------------------------
    def _lock(self) -> SRLock:
        # one per driver: SRLock resolves the lock file's real path when made
        lock = self._sr_lock
        if lock is None:
            lock = self._sr_lock = SRLock(self._lock_path, self.sr_uuid, self.lock_timeout)
        return lock

    def _image(self, location: str) -> str:
        return os.path.join(self.path, location + SUFFIX)

    def _load(self) -> Doc:
        """The metadata, checked to be this SR's: a fresh copy the caller may change."""
        with os_errors(f"reading SR {self.sr_uuid}"):
            doc = read_json(self._meta_path)
        return self._checked(doc)

    def _view(self) -> Doc:
        """The metadata for reading only (never change it): parsed again only when the file at
        its path is not the one last read, or was changed in place. Writers replace the file by
        a rename, so the same inode means the same bytes; the descriptor of the file last read
        stays open, so its inode number cannot go to a newer file meanwhile (a file system may
        reuse a freed number at once, and timestamps are too coarse to tell two writes apart).
        The path is opened, not stat'ed: on NFS an open revalidates what a stat may take from
        the attribute cache. A 1,000-VDI SR's attaches would otherwise read its whole file
        every time."""
        # held throughout: the descriptor compared with must stay open until the comparison
        with self._cached_lock, os_errors(f"reading SR {self.sr_uuid}"):
            try:
                fd = os.open(self._meta_path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                self._forget()
                raise SRNotFound(self.path, f"no SR at {self.path}") from None
            kept = False
            try:
                st = os.fstat(fd)
                ident = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
                cached = self._cached
                if cached is not None and cached[1] == ident:
                    return cached[2]
                with open(fd, "rb", closefd=False) as f:
                    data = f.read()
                self._forget()
                doc = self._checked(parse_json(self._meta_path, data))
                self._cached, kept = (fd, ident, doc), True
                return doc
            finally:
                if not kept:
                    os.close(fd)

    def _forget(self) -> None:
        """Drop the metadata _view keeps (with _cached_lock held)."""
        cached, self._cached = self._cached, None
        if cached is not None:
            os.close(cached[0])

    def _checked(self, doc: Doc | None) -> Doc:
        if doc is None:
            raise SRNotFound(self.path, f"no SR at {self.path}")
        if doc.get("sr_uuid") != self.sr_uuid:
            raise SRNotFound(self.path, f"{self.path} holds SR {doc.get('sr_uuid')}, "
                                        f"not {self.sr_uuid}")
        if doc.get("format") != FORMAT or not isinstance(doc.get("vdis"), dict) \
                or not isinstance(doc.get("attached"), dict):
            raise BackendFailure("MetadataCorrupt", f"{self._meta_path} has an unknown layout")
        return doc

    def _save(self, doc: Doc) -> None:
        with os_errors(f"writing SR {self.sr_uuid} metadata", requested=len(str(doc)),
                       path=self.path):
            write_json(self._meta_path, doc)

    def _entry(self, doc: Doc, vdi: str) -> dict[str, Any]:
        entry: dict[str, Any] | None = doc["vdis"].get(vdi)
        if entry is None:
            raise VDINotFound(self.sr_uuid, vdi)
        return entry

    # -- attachment records ------------------------------------------------------------------
    def _attach_file(self, vdi: str) -> str:
        return os.path.join(self._attach_dir, vdi)

    def _checked_attachment(self, vdi: str, rec: Any) -> dict[str, Any]:
        if not isinstance(rec, dict) or not isinstance(rec.get("rw"), bool) \
                or type(rec.get("count")) is not int or rec["count"] < 1:
            raise BackendFailure("MetadataCorrupt",
                                 f"attachment record of VDI {vdi} in {self.path} is invalid")
        return rec

    def _attachment(self, doc: Doc, vdi: str) -> dict[str, Any] | None:
        """The VDI's current attachment: its record file, else (older SRs) its metadata entry."""
        with os_errors(f"reading attachment of VDI {vdi}"):
            rec = read_json(self._attach_file(vdi))
        if rec is None:
            rec = doc["attached"].get(vdi)
        return None if rec is None else self._checked_attachment(vdi, rec)

    def _all_attachments(self, doc: Doc) -> dict[str, dict[str, Any]]:
        found = {vdi: self._checked_attachment(vdi, rec) for vdi, rec in doc["attached"].items()}
        with os_errors(f"listing attachments of SR {self.sr_uuid}"):
            try:
                names = os.listdir(self._attach_dir)
            except FileNotFoundError:
                names = []
            for name in names:
                if name.startswith("."):            # a record being staged
                    continue
                rec = read_json(self._attach_file(name))
                if rec is not None:                 # else detached meanwhile
                    found[name] = self._checked_attachment(name, rec)
        return found

    def _make_attach_dir(self) -> None:
        try:
            os.mkdir(self._attach_dir, 0o700)
        except FileExistsError:
            return
        except FileNotFoundError:
            raise SRNotFound(self.path, f"{self.path} does not exist") from None
        fsync_dir(self.path)

    def _set_attachment(self, doc: Doc, vdi: str, rec: dict[str, Any] | None) -> None:
        """Under the lock: replace (None: remove) the VDI's record durably; an entry left in the
        metadata by an older version moves out of it."""
        path = self._attach_file(vdi)
        with os_errors(f"recording attachment of VDI {vdi}", path=self.path):
            if rec is None:
                try:
                    os.unlink(path)
                    fsync_dir(self._attach_dir)
                except FileNotFoundError:
                    pass
            else:
                self._make_attach_dir()
                write_json(path, rec)
        if vdi in doc["attached"]:
            full = self._load()
            full["attached"].pop(vdi, None)
            self._save(full)

    def _images(self) -> dict[str, os.stat_result]:
        """location -> stat of every regular ``*.img`` file (hidden files are ours: skipped)."""
        found: dict[str, os.stat_result] = {}
        with os_errors(f"listing SR {self.sr_uuid}"), os.scandir(self.path) as it:
            for e in it:
                if e.name.startswith(".") or not e.name.endswith(SUFFIX) or len(e.name) == 4:
                    continue
                try:
                    if e.is_file(follow_symlinks=False):
                        found[e.name[: -len(SUFFIX)]] = e.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue    # destroyed by a concurrent call since the directory was read
        return found

    def _info(self, vdi: str, entry: dict[str, Any], st: os.stat_result) -> VDIInfo:
        when = entry.get("snapshot_time")
        return VDIInfo(
            uuid=vdi, location=entry["location"], virtual_size=st.st_size,
            physical_utilisation=sparse.allocated_bytes(st),
            read_only=bool(entry.get("read_only")), is_a_snapshot=bool(entry.get("is_a_snapshot")),
            snapshot_of=entry.get("snapshot_of"),
            snapshot_time=_dt.datetime.fromisoformat(when) if when else None,
            name_label=entry.get("name_label", ""),
        )

    def _stat_image(self, vdi: str, entry: dict[str, Any]) -> os.stat_result:
        try:
            return os.stat(self._image(entry["location"]))
        except FileNotFoundError:
            raise VDINotFound(self.sr_uuid, vdi) from None
        except OSError as e:
            raise BackendFailure(errno.errorcode.get(e.errno or 0, "EIO"),
                                 f"stat of VDI {vdi}: {e.strerror}") from e

    @staticmethod
    def _largest_size(fd: int) -> int:
        """The largest length the file system accepts for the file behind ``fd`` (probed with
        ftruncate, which allocates nothing), after which the file is emptied again."""
        low, high = 0, INT64_MAX
        while low < high:
            mid = (low + high + 1) // 2
            try:
                os.ftruncate(fd, mid)
                low = mid
            except OSError:
                high = mid - 1
        os.ftruncate(fd, 0)
        return low - low % 512

    def _truncate(self, vdi: str, fd: int, size: int) -> None:
        try:
            os.ftruncate(fd, size)
        except OSError as e:
            if e.errno in (errno.EFBIG, errno.EINVAL):
                current = os.fstat(fd).st_size
                maximum = self._largest_size(fd)
                os.ftruncate(fd, current)
                raise VDITooLarge(vdi, maximum, size) from e
            raise

    # -- SR operations -----------------------------------------------------------------------
    @classmethod
    def _probe(cls, config: dict[str, str]) -> list[ProbeResult]:
        path = os.path.normpath(config["path"])
        if not os.path.isdir(path):
            return []
        with os_errors(f"probing {path}"):
            doc = read_json(os.path.join(path, METADATA))
        sr_uuid = doc.get("sr_uuid") if doc else None
        return [ProbeResult(configuration={"path": path}, complete=True,
                            sr_uuid=sr_uuid if isinstance(sr_uuid, str) else None)]

    def _create(self, physical_size: int) -> None:
        parent = os.path.dirname(self.path)
        if not os.path.isdir(parent):
            raise SRNotFound(self.path, f"cannot create SR at {self.path}: "
                                        f"{parent} is not a directory")
        created = False
        with os_errors(f"creating SR directory {self.path}", path=parent):
            try:
                os.mkdir(self.path, 0o700)
                created = True
            except FileExistsError:
                if not os.path.isdir(self.path):
                    raise BackendFailure("NotADirectory",
                                         f"{self.path} is not a directory") from None
        try:
            with self._lock():
                existing = read_json(self._meta_path)
                if existing is not None:
                    raise SRExists(self.path, str(existing.get("sr_uuid")))
                self._save({"format": FORMAT, "sr_uuid": self.sr_uuid, "created_dir": created,
                            "vdis": {}, "attached": {}})
        except BaseException:
            if created:
                try:
                    _unlink_quiet(self._lock_path)
                    os.rmdir(self.path)
                except OSError:
                    pass                        # the original failure is what matters
            raise

    def _destroy(self) -> None:
        self._release_view()
        with self._lock():
            doc = self._load()
            attached = self._all_attachments(doc)
            if attached:
                raise VDIInUse(sorted(attached)[0], "sr_destroy")
            images = self._images()
            locations = {e["location"] for e in doc["vdis"].values()}
            count = len(doc["vdis"]) + len(set(images) - locations)
            if count:
                raise SRNotEmpty(self.sr_uuid, count)
            with os_errors(f"destroying SR {self.sr_uuid}"):
                if os.path.isdir(self._attach_dir):
                    for name in os.listdir(self._attach_dir):   # shared or half-staged records
                        _unlink_quiet(os.path.join(self._attach_dir, name))
                    os.rmdir(self._attach_dir)
                os.unlink(self._meta_path)
                fsync_dir(self.path)
                _unlink_quiet(self._lock_path)
                if doc.get("created_dir"):
                    try:
                        os.rmdir(self.path)
                    except OSError as e:
                        if e.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                            raise

    def _attach(self) -> None:
        if not os.path.isdir(self.path):
            raise SRNotFound(self.path, f"{self.path} is not a directory")
        self._view()
        if not os.access(self.path, os.W_OK | os.X_OK):
            raise BackendFailure("SRReadOnly", f"{self.path} is not writable")

    def _detach(self) -> None:
        with self._lock():
            attached = self._all_attachments(self._view())
            if attached:
                raise VDIInUse(sorted(attached)[0], "sr_detach")
        self._release_view()

    def _scan(self, known: frozenset[str]) -> ScanResult:
        with self._lock():
            doc = self._load()
            vdis: dict[str, dict[str, Any]] = doc["vdis"]
            images = self._images()
            by_location = {e["location"]: u for u, e in vdis.items()}
            new_uuids: list[str] = []
            adopted = sorted(set(images) - set(by_location))
            for location in adopted:
                vdi = canonical_uuid(location)
                if vdi is None or vdi in vdis:
                    vdi = str(_uuid.uuid4())
                vdis[vdi] = {"location": location, "read_only": False, "is_a_snapshot": False,
                             "snapshot_of": None, "snapshot_time": None,
                             "name_label": "" if vdi == location else location}
                if vdi not in known:
                    new_uuids.append(vdi)
            if adopted:
                self._save(doc)
        present = {u: self._info(u, e, images[e["location"]])
                   for u, e in vdis.items() if e["location"] in images}
        missing = sorted((set(vdis) | known) - set(present))
        return ScanResult(vdis=[present[u] for u in sorted(present)],
                          new=[present[u] for u in new_uuids], missing=missing)

    def _stat(self) -> SRStat:
        doc = self._view()
        with os_errors(f"stat of SR {self.sr_uuid}"):
            fs = os.statvfs(self.path)
            images = self._images()
        ours = [images[e["location"]] for e in doc["vdis"].values() if e["location"] in images]
        return SRStat(physical_size=fs.f_blocks * fs.f_frsize,
                      physical_utilisation=sum(sparse.allocated_bytes(st) for st in ours),
                      virtual_allocation=sum(st.st_size for st in ours),
                      free_space=fs.f_bavail * fs.f_frsize)

    # -- VDI operations ----------------------------------------------------------------------
    def _vdi_create(self, size: int, read_only: bool, name_label: str) -> VDIInfo:
        vdi = str(_uuid.uuid4())
        final, tmp = self._image(vdi), os.path.join(self.path, f".{vdi}{SUFFIX}.part")
        with self._lock():
            doc = self._load()
            entry = {"location": vdi, "read_only": read_only, "is_a_snapshot": False,
                     "snapshot_of": None, "snapshot_time": None, "name_label": name_label}
            try:
                with os_errors(f"creating VDI {vdi}", path=self.path):
                    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
                    try:
                        self._truncate(vdi, fd, size)
                        os.fsync(fd)
                    finally:
                        os.close(fd)
                    os.rename(tmp, final)
                    doc["vdis"][vdi] = entry
                    self._save(doc)
            except BaseException:
                _unlink_quiet(tmp)
                _unlink_quiet(final)
                raise
            return self._info(vdi, entry, self._stat_image(vdi, entry))

    def _vdi_delete(self, vdi: str) -> None:
        with self._lock():
            doc = self._load()
            entry = self._entry(doc, vdi)
            if self._attachment(doc, vdi) is not None:
                raise VDIInUse(vdi, "destroy")
            # The image goes first: a crash in between leaves a VDI reported missing, never an
            # orphan image that a scan would bring back.
            with os_errors(f"deleting VDI {vdi}"):
                _unlink_quiet(self._image(entry["location"]))
            del doc["vdis"][vdi]
            self._save(doc)

    def _vdi_resize(self, vdi: str, size: int) -> VDIInfo:
        with self._lock():
            doc = self._load()
            entry = self._entry(doc, vdi)
            if entry.get("read_only"):
                raise VDIReadOnly(vdi)
            if self._attachment(doc, vdi) is not None:
                raise VDIInUse(vdi, "resize")
            current = self._stat_image(vdi, entry).st_size
            if size < current:
                raise VDITooSmall(vdi, current, size)
            with os_errors(f"resizing VDI {vdi}", path=self.path):
                fd = os.open(self._image(entry["location"]), os.O_WRONLY | os.O_CLOEXEC)
                try:
                    self._truncate(vdi, fd, size)
                    os.fsync(fd)
                finally:
                    os.close(fd)
            return self._info(vdi, entry, self._stat_image(vdi, entry))

    def _vdi_clone(self, vdi: str, snapshot: bool) -> VDIInfo:
        new = str(_uuid.uuid4())
        tmp = os.path.join(self.path, f".{new}{SUFFIX}.part")
        with self._lock():
            doc = self._load()
            entry = self._entry(doc, vdi)
            try:
                src = os.open(self._image(entry["location"]), os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                raise VDINotFound(self.sr_uuid, vdi) from None
            try:
                with os_errors(f"reading VDI {vdi}"):
                    st = os.fstat(src)
                    free = free_space(self.path)
                need = sparse.allocated_bytes(st)
                if need > free:
                    raise NoSpace(need, free)
                with os_errors(f"creating VDI {new}", need, free):
                    dst = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            except BaseException:
                os.close(src)
                raise
        # The copy runs unlocked: the open descriptor keeps the source readable even if another
        # caller deletes it meanwhile, and the result is invisible until renamed below.
        try:
            try:
                with os_errors(f"copying VDI {vdi}", need, free):
                    sparse.copy_sparse(src, dst, st.st_size)
            finally:
                os.close(src)
                os.close(dst)
            with self._lock():
                doc = self._load()
                new_entry = {"location": new, "read_only": snapshot, "is_a_snapshot": snapshot,
                             "snapshot_of": vdi if snapshot else None,
                             "snapshot_time": _now() if snapshot else None,
                             "name_label": entry.get("name_label", "")}
                try:
                    with os_errors(f"creating VDI {new}", path=self.path):
                        os.rename(tmp, self._image(new))
                        doc["vdis"][new] = new_entry
                        self._save(doc)
                except BaseException:
                    _unlink_quiet(self._image(new))
                    raise
                return self._info(new, new_entry, self._stat_image(new, new_entry))
        finally:
            _unlink_quiet(tmp)

    def _vdi_attach(self, vdi: str, writable: bool, handover: bool = False) -> AttachInfo:
        # Before the lock: the image checked (its location from the metadata last read: a
        # VDI's location never changes; the lock phase checks the entry is still there, and
        # delete removes image and entry in one lock hold).
        cached = self._cached
        entry = cached[2]["vdis"].get(vdi) if cached is not None else None
        if entry is not None:
            self._stat_image(vdi, entry)
        req: Request[AttachInfo] = Request(
            _Attach(vdi, writable, handover, None if entry is None else entry["location"]))
        if self._lock().held():
            # A caller holding the SR lock must not queue: the batch's leader would wait for
            # that lock forever. It is a batch of its own, made at once.
            return self._attacher.alone(req, self._attach_batch, self._attach_durable)
        return self._attacher.submit(req, self._attach_batch, self._attach_durable)

    def _attach_batch(self, take: Callable[[], list[Request[AttachInfo]]]) -> None:
        """The lock phase of a batch of attaches: one lock hold, one metadata check. A first
        attachment's record is the same for every VDI ({"rw", "count": 1, "hosts": {holder:
        1}}), and records are only ever replaced, never changed in place: so it is one shared
        file per rw flag, linked in under each VDI's name (link fails on an existing name,
        which is the check). The batch opens it, and its inode is fsync'ed after the lock
        (`_attach_durable`), which closes it."""
        shared = _BatchRecords()
        batch: list[Request[AttachInfo]] = []
        try:
            with self._lock():
                batch = take()
                doc = self._view()
                for req in batch:
                    try:
                        req.result = self._attach_locked(doc, req.args, shared)
                    except Exception as exc:    # noqa: BLE001 - its caller raises it
                        req.error = exc
                    if req.args.rewrote:
                        doc = self._view()
        finally:
            # the fsync after the lock runs for the requests with a result, and closes theirs
            kept = {r.args.linked for r in batch if r.args.linked and r.error is None}
            for rec in shared.opened:
                if rec not in kept:
                    os.close(rec.fd)

    def _shared_path(self, writable: bool) -> str:
        """Where this driver's shared first-attachment record for `writable` lives (hidden;
        the holder hashed: it names the file, whatever it holds)."""
        holder = hashlib.sha256(self.holder.encode()).hexdigest()[:16]
        return self._attach_file(f".first-{'rw' if writable else 'ro'}-{holder}")

    def _new_shared(self, writable: bool) -> None:
        """Write (and fsync) the shared record for `writable` and rename it to its name: over
        an earlier one, whose inode lives on in the VDIs' names linked to it. At a driver's
        first attach (a file left by an earlier run or version is not trusted to hold these
        bytes) and when the current one has as many links as the file system allows."""
        path = self._shared_path(writable)
        try:
            staged = stage_json(path, self._first_record(writable))
        except FileNotFoundError:
            self._make_attach_dir()             # the first attach, or destroyed meanwhile
            staged = stage_json(path, self._first_record(writable))
        publish(staged, path)
        self._shared.add(path)

    def _shared_record(self, writable: bool, shared: _BatchRecords) -> _Shared:
        rec = shared.current.get(writable)
        if rec is None:
            path = self._shared_path(writable)
            if path not in self._shared:
                self._new_shared(writable)
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:           # removed behind our back: make it again
                self._new_shared(writable)
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            rec = shared.current[writable] = _Shared(path, fd)
            shared.opened.append(rec)
        return rec

    def _attach_locked(self, doc: Doc, a: _Attach, shared: _BatchRecords) -> AttachInfo:
        vdi, writable = a.vdi, a.writable
        entry = self._entry(doc, vdi)
        if entry["location"] != a.checked_location:
            self._stat_image(vdi, entry)
        if writable and entry.get("read_only"):
            raise VDIReadOnly(vdi)
        if vdi not in doc["attached"] and self._first_attachment(doc, a, shared):
            return AttachInfo(pdev_path=self._image(entry["location"]), format="raw",
                              readwrite=writable)
        current = self._attachment(doc, vdi)
        if current is not None and (writable or current["rw"]) and not (
                a.handover and current["count"] == 1):
            raise VDIInUse(vdi, "attach")
        count = current["count"] + 1 if current else 1
        hosts = self._holders(current)
        hosts[self.holder] = hosts.get(self.holder, 0) + 1
        a.rewrote = vdi in doc["attached"]          # moved out of the metadata: read it again
        self._set_attachment(doc, vdi, {"rw": writable, "count": count, "hosts": hosts})
        return AttachInfo(pdev_path=self._image(entry["location"]), format="raw",
                          readwrite=writable)

    def _first_attachment(self, doc: Doc, a: _Attach, shared: _BatchRecords) -> bool:
        """Publish the VDI's record as a first attachment, unless it has a record already."""
        path = self._attach_file(a.vdi)
        with os_errors(f"attaching VDI {a.vdi}", path=self.path):
            remade = False
            while self._links:
                rec = self._shared_record(a.writable, shared)
                try:
                    os.link(rec.path, path)
                    a.linked = rec
                    return True
                except FileExistsError:
                    return False
                except OSError as e:
                    if e.errno == errno.EMLINK or e.errno == errno.ENOENT and not remade:
                        # linked too often, or its name removed behind our back: a new one
                        # (the batch keeps the old one's descriptor for its fsync)
                        remade = e.errno == errno.ENOENT
                        self._new_shared(a.writable)
                        del shared.current[a.writable]
                    elif e.errno in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS):
                        self._links = False         # no hard links on this file system
                        for unused in self._shared:
                            _unlink_quiet(unused)
                        self._shared.clear()
                    else:
                        raise
            if self._attachment(doc, a.vdi) is not None:
                return False
            self._make_attach_dir()
            publish(stage_json(path, self._first_record(a.writable)), path)
            a.published = True
            return True

    def _first_record(self, writable: bool) -> dict[str, Any]:
        return {"rw": writable, "count": 1, "hosts": {self.holder: 1}}

    def _attach_durable(self, batch: list[Request[AttachInfo]]) -> None:
        """After the lock: the new names are visible to everyone already; this makes them
        durable before any caller hears of its attach. The shared records the batch linked are
        fsync'ed again (their link counts: on a file system without a journal the directory's
        fsync does not write the inode) and closed, then the directory fsync, shared by every
        attach waiting for one meanwhile."""
        linked = {r.args.linked for r in batch if r.args.linked}
        with os_errors("attaching VDIs"):
            try:
                for rec in linked:
                    os.fsync(rec.fd)
            finally:
                for rec in linked:
                    os.close(rec.fd)
            self._attach_sync.sync()

    def _vdi_detach(self, vdi: str, all_attachments: bool) -> None:
        with self._lock():
            doc = self._view()
            current = self._attachment(doc, vdi)
            if current is None:
                return
            hosts = self._holders(current)
            mine = hosts.pop(self.holder, 0)
            if not mine:
                return                  # another host's attachment: not ours to release
            if mine > 1 and not all_attachments:
                hosts[self.holder] = mine - 1
            count = sum(hosts.values())
            if count:
                self._set_attachment(doc, vdi, {"rw": current["rw"], "count": count,
                                                "hosts": hosts})
            else:
                self._set_attachment(doc, vdi, None)

    def _holders(self, current: dict[str, Any] | None) -> dict[str, int]:
        """holder -> attachments; a record from before holders were kept (one host) is all
        this driver's."""
        if current is None:
            return {}
        hosts = current.get("hosts")
        if not isinstance(hosts, dict):
            return {self.holder: current["count"]}
        return {str(k): int(v) for k, v in hosts.items() if int(v) > 0}

    def _attachments(self) -> dict[str, int]:
        """This holder's attachments (another host's on a shared SR are not reported)."""
        out = {}
        for vdi, a in self._all_attachments(self._view()).items():
            n = self._holders(a).get(self.holder, 0)
            if n:
                out[vdi] = n
        return out

    def _vdi_stat(self, vdi: str) -> VDIInfo:
        doc = self._view()
        entry = self._entry(doc, vdi)
        return self._info(vdi, entry, self._stat_image(vdi, entry))
