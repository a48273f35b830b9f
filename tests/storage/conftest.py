"""Fixtures for the storage driver tests: real directories, real files, a real tiny tmpfs."""
from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from xenapi_impl.storage import FileSRDriver, ISOSRDriver

sys.path.insert(0, os.path.dirname(__file__))
from sr_helpers import new_uuid  # noqa: E402


@pytest.fixture
def sr_path(tmp_path: Path) -> str:
    return str(tmp_path / "sr")


@pytest.fixture
def file_sr(sr_path: str) -> FileSRDriver:
    sr = FileSRDriver(new_uuid(), {"path": sr_path})
    sr.create()
    sr.attach()
    return sr


@pytest.fixture
def iso_dir(tmp_path: Path) -> Path:
    lib = tmp_path / "isos"
    lib.mkdir()
    return lib


@pytest.fixture
def iso_sr(iso_dir: Path) -> ISOSRDriver:
    sr = ISOSRDriver(new_uuid(), {"location": str(iso_dir)})
    sr.create()
    sr.attach()
    return sr


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs mounted for the test (needs root), unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        # an attached file SR holds its metadata file open (FileSRDriver._view): the drivers
        # a test dropped without detaching, kept by a cycle (a caught exception's traceback),
        # go first
        gc.collect()
        subprocess.run(["umount", str(mnt)], check=True)
