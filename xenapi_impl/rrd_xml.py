"""One owner's whole round-robin database as XML: what xapi serves at /host_rrd and /vm_rrd
and backs up (host.backup_rrds), in rrdtool's dump layout:

    <rrd><version>0003</version><step>5</step><lastupdate>T</lastupdate>
      <ds><name>cpu0</name><type>GAUGE</type><minimal_heartbeat>300.0000</minimal_heartbeat>
          <min>0.0</min><max>1.0</max><last_ds>..</last_ds><value>..</value>
          <unknown_sec>0</unknown_sec></ds> ...
      <rra><cf>AVERAGE</cf><pdp_per_row>1</pdp_per_row><params><xff>0.5000</xff></params>
           <cdp_prep><ds><primary_value>..</primary_value><secondary_value>..</secondary_value>
                         <value>..</value><unknown_datapoints>0</unknown_datapoints></ds> ...
           </cdp_prep>
           <database><row><v>..</v> ...</row> ...</database></rra> ...
    </rrd>

One `<ds>` per recorded source of the owner, one `<rra>` per archive (only AVERAGE is kept),
rows oldest first, each with one `<v>` per `<ds>` in the same order. The monitor's rates are
already per second, so every source is a GAUGE. `parse` reads it back (restoring a backup).
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from array import array
from dataclasses import dataclass
from xml.sax.saxutils import escape

from .datasources import describe
from .rrd import NAN, Archive, Rrd, _num

VERSION = "0003"
HEARTBEAT = "300.0000"
XFF = "0.5000"


def _range(kind: str, name: str) -> tuple[float, float]:
    info = describe(kind, name)
    return (info.min, info.max) if info is not None else (-math.inf, math.inf)


def owner_names(rrd: Rrd, kind: str, uuid: str) -> list[str]:
    """The sources of one owner that have archives, in a stable order."""
    names: set[str] = set()
    for a in rrd.archives:
        names.update(k[2] for k in a.cols if k[0] == kind and k[1] == uuid)
    return sorted(names)


def owners(rrd: Rrd) -> dict[tuple[str, str], list[str]]:
    """Every owner's `owner_names`, in one pass over the archives (a backup of 1,000 VMs
    asked `owner_names` per owner: a second of the server's stop)."""
    found: dict[tuple[str, str], set[str]] = {}
    for a in rrd.archives:
        for kind, uuid, name in a.cols:
            found.setdefault((kind, uuid), set()).add(name)
    return {owner: sorted(names) for owner, names in sorted(found.items())}


def _acc(a: Archive, key: tuple[str, str, str]) -> float:
    got = a.acc.get(key)
    return got[0] / got[1] if got else NAN


def to_xml(rrd: Rrd, kind: str, uuid: str, names: list[str] | None = None) -> str:
    """The XML database of one owner ("host", "vm" or "sr" and its uuid); `names`: its
    sources, when the caller has them (`owners`)."""
    if names is None:
        names = owner_names(rrd, kind, uuid)
    keys = [(kind, uuid, n) for n in names]
    base = rrd.archives[0].step
    out = [f"<rrd><version>{VERSION}</version><step>{base}</step>"
           f"<lastupdate>{int(rrd.last_update)}</lastupdate>"]
    for k in keys:
        lo, hi = _range(kind, k[2])
        out.append(f"<ds><name>{escape(k[2])}</name><type>GAUGE</type>"
                   f"<minimal_heartbeat>{HEARTBEAT}</minimal_heartbeat>"
                   f"<min>{_num(lo)}</min><max>{_num(hi)}</max>"
                   f"<last_ds>{_num(rrd.latest.get(k, NAN))}</last_ds>"
                   f"<value>{_num(_acc(rrd.archives[0], k))}</value>"
                   "<unknown_sec>0</unknown_sec></ds>")
    for a in rrd.archives:
        order = a.ordered()
        cols = [a.cols.get(k) for k in keys]
        out.append(f"<rra><cf>AVERAGE</cf><pdp_per_row>{a.step // base}</pdp_per_row>"
                   f"<params><xff>{XFF}</xff></params><cdp_prep>")
        for k, col in zip(keys, cols):
            last = col[order[-1]] if col is not None and order else NAN
            before = col[order[-2]] if col is not None and len(order) > 1 else NAN
            out.append(f"<ds><primary_value>{_num(last)}</primary_value>"
                       f"<secondary_value>{_num(before)}</secondary_value>"
                       f"<value>{_num(_acc(a, k))}</value>"
                       "<unknown_datapoints>0</unknown_datapoints></ds>")
        out.append("</cdp_prep><database>")
        for i in order:
            out.append("<row>" + "".join(
                f"<v>{_num(c[i] if c is not None else NAN)}</v>" for c in cols) + "</row>")
        out.append("</database></rra>")
    out.append("</rrd>")
    return "".join(out)


@dataclass
class Parsed:
    """One owner's database read back (this XML, or rrd_backup's binary backup): its
    sources and, per archive step, one column of values per source, oldest row first."""
    lastupdate: int
    names: list[str]
    archives: dict[int, list[array[float]]]


def parse(text: str | bytes) -> Parsed:
    """Read `to_xml`'s layout (ValueError if it is not one)."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ValueError(f"not an RRD: {exc}") from None
    if root.tag != "rrd":
        raise ValueError(f"not an RRD: root element <{root.tag}>")
    try:
        step = int(root.findtext("step") or "")
        last = int(float(root.findtext("lastupdate") or ""))
        names = [ds.findtext("name") or "" for ds in root.findall("ds")]
        archives: dict[int, list[list[float]]] = {}
        for rra in root.findall("rra"):
            if rra.findtext("cf") != "AVERAGE":
                continue
            per = int(rra.findtext("pdp_per_row") or "")
            rows = [[float(v.text or "nan") for v in row.findall("v")]
                    for row in rra.iterfind("database/row")]
            if any(len(r) != len(names) for r in rows):
                raise ValueError("a row's value count differs from the data sources'")
            archives[step * per] = [array("f", [r[j] for r in rows]) for j in range(len(names))]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not an RRD: {exc}") from None
    return Parsed(last, names, archives)


def restore(rrd: Rrd, kind: str, uuid: str, parsed: Parsed) -> int:
    """Put a parsed database's rows back into the archives of the same step, before the
    monitor's first round (a server starting with its backup). The owners share each
    archive's time axis: the first restored sets it, the others' rows are placed by their
    times. Returns how many sources were restored."""
    restored: set[str] = set()
    rrd.last_update = max(rrd.last_update, float(parsed.lastupdate))
    for a in rrd.archives:
        columns = parsed.archives.get(a.step)
        if not columns or not len(columns[0]):
            continue
        n = min(len(columns[0]), a.rows)
        # rows end at multiples of the step; the newest ends at or before the last update
        newest = (parsed.lastupdate // a.step) * a.step
        first = newest - (n - 1) * a.step
        if not len(a.times):
            a.times = array("q", range(first, newest + 1, a.step))
            a.head = 0
            a.bucket_end = newest + a.step     # the next samples continue after the backup
            for col in a.cols.values():         # sources declared before: NaN rows
                col.extend(array("f", [NAN]) * (len(a.times) - len(col)))
        # the same time axis as the archive's (every owner of one backup): whole columns
        # copied; else each row placed by its time
        aligned = (a.head == 0 and len(a.times) == n and a.times[0] == first
                   and a.times[-1] == newest)
        index = None if aligned else {t: i for i, t in enumerate(a.times)}
        for name, src in zip(parsed.names, columns):
            k = (kind, uuid, name)
            src = src[len(src) - n:]
            if index is None:
                a.cols[k] = array("f", src)
            else:
                col = a.cols.get(k)
                if col is None:
                    col = a.cols[k] = array("f", [NAN]) * len(a.times)
                for r, v in enumerate(src):
                    i = index.get(first + r * a.step)
                    if i is not None:
                        col[i] = v
            a.last_seen[k] = max(a.last_seen.get(k, 0), newest)
            restored.add(name)
    return len(restored)
