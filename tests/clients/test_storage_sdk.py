"""Storage through the official XenAPI Python SDK against the real server process: the seeded
SRs, VDIs as real sparse files, scan, VBDs with their relation sets and events."""
from __future__ import annotations

import os
import time

import pytest
import XenAPI
from sdk import details

from test_python_sdk import VM

NULL = "OpaqueRef:NULL"
MiB = 1 << 20


@pytest.fixture
def x(server):
    s = XenAPI.Session(server.url)
    s.xenapi.login_with_password("root", server.password, "1.0", "pytest-storage")
    yield s.xenapi
    s.xenapi.session.logout()


def vdi_rec(sr, size, name="disk"):
    return {"SR": sr, "virtual_size": str(size), "type": "user", "sharable": False,
            "read_only": False, "other_config": {}, "name_label": name,
            "name_description": ""}


def local_sr(x):
    return x.pool.get_default_SR(x.pool.get_all()[0])


def sr_dir(server, sub="local"):
    return server.db + ".sr/" + sub


def test_seeded_srs_are_plugged_and_described(x, server):
    sr = local_sr(x)
    rec = x.SR.get_record(sr)
    assert (rec["name_label"], rec["type"]) == ("Local storage", "file")
    assert int(rec["physical_size"]) > 0
    [pbd] = rec["PBDs"]
    assert x.PBD.get_currently_attached(pbd) is True
    assert x.PBD.get_device_config(pbd) == {"path": sr_dir(server)}
    [iso] = x.SR.get_by_name_label("ISO library")
    assert x.SR.get_content_type(iso) == "iso"
    assert sorted(x.SR.get_supported_types()) == ["file", "iso"]


def test_vdi_lifecycle_on_disk(x, server):
    sr = local_sr(x)
    d = sr_dir(server)
    vdi = x.VDI.create(vdi_rec(sr, 8 * MiB))
    loc = x.VDI.get_location(vdi)
    path = os.path.join(d, loc + ".img")
    assert os.path.getsize(path) == 8 * MiB and os.stat(path).st_blocks == 0
    assert x.VDI.get_virtual_size(vdi) == str(8 * MiB)

    x.VDI.resize(vdi, str(16 * MiB))
    assert os.path.getsize(path) == 16 * MiB
    assert details(x.VDI.resize, vdi, str(MiB)) == ["VDI_TOO_SMALL", vdi, str(16 * MiB)]

    clone = x.VDI.clone(vdi, {})
    snap = x.VDI.snapshot(vdi, {})
    assert x.VDI.get_snapshot_of(snap) == vdi and x.VDI.get_is_a_snapshot(snap) is True
    assert x.VDI.get_snapshots(vdi) == [snap]
    [iso] = x.SR.get_by_name_label("ISO library")
    assert details(x.VDI.copy, vdi, iso, NULL, NULL) == ["SR_OPERATION_NOT_SUPPORTED", iso]
    task = x.Async.VDI.copy(vdi, sr, NULL, NULL)
    for _ in range(200):
        if x.task.get_status(task) != "pending":
            break
        time.sleep(0.05)
    assert x.task.get_status(task) == "success"
    copied = x.task.get_result(task).replace("<value>", "").replace("</value>", "")
    assert x.VDI.get_SR(copied) == sr and x.VDI.get_virtual_size(copied) == str(16 * MiB)

    for ref in (clone, snap, copied, vdi):
        f = os.path.join(d, x.VDI.get_location(ref) + ".img")
        assert os.path.exists(f)
        x.VDI.destroy(ref)
        assert not os.path.exists(f)
    assert details(x.VDI.get_record, vdi) == ["HANDLE_INVALID", "VDI", vdi]


def test_scan_picks_up_new_files_and_marks_missing(x, server):
    sr = local_sr(x)
    d = sr_dir(server)
    with open(os.path.join(d, "dropped.img"), "wb") as f:
        f.truncate(2 * MiB)
    x.SR.scan(sr)
    [new] = [v for v in x.SR.get_VDIs(sr) if x.VDI.get_location(v) == "dropped"]
    assert x.VDI.get_virtual_size(new) == str(2 * MiB) and x.VDI.get_missing(new) is False
    os.unlink(os.path.join(d, "dropped.img"))
    x.SR.scan(sr)
    assert x.VDI.get_missing(new) is True
    x.VDI.destroy(new)
    assert new not in x.SR.get_VDIs(sr)


def test_vbd_relations_events_and_errors(x):
    sr = local_sr(x)
    vm = x.VM.create(dict(VM))
    vdi = x.VDI.create(vdi_rec(sr, MiB))
    token = x.event_from(["vm"], "", 0.0)["token"]
    vbd = x.VBD.create({"VM": vm, "VDI": vdi, "userdevice": "autodetect", "bootable": True,
                        "mode": "RW", "type": "Disk", "empty": False, "other_config": {},
                        "qos_algorithm_type": "", "qos_algorithm_params": {}})
    assert x.VM.get_VBDs(vm) == [vbd] and x.VDI.get_VBDs(vdi) == [vbd]
    assert x.VBD.get_userdevice(vbd) == "0"
    ev = x.event_from(["vm"], token, 0.0)["events"]
    assert [(e["operation"], e["ref"]) for e in ev] == [("mod", vm)]
    assert ev[0]["snapshot"]["VBDs"] == [vbd]
    assert details(x.VBD.plug, vbd) == ["VM_BAD_POWER_STATE", vm, "running", "halted"]
    assert details(x.VBD.eject, vbd) == ["VBD_NOT_REMOVABLE_MEDIA", vbd]
    assert details(x.VBD.create, {
        "VM": vm, "VDI": vdi, "userdevice": "0", "bootable": False, "mode": "RW",
        "type": "Disk", "empty": False, "other_config": {}, "qos_algorithm_type": "",
        "qos_algorithm_params": {}}) == ["DEVICE_ALREADY_EXISTS", "0"]
    x.VBD.destroy(vbd)
    assert x.VM.get_VBDs(vm) == [] and x.VDI.get_VBDs(vdi) == []
    x.VDI.destroy(vdi)
    x.VM.destroy(vm)
