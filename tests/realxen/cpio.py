"""A minimal writer for the Linux initramfs format ("newc" cpio).

Written here (instead of shelling out to cpio) so that device nodes, modes and
ownership come out right without root privileges or mknod on the host, and so
the archive is reproducible from its inputs.
"""
from __future__ import annotations

import os
import stat
from pathlib import PurePosixPath
from typing import BinaryIO


class CpioError(Exception):
    """The archive would be malformed (duplicate or relative path, bad parent)."""


class CpioWriter:
    """Appends entries to a newc archive; parents are created on demand."""

    def __init__(self, out: BinaryIO, mtime: int = 0) -> None:
        self._out = out
        self._ino = 1
        self._mtime = mtime
        self._entries: dict[str, int] = {}  # path -> file type bits
        self.total_bytes = 0

    def _header(self, name: str, mode: int, size: int, nlink: int = 1,
                rdev: tuple[int, int] = (0, 0), mtime: int | None = None) -> None:
        raw_name = name.encode() + b"\0"
        fields = [
            self._ino, mode, 0, 0, nlink, self._mtime if mtime is None else mtime,
            size, 0, 0, rdev[0], rdev[1], len(raw_name), 0,
        ]
        self._ino += 1
        head = b"070701" + b"".join(b"%08X" % f for f in fields) + raw_name
        self._write(head)
        self._pad()

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self.total_bytes += len(data)

    def _pad(self) -> None:
        rem = self.total_bytes % 4
        if rem:
            self._write(b"\0" * (4 - rem))

    def _norm(self, path: str) -> str:
        p = PurePosixPath(path)
        if not p.is_absolute():
            raise CpioError(f"archive path must be absolute: {path!r}")
        return str(p).lstrip("/")

    def _claim(self, name: str, kind: int) -> bool:
        """Records a new entry; False when an identical directory already exists."""
        if name in self._entries:
            if kind == stat.S_IFDIR and self._entries[name] == stat.S_IFDIR:
                return False
            raise CpioError(f"duplicate archive entry: /{name}")
        parent = str(PurePosixPath(name).parent)
        if parent != ".":
            self.mkdir("/" + parent)
        self._entries[name] = kind
        return True

    def exists(self, path: str) -> bool:
        return self._norm(path) in self._entries

    def mkdir(self, path: str, mode: int = 0o755) -> None:
        name = self._norm(path)
        if name and self._claim(name, stat.S_IFDIR):
            self._header(name, stat.S_IFDIR | mode, 0, nlink=2)

    def add_bytes(self, path: str, data: bytes, mode: int = 0o644,
                  mtime: int | None = None) -> None:
        name = self._norm(path)
        self._claim(name, stat.S_IFREG)
        self._header(name, stat.S_IFREG | mode, len(data), mtime=mtime)
        self._write(data)
        self._pad()

    def add_file(self, path: str, src: str | os.PathLike[str], mode: int | None = None) -> None:
        """Copies a host file; keeps its mtime (so Python's .pyc stay valid)."""
        st = os.stat(src)
        with open(src, "rb") as f:
            data = f.read()
        self.add_bytes(path, data, mode if mode is not None else stat.S_IMODE(st.st_mode),
                       mtime=int(st.st_mtime))

    def add_symlink(self, path: str, target: str) -> None:
        name = self._norm(path)
        self._claim(name, stat.S_IFLNK)
        data = target.encode()
        self._header(name, stat.S_IFLNK | 0o777, len(data))
        self._write(data)
        self._pad()

    def add_chardev(self, path: str, major: int, minor: int, mode: int = 0o600) -> None:
        name = self._norm(path)
        self._claim(name, stat.S_IFCHR)
        self._header(name, stat.S_IFCHR | mode, 0, rdev=(major, minor))

    def close(self) -> None:
        self._header("TRAILER!!!", 0, 0, nlink=1)
        # The kernel reads the archive in 512-byte blocks.
        rem = self.total_bytes % 512
        if rem:
            self._write(b"\0" * (512 - rem))
