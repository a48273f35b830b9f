"""Small JSON documents written atomically: a reader sees the old or the new file, never half.

Write to a temporary file in the same directory, fsync it, rename it over the target, then fsync
the directory so the rename itself survives a crash.
"""
from __future__ import annotations

import json
import os
import itertools
import threading
from typing import Any, Callable

from .errors import BackendFailure

#: names of staged files in this process (see stage_json)
_staged = itertools.count()


def read_json(path: str) -> dict[str, Any] | None:
    """The document at ``path``, or None when there is none."""
    data = read_bytes(path)
    return None if data is None else parse_json(path, data)


def read_bytes(path: str) -> bytes | None:
    """The raw bytes of the document at ``path``, or None when there is none."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise BackendFailure("MetadataIOError", f"cannot read {path}: {e.strerror}") from e


def parse_json(path: str, data: bytes) -> dict[str, Any]:
    """``data`` (read from ``path``) as a JSON object."""
    try:
        doc = json.loads(data)
    except ValueError as e:
        raise BackendFailure("MetadataCorrupt", f"{path} is not valid JSON: {e}") from e
    if not isinstance(doc, dict):
        raise BackendFailure("MetadataCorrupt", f"{path} does not hold a JSON object")
    return doc


def write_json(path: str, doc: dict[str, Any]) -> None:
    """Replace ``path`` with ``doc`` atomically and durably."""
    tmp = stage_json(path, doc)
    publish(tmp, path)
    fsync_dir(os.path.dirname(os.path.abspath(path)))


def stage_json(path: str, doc: dict[str, Any]) -> str:
    """Write ``doc`` durably to a new hidden temporary file next to ``path`` and return its name;
    ``publish`` makes it ``path``. Staging may run outside the caller's lock: only the rename
    has to be inside it. Compact and unsorted: dumping is on the hot path of big SRs. The name
    is this process's counter (``tempfile``'s random names and realpath cost more than the
    write on a 1,000-attach burst); O_EXCL skips one a crashed process left behind."""
    directory = os.path.dirname(os.path.abspath(path))
    data = json.dumps(doc, separators=(",", ":")).encode()
    while True:
        tmp = os.path.join(directory, f".tmp-{os.getpid()}-{next(_staged)}.json")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            break
        except FileExistsError:
            continue
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        discard(tmp)
        raise
    return tmp


def publish(tmp: str, path: str) -> None:
    """Rename a staged file over ``path`` (atomic; the caller fsyncs the directory)."""
    try:
        os.rename(tmp, path)
    except BaseException:
        discard(tmp)
        raise


def discard(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def fsync_dir(directory: str) -> None:
    dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


class GroupSync:
    """fsync of one directory shared by concurrent callers (group commit): a caller returns once
    an fsync that began after its call has finished, so a rename it made before calling is
    durable; callers that arrive while an fsync runs share the next one instead of each
    running its own (a burst of attaches: one fsync per group of waiters, not one each)."""

    def __init__(self, directory: str, sync: Callable[[str], None] = fsync_dir) -> None:
        self.directory = directory
        self._sync = sync
        self._cond = threading.Condition()
        self._asked = 0         # tickets handed out
        self._done = 0          # every ticket <= this is durable
        self._running = False

    def sync(self) -> None:
        with self._cond:
            self._asked += 1
            ticket = self._asked
            while self._running and self._done < ticket:
                self._cond.wait()
            if self._done >= ticket:
                return
            self._running = True
            covered = self._asked       # every ticket so far: their renames precede the fsync
        ok = False
        try:
            self._sync(self.directory)
            ok = True
        finally:
            with self._cond:
                self._running = False
                if ok:
                    self._done = max(self._done, covered)
                # on a failure no ticket is done: a waiter runs its own fsync and sees the
                # error itself
                self._cond.notify_all()
