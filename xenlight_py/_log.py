"""libxl's log, routed into Python ``logging`` (logger "xenlight") and captured per thread.

The C shim formats each message (libxl hands a va_list) and calls :func:`emit` in the thread
that made the libxl call, so the lines a failing call produced can be attached to its
exception: read ``tls.seq`` before the call, :func:`since` after it.
"""
from __future__ import annotations

import logging
import os
import threading
from collections import deque

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

class _ThreadLog(threading.local):
    """Per thread: a short ring of recent warning/error lines numbered by ``seq`` (cheap: a
    call only reads ``seq`` before it and looks at the ring only if it failed)."""

    def __init__(self) -> None:
        self.seq = 0
        self.recent: deque[tuple[int, str]] = deque(maxlen=RING)


RING = 64
tls = _ThreadLog()
_tls = tls


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
    if level >= XTL_WARN:
        t = _tls
        t.seq += 1
        t.recent.append((t.seq, line))
    pylevel = _TO_LOGGING.get(level, logging.ERROR)
    if logger.isEnabledFor(pylevel):
        logger.log(pylevel, "%s", line)


def since(seq: int) -> list[str]:
    """This thread's warning/error lines emitted after ``tls.seq`` was ``seq``."""
    return [line for n, line in _tls.recent if n > seq]


def last(n: int) -> list[str]:
    """This thread's last `n` warning/error lines (what a call that counted them in C logged;
    at most the ring's length)."""
    if n <= 0:
        return []
    recent = _tls.recent
    return [line for _, line in list(recent)[-n:]]
