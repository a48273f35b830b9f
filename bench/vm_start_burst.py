"""The burst of `test_bench_vm_start.py` (1,000 Async.VM.start, each VM with a disk and a NIC,
through a real `xenapi-server`), measured with what the bench leaves out: the server's CPU time,
its event-loop thread's CPU and run-queue wait (/proc schedstat), the client's CPU, the
event.from calls. Only the burst is measured (the VMs are made before), so a profiler can be
attached for it alone. For same-session comparisons of two versions of the code:

  .venv/bin/python bench/vm_start_burst.py --label new
  .venv/bin/python bench/vm_start_burst.py --label old --pythonpath <dir with the old
      xenapi_impl and xenlight_py (git archive <commit> xenapi_impl xenlight_py, plus the
      built xenlight_py/*.so)>
  --pyspy OUT.raw [--gil]: py-spy (PY_SPY, default py-spy) records the server for the burst.
  --threads: each server thread's CPU for the burst besides the loop's (the storage workers,
      the SQLite writer), from /proc/<pid>/task/*/schedstat.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "tests", "clients"),
                os.path.join(HERE, "..", "tests")]
import test_bench_vm_start as bench  # noqa: E402
from serverproc import ServerProcess  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int, tid: int | None = None) -> tuple[float, float]:
    """(utime, stime) in seconds of a process, or of one of its threads."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / HZ, int(fields[12]) / HZ


def _loop_thread(pid: int) -> dict[str, float]:
    """The main (event-loop) thread: CPU, time waiting for a CPU, context switches."""
    with open(f"/proc/{pid}/task/{pid}/schedstat") as f:
        on_cpu, run_wait, _ = f.read().split()
    with open(f"/proc/{pid}/task/{pid}/status") as f:
        status = f.read()
    user, system = proc_cpu(pid, pid)
    return {"user": user, "system": system, "run_wait": int(run_wait) / 1e9,
            "voluntary": int(re.search(r"\nvoluntary_ctxt_switches:\s+(\d+)", status)[1]),
            "involuntary": int(re.search(r"nonvoluntary_ctxt_switches:\s+(\d+)", status)[1])}


def _threads(pid: int) -> dict[int, float]:
    """Each thread's time on a CPU (schedstat), in seconds."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                out[int(tid)] = int(f.read().split()[0]) / 1e9
        except OSError:
            pass                        # gone meanwhile
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vms", type=int, default=bench.N_VMS)
    ap.add_argument("--label", default="")
    ap.add_argument("--pythonpath", help="put first on the server's PYTHONPATH")
    ap.add_argument("--server-arg", action="append", default=[], metavar="ARG",
                    help="one more argument for `xenapi-server serve` (repeat: "
                         "--server-arg=--rpc-workers --server-arg=2)")
    ap.add_argument("--pyspy", help="py-spy raw output file for the burst")
    ap.add_argument("--gil", action="store_true", help="py-spy: only threads holding the GIL")
    ap.add_argument("--threads", action="store_true",
                    help="print each server thread's CPU for the burst (storage workers...)")
    args = ap.parse_args()
    env = {"PYTHONPATH": args.pythonpath} if args.pythonpath else None
    with tempfile.TemporaryDirectory() as work, ServerProcess(work, env=env, extra=args.server_arg) as srv:
        pid = srv.proc.pid
        session = bench._login(srv.url, srv.password)
        clients, sr, net = bench._clients(srv.url, session)
        with ThreadPoolExecutor(bench.THREADS) as pool:
            shares = list(pool.map(
                lambda t: [bench._make_vm(clients[t], i, True, sr, net)
                           for i in range(t, args.vms, bench.THREADS)], range(bench.THREADS)))
        calls = [0, 0]                      # event.from calls, events
        watch = bench.Client(srv.url, session)
        plain = watch.call

        def counted(method: str, *params: Any) -> Any:
            got = plain(method, *params)
            if method == "event.from":
                calls[0] += 1
                calls[1] += len(got["events"])
            return got
        watch.call = counted  # type: ignore[method-assign]
        watcher = bench.Watcher(watch, {vm for share in shares for vm in share})
        spy = None
        if args.pyspy:
            spy = subprocess.Popen(
                [os.environ.get("PY_SPY", "py-spy"), "record", "-r", "200", "-p", str(pid),
                 "-f", "raw", "-o", args.pyspy, "--idle", "--threads"]
                + (["--gil"] if args.gil else []),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.5)
        senders = bench.Senders(srv.url, session, shares)
        load = open("/proc/loadavg").read().split()[:3]
        threads0 = _threads(pid)
        loop0, cpu0, me0 = _loop_thread(pid), proc_cpu(pid), os.times()
        t0 = time.perf_counter()
        watcher.start()
        answered = max(senders.go().values()) - t0
        finished = watcher.all_running.wait(120)
        wall = time.perf_counter() - t0
        loop1, cpu1, me1 = _loop_thread(pid), proc_cpu(pid), os.times()
        threads1 = _threads(pid)
        if spy is not None:
            spy.send_signal(2)
            spy.wait()
        watcher.stop = True
        assert finished and not watcher.pending and watcher.error is None, watcher.error
        loop = {k: round(loop1[k] - loop0[k], 3) for k in loop0}
        print(f"{args.label} wall={wall:.2f} answered={answered:.2f} "
              f"server_cpu={sum(cpu1) - sum(cpu0):.2f} (user {cpu1[0] - cpu0[0]:.2f} "
              f"system {cpu1[1] - cpu0[1]:.2f}) loop_thread={loop} "
              f"client_cpu={me1.user + me1.system - me0.user - me0.system:.2f} (watcher) "
              f"+ {sum(me1[2:4]) - sum(me0[2:4]):.2f} (senders) "
              f"event_from_calls={calls[0]} events={calls[1]} load={' '.join(load)}",
              flush=True)
        if args.threads:
            used = sorted(((t - threads0.get(tid, 0.0), tid) for tid, t in threads1.items()
                           if tid != pid), reverse=True)
            print(f"  other threads' CPU {sum(u for u, _ in used):.2f} s: "
                  + " ".join(f"{tid}:{u:.2f}" for u, tid in used if u >= 0.01), flush=True)


if __name__ == "__main__":
    main()
