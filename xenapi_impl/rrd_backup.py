"""The RRDs on disk: `<state_base>.rrds/<kind>-<uuid>.rrdb`, one file per owner. Written by
host.backup_rrds and when the monitor stops; read back when it starts, so a host's graphs
survive a restart (xapi backs its RRDs up the same way).

The files hold the archives' columns as they are in memory, not the XML of /host_rrd
(rrd_xml.py), because the backup is on a restart's path: archives as a host has them after a
day (1,585 rows a source) or a year (2,094) for 1,000 VMs of 7 sources are 11-15 million
values, which took 75 s to write as XML and 50 s to parse; as columns they are one copy each
(about 60 MB). Layout:

    XAPIRRD1\\n
    {"lastupdate": T, "names": [source, ...], "archives": [[step, rows], ...]}\\n  (JSON, one line)
    then per archive in that order, per source in that order: `rows` float32 little-endian,
    oldest row first

Backups in XML (`<kind>-<uuid>.xml`, written before) are still read; a binary file of the
same owner wins, and a backup removes the XML files it replaces.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from array import array
from typing import Any

from .rrd import NAN, Rrd
from .rrd_xml import Parsed, owners, parse, restore

log = logging.getLogger(__name__)
KINDS = ("vm", "host", "sr")
MAGIC = b"XAPIRRD1\n"
SUFFIX = ".rrdb"
_WRITERS = 4
_SWAP = sys.byteorder != "little"


def backup_dir(services: Any) -> str | None:
    """Where this host's RRDs go: `<state_base>.rrds/` (None: a server without a state)."""
    base = getattr(services, "state_base", None)
    return os.path.abspath(base) + ".rrds" if base else None


def encode(rrd: Rrd, kind: str, uuid: str, names: list[str]) -> bytes:
    """One owner's archives in the layout above; `names`: its sources (rrd_xml.owners)."""
    head: dict[str, Any] = {"lastupdate": int(rrd.last_update), "names": names,
                            "archives": [[a.step, len(a.times)] for a in rrd.archives]}
    parts = [MAGIC, json.dumps(head, separators=(",", ":")).encode(), b"\n"]
    for a in rrd.archives:
        n, h = len(a.times), a.head
        for name in names:
            col = a.cols.get((kind, uuid, name))
            if col is None:
                col = array("f", [NAN]) * n
            elif h:
                col = col[h:] + col[:h]          # the ring, oldest row first
            if _SWAP:
                col = array("f", col)
                col.byteswap()
            parts.append(col.tobytes())
    return b"".join(parts)


def decode(data: bytes) -> Parsed:
    """Read `encode`'s layout (ValueError if it is not one, or is cut short)."""
    if not data.startswith(MAGIC):
        raise ValueError("not an RRD backup")
    end = data.find(b"\n", len(MAGIC))
    try:
        head = json.loads(data[len(MAGIC):end])
        last, names = int(head["lastupdate"]), [str(n) for n in head["names"]]
        shapes = [(int(step), int(rows)) for step, rows in head["archives"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not an RRD backup: {exc}") from None
    pos = end + 1
    archives: dict[int, list[array[float]]] = {}
    for step, rows in shapes:
        if step <= 0 or rows < 0:
            raise ValueError("not an RRD backup: bad archive shape")
        cols = []
        for _name in names:
            chunk = data[pos:pos + 4 * rows]
            if len(chunk) != 4 * rows:
                raise ValueError("RRD backup cut short")
            col = array("f")
            col.frombytes(chunk)
            if _SWAP:
                col.byteswap()
            cols.append(col)
            pos += 4 * rows
        archives[step] = cols
    if pos != len(data):
        raise ValueError("RRD backup longer than its archives")
    return Parsed(last, names, archives)


def _write(path: str, data: bytes) -> None:
    # whole, then renamed: a crash never leaves half a file in place of the last backup
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)


def _drop_xml(where: str, written: set[str]) -> None:
    """Remove the XML backups of owners now backed up in binary (they would be stale)."""
    for name in os.listdir(where):
        if name.endswith(".xml") and name[:-4] in written:
            os.unlink(os.path.join(where, name))


async def backup(services: Any, rrd: Rrd) -> int:
    """Write every owner's RRD; returns how many. Each is copied out on the event loop (the
    monitor changes the archives there) and written in a worker thread."""
    where = backup_dir(services)
    if where is None:
        return 0
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, lambda: os.makedirs(where, exist_ok=True))
    files = []
    for i, ((kind, uuid), names) in enumerate(owners(rrd).items()):
        files.append((f"{kind}-{uuid}", encode(rrd, kind, uuid, names)))
        if i % 100 == 99:
            await asyncio.sleep(0)      # calls waiting meanwhile are served
    # written by a few worker calls (1,000 VMs: a few hops, not a thousand), side by side:
    # replacing a file makes the file system start writing the new one out at the rename,
    # and four writers overlap that (999 files at shutdown: half the time of one writer)
    parts = [files[i::_WRITERS] for i in range(_WRITERS)]
    await asyncio.gather(*(loop.run_in_executor(
        None, lambda part=part: [_write(os.path.join(where, stem + SUFFIX), data)
                                 for stem, data in part])
        for part in parts if part))
    await loop.run_in_executor(None, _drop_xml, where, {stem for stem, _d in files})
    return len(files)


def load(services: Any) -> list[tuple[str, str, Any]]:
    """The backed-up RRDs read and parsed, (kind, uuid, parsed) each: file work only, so it
    runs in a worker thread while the server already serves; a file that cannot be read is
    logged and skipped."""
    where = backup_dir(services)
    if where is None or not os.path.isdir(where):
        return []
    found: dict[str, str] = {}          # owner stem -> its file (the binary one if both)
    for name in sorted(os.listdir(where)):
        stem, dot, ext = name.rpartition(".")
        if dot and ext in ("xml", SUFFIX[1:]) and stem.partition("-")[0] in KINDS \
                and (ext != "xml" or stem not in found):
            found[stem] = name
    out = []
    for stem, name in found.items():
        kind, _, uuid = stem.partition("-")
        try:
            if name.endswith(SUFFIX):
                with open(os.path.join(where, name), "rb") as f:
                    parsed = decode(f.read())
            else:
                with open(os.path.join(where, name), encoding="utf-8") as f:
                    parsed = parse(f.read())
        except (OSError, ValueError) as exc:
            log.warning("RRD backup %s not restored: %s", name, exc)
            continue
        out.append((kind, uuid, parsed))
    return out


def apply(rrd: Rrd, loaded: list[tuple[str, str, Any]]) -> int:
    """Put what `load` read into `rrd` (on the event loop, which owns the archives); returns
    how many owners were restored."""
    for kind, uuid, parsed in loaded:
        restore(rrd, kind, uuid, parsed)
    return len(loaded)
