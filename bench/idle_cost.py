"""What idling costs one durable setter, and the setters' loop CPU per call under wrk x8: the
two probes behind bench/RESULTS.md's section on setters without a task.

  .venv/bin/python bench/idle_cost.py idle [--gap-ms 0,10,0,10]
      The bench's 1,000-VM server; 40 VM.set_name_label calls after each gap, traced with
      `perf record -e syscalls:...` (root): per call the median time from the request's
      recvfrom to the first WAL pwrite (our Python before the commit), the fdatasync, and
      from the fdatasync to the reply's sendto.
  .venv/bin/python bench/idle_cost.py setters [--rounds 4] [--seconds 4]
      wrk x8 setters (bench/wrkload.py) in rounds: calls/s and the event-loop thread's CPU per
      call (/proc/<pid>/task/<pid>/stat).
  --pythonpath DIR: the server runs the code in DIR (git archive <commit> xenapi_impl
      xenlight_py, plus the built xenlight_py/*.so and xenapi_impl/store/*.so) to alternate
      two versions in one session.
"""
from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import time
import xmlrpc.client as xc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "tests", "clients")]
import test_bench_server as bench  # noqa: E402
import wrkload  # noqa: E402
from vm_start_burst import proc_cpu  # noqa: E402

EVENTS = ["sys_exit_recvfrom", "sys_enter_pwrite64", "sys_enter_fdatasync",
          "sys_exit_fdatasync", "sys_enter_sendto"]


def _phases(trace: str) -> tuple[list[float], list[float], list[float]]:
    """(recv -> first pwrite, fdatasync, fdatasync -> send) of each traced call, seconds."""
    out = subprocess.run(["perf", "script", "-i", trace, "-F", "time,event"],
                         capture_output=True, text=True, check=True).stdout
    events = [(float(t.rstrip(":")), e.rstrip(":").split(":")[-1])
              for t, e in (line.split()[:2] for line in out.splitlines() if line.strip())]
    pre: list[float] = []
    sync: list[float] = []
    post: list[float] = []
    start = write = sync0 = sync1 = None
    for t, e in events:
        if e == "sys_exit_recvfrom":
            start, write, sync0, sync1 = t, None, None, None
        elif e == "sys_enter_pwrite64" and write is None:
            write = t
        elif e == "sys_enter_fdatasync":
            sync0 = t
        elif e == "sys_exit_fdatasync":
            sync1 = t
        elif e == "sys_enter_sendto" and None not in (start, write, sync0, sync1):
            pre.append(write - start)
            sync.append(sync1 - sync0)
            post.append(t - sync1)
            start = None
    return pre, sync, post


def idle(b: bench.Bench, gaps: list[float]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", b.port)

    def setter() -> None:
        conn.request("POST", "/", xc.dumps((b.session, b.vm, f"n{time.perf_counter()}"),
                                           "VM.set_name_label"), {"Content-Type": "text/xml"})
        assert b"Success" in conn.getresponse().read()

    for _ in range(50):
        setter()                                # warm
    for gap in gaps:
        with tempfile.TemporaryDirectory(prefix="idle-cost-") as tmp:
            trace = os.path.join(tmp, "trace.data")
            perf = subprocess.Popen(["perf", "record", "-q", "-o", trace, "-e", ",".join(
                f"syscalls:{e}" for e in EVENTS), "-p", str(b.srv.proc.pid)])
            time.sleep(1)
            for _ in range(40):
                time.sleep(gap)
                setter()
            perf.send_signal(2)
            perf.wait()
            pre, sync, post = _phases(trace)
        us = lambda xs: round(statistics.median(xs) * 1e6) if xs else None  # noqa: E731
        print(f"gap {gap * 1e3:g} ms: {len(pre)} calls; request -> first WAL write {us(pre)} "
              f"us, fdatasync {us(sync)} us, fdatasync -> reply {us(post)} us", flush=True)


def _loop_cpu(pid: int) -> float:
    """The event-loop (main) thread's CPU seconds, user and system."""
    return sum(proc_cpu(pid, pid))


def setters(b: bench.Bench, rounds: int, seconds: int) -> None:
    bodies = bench.setter_bodies(b.session, b.vm)
    pid = b.srv.proc.pid
    wrkload.run_wrk(b.port, bodies, 8, 2)       # warm
    for _ in range(rounds):
        cpu0 = _loop_cpu(pid)
        r = wrkload.run_wrk(b.port, bodies, 8, seconds)
        loop = _loop_cpu(pid) - cpu0
        print(f"setters wrk x8: {r.calls_per_s:.0f} calls/s, p50 {r.p50_ms} ms, the loop "
              f"{loop / r.calls * 1e6:.1f} us of CPU a call", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("probe", choices=("idle", "setters"))
    ap.add_argument("--gap-ms", default="0,10,0,10")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--pythonpath")
    args = ap.parse_args()
    if args.pythonpath:                         # the server process inherits it
        os.environ["PYTHONPATH"] = os.path.abspath(args.pythonpath)
    b = bench.Bench(bench.N_SMALL)
    try:
        if args.probe == "idle":
            idle(b, [float(g) / 1e3 for g in args.gap_ms.split(",")])
        else:
            setters(b, args.rounds, args.seconds)
    finally:
        b.close()


if __name__ == "__main__":
    main()
