"""Small file helpers shared by the storage tests."""
from __future__ import annotations

import os
import uuid

MiB = 1 << 20


def new_uuid() -> str:
    return str(uuid.uuid4())


def write_at(path: str, offset: int, data: bytes) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def read_at(path: str, offset: int, length: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(length)


def allocated(path: str) -> int:
    return os.stat(path).st_blocks * 512


SHARED_PREFIX = ".first-"


def record_names(attach_dir: str | os.PathLike[str]) -> list[str]:
    """The names in a file SR's attachment directory but its shared first-attachment records
    (hidden `.first-*` files, kept while the driver lives): the VDIs' records, and anything
    left staged, sorted."""
    return sorted(n for n in os.listdir(attach_dir) if not n.startswith(SHARED_PREFIX))
