"""A guest's console tty (libxl_primary_console_get_tty): Context.primary_console_tty. The
simulator gives the process a pty per domain, as xenconsoled does on Xen: what the guest
wrote before comes first, then each new line as it is written."""
from __future__ import annotations

import os
import time

import pytest

from xenlight_py import Context, DomainConfig, XenlightError


def _read_until(fd: int, text: bytes, timeout: float = 5.0) -> bytes:
    got = b""
    deadline = time.monotonic() + timeout
    while text not in got and time.monotonic() < deadline:
        try:
            got += os.read(fd, 4096)
        except BlockingIOError:
            time.sleep(0.01)
    return got


def test_console_tty_gives_the_guests_output(ctx: Context, pv: DomainConfig, tmp_path) -> None:
    domid = ctx.create_domain(pv)
    path = ctx.primary_console_tty(domid)
    assert path.startswith("/dev/pts/")
    assert ctx.primary_console_tty(domid) == path            # one tty per domain
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        got = _read_until(fd, b"random: boot_id")
        assert b"Linux version 6.1.0-sim" in got and b"random: boot_id" in got
        assert got.endswith(b"\n") and b"\r" not in got       # raw: no newline mapping
        ctx.suspend(domid, str(tmp_path / "save"))
        assert b"PM: suspending for save" in _read_until(fd, b"PM: suspending")
        ctx.destroy(domid)
        ended = False                                        # the tty went with it:
        for _ in range(200):                                 # EIO (or EOF), not EAGAIN
            try:
                ended = os.read(fd, 4096) == b""
            except BlockingIOError:
                time.sleep(0.01)
                continue
            except OSError:
                ended = True
            break
        assert ended
    finally:
        os.close(fd)
    with pytest.raises(XenlightError):
        ctx.primary_console_tty(domid)
