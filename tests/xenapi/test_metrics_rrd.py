"""The time series behind /rrd_updates: consolidation, archives, gaps, wrap-around, forgotten
sources, the archive chosen for an interval, and xapi's XML and JSON layouts."""
from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

import pytest
from xenapi_impl.rrd import ARCHIVES, Archive, Rrd, RrdError, to_json, to_xml

CPU = ("vm", "u1", "cpu0")
MEM = ("host", "h1", "memory_free_kib")


def feed(rrd: Rrd, t0: int, t1: int, values, every: float = 1.0) -> None:
    t = float(t0)
    while t < t1:
        rrd.update(t, {k: (v(t) if callable(v) else v) for k, v in values.items()})
        t += every


def test_archives_kept():
    assert (5, 120) in ARCHIVES and (60, 1440) in ARCHIVES
    assert [(a.step, a.rows) for a in Rrd().archives] == sorted(ARCHIVES)


def test_samples_average_into_rows_labelled_by_interval_end():
    rrd = Rrd([(5, 10)])
    feed(rrd, 1000, 1021, {CPU: lambda t: t - 1000})     # 0, 1, 2, ... 20
    e = rrd.export(0, 5)
    # 1000..1004 -> row 1005 (mean 2), ... ; the interval holding 1020 is not finished
    assert [t for t, _v in e.rows] == [1020, 1015, 1010, 1005]
    assert [v[0] for _t, v in e.rows] == [17.0, 12.0, 7.0, 2.0]
    assert (e.start, e.end, e.step) == (1005, 1020, 5)
    assert e.legend == ["AVERAGE:vm:u1:cpu0"]


def test_coarser_archive_fed_by_finished_points():
    rrd = Rrd([(5, 120), (60, 10)])
    feed(rrd, 6000, 6131, {CPU: lambda t: 1.0 if t < 6060 else 3.0})
    e = rrd.export(0, 60)
    assert e.step == 60
    assert [(t, v[0]) for t, v in e.rows] == [(6120, 3.0), (6060, 1.0)]


def test_nan_is_unknown_not_zero():
    rrd = Rrd([(5, 10)])
    rrd.update(100.0, {CPU: 1.0})
    rrd.update(101.0, {CPU: math.nan})
    rrd.update(102.0, {CPU: 3.0})
    rrd.update(106.0, {CPU: 0.0})
    assert rrd.export(0, 5).rows == [(105, [2.0])]


def test_gap_rows_when_the_monitor_stopped():
    rrd = Rrd([(5, 10)])
    rrd.update(100.0, {CPU: 1.0})
    rrd.update(121.0, {CPU: 2.0})         # nothing sampled for 105..120
    rrd.update(126.0, {CPU: 2.0})
    rows = rrd.export(0, 5).rows
    assert [t for t, _v in rows] == [125, 120, 115, 110, 105]
    assert rows[0][1] == [2.0] and rows[-1][1] == [1.0]
    assert all(math.isnan(v[0]) for _t, v in rows[1:4])


def test_ring_keeps_the_last_rows_and_forgets_departed_sources():
    a = Archive(5, 4)
    for i in range(10):
        pts = {CPU: float(i)}
        if i < 3:
            pts[MEM] = 10.0 * i
        a.add(1000 + 5 * i, pts)
    order = a.ordered()
    assert [a.times[i] for i in order] == [1030, 1035, 1040, 1045]
    assert [a.cols[CPU][i] for i in order] == [5.0, 6.0, 7.0, 8.0]
    assert MEM not in a.cols                # no value of it left in the archive


def test_start_filters_rows_and_vm_host_selection():
    rrd = Rrd([(5, 100)])
    feed(rrd, 2000, 2051, {CPU: 0.5, MEM: 1024.0, ("vm", "u2", "cpu0"): 0.25})
    e = rrd.export(2030, 5)
    assert [t for t, _v in e.rows] == [2050, 2045, 2040, 2035, 2030]
    assert e.legend == ["AVERAGE:vm:u1:cpu0", "AVERAGE:vm:u2:cpu0"]     # host only if asked
    assert rrd.export(0, 5, host=True).legend == [
        "AVERAGE:host:h1:memory_free_kib", "AVERAGE:vm:u1:cpu0", "AVERAGE:vm:u2:cpu0"]
    assert rrd.export(0, 5, host=True, vm_uuid="u2").legend == ["AVERAGE:vm:u2:cpu0"]
    later = rrd.export(3000, 5)
    assert later.rows == [] and later.start == later.end == 3000


def test_archive_for_interval():
    rrd = Rrd()
    assert [rrd.archive_for(i).step for i in (1, 5, 6, 60, 61, 3600, 86400, 10 ** 6)] == \
        [5, 5, 60, 60, 3600, 3600, 86400, 86400]


def test_bad_queries():
    rrd = Rrd()
    with pytest.raises(RrdError, match="'MAX' is not kept"):
        rrd.export(0, 5, cf="MAX")
    with pytest.raises(RrdError, match="interval 0 must be a positive"):
        rrd.export(0, 0)
    with pytest.raises(ValueError):
        Rrd([])
    with pytest.raises(ValueError):
        Archive(0, 10)


def test_xml_and_json_layouts():
    rrd = Rrd([(5, 10)])
    feed(rrd, 1000, 1010, {CPU: 0.3, MEM: 268435456.0})
    rrd.update(1010.0, {MEM: 1.0})          # cpu0 unknown in that row
    rrd.update(1016.0, {MEM: 1.0})
    e = rrd.export(0, 5, host=True)
    root = ET.fromstring(to_xml(e))
    meta = root.find("meta")
    assert [meta.findtext(k) for k in ("start", "step", "end", "rows", "columns")] == \
        ["1005", "5", "1015", "3", "2"]
    assert [x.text for x in meta.find("legend")] == ["AVERAGE:host:h1:memory_free_kib",
                                                      "AVERAGE:vm:u1:cpu0"]
    rows = [(r.findtext("t"), [v.text for v in r.findall("v")]) for r in root.find("data")]
    assert rows == [("1015", ["1.0", "NaN"]), ("1010", ["268435456.0", "0.3"]),
                    ("1005", ["268435456.0", "0.3"])]
    doc = json.loads(to_json(e))
    assert doc["meta"] == {"start": 1005, "step": 5, "end": 1015, "rows": 3, "columns": 2,
                           "legend": ["AVERAGE:host:h1:memory_free_kib", "AVERAGE:vm:u1:cpu0"]}
    assert doc["data"] == [{"t": 1015, "values": [1.0, None]},
                           {"t": 1010, "values": [268435456.0, 0.3]},
                           {"t": 1005, "values": [268435456.0, 0.3]}]


def test_forget_drops_one_owner_everywhere():
    rrd = Rrd([(5, 10), (60, 10)])
    other = ("vm", "u2", "cpu0")
    feed(rrd, 6000, 6131, {CPU: 1.0, other: 2.0, MEM: 3.0})
    rrd.forget("vm", "u1")
    for a in rrd.archives:
        assert not [k for k in (*a.cols, *a.acc, *a.last_seen) if k[1] == "u1"]
    assert rrd.export(0, 5, host=True).legend == ["AVERAGE:host:h1:memory_free_kib",
                                                  "AVERAGE:vm:u2:cpu0"]
    assert rrd.export(0, 60).legend == ["AVERAGE:vm:u2:cpu0"]
