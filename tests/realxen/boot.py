"""Boots Xen + dom0 under QEMU (TCG) and collects dom0's serial console.

QEMU exits 0 whenever Xen powers off, and a crashed dom0 under `noreboot` just hangs,
so the outcome is read only from the markers dom0 prints; the run has a hard timeout
and the QEMU process is always ended by its PID.
"""
from __future__ import annotations

import argparse
import os
import queue
import re
import shlex
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

DONE_MARKER = "REALXEN-DOM0-DONE"
# Only a whole line: the serial file is read while it grows, and a password cut short
# by a read mid-line fails the login.
XENAPI_READY = re.compile(r"REALXEN-XENAPI-READY port=(\d+) ctl=(\d+) user=(\S+) password=(\S*)[\r\n]")
HERE = Path(__file__).resolve().parent

# smap=0: with SMAP visible, a PV dom0 faults at once under TCG.
# CPU_MODEL: QEMU's plain x86-64 model. With `-cpu max` (also with FSGSBASE hidden) dom0's
# processes crashed at their first thread-local access in most runs, at any load; with
# qemu64 none did (tests/realxen/README.md, "Known problem").
CPU_MODEL = "qemu64"
XEN_ARGS = "console=com1 com1=115200,8n1 dom0_mem=768M,max:768M noreboot smap=0"
DOM0_ARGS = "console=hvc0 earlyprintk=xen rdinit=/init loglevel=4"


# dom0's /tmp: an ext4 file system on a sparse image, made afresh for each boot and given to
# QEMU as a virtio drive (dom0/init mounts it). Sparse: it takes on the host only what dom0
# writes (a few hundred MiB: suspend images, a core dump, the VDIs).
SCRATCH_NAME = "scratch.img"
SCRATCH_SIZE = 4 << 30


def make_scratch_disk(path: Path, size: int = SCRATCH_SIZE) -> None:
    """A fresh, empty ext4 image at ``path`` (no journal: a throwaway disk needs none, and
    every write costs twice under emulation)."""
    path.unlink(missing_ok=True)
    with open(path, "wb") as f:
        f.truncate(size)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-O", "^has_journal", "-L", "realxen-tmp",
                    "-E", "lazy_itable_init=0", str(path)], check=True,
                   stdout=subprocess.DEVNULL)


def qemu_command(images: Path, serial_log: Path, steps: str, hostfwd: int | None,
                 mem_mb: int, accel: str = "tcg,thread=multi", cpus: int = 2,
                 dom0_vcpus: int = 2, cpu_model: str = CPU_MODEL) -> list[str]:
    for name in ("xen", "vmlinuz", "dom0.cpio.gz", SCRATCH_NAME):
        path = images / name
        if not path.is_file():
            raise FileNotFoundError(f"missing boot image {path}")
        if "," in str(path):
            raise ValueError(f"QEMU's -initrd list cannot hold a path with a comma: {path}")
    # QEMU splits -initrd at commas, so the step list travels joined by '+'.
    dom0_args = f"{DOM0_ARGS} realxen.steps={steps.replace(',', '+')}"
    # Experiments (tests/realxen/README.md, "Known problem") add to either command line.
    if os.environ.get("REALXEN_DOM0_ARGS_EXTRA"):
        dom0_args += " " + os.environ["REALXEN_DOM0_ARGS_EXTRA"]
    xen_args = f"{XEN_ARGS} dom0_max_vcpus={dom0_vcpus}"
    if os.environ.get("REALXEN_XEN_ARGS_EXTRA"):
        xen_args += " " + os.environ["REALXEN_XEN_ARGS_EXTRA"]
    if hostfwd:
        dom0_args += f" realxen.port={hostfwd}"
    cmd = [
        "qemu-system-x86_64", "-accel", accel, "-cpu", cpu_model, "-smp", str(cpus),
        "-m", str(mem_mb), "-display", "none", "-monitor", "none", "-no-reboot",
        "-serial", f"file:{serial_log}",
        "-kernel", str(images / "xen"), "-append", xen_args,
        "-initrd", f"{images / 'vmlinuz'} {dom0_args},{images / 'dom0.cpio.gz'}",
        # cache=unsafe: the image is thrown away after the run, so QEMU need not flush it.
        "-drive", f"file={images / SCRATCH_NAME},format=raw,if=virtio,cache=unsafe",
    ]
    if hostfwd:
        # The service port and, next to it, the control port for the host's verdict.
        fwd = ",".join(f"hostfwd=tcp:127.0.0.1:{p}-:{p}" for p in (hostfwd, hostfwd + 1))
        cmd += ["-netdev", f"user,id=n0,{fwd}", "-device", "e1000,netdev=n0"]
    else:
        cmd += ["-nic", "none"]
    return cmd


# A run ends when nothing has progressed for STALL_LIMIT seconds, or at TOTAL_LIMIT whatever
# happens (two attempts of that stay inside CI's budget). Every wait for a state in dom0 and in
# the host check has its own limit below STALL_LIMIT (or prints while it waits), so the stall
# limit only ends runs that hang: a blocked call, a dead dom0.
STALL_LIMIT = 600.0
TOTAL_LIMIT = 1800.0


class Progress:
    """When anything last moved: dom0's console grew or the host check said something.
    A run is ended for making no progress, not for being slow: a slower machine of the
    same kind takes several times as long, and a step still advancing is never killed."""

    def __init__(self) -> None:
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def touch(self) -> None:
        with self._lock:
            self._last = time.monotonic()

    def idle(self) -> float:
        with self._lock:
            return time.monotonic() - self._last


def host_check_command(port: int, user: str, password: str, serial_log: Path) -> list[str]:
    # --password=: a generated password may begin with "-", which argparse would take for
    # an option (a CI run failed so; 1 in 64 passwords)
    return [sys.executable, "-u", str(HERE / "xenapi_host_check.py"),
            f"--url=http://127.0.0.1:{port}", f"--user={user}", f"--password={password}",
            f"--serial-log={serial_log}"]


def xenapi_host_check(port: int, ctl: int, user: str, password: str, serial_log: Path,
                      progress: Progress, stall: float, stop: threading.Event) -> None:
    """Runs the official client against dom0's server, then hands dom0 the verdict. Each
    line the check prints counts as progress; a check silent for ``stall`` seconds is
    ended and reported as a failure (dom0 then prints its diagnostics)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(
        host_check_command(port, user, password, serial_log),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    last = ""
    verdict = ""
    last_line = time.monotonic()
    while True:
        try:
            line = lines.get(timeout=1.0)
        except queue.Empty:
            if stop.is_set():
                verdict = "FAIL the run ended before the client check finished"
            elif time.monotonic() - last_line > stall:
                verdict = f"FAIL the client check made no progress for {stall:.0f} s"
            if verdict:
                proc.kill()
                break
            continue
        if line is None:
            break
        last_line = time.monotonic()
        progress.touch()
        if last:
            print(f"\nboot: host check: {last.strip()}", flush=True)
        last = line
    proc.wait()
    if not verdict:
        verdict = last.strip() or f"FAIL no output (exit {proc.returncode})"
    elif last:
        print(f"\nboot: host check: {last.strip()}", flush=True)
    print(f"\nboot: XenAPI check from the host ({time.monotonic() - t0:.0f} s): {verdict}",
          flush=True)
    for _ in range(20):
        try:
            with socket.create_connection(("127.0.0.1", ctl), timeout=10) as s:
                s.sendall(verdict.encode() + b"\n")
            return
        except OSError:
            time.sleep(1)
    print("boot: could not hand the verdict to dom0", flush=True)


def boot(cmd: list[str], serial_log: Path, timeout: float, stall: float,
         echo: bool) -> tuple[str, str]:
    """Runs QEMU until dom0 reports done, QEMU exits, nothing progresses for ``stall``
    seconds, or the total ``timeout``. Returns (how, log)."""
    serial_log.write_bytes(b"")
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    print(f"boot: QEMU pid {proc.pid}: {shlex.join(cmd)}", flush=True)
    seen = 0
    how = "timeout"
    done_at: float | None = None
    checker: threading.Thread | None = None
    progress = Progress()
    stop = threading.Event()
    try:
        while True:
            data = serial_log.read_bytes()
            if len(data) > seen:
                progress.touch()
                if echo:
                    sys.stdout.write(data[seen:].decode(errors="replace").replace("\r", ""))
                    sys.stdout.flush()
            seen = len(data)
            if checker is None and (m := XENAPI_READY.search(data.decode(errors="replace"))):
                checker = threading.Thread(target=xenapi_host_check, daemon=True,
                                           args=(int(m.group(1)), int(m.group(2)), m.group(3),
                                                 m.group(4), serial_log, progress, stall, stop))
                checker.start()
            if done_at is None and DONE_MARKER.encode() in data:
                done_at = time.monotonic()
            if proc.poll() is not None:
                how = f"qemu exited {proc.returncode}"
                break
            now = time.monotonic()
            # dom0 powers off after the marker; give Xen a moment, then end QEMU ourselves.
            if done_at is not None and now - done_at > 15:
                how = "done marker, QEMU still running"
                break
            if progress.idle() > stall:
                how = f"no progress for {stall:.0f} s (console and host check silent)"
                break
            if now - start > timeout:
                how = f"total limit of {timeout:.0f} s reached"
                break
            time.sleep(0.5)
    finally:
        stop.set()
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        qemu_out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
        if proc.stdout:
            proc.stdout.close()
    elapsed = time.monotonic() - start
    print(f"\nboot: {how}; {elapsed:.1f} s wall", flush=True)
    if qemu_out.strip():
        print("boot: QEMU said: " + qemu_out.strip(), flush=True)
    return how, serial_log.read_bytes().decode(errors="replace").replace("\r", "")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=Path, required=True)
    ap.add_argument("--serial-log", type=Path, required=True)
    ap.add_argument("--steps", default="xl,scenario")
    ap.add_argument("--timeout", type=float, default=TOTAL_LIMIT,
                    help="total wall-time limit, s (a bound for a run that keeps printing)")
    ap.add_argument("--stall", type=float, default=STALL_LIMIT,
                    help="end the run when nothing progressed for this long, s")
    ap.add_argument("--hostfwd", type=int, default=0, help="forward this TCP port into dom0")
    ap.add_argument("--mem", type=int, default=2048, help="QEMU machine memory, MiB")
    ap.add_argument("--echo", action="store_true", help="copy the serial console to stdout")
    ap.add_argument("--accel", default=os.environ.get("REALXEN_ACCEL", "tcg,thread=multi"),
                    help="QEMU -accel value (env REALXEN_ACCEL)")
    ap.add_argument("--cpus", type=int, default=int(os.environ.get("REALXEN_CPUS", "2")),
                    help="the machine's CPUs (QEMU -smp; env REALXEN_CPUS)")
    ap.add_argument("--dom0-vcpus", type=int,
                    default=int(os.environ.get("REALXEN_DOM0_VCPUS", "2")),
                    help="dom0's vCPUs (Xen's dom0_max_vcpus; env REALXEN_DOM0_VCPUS)")
    ap.add_argument("--cpu-model", default=os.environ.get("REALXEN_CPU_MODEL", CPU_MODEL),
                    help="QEMU -cpu value (env REALXEN_CPU_MODEL)")
    args = ap.parse_args()
    make_scratch_disk(args.images / SCRATCH_NAME)
    cmd = qemu_command(args.images, args.serial_log, args.steps, args.hostfwd or None, args.mem,
                       args.accel, args.cpus, args.dom0_vcpus, args.cpu_model)
    how, log = boot(cmd, args.serial_log, args.timeout, args.stall, args.echo)
    return 0 if DONE_MARKER in log else 1


if __name__ == "__main__":
    sys.exit(main())
