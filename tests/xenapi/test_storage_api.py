"""SR, PBD, VDI and VBD messages in process, on real files in a temporary directory."""
from __future__ import annotations

import os

import pytest

from harness import VM_REQUIRED, Harness, run
from xenapi_impl.errors import XenAPIError
from xenapi_impl.store import NULL_REF

GiB = 1 << 30
MiB = 1 << 20


async def fails(coro) -> list[str]:
    with pytest.raises(XenAPIError) as info:
        await coro
    return info.value.description


async def file_sr(h: Harness, s: str, path: str, name: str = "sr") -> str:
    return await h.call("SR.create", s, h.services.host_ref, {"path": path}, "0", name, "",
                        "file", "", False, {})


def vdi_rec(sr: str, size: int = GiB, **extra):
    rec = {"SR": sr, "virtual_size": str(size), "type": "user", "sharable": False,
           "read_only": False, "other_config": {}, "name_label": "disk"}
    rec.update(extra)
    return rec


def vbd_rec(vm: str, vdi: str = NULL_REF, **extra):
    rec = {"VM": vm, "VDI": vdi, "userdevice": "0", "bootable": False, "mode": "RW",
           "type": "Disk", "empty": vdi == NULL_REF, "other_config": {},
           "qos_algorithm_type": "", "qos_algorithm_params": {}}
    rec.update(extra)
    return rec


def image(path: str, uuid: str) -> str:
    return os.path.join(path, uuid + ".img")


def test_sr_create_makes_storage_a_plugged_pbd_and_sizes(tmp_path):
    async def body(h):
        s = await h.login()
        path = str(tmp_path / "sr1")
        sr = await file_sr(h, s, path)
        assert os.path.isdir(path)
        rec = await h.call("SR.get_record", s, sr)
        assert (rec["type"], rec["content_type"], rec["VDIs"]) == ("file", "", [])
        assert int(rec["physical_size"]) > 0
        assert "vdi_create" in rec["allowed_operations"]
        [pbd] = rec["PBDs"]
        prec = await h.call("PBD.get_record", s, pbd)
        assert prec["currently_attached"] is True and prec["host"] == h.services.host_ref
        assert prec["device_config"] == {"path": path}
        assert pbd in await h.call("host.get_PBDs", s, h.services.host_ref)
        assert sorted(await h.call("SR.get_supported_types", s)) == ["file", "iso"]
        assert await fails(h.call("SR.create", s, h.services.host_ref, {}, "0", "x", "", "nfs3",
                                  "", False, {})) == ["SR_UNKNOWN_DRIVER", "nfs3"]
        d = await fails(h.call("SR.create", s, h.services.host_ref, {}, "0", "x", "", "file",
                               "", False, {}))
        assert d[:2] == ["SR_BACKEND_FAILURE", "DeviceConfigInvalid"]
        assert len(await h.call("SR.get_all", s)) == 1 and len(await h.call("PBD.get_all", s)) == 1
    run(body)


def test_vdi_create_resize_clone_snapshot_copy_destroy_on_disk(tmp_path):
    async def body(h):
        s = await h.login()
        p1, p2 = str(tmp_path / "a"), str(tmp_path / "b")
        sr1, sr2 = await file_sr(h, s, p1), await file_sr(h, s, p2)
        vdi = await h.call("VDI.create", s, vdi_rec(sr1, GiB + 1, other_config={"k": "v"}))
        rec = await h.call("VDI.get_record", s, vdi)
        f = image(p1, rec["location"])
        assert rec["location"] == rec["uuid"] and os.path.getsize(f) == GiB + 512
        assert os.stat(f).st_blocks == 0                        # sparse
        assert (rec["virtual_size"], rec["SR"], rec["other_config"]) == (GiB + 512, sr1,
                                                                         {"k": "v"})
        assert rec["managed"] is True and rec["missing"] is False
        assert await h.call("SR.get_VDIs", s, sr1) == [vdi]
        assert (await h.call("SR.get_record", s, sr1))["virtual_allocation"] == GiB + 512

        with open(f, "r+b") as fh:                              # data survives copies
            fh.seek(MiB)
            fh.write(b"hello")
        await h.call("VDI.resize", s, vdi, str(2 * GiB))
        assert os.path.getsize(f) == 2 * GiB
        assert await h.call("VDI.get_virtual_size", s, vdi) == 2 * GiB
        assert await fails(h.call("VDI.resize", s, vdi, str(GiB))) == [
            "VDI_TOO_SMALL", vdi, str(2 * GiB)]
        assert await fails(h.call("VDI.resize_online", s, vdi, str(3 * GiB))) == [
            "SR_OPERATION_NOT_SUPPORTED", sr1]

        clone = await h.call("VDI.clone", s, vdi, {})
        crec = await h.call("VDI.get_record", s, clone)
        assert crec["is_a_snapshot"] is False and crec["snapshot_of"] == NULL_REF
        assert crec["name_label"] == "disk" and crec["other_config"] == {"k": "v"}
        snap = await h.call("VDI.snapshot", s, vdi, {})
        srec = await h.call("VDI.get_record", s, snap)
        assert (srec["is_a_snapshot"], srec["snapshot_of"], srec["read_only"]) == (
            True, vdi, True)
        assert srec["snapshot_time"].year >= 2024
        assert await h.call("VDI.get_snapshots", s, vdi) == [snap]
        assert sorted(await h.call("SR.get_VDIs", s, sr1)) == sorted([vdi, clone, snap])

        copied = await h.call("VDI.copy", s, vdi, sr2, NULL_REF, NULL_REF)
        corec = await h.call("VDI.get_record", s, copied)
        assert corec["SR"] == sr2 and await h.call("SR.get_VDIs", s, sr2) == [copied]
        for ref, path in ((clone, p1), (snap, p1), (copied, p2)):
            loc = await h.call("VDI.get_location", s, ref)
            with open(image(path, loc), "rb") as fh:
                fh.seek(MiB)
                assert fh.read(5) == b"hello"
        assert (await fails(h.call("VDI.copy", s, vdi, sr2, NULL_REF, copied)))[:3] == [
            "VALUE_NOT_SUPPORTED", "into_vdi", copied]

        await h.call("VDI.destroy", s, clone)
        assert not os.path.exists(image(p1, crec["location"]))
        assert sorted(await h.call("SR.get_VDIs", s, sr1)) == sorted([vdi, snap])
        assert await fails(h.call("VDI.get_record", s, clone)) == [
            "HANDLE_INVALID", "VDI", clone]
    run(body)


def test_vdi_create_errors_change_nothing(tmp_path):
    async def body(h):
        s = await h.login()
        path = str(tmp_path / "sr")
        sr = await file_sr(h, s, path)
        assert await fails(h.call("VDI.create", s, vdi_rec(sr, -1))) == [
            "INVALID_VALUE", "virtual_size", "-1"]
        assert await fails(h.call("VDI.create", s, vdi_rec("OpaqueRef:nope"))) == [
            "HANDLE_INVALID", "SR", "OpaqueRef:nope"]
        [pbd] = await h.call("SR.get_PBDs", s, sr)
        await h.call("PBD.unplug", s, pbd)
        assert await fails(h.call("VDI.create", s, vdi_rec(sr))) == ["SR_NOT_ATTACHED", sr]
        assert sorted(os.listdir(path)) == [".xenapi-sr.json", ".xenapi-sr.lock"]
        assert await h.call("VDI.get_all", s) == []
    run(body)


def test_scan_adopts_dropped_files_and_marks_vanished_ones_missing(tmp_path):
    async def body(h):
        s = await h.login()
        path = str(tmp_path / "sr")
        sr = await file_sr(h, s, path)
        vdi = await h.call("VDI.create", s, vdi_rec(sr, MiB))
        with open(os.path.join(path, "imported.img"), "wb") as fh:
            fh.truncate(4 * MiB)
        await h.call("SR.scan", s, sr)
        vdis = await h.call("SR.get_VDIs", s, sr)
        [new] = [v for v in vdis if v != vdi]
        nrec = await h.call("VDI.get_record", s, new)
        assert (nrec["location"], nrec["name_label"], nrec["virtual_size"]) == (
            "imported", "imported", 4 * MiB)
        await h.call("SR.scan", s, sr)                          # idempotent
        assert len(await h.call("SR.get_VDIs", s, sr)) == 2

        os.unlink(image(path, await h.call("VDI.get_location", s, vdi)))
        await h.call("SR.scan", s, sr)
        assert await h.call("VDI.get_missing", s, vdi) is True
        assert await h.call("VDI.get_missing", s, new) is False
        await h.call("VDI.destroy", s, vdi)                     # forgets the missing image
        assert await h.call("SR.get_VDIs", s, sr) == [new]
    run(body)


def test_sr_update_destroy_forget_and_pbd_rules(tmp_path):
    async def body(h):
        s = await h.login()
        path = str(tmp_path / "sr")
        sr = await file_sr(h, s, path)
        vdi = await h.call("VDI.create", s, vdi_rec(sr, MiB))
        with open(image(path, await h.call("VDI.get_location", s, vdi)), "r+b") as fh:
            fh.write(b"x" * 65536)
        await h.call("SR.update", s, sr)
        assert (await h.call("SR.get_record", s, sr))["physical_utilisation"] >= 65536

        [pbd] = await h.call("SR.get_PBDs", s, sr)
        assert await fails(h.call("SR.destroy", s, sr)) == ["SR_HAS_PBD", sr]
        assert await fails(h.call("SR.forget", s, sr)) == ["SR_HAS_PBD", sr]
        assert await fails(h.call("PBD.destroy", s, pbd)) == [
            "OPERATION_NOT_ALLOWED", "PBD is currently attached"]
        assert await fails(h.call("PBD.create", s, {
            "host": h.services.host_ref, "SR": sr, "device_config": {}})) == [
            "PBD_EXISTS", sr, h.services.host_ref, pbd]
        await h.call("PBD.unplug", s, pbd)
        await h.call("PBD.unplug", s, pbd)                      # idempotent, like xapi
        assert await fails(h.call("SR.scan", s, sr)) == ["SR_NOT_ATTACHED", sr]
        assert await fails(h.call("SR.destroy", s, sr)) == ["SR_NOT_EMPTY"]
        await h.call("PBD.plug", s, pbd)
        await h.call("VDI.destroy", s, vdi)
        await h.call("PBD.unplug", s, pbd)
        await h.call("SR.destroy", s, sr)
        assert not os.path.exists(path)
        assert await h.call("SR.get_all", s) == [] and await h.call("PBD.get_all", s) == []

        sr2 = await file_sr(h, s, path)
        sr_uuid = await h.call("SR.get_uuid", s, sr2)
        vdi_uuid = await h.call("VDI.get_uuid", s, await h.call("VDI.create", s, vdi_rec(sr2, MiB)))
        [pbd2] = await h.call("SR.get_PBDs", s, sr2)
        await h.call("PBD.unplug", s, pbd2)
        await h.call("SR.forget", s, sr2)                       # records only
        assert await h.call("VDI.get_all", s) == [] and await h.call("PBD.get_all", s) == []
        assert os.path.exists(image(path, vdi_uuid))
        # introduce the same storage again: its VDI comes back with the same uuid
        assert await fails(h.call("SR.introduce", s, "../x", "x", "", "file", "", False,
                                  {})) == ["INVALID_VALUE", "uuid", "../x"]
        sr3 = await h.call("SR.introduce", s, sr_uuid, "again", "", "file", "", False, {})
        assert await fails(h.call("SR.introduce", s, sr_uuid, "x", "", "file", "", False,
                                  {})) == ["SR_UUID_EXISTS", sr_uuid]
        assert await fails(h.call("VDI.create", s, vdi_rec(sr3))) == ["SR_HAS_NO_PBDS", sr3]
        pbd3 = await h.call("PBD.create", s, {"host": h.services.host_ref, "SR": sr3,
                                              "device_config": {"path": path}})
        await h.call("PBD.plug", s, pbd3)
        [back] = await h.call("SR.get_VDIs", s, sr3)
        assert await h.call("VDI.get_uuid", s, back) == vdi_uuid
    run(body)


def test_vbd_records_relations_events_and_checks(tmp_path):
    async def body(h):
        s = await h.login()
        sr = await file_sr(h, s, str(tmp_path / "sr"))
        vm = await h.call("VM.create", s, dict(VM_REQUIRED))
        disk = await h.call("VDI.create", s, vdi_rec(sr, MiB))
        ro = await h.call("VDI.create", s, vdi_rec(sr, MiB, read_only=True))
        token = (await h.call("event.from", s, ["vm", "vdi"], "", 0.0))["token"]

        vbd = await h.call("VBD.create", s, vbd_rec(vm, disk, userdevice="autodetect"))
        rec = await h.call("VBD.get_record", s, vbd)
        assert (rec["userdevice"], rec["currently_attached"], rec["device"]) == ("0", False, "")
        m = await h.call("VBD_metrics.get_record", s, rec["metrics"])
        assert (m["io_read_kbs"], m["io_write_kbs"]) == (0.0, 0.0)
        assert await h.call("VM.get_VBDs", s, vm) == [vbd]
        assert await h.call("VDI.get_VBDs", s, disk) == [vbd]
        r = await h.call("event.from", s, ["vm", "vdi"], token, 0.0)
        assert {(e["class"], e["operation"], e["ref"]) for e in r["events"]} == {
            ("vm", "mod", vm), ("vdi", "mod", disk)}

        cd = await h.call("VBD.create", s, vbd_rec(vm, NULL_REF, userdevice="autodetect",
                                                   type="CD", mode="RO", empty=True))
        assert await h.call("VBD.get_userdevice", s, cd) == "1"
        assert sorted(await h.call("VM.get_VBDs", s, vm)) == sorted([vbd, cd])

        async def bad(**kw):
            return await fails(h.call("VBD.create", s, vbd_rec(vm, disk, **kw)))
        assert await bad(userdevice="xvda") == ["DEVICE_ALREADY_EXISTS", "xvda"]
        assert await bad(userdevice="0") == ["DEVICE_ALREADY_EXISTS", "0"]
        assert await bad(userdevice="disk9") == ["INVALID_DEVICE", "disk9"]
        assert await bad(userdevice="255") == ["INVALID_DEVICE", "255"]
        assert await bad(type="CD", userdevice="5") == ["VBD_CDS_MUST_BE_READONLY"]
        d = await fails(h.call("VBD.create", s, vbd_rec(vm, NULL_REF, userdevice="5")))
        assert d[0] == "VBD_NOT_REMOVABLE_MEDIA" and d[1].startswith("OpaqueRef:")
        assert await fails(h.call("VBD.create", s, vbd_rec(vm, NULL_REF, userdevice="5",
                                                            empty=False))) == [
            "HANDLE_INVALID", "VDI", NULL_REF]
        assert await fails(h.call("VBD.create", s, vbd_rec(vm, ro, userdevice="5"))) == [
            "VDI_READONLY", ro]
        assert await fails(h.call("VBD.create", s, vbd_rec("OpaqueRef:x", disk))) == [
            "HANDLE_INVALID", "VM", "OpaqueRef:x"]
        assert len(await h.call("VBD.get_all", s)) == 2
        assert len(await h.call("VBD_metrics.get_all", s)) == 2

        # removable media
        assert await fails(h.call("VBD.insert", s, vbd, ro)) == ["VBD_NOT_REMOVABLE_MEDIA", vbd]
        assert await fails(h.call("VBD.eject", s, cd)) == ["VBD_IS_EMPTY", cd]
        await h.call("VBD.insert", s, cd, ro)
        assert (await h.call("VBD.get_VDI", s, cd), await h.call("VBD.get_empty", s, cd)) == (
            ro, False)
        assert await h.call("VDI.get_VBDs", s, ro) == [cd]
        assert await fails(h.call("VBD.insert", s, cd, ro)) == ["VBD_NOT_EMPTY", cd]
        await h.call("VBD.eject", s, cd)
        assert await h.call("VDI.get_VBDs", s, ro) == []
        assert await fails(h.call("VBD.eject", s, vbd)) == ["VBD_NOT_REMOVABLE_MEDIA", vbd]

        # plug/unplug on a halted VM
        assert await fails(h.call("VBD.plug", s, vbd)) == [
            "VM_BAD_POWER_STATE", vm, "running", "halted"]
        assert await fails(h.call("VBD.unplug", s, vbd)) == [
            "VM_BAD_POWER_STATE", vm, "running", "halted"]
        assert await fails(h.call("VBD.set_mode", s, cd, "RW")) == ["VBD_CDS_MUST_BE_READONLY"]

        # destroying the VDI takes its unattached VBDs (and their metrics) with it
        metrics = await h.call("VBD.get_metrics", s, vbd)
        await h.call("VDI.destroy", s, disk)
        assert await h.call("VM.get_VBDs", s, vm) == [cd]
        assert await fails(h.call("VBD_metrics.get_record", s, metrics)) == [
            "HANDLE_INVALID", "VBD_metrics", metrics]
        await h.call("VBD.destroy", s, cd)
        assert await h.call("VM.get_VBDs", s, vm) == [] and await h.call(
            "VBD_metrics.get_all", s) == []
    run(body)


def test_attached_vbd_blocks_vdi_destroy_pbd_unplug_and_vbd_destroy(tmp_path):
    async def body(h):
        s = await h.login()
        path = str(tmp_path / "sr")
        sr = await file_sr(h, s, path)
        vm = await h.call("VM.create", s, dict(VM_REQUIRED))
        disk = await h.call("VDI.create", s, vdi_rec(sr, MiB))
        vbd = await h.call("VBD.create", s, vbd_rec(vm, disk))
        # what the VM engineer's start/hot-plug path will do: mark the VBD attached
        async with h.store.transaction() as txn:
            txn.update("VBD", vbd, {"currently_attached": True})
        assert await fails(h.call("VDI.destroy", s, disk)) == ["VDI_IN_USE", disk, "destroy"]
        assert await fails(h.call("VDI.resize", s, disk, str(GiB))) == [
            "VDI_IN_USE", disk, "resize"]
        [pbd] = await h.call("SR.get_PBDs", s, sr)
        assert await fails(h.call("PBD.unplug", s, pbd)) == ["VDI_IN_USE", disk, "unplug"]
        vbd_uuid = await h.call("VBD.get_uuid", s, vbd)
        vm_uuid = await h.call("VM.get_uuid", s, vm)
        assert await fails(h.call("VBD.destroy", s, vbd)) == [
            "OPERATION_NOT_ALLOWED", f"VBD '{vbd_uuid}' still attached to '{vm_uuid}'"]
        assert await fails(h.call("VBD.plug", s, vbd)) == [
            "VM_BAD_POWER_STATE", vm, "running", "halted"]
        assert os.path.exists(image(path, await h.call("VDI.get_location", s, disk)))
        assert await h.call("PBD.get_currently_attached", s, pbd) is True
    run(body)


def test_first_start_seeds_local_and_iso_srs_and_restart_reattaches(tmp_path):
    from xenapi_impl.server.seed import seed

    db = str(tmp_path / "x.db")

    async def first(h):
        await seed(h.services, backend="sim", db_path=db)
        s = await h.login()
        pool = h.services.pool_ref
        local = await h.call("pool.get_default_SR", s, pool)
        assert await h.call("SR.get_name_label", s, local) == "Local storage"
        assert await h.call("SR.get_type", s, local) == "file"
        [iso] = await h.call("SR.get_by_name_label", s, "ISO library")
        assert (await h.call("SR.get_type", s, iso),
                await h.call("SR.get_content_type", s, iso)) == ("iso", "iso")
        for sr, sub, key in ((local, "local", "path"), (iso, "iso", "location")):
            [pbd] = await h.call("SR.get_PBDs", s, sr)
            assert await h.call("PBD.get_currently_attached", s, pbd) is True
            assert await h.call("PBD.get_device_config", s, pbd) == {key: f"{db}.sr/{sub}"}
        with open(f"{db}.sr/iso/install.iso", "wb") as fh:
            fh.write(b"\0" * 4096)
        await h.call("SR.scan", s, iso)
        [cd] = await h.call("SR.get_VDIs", s, iso)
        assert await h.call("VDI.get_read_only", s, cd) is True
        assert await fails(h.call("VDI.create", s, vdi_rec(iso))) == [
            "SR_OPERATION_NOT_SUPPORTED", iso]
        vdi = await h.call("VDI.create", s, vdi_rec(local, MiB))
        return local, vdi

    local, vdi = run(first, db)

    async def second(h):
        await seed(h.services, backend="sim", db_path=db)     # a restart: no new SRs
        s = await h.login()
        assert len(await h.call("SR.get_all", s)) == 2
        assert await h.call("VDI.resize", s, vdi, str(2 * MiB)) is None  # the SR is attached
        assert await h.call("VDI.get_virtual_size", s, vdi) == 2 * MiB
        assert await h.call("pool.get_default_SR", s, h.services.pool_ref) == local
    run(second, db)


def test_a_first_start_whose_storage_commit_fails_leaves_no_storage(tmp_path, monkeypatch):
    """The database refuses the commit of the first start's SRs (unreachable, full): their
    storage goes too, so the next start makes them (it found the local SR's directory taken
    before, SR_BACKEND_FAILURE at every start)."""
    from xenapi_impl.api.sr import seed_storage
    from xenapi_impl.store import StoreUnavailable

    db = str(tmp_path / "x.db")

    async def body(h):
        async def refused(txn):
            raise StoreUnavailable("the database is unreachable")

        with monkeypatch.context() as m:
            m.setattr(h.store, "_commit", refused)
            with pytest.raises(StoreUnavailable):
                await seed_storage(h.services, db)
        assert h.store.records("SR") == {} and h.store.records("PBD") == {}
        assert not os.path.exists(f"{db}.sr/local")
        assert os.listdir(f"{db}.sr/iso") == []          # the library's files: none made
        await seed_storage(h.services, db)                # the next start
        s = await h.login()
        local = await h.call("pool.get_default_SR", s, h.services.pool_ref)
        assert await h.call("SR.get_name_label", s, local) == "Local storage"
        assert sorted(r["name_label"] for r in h.store.records("SR").values()) == [
            "ISO library", "Local storage"]
    run(body)


def test_failed_sr_create_leaves_no_records_and_probe(tmp_path):
    async def body(h):
        s = await h.login()
        host = h.services.host_ref
        d = await fails(h.call("SR.create", s, host, {"path": str(tmp_path / "no" / "dir")},
                               "0", "x", "", "file", "", False, {}))
        assert d[0] == "SR_BACKEND_FAILURE"
        assert await fails(h.call("SR.create", s, host, {"path": str(tmp_path / "a")}, "-1",
                                  "x", "", "file", "", False, {})) == [
            "INVALID_VALUE", "physical_size", "-1"]
        assert await h.call("SR.get_all", s) == [] and await h.call("PBD.get_all", s) == []
        assert sorted(os.listdir(tmp_path)) == []
        sr = await file_sr(h, s, str(tmp_path / "a"))
        uuid = await h.call("SR.get_uuid", s, sr)
        xml = await h.call("SR.probe", s, host, {"path": str(tmp_path / "a")}, "file", {})
        assert f"<UUID>{uuid}</UUID>" in xml and xml.count("<SR>") == 1
        assert "<SR>" not in await h.call("SR.probe", s, host, {"path": str(tmp_path)}, "file",
                                          {})
        await h.call("SR.set_name_label", s, sr, "renamed")
        assert await h.call("SR.get_name_label", s, sr) == "renamed"
        assert await fails(h.call("SR.set_physical_size", s, sr, "-5")) == [
            "INVALID_VALUE", "value", "-5"]
    run(body)


def test_one_storage_operation_per_vdi_at_a_time(tmp_path):
    import asyncio
    import threading

    from xenapi_impl.api.pbd import AttachedSRs

    async def body(h):
        s = await h.login()
        sr = await file_sr(h, s, str(tmp_path / "sr"))
        vdi = await h.call("VDI.create", s, vdi_rec(sr, MiB))
        drv = AttachedSRs.of(h.services).drivers[await h.call("SR.get_uuid", s, sr)]
        started, release = threading.Event(), threading.Event()
        real_clone = drv.vdi_clone

        def slow_clone(uuid):               # the driver call is still running in its thread
            started.set()
            release.wait(10)
            return real_clone(uuid)
        drv.vdi_clone = slow_clone
        task = await h.call("Async.VDI.clone", s, vdi, {})
        while not started.is_set():
            await asyncio.sleep(0.01)
        assert await fails(h.call("VDI.destroy", s, vdi)) == [
            "OTHER_OPERATION_IN_PROGRESS", "VDI", vdi, "clone", task]
        assert await fails(h.call("VDI.resize", s, vdi, str(2 * MiB))) == [
            "OTHER_OPERATION_IN_PROGRESS", "VDI", vdi, "clone", task]
        release.set()
        while await h.call("task.get_status", s, task) == "pending":
            await asyncio.sleep(0.01)
        assert await h.call("task.get_status", s, task) == "success"
        await h.call("VDI.destroy", s, vdi)               # free again
        assert len(await h.call("SR.get_VDIs", s, sr)) == 1
    run(body)


def test_userdevice_uniqueness_holds_under_concurrent_creates_on_sqlite(tmp_path):
    import asyncio

    async def body(h):
        s = await h.login()
        vm = await h.call("VM.create", s, dict(VM_REQUIRED))

        async def attempt(dev):
            try:
                return await h.call("VBD.create", s, vbd_rec(
                    vm, NULL_REF, userdevice=dev, type="CD", mode="RO", empty=True))
            except XenAPIError as e:
                return e.description
        same = await asyncio.gather(*(attempt("7") for _ in range(6)))
        ok = [r for r in same if isinstance(r, str)]
        assert len(ok) == 1 and [r for r in same if not isinstance(r, str)] == [
            ["DEVICE_ALREADY_EXISTS", "7"]] * 5
        auto = await asyncio.gather(*(attempt("autodetect") for _ in range(6)))
        devices = [await h.call("VBD.get_userdevice", s, r) for r in auto]
        assert sorted(devices, key=int) == ["0", "1", "2", "3", "4", "5"]
        assert len(await h.call("VM.get_VBDs", s, vm)) == 7
    run(body, str(tmp_path / "x.db"))
