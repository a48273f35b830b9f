"""Build the cffi extensions: one declaration set (``decl/*.h``), two targets.

* ``xenlight_py._sim``: libxl/libxenctrl simulated by ``stubs/libxl_sim`` (its sources are
  compiled into the extension, its headers come first on the include path). Always built.
* ``xenlight_py._xen``: the system's libxenlight (``-lxenlight -lxenctrl -lxentoollog``).
  Built when ``/usr/include/libxl.h`` exists (see setup.py).

Run directly (``python xenlight_py/_build_ffi.py [sim|xen]``) to build in place.
"""
from __future__ import annotations

import glob
import os
import sys

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DECL = os.path.join(HERE, "decl")
SIM_DIR = os.path.join(ROOT, "stubs", "libxl_sim")

# Declaration areas, in dependency order. sim.h is added for the sim target only.
AREAS = ("types", "context", "domain", "events", "xc")

INCLUDES = """
#include <libxl.h>
#include <libxl_event.h>
#include <libxl_utils.h>
#include <xenctrl.h>
#include <xentoollog.h>
"""

# -Wall -Wextra on the generated module and our shim; -Werror stays off for the cffi-generated
# file (its code is not ours), our shim is checked with -Werror by tests/binding/test_build.py.
CFLAGS = ["-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"]


def _read(name: str) -> str:
    with open(os.path.join(DECL, name), encoding="utf-8") as f:
        return f.read()


def _rel(path: str, relative: bool = True) -> str:
    """Paths relative to the project root when building from it (setuptools prefers them)."""
    if relative and os.path.abspath(os.getcwd()) == ROOT:
        return os.path.relpath(path, ROOT)
    return path


def cdef_text(sim: bool) -> str:
    areas = AREAS + (("sim",) if sim else ())
    return "\n".join(_read(a + ".h") for a in areas)


def make_sim(relative: bool = True) -> FFI:
    """relative=False: absolute source paths (cffi's own compile() runs in its tmpdir)."""
    sources = sorted(glob.glob(os.path.join(SIM_DIR, "src", "*.c")))
    if not sources:
        raise RuntimeError(f"no simulator sources in {SIM_DIR}/src: cannot build xenlight_py._sim")
    ffi = FFI()
    ffi.cdef(cdef_text(sim=True))
    ffi.set_source(
        "xenlight_py._sim",
        INCLUDES + "#include <xlsim.h>\n" + _read("shim.h") + _read("sim_shim.h"),
        sources=[_rel(s, relative) for s in sources],
        include_dirs=[_rel(os.path.join(SIM_DIR, "include"), relative)],
        define_macros=[("_GNU_SOURCE", None)],
        extra_compile_args=CFLAGS + ["-std=gnu11"],
        # Bind the simulator's libxl_* calls to its own definitions even if a real
        # libxenlight is loaded in the same process (the xen backend).
        extra_link_args=["-Wl,-Bsymbolic"],
        libraries=["pthread", "m"],
    )
    return ffi


def make_xen() -> FFI:
    ffi = FFI()
    ffi.cdef(cdef_text(sim=False))
    ffi.set_source(
        "xenlight_py._xen",
        INCLUDES + _read("shim.h") + _read("xen_shim.h"),
        define_macros=[("_GNU_SOURCE", None)],
        extra_compile_args=CFLAGS + ["-std=gnu11"],
        libraries=["xenlight", "xenctrl", "xentoollog"],
    )
    return ffi


def xen_headers_present() -> bool:
    return os.path.exists("/usr/include/libxl.h")


# setup.py's cffi_modules refer to these names.
ffibuilder_sim = make_sim()
ffibuilder_xen = make_xen()


def build_inplace(target: str) -> str:
    """Compile one target under build/ (objects stay out of the source tree) and copy the
    extension next to this file. Returns its path."""
    import shutil
    builder = make_sim(relative=False) if target == "sim" else make_xen()
    tmp = os.path.join(ROOT, "build", "xenlight_py-inplace")
    os.makedirs(tmp, exist_ok=True)
    so = builder.compile(tmpdir=tmp)
    for old in glob.glob(os.path.join(HERE, f"_{target}.*.so")):
        os.unlink(old)
    # The name pip's build uses, so that either build replaces the other (a cpython-tagged
    # file would shadow an abi3 one rebuilt later by `make venv`).
    dest = os.path.join(HERE, f"_{target}.abi3.so")
    shutil.copy2(so, dest)
    return dest


if __name__ == "__main__":
    for t in sys.argv[1:] or ["sim", "xen"]:
        print(build_inplace(t))
