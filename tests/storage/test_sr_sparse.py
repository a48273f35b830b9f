"""Sparse copying: extents, the copy_file_range path and the read/write fallback."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from sr_helpers import MiB, allocated, read_at, write_at
from xenapi_impl.storage import sparse


def make_source(path: Path) -> dict[int, bytes]:
    """32 MiB with three islands of data, one of them 2 MiB of written zeros."""
    with open(path, "wb") as f:
        f.truncate(32 * MiB)
    writes = {0: b"head" * 1024, 10 * MiB: bytes(2 * MiB), 20 * MiB + 123: b"island"}
    for offset, data in writes.items():
        write_at(str(path), offset, data)
    return writes


def copy(src: Path, dst: Path, size: int, dst_size: int | None = None) -> int:
    s = os.open(src, os.O_RDONLY)
    d = os.open(dst, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        return sparse.copy_sparse(s, d, size, dst_size)
    finally:
        os.close(s)
        os.close(d)


def check_copy(src: Path, dst: Path, writes: dict[int, bytes]) -> None:
    assert os.path.getsize(dst) == os.path.getsize(src)
    for offset, data in writes.items():
        assert read_at(str(dst), offset, len(data)) == data
    assert read_at(str(dst), 5 * MiB, 4096) == bytes(4096)


def test_data_extents_find_the_written_regions(tmp_path: Path) -> None:
    src = tmp_path / "src"
    make_source(src)
    fd = os.open(src, os.O_RDONLY)
    try:
        extents = sparse.data_extents(fd, 32 * MiB)
    finally:
        os.close(fd)
    assert extents is not None and len(extents) == 3
    writes = make_source(src)
    for (start, length), (offset, data) in zip(extents, sorted(writes.items())):
        assert start <= offset and offset + len(data) <= start + length
    assert sum(length for _, length in extents) < 3 * MiB


def test_empty_and_all_hole_files(tmp_path: Path) -> None:
    hole = tmp_path / "hole"
    with open(hole, "wb") as f:
        f.truncate(8 * MiB)
    fd = os.open(hole, os.O_RDONLY)
    try:
        assert sparse.data_extents(fd, 8 * MiB) == []
        assert sparse.data_extents(fd, 0) == []
    finally:
        os.close(fd)
    assert copy(hole, tmp_path / "out", 8 * MiB) == 0
    assert os.path.getsize(tmp_path / "out") == 8 * MiB and allocated(str(tmp_path / "out")) == 0


def test_copy_keeps_holes(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    writes = make_source(src)
    copy(src, dst, 32 * MiB)
    check_copy(src, dst, writes)
    assert allocated(str(dst)) <= allocated(str(src))


def test_copy_grows_the_destination(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    writes = make_source(src)
    copy(src, dst, 32 * MiB, 48 * MiB)
    assert os.path.getsize(dst) == 48 * MiB
    for offset, data in writes.items():
        assert read_at(str(dst), offset, len(data)) == data


def test_fallback_without_copy_file_range_skips_zero_chunks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> int:
        raise OSError(errno.EXDEV, "cross-device")

    monkeypatch.setattr(os, "copy_file_range", refuse)
    src, dst = tmp_path / "src", tmp_path / "dst"
    writes = make_source(src)
    copy(src, dst, 32 * MiB)
    check_copy(src, dst, writes)
    # the 2 MiB of written zeros became a hole again
    assert allocated(str(dst)) < allocated(str(src)) - MiB


def test_fallback_without_seek_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_lseek = os.lseek

    def no_seek_data(fd: int, pos: int, how: int) -> int:
        if how in (os.SEEK_DATA, os.SEEK_HOLE):
            raise OSError(errno.EINVAL, "not supported")
        return real_lseek(fd, pos, how)

    monkeypatch.setattr(os, "lseek", no_seek_data)
    src, dst = tmp_path / "src", tmp_path / "dst"
    writes = make_source(src)
    fd = os.open(src, os.O_RDONLY)
    try:
        assert sparse.data_extents(fd, 32 * MiB) is None
    finally:
        os.close(fd)
    copy(src, dst, 32 * MiB)
    check_copy(src, dst, writes)
    assert allocated(str(dst)) < allocated(str(src))   # holes kept by zero detection


def test_copy_file_range_errors_that_are_real_failures_propagate(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> int:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "copy_file_range", broken)
    src = tmp_path / "src"
    make_source(src)
    with pytest.raises(OSError) as e:
        copy(src, tmp_path / "dst", 32 * MiB)
    assert e.value.errno == errno.EIO
