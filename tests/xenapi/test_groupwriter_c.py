"""The SQLite store's group writer in C (xenapi_impl/store/groupwriter.c): warning-free at every
optimisation level, and a harness of its cases (groupwriter_harness.c) clean under
AddressSanitizer with UBSan, ThreadSanitizer and valgrind. A missing gcc, SQLite's headers or
valgrind fails these tests (.ci/run installs them), never skips them."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STORE = ROOT / "xenapi_impl" / "store"
HARNESS = Path(__file__).parent / "groupwriter_harness.c"
WERROR = ["-std=gnu11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror"]


@pytest.mark.parametrize("level", ["-O0", "-O2", "-O3"])
def test_the_writer_is_warning_free(tmp_path: Path, level: str) -> None:
    r = subprocess.run(["gcc", *WERROR, level, "-I", str(STORE), "-c",
                        str(STORE / "groupwriter.c"), "-o", str(tmp_path / "w.o")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def _build(tmp_path: Path, flags: list[str]) -> Path:
    exe = tmp_path / "harness"
    r = subprocess.run(["gcc", *WERROR, "-g", "-O1", *flags, "-I", str(STORE),
                        str(STORE / "groupwriter.c"), str(HARNESS), "-o", str(exe),
                        "-lsqlite3", "-lpthread"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return exe


def _run(cmd: list[str], tmp_path: Path, env: dict[str, str] | None = None) -> None:
    r = subprocess.run([*cmd, str(tmp_path / "test.db")], capture_output=True, text=True,
                       timeout=300, env={**os.environ, **(env or {})})
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr[-4000:]


def test_the_writer_under_address_sanitizer(tmp_path: Path) -> None:
    exe = _build(tmp_path, ["-fsanitize=address,undefined", "-fno-omit-frame-pointer",
                            "-fno-sanitize-recover=all"])
    _run([str(exe)], tmp_path, {"ASAN_OPTIONS": "detect_leaks=1"})


def test_the_writer_under_thread_sanitizer(tmp_path: Path) -> None:
    exe = _build(tmp_path, ["-fsanitize=thread"])
    _run([str(exe)], tmp_path, {"TSAN_OPTIONS": "halt_on_error=1"})


def test_the_writer_under_valgrind(tmp_path: Path) -> None:
    exe = _build(tmp_path, [])
    _run(["valgrind", "-q", "--error-exitcode=9", "--leak-check=full",
          "--errors-for-leak-kinds=definite,indirect", str(exe)], tmp_path)
