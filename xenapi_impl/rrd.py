"""In-memory round-robin time series (the data behind /rrd_updates).

Like xapi's RRDs: every data source is sampled by the monitor at each tick; samples are
averaged into consolidation intervals ("primary data points") of each archive's step, and each
archive keeps its last `rows` points. The finest archive is fed by the samples; each coarser
one by the finished points of the finest (an average of averages over equal intervals is the
average). Rows are labelled with the end of their interval, a multiple of the step (rrdtool's
convention). Values are float32 (a graph needs no more; it halves the memory of 1,000 VMs).
A data source that has not been seen for a whole archive's span is dropped from it, and the
monitor drops a VM's sources when it stops running here (`forget`), so memory stays bounded by
the sources of the running VMs.

Every sample's latest value is kept (`latest`, what query_data_source answers); only the
sources the catalogue (datasources.py) calls standard, and those `record` enabled, go into the
archives, as xapi records only its enabled data sources.
"""
from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .datasources import standard

#: (step seconds, rows): 10 minutes at 5 s, 1 day at 1 min, 1 week at 1 h, 1 year at 1 day
ARCHIVES: tuple[tuple[int, int], ...] = ((5, 120), (60, 1440), (3600, 168), (86400, 366))
NAN = float("nan")

#: (owner kind "vm"|"host"|"sr", owner uuid, data source name)
Key = tuple[str, str, str]


class RrdError(ValueError):
    """A query the time series cannot answer (the message says why)."""


class Archive:
    """`rows` consolidated points of every data source at one step, oldest overwritten."""

    def __init__(self, step: int, rows: int) -> None:
        if step <= 0 or rows <= 0:
            raise ValueError("step and rows must be positive")
        self.step = step
        self.rows = rows
        self.times: array[int] = array("q")     # row end times, a ring once full
        self.head = 0                           # index of the oldest row once full
        self.cols: dict[Key, array[float]] = {}
        self.last_seen: dict[Key, int] = {}
        self.bucket_end = 0                     # end time of the point being consolidated
        self.acc: dict[Key, list[float]] = {}   # key -> [sum, count] of that point

    def add(self, t: float, values: Mapping[Key, float]) -> list[tuple[int, dict[Key, float]]]:
        """Feed samples taken at `t`; returns the points finished by it (end time, averages)."""
        end = (math.floor(t / self.step) + 1) * self.step
        done: list[tuple[int, dict[Key, float]]] = []
        if self.bucket_end and end > self.bucket_end:
            done.append(self._finish())
            # intervals with no sample at all (the monitor was stopped) become gaps
            skipped = min((end - self.bucket_end) // self.step - 1, self.rows)
            for i in range(skipped, 0, -1):
                self._append(end - i * self.step, {})
        if not self.bucket_end or end > self.bucket_end:
            self.bucket_end = end
        elif end < self.bucket_end:
            return done         # the clock went back: ignore samples of a finished interval
        acc = self.acc
        for k, v in values.items():
            if v != v:          # NaN: unknown, not zero; the source is listed all the same
                self.declare(k)
                continue
            a = acc.get(k)
            if a is None:
                acc[k] = [v, 1.0]
            else:
                a[0] += v
                a[1] += 1.0
        return done

    def declare(self, k: Key) -> None:
        """List source `k` (NaN in every row) until it gets values or is not seen again."""
        if k not in self.cols:
            n = len(self.times)
            self.cols[k] = array("f", [NAN]) * (n if n < self.rows else self.rows)
        self.last_seen[k] = max(self.last_seen.get(k, 0), self.bucket_end)

    def _finish(self) -> tuple[int, dict[Key, float]]:
        point = {k: s / n for k, (s, n) in self.acc.items()}
        end = self.bucket_end
        self._append(end, point)
        self.acc = {}
        return end, point

    def _append(self, t: int, point: Mapping[Key, float]) -> None:
        n = len(self.times)
        full = n >= self.rows
        for k in point:
            self.last_seen[k] = t
            if k not in self.cols:
                self.cols[k] = array("f", [NAN]) * (n if not full else self.rows)
        if full:
            i = self.head
            self.times[i] = t
            for k, col in self.cols.items():
                col[i] = point.get(k, NAN)
            self.head = (i + 1) % self.rows
            oldest = self.times[self.head]
            # forget sources that have no value left in this archive
            for k in [k for k, seen in self.last_seen.items() if seen < oldest]:
                del self.last_seen[k]
                del self.cols[k]
        else:
            self.times.append(t)
            for k, col in self.cols.items():
                col.append(point.get(k, NAN))

    def ordered(self) -> list[int]:
        """Ring indexes of the rows, oldest first."""
        n = len(self.times)
        return [(self.head + i) % n for i in range(n)]


@dataclass(frozen=True)
class Export:
    """The rows of one archive for an /rrd_updates answer, newest row first (as xapi)."""
    start: int
    end: int
    step: int
    legend: list[str]
    rows: list[tuple[int, list[float]]]


class Rrd:
    """Every data source of this host, in the archives of `ARCHIVES`."""

    def __init__(self, archives: Iterable[tuple[int, int]] = ARCHIVES) -> None:
        self.archives = [Archive(s, r) for s, r in sorted(archives)]
        if not self.archives:
            raise ValueError("at least one archive is needed")
        #: the last sample of every source measured, recorded or not
        self.latest: dict[Key, float] = {}
        #: non-standard sources that record_data_source enabled
        self.enabled: set[Key] = set()
        self.last_update = 0.0
        # sources known to be recorded (a source never stops being): a round's thousands
        # of keys skip the catalogue's patterns; emptied when departed owners fill it
        self._recorded: set[Key] = set()

    def recorded(self, k: Key) -> bool:
        """Whether source `k` goes into the archives (standard, or enabled)."""
        if k in self._recorded:
            return True
        if k in self.enabled or standard(k[0], k[2]):
            self._recorded.add(k)
            return True
        return False

    def update(self, t: float, values: Mapping[Key, float]) -> None:
        """Samples of the data sources at wall-clock time `t` (seconds since the epoch)."""
        self.latest.update(values)
        self.last_update = t
        extra = values.keys() - self._recorded    # usually the few non-standard sources
        if extra:
            skip = [k for k in extra if not self.recorded(k)]
            if skip:
                values = dict(values)
                for k in skip:
                    del values[k]
        finest, *coarser = self.archives
        for end, point in finest.add(t, values):
            # a finished fine point stands for its whole interval, which ends at `end`
            for a in coarser:
                a.add(end - finest.step / 2, point)

    def declare(self, keys: Iterable[Key]) -> None:
        """Sources that exist from now on, NaN until sampled (a VM that just started)."""
        for k in keys:
            self.latest.setdefault(k, NAN)
            if self.recorded(k):
                for a in self.archives:
                    a.declare(k)

    def sources(self, kind: str, uuid: str) -> list[str]:
        """The names of every source of one owner, measured or archived."""
        names = {k[2] for k in self.latest if k[0] == kind and k[1] == uuid}
        for a in self.archives:
            names.update(k[2] for k in a.cols if k[0] == kind and k[1] == uuid)
        return sorted(names)

    def record(self, k: Key) -> None:
        """Start archiving source `k` from its next sample (record_data_source)."""
        self.enabled.add(k)

    def forget_archives(self, k: Key) -> None:
        """Drop the stored history of source `k` (forget_data_source_archives); a source
        still measured starts again from its next sample."""
        for a in self.archives:
            for table in (a.cols, a.last_seen, a.acc):
                table.pop(k, None)

    def forget(self, kind: str, uuid: str) -> None:
        """Drop every source of one owner (a VM no longer running here: like xapi's
        rrd_updates, only resident VMs are reported, and a departed VM must not keep memory)."""
        if len(self._recorded) > 2 * len(self.latest) + 4096:
            self._recorded.clear()  # departed owners' keys: rebuilt by the next round
        for table in (self.latest, *(t for a in self.archives
                                     for t in (a.cols, a.last_seen, a.acc))):
            for k in [k for k in table if k[0] == kind and k[1] == uuid]:
                del table[k]

    def archive_for(self, interval: int) -> Archive:
        """xapi's choice: the finest archive whose step is at least `interval`."""
        for a in self.archives:
            if a.step >= interval:
                return a
        return self.archives[-1]

    def export(self, start: int, interval: int, *, cf: str = "AVERAGE", host: bool = False,
               vm_uuid: str | None = None) -> Export:
        """Rows at or after `start` of the archive chosen for `interval`: every VM's sources
        (or only `vm_uuid`'s), and the host's when `host`."""
        if cf != "AVERAGE":
            raise RrdError(f"consolidation function {cf!r} is not kept (only AVERAGE)")
        if interval <= 0:
            raise RrdError(f"interval {interval} must be a positive number of seconds")
        a = self.archive_for(interval)
        keys = sorted(k for k in a.cols
                      if (k[0] == "vm" and (vm_uuid is None or k[1] == vm_uuid))
                      or (k[0] == "host" and host and vm_uuid is None))
        cols = [a.cols[k] for k in keys]
        rows = [(a.times[i], [c[i] for c in cols]) for i in reversed(a.ordered())
                if a.times[i] >= start]
        legend = [f"{cf}:{kind}:{uuid}:{name}" for kind, uuid, name in keys]
        if rows:
            first, last = rows[-1][0], rows[0][0]
        else:
            newest = a.times[a.ordered()[-1]] if len(a.times) else start
            first = last = max(start, newest)
        return Export(first, last, a.step, legend, rows)


# --- rendering (xapi's two layouts) ---------------------------------------------------------

def _clean(v: float) -> float:
    """The shortest decimal that is this float32 value (0.3, not 0.30000001192092896;
    268435456, not 268435500): whole numbers as they are, else the fewest digits."""
    if math.isinf(v) or v == int(v):
        return float(v)
    for digits in (6, 7, 8):
        x = float(f"{v:.{digits}g}")
        if array("f", [x])[0] == v:
            return x
    return float(f"{v:.9g}")


def _num(v: float) -> str:
    if v != v:
        return "NaN"
    return ("Infinity" if v > 0 else "-Infinity") if math.isinf(v) else repr(_clean(v))


def to_xml(e: Export) -> str:
    """`<xport>` as xapi's rrd_updates writes it."""
    from xml.sax.saxutils import escape
    out = [f"<xport><meta><start>{e.start}</start><step>{e.step}</step><end>{e.end}</end>"
           f"<rows>{len(e.rows)}</rows><columns>{len(e.legend)}</columns><legend>"]
    out.extend(f"<entry>{escape(x)}</entry>" for x in e.legend)
    out.append("</legend></meta><data>")
    for t, vals in e.rows:
        out.append(f"<row><t>{t}</t>" + "".join(f"<v>{_num(v)}</v>" for v in vals) + "</row>")
    out.append("</data></xport>")
    return "".join(out)


def to_json(e: Export) -> str:
    """xapi's JSON layout: {meta: {start, step, end, rows, columns, legend}, data: [{t,
    values}]}. Unknown values are null (strict JSON; xapi writes NaN, which JSON.parse
    refuses)."""
    import json

    def val(v: float) -> float | None:
        return None if v != v or math.isinf(v) else _clean(v)

    return json.dumps({
        "meta": {"start": e.start, "step": e.step, "end": e.end, "rows": len(e.rows),
                 "columns": len(e.legend), "legend": e.legend},
        "data": [{"t": t, "values": [val(v) for v in vals]} for t, vals in e.rows],
    }, separators=(",", ":"))
