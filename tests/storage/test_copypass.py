"""The two passes of a storage motion's disk copy (storage/copypass.py, used by
api/vdi_motion.py) over a real socket into a real file: pass 1 copies the image as it is; what
changes in it afterwards (as a running guest's writes would, before its domain is suspended)
reaches the copy through pass 2, which sends only the blocks that differ from what pass 1 sent
and writes into the copy as pass 1 left it. The server-level tests
(tests/clients/test_pool_storage_motion.py) cover the rest."""
from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

from xenapi_impl.storage import copypass
from xenapi_impl.storage.sparse import punch

MiB = 1 << 20
BLOCK = copypass.BLOCK
SIZE = 16 * MiB + 3 * 4096          # not a whole number of blocks: the last one is partial


class Counted:
    """A buffered reader of the receiving socket (the header line already read from it),
    handed to the receiver as its socket's file, counting the bytes read."""

    def __init__(self, f) -> None:
        self.f = f
        self.n = 0

    def makefile(self, mode: str) -> "Counted":
        return self

    def read(self, n: int) -> bytes:
        data = self.f.read(n)
        self.n += len(data)
        return data


def one_pass(src: Path, dst: Path, sent: copypass.Digests | None) -> tuple[copypass.Digests, int]:
    """A pass from `src` into `dst` through a socket pair: (the sender's digests, the frame
    bytes the receiver read)."""
    a, b = socket.socketpair()
    errors: list[BaseException] = []
    read = {"n": 0}

    def receive() -> None:
        try:
            f = b.makefile("rb")
            assert b'"pass": %d' % (1 if sent is None else 2) in f.readline()
            counted = Counted(f)
            copypass.receive_pass(counted, str(dst), SIZE, sent is None)
            read["n"] = counted.n
            b.sendall(b"OK\n")
        except BaseException as exc:     # noqa: BLE001 - reported by the test
            errors.append(exc)
            b.close()

    t = threading.Thread(target=receive)
    t.start()
    try:
        header = b'{"token": "t", "pass": %d}\n' % (1 if sent is None else 2)
        answer, digests = copypass.send_pass(a, header, str(src), SIZE, sent)
    finally:
        t.join()
        a.close()
        b.close()
    assert not errors, errors
    assert answer == "OK"
    return digests, read["n"]


def write(path: Path, off: int, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, data, off)
    finally:
        os.close(fd)


def test_pass_two_brings_the_copy_up_to_date_with_only_the_changed_blocks(tmp_path: Path):
    src, dst = tmp_path / "src.img", tmp_path / "dst.img"
    with open(src, "wb") as f:
        f.truncate(SIZE)
    write(src, 0, b"boot" * 1000)
    write(src, 3 * MiB + 5, os.urandom(2 * MiB))
    write(src, 9 * MiB, os.urandom(BLOCK))                     # will become zeros
    write(src, 10 * MiB, os.urandom(3 * BLOCK))                # will be punched
    write(src, SIZE - 100, b"\x5a" * 100)                      # the partial last block
    with open(dst, "wb") as f:                                 # the copy holds junk
        f.write(b"\xff" * SIZE)

    sent, first = one_pass(src, dst, None)
    assert dst.read_bytes() == src.read_bytes()
    assert first >= 2 * MiB
    assert dst.stat().st_blocks * 512 < 4 * MiB                # holes stay holes

    # the guest writes on: a changed block, new data in a hole, a block rewritten with
    # zeros, blocks punched, the partial last block changed
    write(src, 4 * MiB, b"changed" * 100)
    write(src, 13 * MiB + 17, b"new data")
    write(src, 9 * MiB, bytes(BLOCK))
    fd = os.open(src, os.O_RDWR)
    try:
        punch(fd, 10 * MiB, 3 * BLOCK)
    finally:
        os.close(fd)
    write(src, SIZE - 1, b"\x01")
    assert dst.read_bytes() != src.read_bytes()

    now, second = one_pass(src, dst, sent)
    assert dst.read_bytes() == src.read_bytes()
    # only the 3 changed data blocks crossed (frames' headers aside), not the 2 MiB again
    assert 3 * 4096 <= second <= 3 * BLOCK + 4096
    assert set(sent) - set(now) == {9 * MiB // BLOCK} | {10 * MiB // BLOCK + i for i in range(3)}

    # a pass 2 with nothing changed sends no data and changes nothing
    _, third = one_pass(src, dst, now)
    assert third <= 64
    assert dst.read_bytes() == src.read_bytes()
