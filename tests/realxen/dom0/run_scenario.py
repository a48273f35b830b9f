"""dom0 side of the scenario: runs tests/realxen/scenario.py on the Xen backend and
prints its result on the console for the host (console_json)."""
import sys
import time

sys.path.insert(0, "/realxen")

import console_json  # noqa: E402
import scenario  # noqa: E402
from xenlight_py import Context  # noqa: E402

BANNER = "REALXEN-GUEST-UP"


def wait_banner(name: str, domid: int, timeout: float = 600.0) -> str:
    """The guest is up when its banner reaches its console log (xenconsoled --log=guest)."""
    path = f"/var/log/xen/console/guest-{name}.log"
    start = time.monotonic()
    deadline = start + timeout
    said = start
    while time.monotonic() < deadline:
        if time.monotonic() - said >= 30:     # a slow boot is progress: say so
            said = time.monotonic()
            print(f"REALXEN-PROGRESS scenario: waiting for the banner of {name} "
                  f"({said - start:.0f} s)", flush=True)
        try:
            with open(path, errors="replace") as f:
                for line in f:
                    if BANNER in line:
                        return line.strip()
        except FileNotFoundError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"no {BANNER} on the console of {name} (domain {domid}) in {timeout:.0f} s")


def report(count: int, latest: str) -> None:
    print(f"REALXEN-PROGRESS scenario: {count} observables, latest {latest}", flush=True)


def main() -> int:
    guest = scenario.Guest(kernel="/realxen/guest/vmlinuz", ramdisk="/realxen/guest/initrd.gz",
                           cmdline="console=hvc0 quiet")
    with Context(backend="xen") as ctx:
        result = scenario.run(ctx, guest, wait_ready=wait_banner, progress=report)
    for line in console_json.encode(result):
        print(line, flush=True)
    failed = [c for c in result["checks"] if not c["ok"]]
    for c in failed:
        print(f"scenario check failed: {c['name']}: {c['detail']}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
