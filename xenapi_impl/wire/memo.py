"""Per-Record memo of an encoded form.

A `Record` is never mutated once handed out (docs/CONTRACTS.md), so its identity stands for one
version of an object and its encoding can be reused until it dies. Records are dicts, hence not
hashable, so the memo is keyed by id() and guarded by a weak reference: the entry is dropped
when the Record is collected, and a reused id can never hit because the reference would be dead.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable, Generic, Iterator, TypeVar

from ..values import Record

T = TypeVar("T")


class _Entry(weakref.ref[Record]):
    __slots__ = ("encoded", "key", "owner")
    encoded: Any
    key: int
    owner: weakref.ref[RecordMemo[Any]]


def _drop(entry: _Entry) -> None:
    """Weakref callback: the Record died; forget its encoding."""
    memo = entry.owner()
    # A newer entry may sit under the same id already: only remove our own.
    if memo is not None and memo._entries.get(entry.key) is entry:
        memo._entries.pop(entry.key, None)


class RecordMemo(Generic[T]):
    """Encoded form per live Record, for one encoding."""

    __slots__ = ("__weakref__", "_entries")

    def __init__(self) -> None:
        self._entries: dict[int, _Entry] = {}

    def get(self, record: Record) -> T | None:
        entry = self._entries.get(id(record))
        if entry is not None and entry() is record:
            encoded: T = entry.encoded
            return encoded
        return None

    def put(self, record: Record, encoded: T) -> None:
        entry = _Entry(record, _drop)
        entry.key = id(record)
        entry.encoded = encoded
        # Weak, so that a memo can be collected while Records it saw live on.
        entry.owner = weakref.ref(self)
        self._entries[entry.key] = entry

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()


#: every encoding's memo and the function that encodes a Record into it (prewarm.py)
CODECS: list[tuple[RecordMemo[Any], Callable[[Record], Any]]] = []


def register(memo: RecordMemo[Any], encode: Callable[[Record], Any]) -> None:
    CODECS.append((memo, encode))


def _pieces(parts: list[Any]) -> Iterator[bytes]:
    """`parts` as UTF-8 bytes pieces: each run of text encoded at once, bytes as they are."""
    run: list[str] = []
    for p in parts:
        if type(p) is str:
            run.append(p)
        else:
            if run:
                yield "".join(run).encode()
                run = []
            yield p
    if run:
        yield "".join(run).encode()


def join_parts(parts: list[Any]) -> bytes:
    """Join encoder output (text pieces, and bytes of memoized Records) into UTF-8 bytes."""
    try:
        return "".join(parts).encode()  # no Record inside: the common case, all in C
    except TypeError:
        pass
    return b"".join(_pieces(parts))


def encoded_pieces(parts: list[Any]) -> list[bytes]:
    """What join_parts gives, as consecutive pieces: the bytes of each memoized Record as they
    are (not copied) and each run of text between them encoded at once. A reply of many Records
    is sent from these without first copying it into one object or into pieces of it (at 10,000
    VMs that is 75 MB, and copying it cost a warm get_all_records a third of its time);
    server/replies.py groups them for writers that want fewer, larger pieces."""
    if len(parts) == 3 and type(parts[1]) is bytes and type(parts[0]) is type(parts[2]) is str:
        # one memoized Record in its envelope (a get_record): the join below would fail, and
        # Python's TypeError for it costs more than the rest of this function
        return [parts[0].encode(), parts[1], parts[2].encode()]
    try:
        return ["".join(parts).encode()]  # no Record inside: the common case, all in C
    except TypeError:
        pass
    return list(_pieces(parts))
