"""Giving freed memory back to the system.

Large replies (get_all_records of a big pool: megabytes each, one per client) are freed when
they are sent or the client is dropped, but glibc raises its mmap threshold after the first
such frees, so later ones come from the heap, which fragments and is never returned: the
server kept hundreds of megabytes after a few rounds of clients that disconnected mid-reply.
A fixed threshold keeps every allocation of a megabyte or more in its own mapping, unmapped as
soon as it is freed.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3           # glibc's mallopt parameter numbers (malloc.h)
LARGE = 1 << 20


def return_large_frees_to_os(threshold: int = LARGE) -> bool:
    """Fix glibc's mmap threshold at `threshold` bytes; False where there is no glibc."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    if mallopt(M_MMAP_THRESHOLD, threshold) != 1:
        log.debug("mallopt(M_MMAP_THRESHOLD) refused")
        return False
    return True

