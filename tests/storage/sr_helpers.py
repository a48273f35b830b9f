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
