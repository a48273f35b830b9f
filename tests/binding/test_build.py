"""The two compiled targets: both import, the shared C shim is warning-free against the real
Xen headers and the simulator's, and a fresh clone builds both with no manual step."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DECL = ROOT / "xenlight_py" / "decl"

# Stand-ins for the extern "Python" callbacks cffi generates in the real module.
CALLBACKS = """
static void xlpy_log_cb(int l, int e, const char *c, const char *m) { (void)l; (void)e; (void)c; (void)m; }
static int xlpy_fd_register(void *u, int fd, short ev, void *f) { (void)u; (void)fd; (void)ev; (void)f; return 1; }
static int xlpy_fd_modify(void *u, int t, int fd, short ev) { (void)u; (void)t; (void)fd; (void)ev; return 0; }
static void xlpy_fd_deregister(void *u, int t, int fd) { (void)u; (void)t; (void)fd; }
static int xlpy_timeout_register(void *u, long s, long us, void *f) { (void)u; (void)s; (void)us; (void)f; return 1; }
static int xlpy_timeout_modify(void *u, int t, long s, long us) { (void)u; (void)t; (void)s; (void)us; return 0; }
static void xlpy_timeout_deregister(void *u, int t) { (void)u; (void)t; }
"""


def test_both_backends_import() -> None:
    from xenlight_py._ffi import load
    for name in ("sim", "xen"):
        b = load(name)
        assert hasattr(b.lib, "libxl_ctx_alloc") and hasattr(b.lib, "xlpy_logger_new")
    assert hasattr(load("sim").lib, "xlsim_host_configure")
    assert not hasattr(load("xen").lib, "xlsim_host_configure")


@pytest.mark.parametrize("headers", ["real", "sim"])
def test_shim_is_warning_free(tmp_path: Path, headers: str) -> None:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("no gcc")
    includes = ["#include <libxl.h>", "#include <libxl_event.h>", "#include <libxl_utils.h>",
                "#include <xenctrl.h>", "#include <xentoollog.h>"]
    flags = []
    text = "\n".join(includes) + "\n"
    if headers == "sim":
        flags = ["-I", str(ROOT / "stubs/libxl_sim/include")]
        text += "#include <xlsim.h>\n"
    text += (DECL / "shim.h").read_text() + CALLBACKS
    text += (DECL / ("sim_shim.h" if headers == "sim" else "xen_shim.h")).read_text()
    src = tmp_path / "shim.c"
    src.write_text(text)
    r = subprocess.run([gcc, "-std=gnu11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror",
                        "-Wno-unused-function", *flags, "-c", str(src), "-o",
                        str(tmp_path / "shim.o")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs the git work tree")
def test_fresh_clone_builds_both_targets(tmp_path: Path) -> None:
    """A clean checkout of the committed tree builds a wheel with both extensions, using
    only setup.py's cffi_modules (no manual step)."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(clone)], check=True)
    env = dict(os.environ)
    # with build isolation, as pip does for users (pyproject's build requirements)
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                        "-w", str(tmp_path / "dist"), str(clone)],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    wheel = next((tmp_path / "dist").glob("*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("xenlight_py/_sim") and n.endswith(".so") for n in names)
    assert any(n.startswith("xenlight_py/_xen") and n.endswith(".so") for n in names)
    assert "xenlight_py/decl/types.h" in names


WERROR = ["-Wall", "-Wextra", "-Werror"]


@pytest.mark.parametrize("level", ["-O0", "-Og", "-O3"])
def test_simulator_is_warning_free_at_every_level(tmp_path: Path, level: str) -> None:
    """gcc's format-truncation and flow warnings depend on the optimisation level (the
    simulator's Makefile builds at -O2, the harness below at -O1)."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("no gcc")
    for src in sorted((ROOT / "stubs/libxl_sim/src").glob("*.c")):
        r = subprocess.run([gcc, "-std=gnu11", "-D_GNU_SOURCE", level, *WERROR,
                            "-I", str(ROOT / "stubs/libxl_sim/include"), "-c", str(src),
                            "-o", str(tmp_path / (src.stem + ".o"))],
                           capture_output=True, text=True)
        assert r.returncode == 0, f"{src.name} at {level}: {r.stderr}"


def _build_harness(tmp_path: Path, sanitize: bool) -> Path:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("no gcc")
    san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"] if sanitize else []
    # the simulator and our shim alike: warnings are errors
    common = ["-std=gnu11", "-D_GNU_SOURCE", "-g", "-O1", *san, *WERROR,
              "-I", str(ROOT / "stubs/libxl_sim/include")]
    objs = []
    for src in sorted((ROOT / "stubs/libxl_sim/src").glob("*.c")):
        obj = tmp_path / (src.stem + ".o")
        r = subprocess.run([gcc, *common, "-c", str(src), "-o", str(obj)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        objs.append(str(obj))
    harness = tmp_path / "harness.o"
    r = subprocess.run([gcc, *common, "-I", str(DECL), "-c",
                        str(Path(__file__).parent / "shim_harness.c"), "-o", str(harness)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    exe = tmp_path / "harness"
    subprocess.run([gcc, *san, *objs, str(harness), "-lpthread", "-lm", "-o", str(exe)],
                   check=True)
    return exe


def test_shim_under_address_sanitizer(tmp_path: Path) -> None:
    """Logger, flat copies, predicate, hooks and IDL strings allocated by the shim: no leak,
    no invalid access (ASan + LeakSanitizer + UBSan)."""
    exe = _build_harness(tmp_path, sanitize=True)
    env = {**os.environ, "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0",
           "UBSAN_OPTIONS": "halt_on_error=1"}
    env.pop("XLSIM_STATE_FILE", None)
    r = subprocess.run([str(exe)], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind not installed")
def test_shim_under_valgrind(tmp_path: Path) -> None:
    exe = _build_harness(tmp_path, sanitize=False)
    env = dict(os.environ)
    env.pop("XLSIM_STATE_FILE", None)
    r = subprocess.run(["valgrind", "--error-exitcode=9", "--leak-check=full",
                        "--errors-for-leak-kinds=definite,indirect", str(exe)],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
