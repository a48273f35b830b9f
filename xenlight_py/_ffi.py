"""The one import point for the compiled cffi modules (``ffi``/``lib``) of both backends.

``load("sim")`` / ``load("xen")`` import ``xenlight_py._sim`` / ``xenlight_py._xen`` once,
attach the extern "Python" callbacks (log and osevent hooks) and return a :class:`Backend`.
``backend_name(None)`` reads ``XENLIGHT_BACKEND`` (default "xen").
"""
from __future__ import annotations

import importlib
import os
import threading
from dataclasses import dataclass
from typing import Any

from . import _log
from .errors import BackendUnavailable, ERROR_FAIL, ERROR_INVAL, invalid

BACKENDS = ("xen", "sim")
ENV_VAR = "XENLIGHT_BACKEND"


@dataclass(frozen=True)
class Backend:
    name: str
    ffi: Any
    lib: Any

    @property
    def is_sim(self) -> bool:
        return self.name == "sim"

    def error_name(self, rc: int) -> str:
        s = self.lib.libxl_error_to_string(rc)
        return self.ffi.string(s).decode() if s else f"unknown({rc})"


_loaded: dict[str, Backend] = {}
_lock = threading.Lock()


def backend_name(explicit: str | None = None) -> str:
    name = explicit if explicit is not None else os.environ.get(ENV_VAR, "xen")
    if name not in BACKENDS:
        source = "backend" if explicit is not None else ENV_VAR
        raise invalid(f"unknown {source} {name!r}: expected one of {', '.join(BACKENDS)}")
    return name


def load(name: str) -> Backend:
    b = _loaded.get(name)
    if b is not None:
        return b
    with _lock:
        b = _loaded.get(name)
        if b is None:
            b = _loaded[name] = _import(backend_name(name))
    return b


def _import(name: str) -> Backend:
    try:
        mod = importlib.import_module(f"xenlight_py._{name}")
    except ImportError as e:
        hint = ("it is built only when the Xen headers (libxen-dev) are installed at build time"
                if name == "xen" else "reinstall the package (pip install -e .) to build it")
        raise BackendUnavailable(ERROR_FAIL, "fail",
                                 f"the {name!r} backend is not available ({e}); {hint}") from e
    ffi, lib = mod.ffi, mod.lib
    _attach_callbacks(ffi)
    return Backend(name, ffi, lib)


def _attach_callbacks(ffi: Any) -> None:
    string = ffi.string
    from_handle = ffi.from_handle

    @ffi.def_extern(onerror=_callback_error)
    def xlpy_log_cb(level, errnoval, context, msg):  # type: ignore[no-untyped-def]
        _log.emit(level, errnoval,
                  string(context).decode(errors="replace") if context else None,
                  string(msg).decode(errors="replace"))

    # Osevent hooks: user is a handle on the context's OsEvents registry (events.py).
    @ffi.def_extern(onerror=_callback_error)
    def xlpy_fd_register(user, fd, events, for_libxl):  # type: ignore[no-untyped-def]
        return from_handle(user).fd_register(fd, events, for_libxl)

    @ffi.def_extern(onerror=_callback_error)
    def xlpy_fd_modify(user, token, fd, events):  # type: ignore[no-untyped-def]
        return from_handle(user).fd_modify(token, fd, events)

    @ffi.def_extern(onerror=_callback_error)
    def xlpy_fd_deregister(user, token, fd):  # type: ignore[no-untyped-def]
        from_handle(user).fd_deregister(token, fd)

    @ffi.def_extern(onerror=_callback_error)
    def xlpy_timeout_register(user, sec, usec, for_libxl):  # type: ignore[no-untyped-def]
        return from_handle(user).timeout_register(sec, usec, for_libxl)

    @ffi.def_extern(onerror=_callback_error)
    def xlpy_timeout_modify(user, token, sec, usec):  # type: ignore[no-untyped-def]
        return from_handle(user).timeout_modify(token, sec, usec)

    @ffi.def_extern(onerror=_callback_error)
    def xlpy_timeout_deregister(user, token):  # type: ignore[no-untyped-def]
        from_handle(user).timeout_deregister(token)


def _callback_error(exc_type, exc_value, tb):  # type: ignore[no-untyped-def]
    # A Python exception cannot cross libxl: log it; the callback returns 0/-1 defaults
    # (registration hooks then report failure to libxl: token 0 means "failed").
    _log.logger.error("exception in a libxl callback", exc_info=(exc_type, exc_value, tb))
    return None


__all__ = ["Backend", "BACKENDS", "ENV_VAR", "backend_name", "load", "ERROR_INVAL"]
