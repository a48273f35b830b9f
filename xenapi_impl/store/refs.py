"""Fresh references and uuids.

Random version-4 uuids, cut from kernel randomness read 4 KiB at a time: ``os.urandom`` releases
the GIL for its system call, and on the event loop each release means waiting to take the GIL
back from busy worker threads (a VM start makes several refs). References name sessions, so the
bytes stay the kernel's own (no userspace generator); a forked child never reuses its parent's
unread bytes.
"""
from __future__ import annotations

import os
import threading

NULL_REF = "OpaqueRef:NULL"
REF_PREFIX = "OpaqueRef:"

_BATCH = 4096
_lock = threading.Lock()
_pool = b""
_pos = 0


def _forget_pool() -> None:
    global _pool, _pos, _lock
    _pool, _pos, _lock = b"", 0, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


def _uuid4() -> str:
    global _pool, _pos
    with _lock:
        if _pos >= len(_pool):
            _pool, _pos = os.urandom(_BATCH), 0
        b = bytearray(_pool[_pos:_pos + 16])
        _pos += 16
    b[6] = (b[6] & 0x0F) | 0x40          # version 4
    b[8] = (b[8] & 0x3F) | 0x80          # RFC 4122 variant
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def new_ref() -> str:
    return REF_PREFIX + _uuid4()


def new_uuid() -> str:
    return _uuid4()
