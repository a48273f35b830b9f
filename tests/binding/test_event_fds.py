"""libxl's fds on an asyncio loop: libxl closes an fd right after deregistering it, so by the
time the loop syncs, the number may name another file (seen on real Xen: the server's loop
raised KeyError / PermissionError from its fd callback). The loop attachment must drop the
stale watch and watch the new fd."""
from __future__ import annotations

import asyncio
import fcntl
import os
import select
import tempfile

import pytest
import uvloop

from xenlight_py.events import _LoopAttachment

#: the loops the server may run on (xenapi-server --event-loop)
LOOPS = {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


class FakeOsEvents:
    """What _LoopAttachment reads of libxl's registrations, set by the test."""

    def __init__(self) -> None:
        self.fds: dict[int, tuple[int, int, None]] = {}
        self.dispatched: list[tuple[int, int]] = []

    def snapshot(self):
        return dict(self.fds), {}

    def dispatch_fd(self, token: int, revents: int) -> None:
        self.dispatched.append((token, revents))

    def dispatch_timeout(self, token: int) -> None:
        pass

    def remove_listener(self, listener) -> None:
        pass


@pytest.mark.parametrize("loop", LOOPS)
def test_a_reused_fd_number_is_watched_afresh(loop):
    async def main() -> None:
        osev = FakeOsEvents()
        att = _LoopAttachment(osev, asyncio.get_running_loop())
        r, w = os.pipe()
        osev.fds = {1: (r, select.POLLIN, None)}
        att.sync()
        # libxl deregisters and closes it; the number is reused by a regular file, which
        # epoll cannot watch, before the loop hears of either
        os.close(r)
        os.close(w)
        with tempfile.TemporaryFile() as f:
            if f.fileno() != r:
                os.dup2(f.fileno(), r)
            osev.fds = {2: (r, select.POLLIN, None)}
            att.sync()                              # neither raises nor watches the file
            if f.fileno() != r:
                os.close(r)
        # and then by a pipe that libxl registers: watched, its events reach libxl
        r2, w2 = os.pipe()
        if r2 != r:
            os.dup2(r2, r)
            os.close(r2)
        osev.fds = {3: (r, select.POLLIN, None)}
        att.sync()
        os.write(w2, b"x")
        for _ in range(100):
            if osev.dispatched:
                break
            await asyncio.sleep(0.01)
        assert osev.dispatched[0] == (3, select.POLLIN)
        att.close()
        os.close(r)
        os.close(w2)
    with asyncio.Runner(loop_factory=LOOPS[loop]) as runner:
        runner.run(main())


@pytest.mark.parametrize("loop", LOOPS)
def test_a_watched_fd_keeps_the_blocking_mode_libxl_gave_it(loop):
    """libuv makes the fds it polls non-blocking; libxl reads its save/restore helper's pipe
    with blocking reads once poll says readable, and on real Xen a suspend failed with EAGAIN
    on a message that came in two pieces. The fd must stay blocking, and still be watched."""
    async def main() -> None:
        osev = FakeOsEvents()
        att = _LoopAttachment(osev, asyncio.get_running_loop())
        r, w = os.pipe()                    # blocking, as libxl's pipes are
        nonblocking = os.pipe()
        os.set_blocking(nonblocking[0], False)
        osev.fds = {1: (r, select.POLLIN, None), 2: (nonblocking[0], select.POLLIN, None)}
        att.sync()
        assert not fcntl.fcntl(r, fcntl.F_GETFL) & os.O_NONBLOCK
        assert fcntl.fcntl(nonblocking[0], fcntl.F_GETFL) & os.O_NONBLOCK
        os.write(w, b"x")
        for _ in range(100):
            if osev.dispatched:
                break
            await asyncio.sleep(0.01)
        assert osev.dispatched[0] == (1, select.POLLIN)     # the other one stays quiet
        assert set(osev.dispatched) == {(1, select.POLLIN)}
        assert os.read(r, 1) == b"x"
        att.close()
        for fd in (r, w, *nonblocking):
            os.close(fd)
    with asyncio.Runner(loop_factory=LOOPS[loop]) as runner:
        runner.run(main())
