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
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise BackendFailure("MetadataIOError", f"cannot read {path}: {e.strerror}") from e
    try:
        doc = json.loads(data)
    except ValueError as e:
        raise BackendFailure("MetadataCorrupt", f"{path} is not valid JSON: {e}") from e
    if not isinstance(doc, dict):
        raise BackendFailure("MetadataCorrupt", f"{path} does not hold a JSON object")
    return doc


def write_json(path: str, doc: dict[str, Any]) -> None:
    """Replace ``path`` with ``doc`` atomically and durably."""
    directory = os.path.dirname(os.path.abspath(path))
    data = json.dumps(doc, indent=1, sort_keys=True).encode()
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(directory)


def fsync_dir(directory: str) -> None:
    dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
