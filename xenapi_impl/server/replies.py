"""What the transport's ways of answering a call (the RPC lane, fastrpc.py, the aiohttp route,
http.py, and the RPC workers' relay, relay.py) share about a reply: its content type, how a
large body is cut into pieces written one after another as the socket drains, and how one sent
with sendmsg/writev is stepped through."""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

XML_TYPE = "text/xml"            # exact: Xen Orchestra rejects a "; charset=" suffix
JSON_TYPE = "application/json"

#: bodies larger than this are written in pieces of at most STREAM_CHUNK bytes, waiting for the
#: socket to drain after each: one write of a huge body makes asyncio (3.11) buffer it all and
#: shift the buffer after each partial send, which costs more than encoding it
STREAM_OVER = 1 << 20
STREAM_CHUNK = 1 << 20

#: the most buffers one sendmsg/writev takes
IOV_MAX = os.sysconf("SC_IOV_MAX") if "SC_IOV_MAX" in os.sysconf_names else 16


def advance(views: list[memoryview], i: int, sent: int) -> int:
    """After `sent` more bytes of views[i:] went (sendmsg, writev): the index of the first view
    not wholly gone, that view cut to what is left of it."""
    while sent:
        size = len(views[i])
        if sent < size:
            views[i] = views[i][sent:]
            break
        sent -= size
        i += 1
    return i


def content_type(xml: bool) -> str:
    return XML_TYPE if xml else JSON_TYPE


def pieces(chunks: Iterable[bytes]) -> Iterator[bytes | memoryview]:
    """The body made of `chunks` in pieces of about STREAM_CHUNK bytes: runs of small chunks
    (a reply's memoized Records) joined, a large chunk cut into views (not copied)."""
    group: list[bytes] = []
    size = 0
    for chunk in chunks:
        if len(chunk) < STREAM_CHUNK:
            group.append(chunk)
            size += len(chunk)
            if size >= STREAM_CHUNK:
                yield b"".join(group)
                group, size = [], 0
            continue
        if group:
            yield b"".join(group)
            group, size = [], 0
        view = memoryview(chunk)
        for at in range(0, len(chunk), STREAM_CHUNK):
            yield view[at:at + STREAM_CHUNK]
    if group:
        yield b"".join(group)


def joined(chunks: list[bytes]) -> bytes:
    """A body of at most STREAM_OVER bytes in one piece (not copied if it is one already)."""
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
