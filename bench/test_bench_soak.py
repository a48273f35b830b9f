"""Soak: the server's resident memory under a steady create/destroy load, sampled over time.

One client on loopback repeats, as fast as the server answers: VM.create; VM.set_name_label;
Async.VM.destroy and wait for its task; task.destroy; event.from from its previous token; and
every 100 iterations session.logout and login again. Every iteration deletes objects (a VM and
its metrics, a task), so it exercises what the store remembers of deleted objects for
event.from; nothing else should accumulate.
The server's RSS (/proc/<pid>/status VmRSS) is sampled every SOAK_SAMPLE seconds. Bounded: at
most SOAK_SECONDS (default 480) and SOAK_ITERATIONS (default 200,000) iterations.

Reproduce: SOAK_SECONDS=480 .venv/bin/python -m pytest bench/test_bench_soak.py \
           --benchmark-only -s
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import xmlrpc.client as xc

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "clients"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from serverproc import ServerProcess  # noqa: E402
from vm_records import vm_create_record  # noqa: E402
from benchsize import size

SECONDS = float(os.environ.get("SOAK_SECONDS", size("480", "1")))
ITERATIONS = int(os.environ.get("SOAK_ITERATIONS", "200000"))
SAMPLE = float(os.environ.get("SOAK_SAMPLE", size("15", "1")))
RELOGIN = 100       # iterations per session


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def ok(reply: dict):
    if reply.get("Status") != "Success":
        raise AssertionError(reply)
    return reply["Value"]


def soak(url: str, password: str, pid: int) -> tuple[int, list[tuple[float, int, float]]]:
    """Run the load; returns (iterations, [(seconds, iterations so far, RSS MiB)])."""
    x = xc.ServerProxy(url)
    record = vm_create_record("soak")
    token = ""
    samples = [(0.0, 0, rss_mib(pid))]
    start = time.monotonic()
    next_sample = start + SAMPLE
    n = 0
    while n < ITERATIONS:
        now = time.monotonic()
        if now >= next_sample:
            samples.append((now - start, n, rss_mib(pid)))
            next_sample += SAMPLE
        if now - start >= SECONDS:
            break
        if n % RELOGIN == 0:        # a login costs an argon2 hash: not every iteration
            if n:
                ok(x.session.logout(s))
            s = ok(x.session.login_with_password("root", password, "1.0", "soak"))
        vm = ok(x.VM.create(s, record))
        ok(x.VM.set_name_label(s, vm, f"soak-{n}"))
        task = ok(x.Async.VM.destroy(s, vm))
        while ok(x.task.get_status(s, task)) == "pending":
            time.sleep(0.001)
        ok(x.task.destroy(s, task))
        token = ok(getattr(x, "event.from")(s, ["vm"], token, 0.0))["token"]
        n += 1
    ok(x.session.logout(s))
    samples.append((time.monotonic() - start, n, rss_mib(pid)))
    return n, samples


def test_soak_rss(benchmark):
    benchmark.group = "soak"
    work = tempfile.mkdtemp(prefix="xapi-soak-")
    srv = ServerProcess(work).start()
    try:
        result: list = []
        benchmark.pedantic(lambda: result.append(soak(srv.url, srv.password, srv.proc.pid)),
                           rounds=1, iterations=1)
        n, samples = result[0]
        assert "Traceback" not in srv.log()
    finally:
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{n} iterations in {samples[-1][0]:.0f} s ({n / samples[-1][0]:.0f}/s)")
    print("   s  iterations  RSS MiB")
    for t, i, rss in samples:
        print(f"{t:5.0f} {i:10d}  {rss:7.1f}")
    half = len(samples) // 2
    for label, (a, b) in (("first half", (samples[1], samples[half])),
                          ("second half", (samples[half], samples[-1]))):
        minutes = (b[0] - a[0]) / 60
        if minutes > 0:
            print(f"{label}: {(b[2] - a[2]) / minutes:+.2f} MiB/min")
    benchmark.extra_info.update(iterations=n, samples=samples)
