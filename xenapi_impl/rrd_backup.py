"""The RRDs on disk: `<state_base>.rrds/<kind>-<uuid>.xml`, one file per owner in the XML
layout of /host_rrd (rrd_xml.py). Written by host.backup_rrds and when the monitor stops;
read back when it starts, so a host's graphs survive a restart (xapi backs its RRDs up to the
master the same way)."""
from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from .rrd import Rrd
from .rrd_xml import parse, restore, to_xml

log = logging.getLogger(__name__)
KINDS = ("vm", "host", "sr")


def backup_dir(services: Any) -> str | None:
    """Where this host's RRDs go: `<state_base>.rrds/` (None: a server without a state)."""
    base = getattr(services, "state_base", None)
    return os.path.abspath(base) + ".rrds" if base else None


def _write(path: str, text: str) -> None:
    # whole, then renamed: a crash never leaves half a file in place of the last backup
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


async def backup(services: Any, rrd: Rrd) -> int:
    """Write every owner's RRD; returns how many. Each is rendered on the event loop (the
    monitor changes the archives there) and written in a worker thread."""
    where = backup_dir(services)
    if where is None:
        return 0
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, lambda: os.makedirs(where, exist_ok=True))
    owners = sorted({(k[0], k[1]) for a in rrd.archives for k in a.cols})
    for kind, uuid in owners:
        text = to_xml(rrd, kind, uuid)
        await loop.run_in_executor(None, _write, os.path.join(where, f"{kind}-{uuid}.xml"),
                                   text)
    return len(owners)


def read(services: Any, rrd: Rrd) -> int:
    """Restore the backed-up RRDs into `rrd` (before the monitor's first round); a file that
    cannot be read is logged and skipped. Returns how many owners were restored."""
    where = backup_dir(services)
    if where is None or not os.path.isdir(where):
        return 0
    done = 0
    for name in sorted(os.listdir(where)):
        kind, _, rest = name.partition("-")
        if kind not in KINDS or not rest.endswith(".xml"):
            continue
        try:
            with open(os.path.join(where, name), encoding="utf-8") as f:
                restore(rrd, kind, rest[:-4], parse(f.read()))
        except (OSError, ValueError) as exc:
            log.warning("RRD backup %s not restored: %s", name, exc)
            continue
        done += 1
    return done
