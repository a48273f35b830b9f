"""storage/vhd.py: the VHD writer and reader against each other, against the published layout
(checksums, CHS geometry, BAT), and on damaged or truncated streams."""
from __future__ import annotations

import io
import os
import struct

import pytest

from xenapi_impl.storage import sparse, vhd

MiB = 1 << 20


def _image(tmp_path, size, writes):
    p = tmp_path / "img"
    with open(p, "wb") as f:
        f.truncate(size)
        for off, data in writes:
            f.seek(off)
            f.write(data)
    return p


def _export(path, size):
    fd = os.open(path, os.O_RDONLY)
    try:
        plan = vhd.plan(fd, size, sparse.data_extents(fd, size))
        out = b"".join(vhd.write(fd, plan))
    finally:
        os.close(fd)
    assert len(out) == plan.length
    return plan, out


def _read_all(stream, size):
    r = vhd.VhdReader(io.BytesIO(stream).read)
    buf = bytearray(size)
    for off, data in r.runs():
        buf[off:off + len(data)] = data
    return bytes(buf), r


def test_round_trip_and_layout(tmp_path):
    size = 10 * MiB + 512             # not a multiple of the block size
    writes = [(0, b"a" * 700), (4 * MiB + 3, os.urandom(5000)), (10 * MiB, b"z" * 512),
              (7 * MiB, bytes(MiB))]  # zeros written: that block is dropped
    path = _image(tmp_path, size, writes)
    plan, out = _export(path, size)
    assert plan.blocks == [0, 2, 5]
    footer = vhd.Footer.parse(out[:512])
    assert footer.disk_type == vhd.DISK_DYNAMIC and footer.current_size == size
    assert out[-512:] == out[:512]
    header = vhd.DynamicHeader.parse(out[512:1536])
    assert header.block_size == 2 * MiB and header.max_entries == 6
    bat = struct.unpack(">6I", out[1536:1536 + 24])
    assert [i for i, e in enumerate(bat) if e != 0xFFFFFFFF] == [0, 2, 5]
    data, r = _read_all(out, size)
    assert r.size == size
    assert data == path.read_bytes()


def test_checksums_are_checked():
    footer = vhd.Footer(vhd.DISK_DYNAMIC, MiB, 512, bytes(16)).pack()
    stored = struct.unpack(">I", footer[64:68])[0]
    assert vhd.checksum(footer[:64] + bytes(4) + footer[68:]) == stored
    bad = bytearray(footer)
    bad[50] ^= 1
    with pytest.raises(vhd.VhdError, match="checksum"):
        vhd.Footer.parse(bytes(bad))


def test_geometry_follows_the_specification():
    # 10 GiB and 127 GiB from the algorithm in the VHD specification's appendix
    assert vhd.geometry(10 << 30) == (20805 << 16) | (16 << 8) | 63
    assert vhd.geometry(1 << 40) == (65535 << 16) | (16 << 8) | 255


def test_fixed_vhd_is_read(tmp_path):
    data = os.urandom(3 * 512)
    footer = vhd.Footer(vhd.DISK_FIXED, len(data), 0xFFFFFFFFFFFFFFFF, bytes(16)).pack()
    got, r = _read_all(data + footer, len(data))
    assert got == data and r.size == len(data)


def test_truncated_and_garbage_streams_fail(tmp_path):
    size = 4 * MiB
    path = _image(tmp_path, size, [(MiB, b"x" * 4096)])
    _plan, out = _export(path, size)
    for cut in (100, 1000, 2048 + 100, len(out) - 600, len(out) - 1):
        with pytest.raises(vhd.VhdError):
            _read_all(out[:cut], size)
    with pytest.raises(vhd.VhdError):
        _read_all(b"not a vhd" * 100, size)
