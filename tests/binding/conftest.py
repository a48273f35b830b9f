"""Fixtures for the binding tests: a sim context on a freshly reset simulated host."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest

from xenlight_py import Context, DomainConfig

# The simulated host is process-wide; a state file in the environment would make tests
# share state with other processes.
os.environ.pop("XLSIM_STATE_FILE", None)


@pytest.fixture
def ctx() -> Iterator[Context]:
    c = Context(backend="sim")
    c.sim.configure()          # xlsim_host_configure(NULL): only dom0, no faults, no events
    try:
        yield c
    finally:
        c.sim.clear_faults()
        c.close()


@pytest.fixture
def image(tmp_path: Path) -> Callable[..., str]:
    """image(name) makes a sparse disk image file and returns its path: like libxl, the
    simulator stats a local disk's file and refuses one that is not there."""
    def make(name: str, size: int = 1 << 20) -> str:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            f.truncate(size)
        return str(path)
    return make


@pytest.fixture
def pv() -> DomainConfig:
    return DomainConfig(name="pv1", kernel="/boot/vmlinuz", ramdisk="/boot/initrd.img",
                        cmdline="console=hvc0", memory=256, vcpus=2)


XENLIGHT = Path(sys.executable).with_name("xenlight")   # the installed console script


def run_cli(*args: str, env: dict[str, str] | None = None,
            input: str | None = None) -> "subprocess.CompletedProcess[str]":
    """The installed ``xenlight`` script with ARGS, in the environment plus env."""
    assert XENLIGHT.exists(), f"{XENLIGHT} is not installed (make venv)"
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([str(XENLIGHT), *args], capture_output=True, text=True, env=e,
                          timeout=120, input=input)
