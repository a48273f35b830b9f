"""Copying disk images without filling their holes.

The source's data extents are found with SEEK_DATA/SEEK_HOLE and only they are copied (with
copy_file_range, so the kernel may share blocks); the destination is sized with ftruncate, which
leaves the rest as holes. Where the file system cannot report extents, the whole file is read in
chunks and all-zero chunks are skipped, which keeps the copy sparse too.
"""
from __future__ import annotations

import ctypes
import errno
import os
from typing import Any, Iterator

CHUNK = 1 << 20
_ZERO = bytes(CHUNK)
# copy_file_range refusals that mean "use read/write instead", not a failure of the copy.
_FALLBACK_ERRNOS = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF}


def allocated_bytes(st: os.stat_result) -> int:
    """Bytes of storage a file really occupies (st_blocks is in 512-byte units)."""
    return st.st_blocks * 512


def data_extents(fd: int, size: int) -> list[tuple[int, int]] | None:
    """(offset, length) of each region of ``fd`` below ``size`` that may hold data, or None
    when the file system cannot tell (no SEEK_DATA)."""
    extents: list[tuple[int, int]] = []
    offset = 0
    while offset < size:
        try:
            start = os.lseek(fd, offset, os.SEEK_DATA)
        except OSError as e:
            if e.errno == errno.ENXIO:          # no data at or after offset
                break
            if e.errno in (errno.EINVAL, errno.EOPNOTSUPP) and offset == 0:
                return None
            raise
        if start >= size:
            break
        end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
        extents.append((start, end - start))
        offset = end
    return extents


def _copy_range_rw(src: int, dst: int, offset: int, length: int) -> None:
    """Copy with pread/pwrite, leaving all-zero chunks as holes."""
    end = offset + length
    while offset < end:
        want = min(CHUNK, end - offset)
        buf = os.pread(src, want, offset)
        if not buf:
            return                              # source shrank under us: the rest stays zero
        if buf != _ZERO[: len(buf)]:
            view = memoryview(buf)
            written = 0
            while written < len(buf):
                written += os.pwrite(dst, view[written:], offset + written)
        offset += len(buf)


def _copy_range(src: int, dst: int, offset: int, length: int, state: dict[str, bool]) -> None:
    end = offset + length
    while offset < end and state["cfr"]:
        try:
            n = os.copy_file_range(src, dst, end - offset, offset, offset)
        except OSError as e:
            if e.errno not in _FALLBACK_ERRNOS:
                raise
            state["cfr"] = False
            break
        if n == 0:
            return
        offset += n
    if offset < end:
        _copy_range_rw(src, dst, offset, end - offset)


def copy_sparse(src: int, dst: int, size: int, dst_size: int | None = None) -> int:
    """Copy the first ``size`` bytes of ``src`` into ``dst``, keeping holes; ``dst`` ends up
    exactly ``dst_size`` (default ``size``) long. Returns the bytes of data extents copied."""
    os.ftruncate(dst, 0)
    os.ftruncate(dst, size if dst_size is None else dst_size)
    extents = data_extents(src, size)
    if extents is None:
        # Holes unknown: copy_file_range would write them out, so read everything and skip
        # the all-zero chunks instead.
        _copy_range_rw(src, dst, 0, size)
        copied = size
    else:
        state = {"cfr": hasattr(os, "copy_file_range")}
        copied = 0
        for offset, length in extents:
            _copy_range(src, dst, offset, length, state)
            copied += length
    os.fsync(dst)
    return copied


PIECE = CHUNK              # imports skip all-zero pieces of this size
SEND = 4 << 20             # exports read and send this much at a time
_ZEROS = bytes(4 * SEND)   # holes are sent from here, up to 16 MiB per write


# --- images sent and received over HTTP ------------------------------------------------------
def raw_pieces(fd: int, size: int) -> Iterator[bytes | memoryview]:
    """The image's bytes in pieces of up to 1 MiB; holes are sent as zeros without reading."""
    extents = data_extents(fd, size)
    if extents is None:
        extents = [(0, size)]
    pos = 0
    zeros = memoryview(_ZEROS)
    for off, length in extents + [(size, 0)]:
        while pos < off:
            n = min(len(zeros), off - pos)
            yield zeros[:n]
            pos += n
        end = off + length
        while pos < end:
            n = min(SEND, end - pos)
            yield os.pread(fd, n, pos)
            pos += n


# --- writing an image ---------------------------------------------------------------------
def empty_image(fd: int, size: int) -> None:
    """Make the image all holes (a regular file) before an import writes what is not zero."""
    st = os.fstat(fd)
    if os.path.isfile(f"/proc/self/fd/{fd}") or (st.st_mode & 0o170000) == 0o100000:
        os.ftruncate(fd, 0)
        os.ftruncate(fd, size)
    else:                                   # a device: zeros have to be written
        for off in range(0, size, len(_ZEROS)):
            os.pwrite(fd, _ZEROS[:min(len(_ZEROS), size - off)], off)


def write_sparse(fd: int, offset: int, data: bytes) -> None:
    """Write `data` at `offset`, skipping the 1 MiB-aligned pieces that are all zero."""
    view = memoryview(data)
    pos = 0
    while pos < len(data):
        n = min(PIECE - (offset + pos) % PIECE, len(data) - pos)
        piece = view[pos:pos + n]
        if piece.tobytes().count(0) != n:
            os.pwrite(fd, piece, offset + pos)
        pos += n


_FALLOC_PUNCH = 0x02 | 0x01        # FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
_libc: Any = None


def punch(fd: int, offset: int, length: int) -> None:
    """Make `length` bytes at `offset` read as zeros: a hole where the file system can punch
    one (fallocate), written zeros elsewhere (a device, a file system without it)."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    if _libc.fallocate(fd, _FALLOC_PUNCH, offset, length) == 0:
        return
    err = ctypes.get_errno()
    if err not in (errno.EOPNOTSUPP, errno.ENODEV, errno.ENOSYS):
        raise OSError(err, os.strerror(err))
    end = offset + length
    while offset < end:
        offset += os.pwrite(fd, memoryview(_ZEROS)[:min(len(_ZEROS), end - offset)], offset)
