"""A small VHD (Virtual Hard Disk, Microsoft's published format) writer and stream reader.

Only what `/export_raw_vdi?format=vhd` and `/import_raw_vdi?format=vhd` need: a *dynamic* VHD
(disk type 3) made of

    footer copy (512) | dynamic header (1024) | BAT (4 bytes per block, padded to 512) |
    for each allocated block: sector bitmap (padded to 512) + block data (2 MiB) | footer (512)

All numbers are big-endian. A checksum is the one's complement of the byte sum of the
structure with its checksum field taken as zero. BAT entries are sector offsets of the blocks,
0xFFFFFFFF for a block that is not allocated (reads as zeros). In a sector bitmap the most
significant bit of byte 0 is sector 0 of the block; a clear bit reads as zeros.

The writer emits only blocks that hold data (found through SEEK_DATA, then all-zero blocks
dropped), so a sparse disk gives a small VHD. The reader consumes the stream in one pass
(blocks must come after the BAT, in any order of increasing offset, which is how every
writer lays them out) and hands back (offset, data) runs to write; blocks that are absent,
and sectors whose bitmap bit is clear, are holes. A fixed VHD (data then a footer) is also
accepted: its data is everything before the final footer.
"""
from __future__ import annotations

import os
import struct
import time
import uuid as _uuid
from dataclasses import dataclass
from typing import Callable, Iterator

SECTOR = 512
BLOCK_SIZE = 2 << 20
FOOTER_SIZE = 512
HEADER_SIZE = 1024
UNUSED = 0xFFFFFFFF
DISK_FIXED, DISK_DYNAMIC, DISK_DIFFERENCING = 2, 3, 4
VHD_EPOCH = 946684800          # 2000-01-01T00:00:00Z: VHD timestamps count from there

_FOOTER = struct.Struct(">8sIIQI4sI4sQQIII16sB427s")
_HEADER = struct.Struct(">8sQQIIII16sII512s192s256s")
assert _FOOTER.size == FOOTER_SIZE and _HEADER.size == HEADER_SIZE


class VhdError(ValueError):
    """The stream is not a VHD this reader understands, or it is damaged."""


def checksum(data: bytes) -> int:
    return (~sum(data)) & 0xFFFFFFFF


def _with_checksum(raw: bytes, at: int) -> bytes:
    zeroed = raw[:at] + b"\0\0\0\0" + raw[at + 4:]
    return raw[:at] + struct.pack(">I", checksum(zeroed)) + raw[at + 4:]


def geometry(size: int) -> int:
    """CHS as the VHD specification computes it from the size (cylinders<<16|heads<<8|spt)."""
    total = min(size // SECTOR, 65535 * 16 * 255)
    if total >= 65535 * 16 * 63:
        spt, heads = 255, 16
        cth = total // spt
    else:
        spt = 17
        cth = total // spt
        heads = max((cth + 1023) // 1024, 4)
        if cth >= heads * 1024 or heads > 16:
            spt, heads = 31, 16
            cth = total // spt
        if cth >= heads * 1024:
            spt, heads = 63, 16
            cth = total // spt
    cyl = cth // heads
    return (min(cyl, 65535) << 16) | (heads << 8) | spt


@dataclass(frozen=True)
class Footer:
    disk_type: int
    current_size: int
    data_offset: int
    unique_id: bytes

    def pack(self) -> bytes:
        raw = _FOOTER.pack(b"conectix", 2, 0x00010000, self.data_offset,
                           (int(time.time()) - VHD_EPOCH) & 0xFFFFFFFF, b"tap\0", 0x00010003,
                           b"Wi2k", self.current_size, self.current_size,
                           geometry(self.current_size), self.disk_type, 0, self.unique_id, 0,
                           b"\0" * 427)
        return _with_checksum(raw, 64)

    @classmethod
    def parse(cls, raw: bytes) -> "Footer":
        if len(raw) != FOOTER_SIZE:
            raise VhdError("the VHD footer is truncated")
        f = _FOOTER.unpack(raw)
        if f[0] != b"conectix":
            raise VhdError("not a VHD: no 'conectix' footer cookie")
        if f[12] != checksum(raw[:64] + b"\0\0\0\0" + raw[68:]):
            raise VhdError("the VHD footer checksum is wrong")
        if f[11] not in (DISK_FIXED, DISK_DYNAMIC, DISK_DIFFERENCING):
            raise VhdError(f"unknown VHD disk type {f[11]}")
        return cls(disk_type=f[11], current_size=f[9], data_offset=f[3], unique_id=f[13])


@dataclass(frozen=True)
class DynamicHeader:
    table_offset: int
    max_entries: int
    block_size: int

    def pack(self) -> bytes:
        raw = _HEADER.pack(b"cxsparse", 0xFFFFFFFFFFFFFFFF, self.table_offset, 0x00010000,
                           self.max_entries, self.block_size, 0, b"\0" * 16, 0, 0,
                           b"\0" * 512, b"\0" * 192, b"\0" * 256)
        return _with_checksum(raw, 36)

    @classmethod
    def parse(cls, raw: bytes) -> "DynamicHeader":
        if len(raw) != HEADER_SIZE:
            raise VhdError("the VHD dynamic header is truncated")
        h = _HEADER.unpack(raw)
        if h[0] != b"cxsparse":
            raise VhdError("no 'cxsparse' dynamic header cookie")
        if h[6] != checksum(raw[:36] + b"\0\0\0\0" + raw[40:]):
            raise VhdError("the VHD dynamic header checksum is wrong")
        bs = h[5]
        if bs < SECTOR or bs % SECTOR or bs & (bs - 1):
            raise VhdError(f"bad VHD block size {bs}")
        return cls(table_offset=h[2], max_entries=h[4], block_size=bs)


def _bitmap_size(block_size: int) -> int:
    return -(-(block_size // SECTOR // 8) // SECTOR) * SECTOR


# --- writer -----------------------------------------------------------------------------
@dataclass
class VhdPlan:
    """A dynamic VHD of a raw image: its layout is known before a byte is sent."""
    size: int
    blocks: list[int]           # allocated block numbers, increasing

    @property
    def entries(self) -> int:
        return -(-self.size // BLOCK_SIZE)

    @property
    def bat_bytes(self) -> int:
        return -(-(self.entries * 4) // SECTOR) * SECTOR

    @property
    def first_block(self) -> int:
        return FOOTER_SIZE + HEADER_SIZE + self.bat_bytes

    @property
    def block_bytes(self) -> int:
        return _bitmap_size(BLOCK_SIZE) + BLOCK_SIZE

    @property
    def length(self) -> int:
        return self.first_block + len(self.blocks) * self.block_bytes + FOOTER_SIZE


def _nonzero(data: bytes) -> bool:
    return data.count(0) != len(data)


def plan(fd: int, size: int, extents: list[tuple[int, int]] | None) -> VhdPlan:
    """The blocks of `fd` (a raw image of `size` bytes) that hold non-zero data."""
    candidates: set[int] = set()
    if extents is None:
        extents = [(0, size)]
    for off, length in extents:
        candidates.update(range(off // BLOCK_SIZE, -(-(off + length) // BLOCK_SIZE)))
    blocks = []
    for b in sorted(candidates):
        start = b * BLOCK_SIZE
        data = os.pread(fd, min(BLOCK_SIZE, size - start), start)
        if _nonzero(data):
            blocks.append(b)
    return VhdPlan(size, blocks)


def write(fd: int, p: VhdPlan) -> Iterator[bytes]:
    """The VHD of `p`, in pieces of at most one block (read from `fd` as it goes)."""
    footer = Footer(DISK_DYNAMIC, p.size, FOOTER_SIZE, _uuid.uuid4().bytes).pack()
    yield footer
    yield DynamicHeader(FOOTER_SIZE + HEADER_SIZE, p.entries, BLOCK_SIZE).pack()
    bat = [UNUSED] * p.entries
    sector = p.first_block // SECTOR
    for b in p.blocks:
        bat[b] = sector
        sector += p.block_bytes // SECTOR
    raw = struct.pack(f">{p.entries}I", *bat)
    yield raw + b"\xff" * (p.bat_bytes - len(raw))
    full_bitmap = b"\xff" * _bitmap_size(BLOCK_SIZE)
    for b in p.blocks:
        start = b * BLOCK_SIZE
        data = os.pread(fd, min(BLOCK_SIZE, p.size - start), start)
        if len(data) < BLOCK_SIZE:       # the last block reaches past the disk: zero-filled
            data += b"\0" * (BLOCK_SIZE - len(data))
        yield full_bitmap + data
    yield footer


# --- reader -----------------------------------------------------------------------------
class VhdReader:
    """Parses a VHD from a stream read through `read(n)` (returns up to n bytes, b"" at the
    end). `runs()` yields (disk offset, bytes) of the data; everything else is zeros."""

    def __init__(self, read: Callable[[int], bytes]) -> None:
        self._read = read
        self.pos = 0
        self.size = 0

    def _exact(self, n: int, what: str) -> bytes:
        out = bytearray()
        while len(out) < n:
            chunk = self._read(n - len(out))
            if not chunk:
                raise VhdError(f"the VHD ends early (in the {what}, at byte {self.pos + len(out)})")
            out += chunk
        self.pos += n
        return bytes(out)

    def _skip_to(self, offset: int, what: str) -> None:
        if offset < self.pos:
            raise VhdError(f"the {what} at byte {offset} comes before byte {self.pos}: "
                           "this reader needs the VHD in increasing order")
        while self.pos < offset:
            self._exact(min(offset - self.pos, 1 << 20), what)

    def runs(self) -> Iterator[tuple[int, bytes]]:
        first = self._exact(FOOTER_SIZE, "footer")
        try:
            footer = Footer.parse(first)
        except VhdError:
            footer = None
        if footer is None or footer.disk_type == DISK_FIXED:
            yield from self._fixed(first)
            return
        if footer.disk_type != DISK_DYNAMIC:
            raise VhdError("differencing VHDs (with a parent) cannot be imported on their own")
        self.size = footer.current_size
        self._skip_to(footer.data_offset, "dynamic header")
        header = DynamicHeader.parse(self._exact(HEADER_SIZE, "dynamic header"))
        if header.max_entries < -(-self.size // header.block_size):
            raise VhdError("the VHD's block table is too small for its size")
        self._skip_to(header.table_offset, "block table")
        n = header.max_entries
        bat = struct.unpack(f">{n}I", self._exact(n * 4, "block table"))
        bitmap_bytes = _bitmap_size(header.block_size)
        located = sorted((sec * SECTOR, b) for b, sec in enumerate(bat) if sec != UNUSED)
        for off, b in located:
            self._skip_to(off, f"block {b}")
            bitmap = self._exact(bitmap_bytes, f"bitmap of block {b}")
            data = self._exact(header.block_size, f"block {b}")
            base = b * header.block_size
            if base >= self.size:
                continue
            limit = min(header.block_size, self.size - base)
            yield from _present(bitmap, data[:limit], base)
        # the footer again, right after the last block (or the BAT): the stream's end. It is
        # not read to EOF: clients that do not know the length (Xen Orchestra) announce a
        # huge Content-Length and wait for the answer once the VHD is through
        try:
            end = Footer.parse(self._exact(FOOTER_SIZE, "closing footer"))
        except VhdError as exc:
            raise VhdError(f"the VHD does not end with its footer: {exc}") from None
        if end.current_size != footer.current_size:
            raise VhdError("the VHD's closing footer does not match its first one")

    def _fixed(self, first: bytes) -> Iterator[tuple[int, bytes]]:
        """A fixed VHD: the disk's bytes, then the footer (so the last 512 bytes are held
        back until the stream ends)."""
        pending = first
        offset = 0
        while True:
            chunk = self._read(1 << 20)
            if not chunk:
                break
            self.pos += len(chunk)
            pending += chunk
            out = pending[:-FOOTER_SIZE]
            pending = pending[-FOOTER_SIZE:]
            if out:
                yield offset, out
                offset += len(out)
        footer = Footer.parse(pending)    # raises if there is no footer at the end
        if footer.disk_type != DISK_FIXED or footer.current_size != offset:
            raise VhdError("a fixed VHD's footer must give the size of the data before it")
        self.size = offset


def _present(bitmap: bytes, data: bytes, base: int) -> Iterator[tuple[int, bytes]]:
    """Runs of sectors whose bitmap bit is set."""
    nsec = -(-len(data) // SECTOR)
    if bitmap[:nsec // 8].count(0xFF) == nsec // 8 and all(
            bitmap[s // 8] & (0x80 >> (s % 8)) for s in range(nsec // 8 * 8, nsec)):
        yield base, data
        return
    start = None
    for s in range(nsec + 1):
        on = s < nsec and bitmap[s // 8] & (0x80 >> (s % 8))
        if on and start is None:
            start = s
        elif not on and start is not None:
            yield base + start * SECTOR, data[start * SECTOR:s * SECTOR]
            start = None
