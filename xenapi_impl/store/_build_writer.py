"""Build ``xenapi_impl.store._groupwriter``, the SQLite store's group writer (groupwriter.c,
against the system's libsqlite3: Debian package libsqlite3-dev), with cffi in API mode. Its
declarations are groupwriter.h itself. setup.py builds it; run directly to build in place.
"""
from __future__ import annotations

import os
import shutil

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
HEADER = os.path.join(HERE, "groupwriter.h")
SOURCE = os.path.join(HERE, "groupwriter.c")

# the C file is ours: warnings are errors (cffi's generated wrapper is compiled with it, and is
# warning-free under these flags)
CFLAGS = ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-O2"]


def cdef_text() -> str:
    """The header without its preprocessor lines."""
    with open(HEADER, encoding="utf-8") as f:
        return "\n".join(line for line in f.read().splitlines()
                         if not line.lstrip().startswith("#"))


def _rel(path: str, relative: bool) -> str:
    if relative and os.path.abspath(os.getcwd()) == ROOT:
        return os.path.relpath(path, ROOT)
    return path


def make(relative: bool = True) -> FFI:
    ffi = FFI()
    ffi.cdef(cdef_text())
    ffi.set_source("xenapi_impl.store._groupwriter", '#include "groupwriter.h"\n',
                   sources=[_rel(SOURCE, relative)], include_dirs=[_rel(HERE, relative)],
                   define_macros=[("_GNU_SOURCE", None)], extra_compile_args=CFLAGS,
                   libraries=["sqlite3", "pthread"])
    return ffi


ffibuilder = make()


if __name__ == "__main__":
    tmp = os.path.join(ROOT, "build", "groupwriter-inplace")
    os.makedirs(tmp, exist_ok=True)
    so = make(relative=False).compile(tmpdir=tmp)
    dest = os.path.join(HERE, os.path.basename(so))
    shutil.copy2(so, dest)
    print(dest)
