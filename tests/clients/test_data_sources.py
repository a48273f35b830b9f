"""Data sources and the per-object RRD exports through a real server process (sim backend,
0.5 s monitor interval) and the official SDK: VM/host/SR.get_data_sources list the monitor's
series with the reference's names, units and ranges; query_data_source answers the latest
value; record_data_source starts archiving a non-standard source (it appears in /vm_rrd);
forget_data_source_archives drops a source's history; /host_rrd, /vm_rrd and /sr_rrd answer
rrdtool's dump layout, parsed here; host.backup_rrds writes the RRDs that a restarted server
reads back."""
from __future__ import annotations

import os
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import pytest
import XenAPI
from serverproc import ServerProcess
from vm_records import vm_create_record
from xenapi_impl.rrd_backup import decode

MiB = 1 << 20
DS_FIELDS = {"name_label", "name_description", "enabled", "standard", "units", "min", "max",
             "value"}


@pytest.fixture(scope="module")
def running(monitored):
    """(xenapi, session ref, VM ref, SR ref): a running 2-vCPU VM with a disk and a NIC."""
    s = XenAPI.Session(monitored.url)
    s.xenapi.login_with_password("root", monitored.password, "1.0", "pytest-ds")
    x = s.xenapi
    vm = x.VM.create(vm_create_record("ds-vm", static_max_mib=512, vcpus=2))
    sr = x.pool.get_default_SR(x.pool.get_all()[0])
    vdi = x.VDI.create({"SR": sr, "virtual_size": str(8 * MiB), "type": "user",
                        "sharable": False, "read_only": False, "other_config": {},
                        "name_label": "ds-disk"})
    x.VBD.create({"VM": vm, "VDI": vdi, "userdevice": "0", "bootable": True, "mode": "RW",
                  "type": "Disk", "empty": False, "other_config": {},
                  "qos_algorithm_type": "", "qos_algorithm_params": {}})
    x.VIF.create({"device": "0", "network": x.network.get_all()[0], "VM": vm, "MAC": "",
                  "MTU": "1500", "other_config": {}, "qos_algorithm_type": "",
                  "qos_algorithm_params": {}})
    x.VM.start(vm, False, False)
    yield x, s._session, vm, sr
    x.VM.hard_shutdown(vm)
    s.xenapi.session.logout()


def by_name(records: list[dict]) -> dict[str, dict]:
    return {r["name_label"]: r for r in records}


def wait_for(fn, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got:
            return got
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.25)


def get(srv, path: str, **query) -> tuple[int, str]:
    url = f"{srv.url}{path}?{urllib.parse.urlencode(query)}"
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def vm_rrd(srv, session: str, uuid: str) -> tuple[ET.Element, list[str], dict]:
    return parse_rrd(get(srv, "/vm_rrd", session_id=session, uuid=uuid)[1])


def parse_rrd(text: str) -> tuple[ET.Element, list[str], dict[int, list[list[float]]]]:
    """(root, data source names, {pdp_per_row: rows}) of an RRD XML, its shape checked."""
    root = ET.fromstring(text)
    assert root.tag == "rrd" and root.findtext("version") == "0003"
    assert root.findtext("step") == "5"
    names = [ds.findtext("name") for ds in root.findall("ds")]
    for ds in root.findall("ds"):
        assert ds.findtext("type") == "GAUGE"
        assert float(ds.findtext("min")) <= float(ds.findtext("max"))
    rras = {}
    for rra in root.findall("rra"):
        assert rra.findtext("cf") == "AVERAGE"
        assert len(rra.find("cdp_prep").findall("ds")) == len(names)
        rows = [[float(v.text) for v in row.findall("v")]
                for row in rra.find("database").findall("row")]
        assert all(len(r) == len(names) for r in rows)
        rras[int(rra.findtext("pdp_per_row"))] = rows
    assert sorted(rras) == [1, 12, 720, 17280]
    return root, names, rras


def test_vm_data_sources(running):
    x, _s, vm, _sr = running
    sources = wait_for(lambda: (lambda d: d if d.get("cpu1", {}).get("value") else None)(
        by_name(x.VM.get_data_sources(vm))), "measured cpu1")
    assert {"cpu0", "cpu1", "memory", "memory_internal_free", "vbd_xvda_read",
            "vbd_xvda_write", "vif_0_rx", "vif_0_tx"} <= set(sources), sorted(sources)
    for r in sources.values():
        assert set(r) == DS_FIELDS
    cpu = sources["cpu0"]
    assert cpu["units"] == "(fraction)" and cpu["min"] == 0.0 and cpu["max"] == 1.0
    assert cpu["enabled"] is True and cpu["standard"] is True
    assert sources["memory"]["units"] == "B" and sources["vbd_xvda_read"]["units"] == "B/s"
    # non-standard: listed, measured, not recorded until asked
    io = sources["vbd_xvda_io_throughput_read"]
    assert io["standard"] is False and io["enabled"] is False and io["units"] == "MiB/s"
    # the latest value: the simulator's guest runs each vCPU 10 % of the time
    assert x.VM.query_data_source(vm, "cpu0") == pytest.approx(0.1, abs=0.03)
    assert x.VM.query_data_source(vm, "memory") == 256 * MiB


def test_unknown_source_refused(running):
    x, _s, vm, sr = running
    host = x.host.get_all()[0]
    for call in (lambda: x.VM.query_data_source(vm, "nonesuch"),
                 lambda: x.VM.record_data_source(vm, "nonesuch"),
                 lambda: x.host.forget_data_source_archives(host, "nonesuch"),
                 lambda: x.SR.query_data_source(sr, "cpu0")):
        with pytest.raises(XenAPI.Failure) as e:
            call()
        assert e.value.details[0] == "INTERNAL_ERROR"
        assert "Invalid_data_source" in e.value.details[1]
    # a halted VM has no live sources
    other = x.VM.create(vm_create_record("ds-halted"))
    assert x.VM.get_data_sources(other) == []
    x.VM.destroy(other)


def test_host_and_sr_data_sources(running):
    x, _s, _vm, sr = running
    host = x.host.get_all()[0]
    sources = wait_for(lambda: by_name(x.host.get_data_sources(host)).get("cpu_avg") and
                       by_name(x.host.get_data_sources(host)), "host sources")
    nr = int(x.host.get_cpu_info(host)["cpu_count"])
    assert {"memory_total_kib", "memory_free_kib", "loadavg", "cpu_avg",
            *(f"cpu{i}" for i in range(nr))} <= set(sources)
    hm = x.host_metrics.get_record(x.host.get_metrics(host))
    assert x.host.query_data_source(host, "memory_total_kib") == \
        pytest.approx(int(hm["memory_total"]) / 1024, rel=1e-6)
    srs = wait_for(lambda: by_name(x.SR.get_data_sources(sr)), "SR sources")
    assert {"io_throughput_read", "io_throughput_write", "io_throughput_total"} <= set(srs)
    assert srs["io_throughput_read"]["units"] == "MiB/s"
    assert x.SR.query_data_source(sr, "io_throughput_write") >= 0.0


def test_record_and_forget(monitored, running):
    x, session, vm, _sr = running
    uuid = x.VM.get_uuid(vm)
    _root, names, _r = vm_rrd(monitored, session, uuid)
    assert "vbd_xvda_io_throughput_write" not in names and "cpu0" in names
    x.VM.record_data_source(vm, "vbd_xvda_io_throughput_write")
    assert by_name(x.VM.get_data_sources(vm))["vbd_xvda_io_throughput_write"]["enabled"]

    def archived():
        _root, names, rras = vm_rrd(monitored, session, uuid)
        if "vbd_xvda_io_throughput_write" not in names:
            return None
        i = names.index("vbd_xvda_io_throughput_write")
        return [r[i] for r in rras[1] if r[i] == r[i]]       # measured rows (not NaN)
    assert wait_for(archived, "archived io_throughput rows")

    # forget: cpu0's history goes; the source stays listed and archives from now on
    x.VM.forget_data_source_archives(vm, "cpu0")
    _root, names, rras = vm_rrd(monitored, session, uuid)
    if "cpu0" in names:          # a sample may have started its archive again already
        i = names.index("cpu0")
        assert sum(1 for r in rras[1] if r[i] == r[i]) <= 2
    assert "cpu0" in by_name(x.VM.get_data_sources(vm))


def test_object_rrd_exports(monitored, running):
    x, session, vm, sr = running
    host = x.host.get_all()[0]
    wait_for(lambda: x.VM.query_data_source(vm, "cpu1"), "cpu1 measured")
    status, body = get(monitored, "/host_rrd", session_id=session)
    assert status == 200
    root, names, rras = parse_rrd(body)
    assert {"memory_total_kib", "loadavg", "cpu0"} <= set(names)
    assert abs(int(root.findtext("lastupdate")) - time.time()) < 30
    i = names.index("memory_total_kib")
    measured = [r[i] for r in rras[1] if r[i] == r[i]]
    assert measured[-1] == pytest.approx(x.host.query_data_source(host, "memory_total_kib"))

    status, body = get(monitored, "/vm_rrd", session_id=session, uuid=x.VM.get_uuid(vm))
    assert status == 200
    _root, names, rras = parse_rrd(body)
    assert {"cpu1", "memory", "vbd_xvda_read", "vif_0_tx"} <= set(names)   # cpu0: forgotten
    i = names.index("memory")
    assert [r[i] for r in rras[1] if r[i] == r[i]][-1] == 256 * MiB

    status, body = get(monitored, "/sr_rrd", session_id=session, uuid=x.SR.get_uuid(sr))
    assert status == 200 and "io_throughput_read" in parse_rrd(body)[1]

    # refusals: no session, unknown VM, no uuid
    assert get(monitored, "/host_rrd")[0] == 401
    assert get(monitored, "/vm_rrd", session_id="OpaqueRef:nope", uuid="x")[0] == 401
    assert get(monitored, "/vm_rrd", session_id=session, uuid="no-such-vm")[0] == 404
    assert get(monitored, "/vm_rrd", session_id=session)[0] == 400


def test_backup_survives_restart(tmp_path):
    """host.backup_rrds writes the RRDs (and a stopping server does); a server started again
    on the same state restores them: /host_rrd answers the rows measured before the restart."""
    with ServerProcess(str(tmp_path), extra=["--monitor-interval", "0.5"]) as srv:
        s = XenAPI.Session(srv.url)
        s.xenapi.login_with_password("root", srv.password, "1.0", "pytest-ds")
        x = s.xenapi
        host = x.host.get_all()[0]
        uuid = x.host.get_uuid(host)

        def rows():
            _r, names, rras = parse_rrd(get(srv, "/host_rrd", session_id=s._session)[1])
            i = names.index("memory_total_kib") if "memory_total_kib" in names else None
            return i is not None and [r[i] for r in rras[1] if r[i] == r[i]]
        before = wait_for(rows, "host rows")
        x.host.backup_rrds(host, 0.0)
        path = os.path.join(str(tmp_path), "xapi.db.rrds", f"host-{uuid}.rrdb")
        with open(path, "rb") as f:
            backed = decode(f.read())
        assert "memory_total_kib" in backed.names
        with pytest.raises(XenAPI.Failure) as e:
            x.host.backup_rrds("OpaqueRef:nope", 0.0)
        assert e.value.details[:2] == ["HANDLE_INVALID", "host"]
        x.host.sync_data(host)
        s.xenapi.session.logout()
    with ServerProcess(str(tmp_path), extra=["--monitor-interval", "30"]) as srv:
        s = XenAPI.Session(srv.url)
        s.xenapi.login_with_password("root", srv.password, "1.0", "pytest-ds")
        _root, names, rras = parse_rrd(get(srv, "/host_rrd", session_id=s._session)[1])
        i = names.index("memory_total_kib")
        after = [r[i] for r in rras[1] if r[i] == r[i]]
        assert len(after) >= len(before) and after[-1] == before[-1]
        s.xenapi.session.logout()


def test_series_asked_right_after_a_restart_wait_for_the_restore(tmp_path):
    """The restore of the backup runs while the restarted server already serves (a host with
    thousands of owners' files): /host_rrd and the data-source calls asked at once still answer
    the backed-up rows, never the empty series of a restore not finished yet."""
    with ServerProcess(str(tmp_path), extra=["--monitor-interval", "0.5"]) as srv:
        s = XenAPI.Session(srv.url)
        s.xenapi.login_with_password("root", srv.password, "1.0", "pytest-ds")
        host = s.xenapi.host.get_all()[0]
        uuid = s.xenapi.host.get_uuid(host)

        def rows():
            _r, names, rras = parse_rrd(get(srv, "/host_rrd", session_id=s._session)[1])
            i = names.index("memory_total_kib") if "memory_total_kib" in names else None
            return i is not None and [r[i] for r in rras[1] if r[i] == r[i]]
        wait_for(rows, "host rows")
        s.xenapi.session.logout()
    where = os.path.join(str(tmp_path), "xapi.db.rrds")
    with open(os.path.join(where, f"host-{uuid}.rrdb"), "rb") as f:
        data = f.read()
    before = decode(data)
    for i in range(3000):           # other owners' backups: the restore takes a while
        with open(os.path.join(where, f"vm-00000000-0000-4000-8000-{i:012d}.rrdb"), "wb") as f:
            f.write(data)
    with ServerProcess(str(tmp_path), extra=["--monitor-interval", "30"]) as srv:
        s = XenAPI.Session(srv.url)
        s.xenapi.login_with_password("root", srv.password, "1.0", "pytest-ds")
        _root, names, rras = parse_rrd(get(srv, "/host_rrd", session_id=s._session)[1])
        i, j = names.index("memory_total_kib"), before.names.index("memory_total_kib")
        after = [r[i] for r in rras[1] if r[i] == r[i]]
        backed_up = [v for v in before.archives[5][j] if v == v]
        assert backed_up and len(after) >= len(backed_up) and after[-1] == backed_up[-1]
        assert "memory_total_kib" in {d["name_label"]
                                      for d in s.xenapi.host.get_data_sources(host)}
        s.xenapi.session.logout()
