"""Request bodies sent with Content-Encoding gzip or deflate, inflated up to a limit.

aiohttp can inflate bodies itself, but it does so on the event loop as the bytes arrive (eight
gzip bombs kept the loop busy and every other client waiting) and, through `request.read()`,
in steps as large as the whole body limit. Here the compressed body is read as it is (its own
size bounded by the same limit) and inflated in a small thread pool, never past `limit + 1`
bytes: a bomb costs at most one limit's worth of output and CPU, off the loop.
"""
from __future__ import annotations

import asyncio
import zlib
from concurrent.futures import ThreadPoolExecutor

ENCODINGS = ("gzip", "x-gzip", "deflate")
#: bodies inflated at once; the others wait their turn without holding a core
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="inflate")


class InflateError(ValueError):
    """The body is not valid data in its encoding."""


class TooLarge(Exception):
    """The body inflates past the limit."""


def inflate(data: bytes, encoding: str, limit: int) -> bytes:
    """`data` decoded from `encoding` (one of ENCODINGS); TooLarge past `limit` bytes."""
    if encoding == "deflate":
        # RFC 9110's deflate is zlib-wrapped; some clients send a raw deflate stream
        wbits = zlib.MAX_WBITS if data[:1] and data[0] & 0x0F == 8 else -zlib.MAX_WBITS
    else:
        wbits = 16 + zlib.MAX_WBITS
    out = bytearray()
    rest = data
    try:
        while True:
            d = zlib.decompressobj(wbits)
            out += d.decompress(rest, limit + 1 - len(out))
            if len(out) > limit:
                raise TooLarge
            if not d.eof:
                raise InflateError("truncated")
            rest = d.unused_data
            if not rest or wbits != 16 + zlib.MAX_WBITS:     # gzip may have more members
                break
    except zlib.error as e:
        raise InflateError(str(e)) from None
    return bytes(out)


async def inflate_async(data: bytes, encoding: str, limit: int) -> bytes:
    return await asyncio.get_running_loop().run_in_executor(_POOL, inflate, data, encoding,
                                                            limit)
