"""libxl's log, routed into Python ``logging`` (logger "xenlight") and captured per thread.

The C shim formats each message (libxl hands a va_list) and calls :func:`emit` in the thread
that made the libxl call, so the lines a failing call produced can be attached to its
exception: :func:`begin` starts a capture for the current thread, :func:`end` returns it.
"""
from __future__ import annotations

import logging
import os
import threading

logger = logging.getLogger("xenlight")
# A library must not print through logging's last-resort handler: applications configure it.
logger.addHandler(logging.NullHandler())

# xentoollog levels (XTL_*), an ABI-stable enum.
XTL_DEBUG, XTL_VERBOSE, XTL_DETAIL, XTL_PROGRESS, XTL_INFO = 1, 2, 3, 4, 5
XTL_NOTICE, XTL_WARN, XTL_ERROR, XTL_CRITICAL = 6, 7, 8, 9

_TO_LOGGING = {
    XTL_DEBUG: logging.DEBUG, XTL_VERBOSE: logging.DEBUG, XTL_DETAIL: logging.DEBUG,
    XTL_PROGRESS: logging.INFO, XTL_INFO: logging.INFO, XTL_NOTICE: logging.INFO,
    XTL_WARN: logging.WARNING, XTL_ERROR: logging.ERROR, XTL_CRITICAL: logging.CRITICAL,
}

_tls = threading.local()


def min_xtl_level() -> int:
    """The lowest libxl level worth formatting: what logging wants, but never above WARN so
    that warnings and errors are always available for exceptions."""
    if logger.isEnabledFor(logging.DEBUG):
        return XTL_DEBUG
    if logger.isEnabledFor(logging.INFO):
        return XTL_PROGRESS
    return XTL_WARN


def format_line(errnoval: int, context: str | None, msg: str) -> str:
    line = f"{context}: {msg}" if context else msg
    if errnoval > 0:
        line += f": {os.strerror(errnoval)}"
    return line


def emit(level: int, errnoval: int, context: str | None, msg: str) -> None:
    line = format_line(errnoval, context, msg)
    lines = getattr(_tls, "lines", None)
    if lines is not None and level >= XTL_WARN:
        lines.append(line)
    pylevel = _TO_LOGGING.get(level, logging.ERROR)
    if logger.isEnabledFor(pylevel):
        logger.log(pylevel, "%s", line)


def begin() -> list[str] | None:
    """Start capturing this thread's libxl warnings/errors; returns the previous capture."""
    prev = getattr(_tls, "lines", None)
    _tls.lines = []
    return prev


def end(prev: list[str] | None) -> list[str]:
    """Stop capturing (restoring the outer capture, if nested) and return the lines."""
    lines = _tls.lines
    _tls.lines = prev
    if prev is not None:
        prev.extend(lines)
    return lines
