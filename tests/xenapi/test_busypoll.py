"""The busy-polling selector (server/busypoll.py): it polls only after a sleep that ended within
its window, stops at the window or the caller's timeout, and sleeps again once a window passed
with nothing to do. A socket pair stands for the loop's connections."""
from __future__ import annotations

import selectors
import socket
import threading
import time

import pytest

from xenapi_impl.server.busypoll import BusyPollSelector


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def later(sock: socket.socket, delay: float) -> threading.Thread:
    t = threading.Thread(target=lambda: (time.sleep(delay), sock.send(b"x")))
    t.start()
    return t


def drain(sock: socket.socket) -> None:
    sock.recv(100)


def hot(sock: socket.socket, window: float) -> BusyPollSelector:
    """A selector watching `sock` whose last sleep ended within its window."""
    sel = BusyPollSelector(window)
    sel.register(sock, selectors.EVENT_READ)
    sel.hot = True
    return sel


def test_a_sleep_that_ends_late_leaves_it_cold_and_one_that_ends_soon_makes_it_hot(pair):
    a, b = pair
    sel = BusyPollSelector(0.005)
    sel.register(a, selectors.EVENT_READ)
    later(b, 0.1).join(0)
    assert sel.select(5.0) and not sel.hot      # woke 100 ms after it slept: cold
    drain(a)
    b.send(b"x")                                # there at once: the sleep ends within 5 ms
    assert sel.select(5.0) and sel.hot
    drain(a)
    sel.close()


def test_while_hot_it_finds_a_call_by_polling(pair):
    a, b = pair
    sel = hot(a, 2.0)                           # a window far longer than the call's gap
    t = later(b, 0.01)
    assert sel.select(5.0) and sel.spins == 1 and sel.hot
    t.join()
    drain(a)
    sel.close()


def test_a_window_with_nothing_to_do_ends_the_polling(pair):
    a, b = pair
    sel = hot(a, 0.01)
    assert sel.select(0.05) == [] and not sel.hot
    t = later(b, 0.1)                           # cold again: this wait sleeps, then is late
    assert sel.select(5.0) and sel.spins == 0 and not sel.hot
    t.join()
    sel.close()


def test_a_timeout_shorter_than_the_window_is_kept(pair):
    a, _b = pair
    sel = hot(a, 10.0)
    t0 = time.monotonic()
    assert sel.select(0.02) == []               # a timer due in 20 ms: no 10 s of polling
    assert time.monotonic() - t0 < 5.0 and sel.select(0) == []
    sel.close()
