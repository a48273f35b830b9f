"""Build hook for the compiled cffi backends (metadata lives in pyproject.toml).

``pip install .`` / ``pip install -e .`` build ``xenlight_py._sim`` and
``xenapi_impl.store._groupwriter`` (the SQLite store's writer, against libsqlite3) always, and
``xenlight_py._xen`` when the Xen headers are installed (``/usr/include/libxl.h``, Debian
package libxen-dev). ``XENLIGHT_BUILD_XEN=0`` skips the Xen backend, ``=1`` requires it.
"""
import os

from setuptools import setup

modules = ["xenlight_py/_build_ffi.py:ffibuilder_sim",
           "xenapi_impl/store/_build_writer.py:ffibuilder"]
want_xen = os.environ.get("XENLIGHT_BUILD_XEN")
if want_xen == "1" or (want_xen != "0" and os.path.exists("/usr/include/libxl.h")):
    modules.append("xenlight_py/_build_ffi.py:ffibuilder_xen")

setup(cffi_modules=modules)
