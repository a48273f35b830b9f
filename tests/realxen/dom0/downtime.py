"""dom0, during the xenapi step: measures the downtime of live migrations to this host.

A live migration is the only moment when two domains share a uuid (the source's copy and
the incoming one, restored paused); reboots, suspend/resume and restarts end one domain
before the next is made. While that overlap lasts this polls every POLL_FAST_S; once a
copy other than the source runs again it prints

    REALXEN-MIGRATION uuid=U from=A to=B downtime_s=S

where S is the longest stretch in which no copy ran, which xenapi_host_check.py reads
from the console after its VM.pool_migrate. A non-live migration stops the guest before
the incoming domain appears: that stretch starts at the last slow poll that saw a copy
running (so S is exact to within POLL_SLOW_S at its start, POLL_FAST_S at its end).
"""
from __future__ import annotations

import sys
import time

from xenlight_py import Context

POLL_SLOW_S = 0.5
POLL_FAST_S = 0.01


class Migration:
    def __init__(self, source: int) -> None:
        self.source = source
        self.gap_since: float | None = None
        self.longest = 0.0


def main() -> int:
    watching: dict[str, Migration] = {}
    last_running: dict[str, float] = {}
    with Context(backend="xen") as ctx:
        while True:
            by_uuid: dict[str, list] = {}
            for d in ctx.list_domains():
                if d.domid != 0:
                    by_uuid.setdefault(d.uuid, []).append(d)
            now = time.monotonic()
            for uuid, doms in by_uuid.items():
                if any(not (d.paused or d.shutdown or d.dying) for d in doms):
                    last_running[uuid] = now
                if len(doms) > 1 and uuid not in watching:
                    m = watching[uuid] = Migration(min(d.domid for d in doms))
                    if last_running.get(uuid, now) < now:     # stopped before the overlap
                        m.gap_since = last_running[uuid]
            for uuid, m in list(watching.items()):
                doms = by_uuid.get(uuid, [])
                running = [d.domid for d in doms
                           if not (d.paused or d.shutdown or d.dying)]
                if not doms:            # both copies gone (a failed migration, then destroy)
                    del watching[uuid]
                elif not running:
                    if m.gap_since is None:
                        m.gap_since = now
                elif m.gap_since is not None:
                    m.longest = max(m.longest, now - m.gap_since)
                    m.gap_since = None
                if len(doms) == 1 and m.gap_since is None:   # one copy left, and it runs
                    to = doms[0].domid
                    outcome = f"to={to}" if to != m.source else "rolled_back=1"
                    print(f"REALXEN-MIGRATION uuid={uuid} from={m.source} {outcome} "
                          f"downtime_s={m.longest:.3f}", flush=True)
                    del watching[uuid]
            time.sleep(POLL_FAST_S if watching else POLL_SLOW_S)


if __name__ == "__main__":
    sys.exit(main())
