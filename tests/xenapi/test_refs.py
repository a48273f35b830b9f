"""Refs and uuids cut from buffered kernel randomness: valid version-4 uuids, unique across
threads, and a forked child never hands out the bytes its parent had buffered."""
from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor

from xenapi_impl.store.refs import REF_PREFIX, new_ref, new_uuid


def test_uuids_are_version_4_and_refs_carry_one() -> None:
    for _ in range(2000):
        u = new_uuid()
        parsed = uuid.UUID(u)
        assert str(parsed) == u and parsed.version == 4 and parsed.variant == uuid.RFC_4122
    ref = new_ref()
    assert ref.startswith(REF_PREFIX) and uuid.UUID(ref[len(REF_PREFIX):]).version == 4


def test_unique_across_threads() -> None:
    with ThreadPoolExecutor(8) as pool:
        batches = list(pool.map(lambda _: [new_uuid() for _ in range(5000)], range(8)))
    every = [u for b in batches for u in b]
    assert len(set(every)) == len(every)


def test_a_forked_child_does_not_repeat_the_parent() -> None:
    new_uuid()                                  # the parent now holds unread buffered bytes
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                                # child: report its next ids, exit at once
        os.close(r)
        os.write(w, " ".join(new_uuid() for _ in range(10)).encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        child = f.read().split()
    os.waitpid(pid, 0)
    parent = [new_uuid() for _ in range(10)]
    assert len(child) == 10 and not set(child) & set(parent)
