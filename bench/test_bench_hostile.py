"""Legitimate-client latency under hostile clients (issue 12, point 2): the real `xenapi-server`
process on loopback, started with a 1,024 file descriptor limit (soft and hard, so it cannot
raise it), one attack at a time next to a control run with no attack, all in the same run.

The legitimate client (127.0.0.1) makes 100 `pool.get_all_records` calls on one keep-alive
connection and 5 fresh connect + login + logout rounds. The attackers use 127.0.0.2-9:

  control      nothing
  idle         1,100 connections that send nothing (more than the descriptor limit allows)
  slowloris    200 connections sending one header byte per second each
  slow_body    200 connections sending one body byte per second each
  gzip_bomb    8 clients posting, again and again, 1 MiB of gzip that inflates to 1 GiB
  unread       20 clients asking for a 9 MB VM.get_all_records and never reading it
  login_flood  16 threads sending wrong passwords (an existing user and unknown ones)

Each attack runs only while its measurement does (a few seconds) and is torn down after.
extra_info: call p50/p99 (ms), login median/max (ms), failed legit calls, server RSS (MB).

Reproduce: .venv/bin/python -m pytest bench/test_bench_hostile.py --benchmark-only -s \
           --benchmark-columns=min,median,rounds
"""
from __future__ import annotations

import http.client
import os
import resource
import socket
import statistics
import sys
import threading
import time
import xmlrpc.client as xc
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from benchsize import size

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "clients"))
from serverproc import ServerProcess  # noqa: E402

MiB = 1 << 20
ATTACKERS = [f"127.0.0.{i}" for i in range(2, 10)]
# fewer and smaller attackers, a shorter legitimate client in the short mode
IDLE, TRICKLE, UNREAD = size(1100, 50), size(200, 10), size(20, 2)
BOMB_MIB, CALLS, LOGINS = size(1024, 64), size(100, 5), size(5, 1)
BOMBERS, FLOODERS = size(8, 2), size(16, 2)
CALL_TIMEOUT = 20.0        # a legitimate call that takes longer counts as failed


def _fd_limit_1024() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    work = str(tmp_path_factory.mktemp("hostile-bench"))
    with ServerProcess(work, preexec_fn=_fd_limit_1024) as s:
        # four VMs with 2 MiB descriptions: VM.get_all_records is about 9 MB
        proxy = xc.ServerProxy(s.url, allow_none=True)
        ref = proxy.session.login_with_password("root", s.password)["Value"]
        vms = proxy.VM.get_all_records(ref)["Value"]
        template = next(r for r, rec in vms.items() if rec["is_a_template"])
        for i in range(4):
            vm = proxy.VM.clone(ref, template, f"big {i}")["Value"]
            proxy.VM.set_name_description(ref, vm, "x" * (2 * MiB))
        s.bench_session = ref
        yield s


def _rss_mb(s: ServerProcess) -> float:
    return round(s.status("VmRSS") / 1024, 1)


def _connect(s: ServerProcess, source: str, rcvbuf: int | None = None) -> socket.socket:
    k = socket.socket()
    if rcvbuf:
        k.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    k.bind((source, 0))
    k.settimeout(5)
    k.connect(("127.0.0.1", s.ports["http"]))
    return k


def _request(body: bytes, extra: bytes = b"") -> bytes:
    return (b"POST / HTTP/1.1\r\nHost: bench\r\nContent-Type: text/xml\r\n%s"
            b"Content-Length: %d\r\n\r\n%s" % (extra, len(body), body))


# -- attacks: context managers that run while the legitimate client measures ---------------------

@contextmanager
def no_attack(s: ServerProcess) -> Iterator[None]:
    yield


@contextmanager
def idle(s: ServerProcess) -> Iterator[None]:
    socks = []
    try:
        for i in range(IDLE):
            try:
                socks.append(_connect(s, ATTACKERS[i % len(ATTACKERS)]))
            except OSError:
                break
        yield
    finally:
        for k in socks:
            k.close()


@contextmanager
def _trickle(s: ServerProcess, head: bytes) -> Iterator[None]:
    """200 connections that send `head`, then one more byte per second each."""
    socks, stop = [], threading.Event()
    for i in range(TRICKLE):
        k = _connect(s, ATTACKERS[i % len(ATTACKERS)])
        k.sendall(head)
        socks.append(k)

    def drip() -> None:
        while not stop.wait(1.0):
            for k in socks:
                try:
                    k.send(b"y")
                except OSError:
                    pass

    t = threading.Thread(target=drip, daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join()
        for k in socks:
            k.close()


def slowloris(s: ServerProcess) -> Iterator[None]:
    return _trickle(s, b"POST / HTTP/1.1\r\nHost: bench\r\nX-Slow: ")


def slow_body(s: ServerProcess) -> Iterator[None]:
    return _trickle(s, b"POST / HTTP/1.1\r\nHost: bench\r\nContent-Length: 100000\r\n\r\n<")


_BOMB: list[bytes] = []


def _bomb() -> bytes:
    if not _BOMB:
        z = zlib.compressobj(9, zlib.DEFLATED, 31)
        _BOMB.append(b"".join([z.compress(bytes(MiB)) for _ in range(BOMB_MIB)] + [z.flush()]))
    return _BOMB[0]


@contextmanager
def _threads(n: int, work: Callable[[int, threading.Event], None]) -> Iterator[None]:
    stop = threading.Event()
    threads = [threading.Thread(target=work, args=(i, stop), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)                      # let the attack get going
        yield
    finally:
        stop.set()
        for t in threads:
            t.join(60)


def gzip_bomb(s: ServerProcess) -> Iterator[None]:
    bomb = _bomb()

    def work(i: int, stop: threading.Event) -> None:
        while not stop.is_set():
            c = http.client.HTTPConnection("127.0.0.1", s.ports["http"], timeout=60,
                                           source_address=(ATTACKERS[i % 8], 0))
            try:
                c.request("POST", "/", body=bomb, headers={"Content-Encoding": "gzip"})
                c.getresponse().read()
            except OSError:
                pass
            finally:
                c.close()

    return _threads(BOMBERS, work)


@contextmanager
def unread(s: ServerProcess) -> Iterator[None]:
    body = xc.dumps((s.bench_session,), "VM.get_all_records").encode()
    socks = []
    for i in range(UNREAD):
        k = _connect(s, ATTACKERS[i % len(ATTACKERS)], rcvbuf=4096)
        k.sendall(_request(body))
        socks.append(k)
    try:
        time.sleep(0.5)
        yield
    finally:
        for k in socks:
            k.close()


def login_flood(s: ServerProcess) -> Iterator[None]:
    def work(i: int, stop: threading.Event) -> None:
        c = http.client.HTTPConnection("127.0.0.1", s.ports["http"], timeout=60,
                                       source_address=(ATTACKERS[i % 8], 0))
        n = 0
        while not stop.is_set():
            user = "root" if n % 2 else f"nobody{i}-{n}"
            try:
                c.request("POST", "/", body=xc.dumps((user, "guess"),
                                                     "session.login_with_password").encode())
                c.getresponse().read()
            except OSError:
                c.close()
                c = http.client.HTTPConnection("127.0.0.1", s.ports["http"], timeout=60,
                                               source_address=(ATTACKERS[i % 8], 0))
            n += 1
        c.close()

    return _threads(FLOODERS, work)


ATTACKS = {"control": no_attack, "idle": idle, "slowloris": slowloris, "slow_body": slow_body,
           "gzip_bomb": gzip_bomb, "unread": unread, "login_flood": login_flood}


# -- the legitimate client ------------------------------------------------------------------------

def _legit(s: ServerProcess, calls: list[float], logins: list[float], failed: list[str]) -> None:
    password = s.password
    try:
        c = http.client.HTTPConnection("127.0.0.1", s.ports["http"], timeout=CALL_TIMEOUT)
        c.request("POST", "/", body=xc.dumps(("root", password), "session.login_with_password"))
        ref = xc.loads(c.getresponse().read())[0][0]["Value"]
        body = xc.dumps((ref,), "pool.get_all_records").encode()
        for _ in range(CALLS):
            t0 = time.perf_counter()
            c.request("POST", "/", body=body)
            assert xc.loads(c.getresponse().read())[0][0]["Status"] == "Success"
            calls.append(time.perf_counter() - t0)
        c.close()
    except Exception as e:  # noqa: BLE001 - a locked-out client is a result, not a crash
        failed.append(f"calls: {type(e).__name__}: {e}")
    for _ in range(LOGINS):
        t0 = time.perf_counter()
        try:
            c = http.client.HTTPConnection("127.0.0.1", s.ports["http"], timeout=CALL_TIMEOUT)
            c.request("POST", "/", body=xc.dumps(("root", password), "session.login_with_password"))
            reply = xc.loads(c.getresponse().read())[0][0]
            assert reply["Status"] == "Success", reply
            logins.append(time.perf_counter() - t0)
            c.request("POST", "/", body=xc.dumps((reply["Value"],), "session.logout"))
            c.getresponse().read()
            c.close()
        except Exception as e:  # noqa: BLE001
            failed.append(f"login: {type(e).__name__}: {e}")


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else -1


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_legit_client_under_attack(benchmark, srv, attack):
    benchmark.group = "legitimate client under attack (100 calls + 5 logins)"
    calls: list[float] = []
    logins: list[float] = []
    failed: list[str] = []
    with ATTACKS[attack](srv):
        rss_during = _rss_mb(srv)
        benchmark.pedantic(_legit, args=(srv, calls, logins, failed), rounds=1, iterations=1)
        rss_during = max(rss_during, _rss_mb(srv))
    time.sleep(1.5)                      # let the server drop what the attack left
    info = {
        "call_p50_ms": round(_pct(calls, 50) * 1e3, 2),
        "call_p99_ms": round(_pct(calls, 99) * 1e3, 2),
        "login_median_ms": round(statistics.median(logins) * 1e3, 1) if logins else -1,
        "login_max_ms": round(max(logins) * 1e3, 1) if logins else -1,
        "failed": len(failed), "rss_during_mb": rss_during, "rss_after_mb": _rss_mb(srv),
    }
    benchmark.extra_info.update(info)
    print(f"\n{attack:12s} {info}" + (f" first failure: {failed[0]}" if failed else ""))
    log = srv.log()
    assert "Traceback" not in log
