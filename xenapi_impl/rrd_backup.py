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
from .rrd_xml import owners, parse, restore, to_xml

log = logging.getLogger(__name__)
KINDS = ("vm", "host", "sr")
_WRITERS = 4


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
    files = []
    for i, ((kind, uuid), names) in enumerate(owners(rrd).items()):
        files.append((os.path.join(where, f"{kind}-{uuid}.xml"), to_xml(rrd, kind, uuid, names)))
        if i % 100 == 99:
            await asyncio.sleep(0)      # calls waiting meanwhile are served
    # written by a few worker calls (1,000 VMs: a few hops, not a thousand), side by side:
    # replacing a file makes the file system start writing the new one out at the rename,
    # and four writers overlap that (999 files at shutdown: half the time of one writer)
    parts = [files[i::_WRITERS] for i in range(_WRITERS)]
    await asyncio.gather(*(loop.run_in_executor(
        None, lambda part=part: [_write(path, text) for path, text in part])
        for part in parts if part))
    return len(files)


def load(services: Any) -> list[tuple[str, str, Any]]:
    """The backed-up RRDs read and parsed, (kind, uuid, parsed) each: file work only, so it
    runs in a worker thread while the server already serves; a file that cannot be read is
    logged and skipped."""
    where = backup_dir(services)
    if where is None or not os.path.isdir(where):
        return []
    out = []
    for name in sorted(os.listdir(where)):
        kind, _, rest = name.partition("-")
        if kind not in KINDS or not rest.endswith(".xml"):
            continue
        try:
            with open(os.path.join(where, name), encoding="utf-8") as f:
                out.append((kind, rest[:-4], parse(f.read())))
        except (OSError, ValueError) as exc:
            log.warning("RRD backup %s not restored: %s", name, exc)
    return out


def apply(rrd: Rrd, loaded: list[tuple[str, str, Any]]) -> int:
    """Put what `load` read into `rrd` (on the event loop, which owns the archives); returns
    how many owners were restored."""
    for kind, uuid, parsed in loaded:
        restore(rrd, kind, uuid, parsed)
    return len(loaded)

