"""xvaformat.py: the XVA header and tar stream pieces, without a server."""
from __future__ import annotations

import hashlib
import io
import tarfile

import pytest

from xenapi_impl import xvaformat as fmt

MiB = 1 << 20


def test_refs_become_ids_and_foreign_refs_go():
    ids = {"OpaqueRef:vm": "Ref:0", "OpaqueRef:vbd": "Ref:1"}
    rec = {"VBDs": ["OpaqueRef:vbd", "OpaqueRef:other"], "resident_on": "OpaqueRef:host",
           "current_operations": {"OpaqueRef:task": "start"}, "name": "OpaqueRefs are fine",
           "VCPUs_max": 2}
    out = fmt.replace_refs(rec, ids)
    assert out == {"VBDs": ["Ref:1"], "resident_on": "OpaqueRef:NULL",
                   "current_operations": {}, "name": "OpaqueRefs are fine", "VCPUs_max": 2}


def test_ova_xml_round_trip():
    version = {"hostname": "h", "date": "2024-01-01", "product_version": "8.2.1",
               "product_brand": "XenServer", "build_number": "b", "xapi_major": 1,
               "xapi_minor": 1, "export_vsn": 2}
    objects = [{"class": "VM", "id": "Ref:0",
                "snapshot": {"name_label": "a <b> & c", "VCPUs_max": 2, "platform": {"x": "y"},
                             "is_a_template": False, "HVM_shadow_multiplier": 1.0,
                             "VBDs": ["Ref:1"]}}]
    text = fmt.ova_xml(version, objects)
    assert b"<i4>2</i4>" in text            # export_vsn: an XML-RPC integer
    v, objs = fmt.parse_ova(text)
    assert v["export_vsn"] == 2 and v["product_brand"] == "XenServer"
    snap = objs[0]["snapshot"]
    assert objs[0]["class"] == "VM" and objs[0]["id"] == "Ref:0"
    assert snap["name_label"] == "a <b> & c" and snap["VCPUs_max"] == "2"   # ints as strings
    assert snap["platform"] == {"x": "y"} and snap["is_a_template"] is False
    assert snap["VBDs"] == ["Ref:1"]
    for bad in (b"<value><struct></struct></value>", b"<nope/>", b"<value>",
                b'<!DOCTYPE x [<!ENTITY a "b">]><value/>'):
        with pytest.raises(fmt.XvaError):
            fmt.parse_ova(bad)


def test_chunks_to_send_keeps_first_and_last():
    size = 10 * MiB + 5
    assert fmt.chunks_to_send(size, []) == [0, 10]
    assert fmt.chunks_to_send(size, [(3 * MiB + 1, MiB)]) == [0, 3, 4, 10]
    assert fmt.chunks_to_send(MiB, None) == [0]


def test_tar_reader_reads_what_tarfile_writes_and_ours():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        long = "Ref:1/" + "x" * 120
        for name, data in (("ova.xml", b"<value/>"), (long, b"abc")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    ours = fmt.member("ova.xml", b"<value/>") + fmt.chunk_members("Ref:2", 0, b"d" * 700) \
        + fmt.END
    for stream, want in ((buf.getvalue(), [("ova.xml", b"<value/>"), (long, b"abc")]),
                         (ours, [("ova.xml", b"<value/>"), ("Ref:2/00000000", b"d" * 700),
                                 ("Ref:2/00000000.checksum",
                                  hashlib.sha1(b"d" * 700).hexdigest().encode())])):
        r = fmt.TarReader(io.BytesIO(stream).read)
        got = []
        while (m := r.next()) is not None:
            got.append((m[0], r.data(m[1])))
        assert got == want
    r = fmt.TarReader(io.BytesIO(ours[:600]).read)
    r.next()
    with pytest.raises(fmt.Truncated):
        r.next()
    with pytest.raises(fmt.XvaError):
        fmt.TarReader(io.BytesIO(b"x" * 512).read).next()
