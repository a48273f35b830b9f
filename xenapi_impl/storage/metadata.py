"""Small JSON documents written atomically: a reader sees the old or the new file, never half.

Write to a temporary file in the same directory, fsync it, rename it over the target, then fsync
the directory so the rename itself survives a crash.
"""
from __future__ import annotations

import json
import os
import tempfile
from typing import Any

from .errors import BackendFailure


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
    has to be inside it. Compact and unsorted: dumping is on the hot path of big SRs."""
    directory = os.path.dirname(os.path.abspath(path))
    data = json.dumps(doc, separators=(",", ":")).encode()
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
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
