"""Per-SR mutual exclusion between threads and between processes.

flock(2) locks belong to an open file description, so two descriptors of the same lock file in
one process would exclude each other (and a thread re-entering would deadlock). Hence one shared
entry per lock file per process: a re-entrant thread lock in front, and the flock taken only by
the outermost holder.
"""
from __future__ import annotations

import errno
import fcntl
import os
import threading
import time
from types import TracebackType

from .errors import BackendFailure, SRBusy, SRNotFound

DEFAULT_TIMEOUT = 60.0


class _Shared:
    def __init__(self) -> None:
        self.rlock = threading.RLock()
        self.depth = 0
        self.fd = -1
        self.owner: int | None = None       #: the holding thread's ident


_registry: dict[str, _Shared] = {}
_registry_lock = threading.Lock()


def _shared_for(path: str) -> _Shared:
    key = os.path.realpath(path)
    with _registry_lock:
        entry = _registry.get(key)
        if entry is None:
            entry = _registry[key] = _Shared()
        return entry


class SRLock:
    """Context manager: hold the SR's lock file, waiting at most ``timeout`` seconds."""

    def __init__(self, lock_path: str, sr: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.lock_path = lock_path
        self.sr = sr
        self.timeout = timeout
        self._shared = _shared_for(lock_path)

    def __enter__(self) -> SRLock:
        shared = self._shared
        start = time.monotonic()
        if not shared.rlock.acquire(timeout=self.timeout):
            raise SRBusy(self.sr, self.timeout)
        if shared.depth == 0:
            try:
                shared.fd = self._flock(start)
            except BaseException:
                shared.rlock.release()
                raise
        shared.depth += 1
        shared.owner = threading.get_ident()
        return self

    def held(self) -> bool:
        """Whether the calling thread holds this lock (it may take it again at once)."""
        shared = self._shared
        return shared.owner == threading.get_ident() and shared.depth > 0

    def _open(self) -> int:
        try:
            return os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except FileNotFoundError:
            directory = os.path.dirname(self.lock_path)
            raise SRNotFound(directory, f"{directory} does not exist") from None
        except OSError as e:
            raise BackendFailure(errno.errorcode.get(e.errno or 0, "EIO"),
                                 f"cannot open lock file {self.lock_path}: {e.strerror}") from e

    def _is_current(self, fd: int) -> bool:
        """Whether ``fd`` is still the file at lock_path (destroy unlinks the lock file: a lock
        on the unlinked file would exclude nobody)."""
        try:
            st = os.stat(self.lock_path)
        except FileNotFoundError:
            return False
        own = os.fstat(fd)
        return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)

    def _flock(self, start: float) -> int:
        fd = self._open()
        delay = 0.005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if self._is_current(fd):
                    return fd
                os.close(fd)                    # replaced meanwhile: lock the new file
                fd = self._open()
                continue
            except BlockingIOError:
                waited = time.monotonic() - start
                if waited >= self.timeout:
                    os.close(fd)
                    raise SRBusy(self.sr, self.timeout) from None
                time.sleep(min(delay, self.timeout - waited))
                delay = min(delay * 2, 0.1)
            except BaseException:
                os.close(fd)
                raise

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        shared = self._shared
        shared.depth -= 1
        if shared.depth == 0:
            shared.owner = None
            fd, shared.fd = shared.fd, -1
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
        shared.rlock.release()
