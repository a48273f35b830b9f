"""`python -m build` makes an sdist that builds a wheel on its own (the simulator's sources and
headers inside), with the license as an SPDX expression and its file (PEP 639)."""
from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.packaging


def _run(args: list[str], cwd: Path) -> None:
    r = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"{args} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"


def test_sdist_builds_a_wheel(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "build", "--sdist", "--outdir", str(dist), str(REPO)], REPO)
    [sdist] = dist.glob("xen_py_toolstack-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
        pkg_info = tar.extractfile(f"{sdist.name[:-7]}/PKG-INFO").read().decode()
    for needed in ("LICENSE", "setup.py", "stubs/libxl_sim/include/libxl.h",
                   "stubs/libxl_sim/include/xlsim.h", "stubs/libxl_sim/src/sim_internal.h",
                   "stubs/libxl_sim/src/domain.c", "xenlight_py/decl/sim_shim.h",
                   "xenlight_py/_build_ffi.py"):
        assert needed in names, needed
    assert not [n for n in names if n.endswith((".so", ".o", ".pyc"))]
    assert "License-Expression: LGPL-2.1-only" in pkg_info
    assert "License-File: LICENSE" in pkg_info

    # a wheel from the sdist alone, in a directory with nothing of the repository
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                        str(work), str(sdist)], cwd=work, capture_output=True, text=True,
                       timeout=900, env=env)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    [wheel] = work.glob("xen_py_toolstack-*.whl")
    with zipfile.ZipFile(wheel) as z:
        wnames = z.namelist()
        metadata = z.read(next(n for n in wnames if n.endswith(".dist-info/METADATA"))).decode()
        z.extractall(work / "unpacked")
    assert any(n.startswith("xenlight_py/_sim") and n.endswith(".so") for n in wnames)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in wnames)
    assert "License-Expression: LGPL-2.1-only" in metadata
    # the compiled simulator backend from the wheel loads
    r = subprocess.run([sys.executable, "-c", "import xenlight_py, xenlight_py._sim as s; "
                        "print(xenlight_py.__file__, s.lib.xlsim_host_configure)"],
                       cwd=work / "unpacked", capture_output=True, text=True, timeout=60,
                       env=env)
    assert r.returncode == 0, r.stderr
    assert str(work / "unpacked") in r.stdout
