"""The time series' data-source rules (rrd.py, datasources.py), the RRD XML (rrd_xml.py) and
the backups (rrd_backup.py): non-standard sources are measured but archived only once
recorded, forgetting drops the history, and a dumped or backed-up RRD restored into an empty
one gives the same rows."""
from __future__ import annotations

import asyncio
import math

import pytest
from xenapi_impl.datasources import describe, standard
from xenapi_impl.rrd import Rrd
from xenapi_impl.rrd_backup import SUFFIX, apply, backup, decode, encode, load
from xenapi_impl.rrd_xml import parse, restore, to_xml

VM = "11111111-2222-3333-4444-555555555555"
IO = ("vm", VM, "vbd_xvda_io_throughput_read")
CPU = ("vm", VM, "cpu0")


def feed(rrd: Rrd, start: int, seconds: int, value=lambda t: 0.5) -> None:
    for t in range(start, start + seconds, 5):
        rrd.update(t + 1, {CPU: value(t), IO: 2.0, ("host", "h", "loadavg"): 1.0})


def test_catalogue() -> None:
    assert describe("vm", "vbd_xvda_read").units == "B/s"
    assert describe("vm", "vbd_xvda_io_throughput_read").standard is False
    assert describe("vm", "cpu3").description == "CPU3 usage"
    assert describe("host", "cpu3").max == 1.0 and describe("vm", "memory").max == math.inf
    assert describe("vm", "nonesuch") is None and standard("vm", "nonesuch")
    assert not standard("sr", "io_throughput_total")


def test_non_standard_archived_once_recorded() -> None:
    rrd = Rrd()
    feed(rrd, 1000, 60)
    assert rrd.latest[IO] == 2.0 and "vbd_xvda_io_throughput_read" in rrd.sources("vm", VM)
    assert IO not in rrd.archives[0].cols and CPU in rrd.archives[0].cols
    rrd.record(IO)
    feed(rrd, 1060, 30)
    col = rrd.archives[0].cols[IO]
    assert [v for v in col if v == v] and all(v == 2.0 for v in col if v == v)


def test_forget_archives_keeps_the_source() -> None:
    rrd = Rrd()
    feed(rrd, 1000, 60)
    rrd.forget_archives(CPU)
    assert all(CPU not in a.cols for a in rrd.archives)
    assert "cpu0" in rrd.sources("vm", VM)
    feed(rrd, 1060, 20)
    assert CPU in rrd.archives[0].cols


def test_xml_round_trip() -> None:
    rrd = Rrd()
    feed(rrd, 1000, 600, value=lambda t: (t % 100) / 100)
    text = to_xml(rrd, "vm", VM)
    parsed = parse(text)
    assert parsed.names == ["cpu0"]
    again = Rrd()
    assert restore(again, "vm", VM, parsed) == 1
    for a, b in zip(rrd.archives, again.archives):
        assert list(a.times) == list(b.times)
        old = [a.cols[CPU][i] for i in a.ordered()] if CPU in a.cols else []
        new = [b.cols[CPU][i] for i in b.ordered()] if CPU in b.cols else []
        assert [v for v in old if v == v] == [v for v in new if v == v]
    assert again.last_update == int(rrd.last_update)
    # the restored RRD goes on from where the backup ended
    feed(again, 1600, 30)
    assert list(again.archives[0].times)[-1] > list(rrd.archives[0].times)[-1]


def test_parse_refuses_what_is_not_an_rrd() -> None:
    for bad in ("<xport/>", "not xml", "<rrd><step>x</step></rrd>",
                "<rrd><step>5</step><lastupdate>1</lastupdate><ds><name>a</name></ds>"
                "<rra><cf>AVERAGE</cf><pdp_per_row>1</pdp_per_row><database>"
                "<row><v>1</v><v>2</v></row></database></rra></rrd>"):
        with pytest.raises(ValueError):
            parse(bad)


def _same_series(rrd: Rrd, again: Rrd, key: tuple[str, str, str]) -> None:
    for a, b in zip(rrd.archives, again.archives):
        assert [a.times[i] for i in a.ordered()] == [b.times[i] for i in b.ordered()]
        old = [a.cols[key][i] for i in a.ordered()] if key in a.cols else []
        new = [b.cols[key][i] for i in b.ordered()] if key in b.cols else []
        assert [v for v in old if v == v] == [v for v in new if v == v]


def test_binary_backup_round_trip() -> None:
    """rrd_backup's columns, the ring of a full archive included (10 minutes at 5 s are
    120 rows: 20 minutes wrap it), read back into an empty RRD: the same rows."""
    rrd = Rrd()
    feed(rrd, 1000, 1200, value=lambda t: (t % 100) / 100)
    assert rrd.archives[0].head != 0                     # the 5 s ring has wrapped
    data = encode(rrd, "vm", VM, ["cpu0"])
    parsed = decode(data)
    assert parsed.names == ["cpu0"] and parsed.lastupdate == int(rrd.last_update)
    again = Rrd()
    assert restore(again, "vm", VM, parsed) == 1
    _same_series(rrd, again, CPU)
    for bad in (b"", b"XAPIRRD1\n{}\n", data[:-4], data + b"\0\0\0\0",
                data.replace(b'"names"', b'"nomes"')):
        with pytest.raises(ValueError):
            decode(bad)


def test_backups_in_xml_are_read_and_replaced(tmp_path) -> None:
    """A backup written as XML (before the binary layout) is restored; the next backup is
    binary and removes it; where both exist the binary one wins."""
    class Services:
        state_base = str(tmp_path / "xapi")
    rrd = Rrd()
    feed(rrd, 1000, 600, value=lambda t: (t % 100) / 100)
    where = tmp_path / "xapi.rrds"
    where.mkdir()
    (where / f"vm-{VM}.xml").write_text(to_xml(rrd, "vm", VM))
    (where / "host-h.xml").write_text(to_xml(rrd, "host", "h"))
    again = Rrd()
    assert apply(again, load(Services)) == 2
    _same_series(rrd, again, CPU)

    feed(rrd, 1600, 60, value=lambda t: 0.25)
    assert asyncio.run(backup(Services, rrd)) == 2
    assert sorted(p.name for p in where.iterdir()) == [f"host-h{SUFFIX}", f"vm-{VM}{SUFFIX}"]
    (where / f"vm-{VM}.xml").write_text(to_xml(Rrd(), "vm", VM))     # stale, and empty
    latest = Rrd()
    assert apply(latest, load(Services)) == 2
    _same_series(rrd, latest, CPU)
