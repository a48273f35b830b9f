"""dom0 side of the scenario: runs tests/realxen/scenario.py on the Xen backend and
prints its result on the console for the host (console_json)."""
import glob
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


def migration_console(name: str) -> list[str]:
    """What only dom0 sees of the localhost migration: the guest's console across its source
    domain's log and its new domain's (xenconsoled names a log after the domain's name at
    its creation: NAME--incoming). One boot banner (one boot id: the guest was not
    restarted) and its poweroff line after the migration (the console went on in the new
    domain). Returns the problems."""
    text = ""
    for path in sorted(glob.glob(f"/var/log/xen/console/guest-{name}*.log")):
        with open(path, errors="replace") as f:
            text += f.read()
    boots = sorted({ln.split("boot=")[-1].strip() for ln in text.splitlines()
                    if BANNER in ln and "boot=" in ln})
    problems = []
    if len(boots) != 1:
        problems.append(f"expected one boot id on the console of {name}, saw {boots}")
    if "REALXEN-GUEST-POWEROFF" not in text:
        problems.append(f"no REALXEN-GUEST-POWEROFF from {name} after its migration")
    print(f"REALXEN-MIGRATE localhost boot_ids={','.join(boots) or '-'} "
          f"console_continued={'REALXEN-GUEST-POWEROFF' in text}", flush=True)
    return problems


def main() -> int:
    guest = scenario.Guest(kernel="/realxen/guest/vmlinuz", ramdisk="/realxen/guest/initrd.gz",
                           cmdline="console=hvc0 quiet")
    with Context(backend="xen") as ctx:
        result = scenario.run(ctx, guest, wait_ready=wait_banner, progress=report)
    for line in console_json.encode(result):
        print(line, flush=True)
    t = result["timings"]
    if "migrate_s" in t:
        print(f"REALXEN-MIGRATE localhost took {t['migrate_s']} s, downtime "
              f"{t['migrate_downtime_s']} s (no running copy, polled from dom0)", flush=True)
    failed = [f"{c['name']}: {c['detail']}" for c in result["checks"] if not c["ok"]]
    if "migrate_s" in t:
        failed += migration_console(scenario.MIGRATE_NAME)
    for c in failed:
        print(f"scenario check failed: {c}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
