"""GET /rrd_updates through the real server process (sim backend, 0.5 s monitor interval):
xapi's XML and JSON layouts parsed and checked (legend, rows, values), the session
required, bad queries refused; and Xen Orchestra's own connector fetching it as XO's stats
code does."""
from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import pytest
import XenAPI
from serverproc import SERVER, ServerProcess
from vm_records import vm_create_record
from xo import NODE_DIR, require_node

MiB = 1 << 20
HOST_SOURCES = {"memory_total_kib", "memory_free_kib", "loadavg"}


@pytest.fixture(scope="module")
def srv(monitored):
    return monitored


@pytest.fixture(scope="module")
def running(srv):
    """A logged-in session and a running 2-vCPU VM with a NIC: (xenapi, session, vm uuid)."""
    s = XenAPI.Session(srv.url)
    s.xenapi.login_with_password("root", srv.password, "1.0", "pytest-rrd")
    x = s.xenapi
    vm = x.VM.create(vm_create_record("rrd-vm", static_max_mib=512, vcpus=2))
    net = x.network.create({"name_label": "rrd-net", "name_description": "", "MTU": "1500",
                            "other_config": {}})
    x.VIF.create({"device": "0", "network": net, "VM": vm, "MAC": "", "MTU": "1500",
                  "other_config": {}, "qos_algorithm_type": "", "qos_algorithm_params": {}})
    x.VM.start(vm, False, False)
    yield x, s._session, x.VM.get_uuid(vm)
    x.VM.hard_shutdown(vm)
    s.xenapi.session.logout()


def get(srv, **query) -> tuple[int, str, str]:
    url = f"{srv.url}/rrd_updates?{urllib.parse.urlencode(query)}"
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def wait_json(srv, session: str, vm_uuid: str, **extra) -> dict:
    """The JSON answer once a finished 5 s row holds the VM (the first can take 10 s)."""
    deadline = time.monotonic() + 30
    while True:
        status, ctype, body = get(srv, session_id=session, start=0, cf="AVERAGE", interval=5,
                                  host="true", json="true", **extra)
        assert status == 200 and ctype.startswith("application/json"), body
        doc = json.loads(body)
        if doc["data"] and any(f":{vm_uuid}:cpu0" in x for x in doc["meta"]["legend"]) and \
                doc["data"][0]["values"][doc["meta"]["legend"].index(
                    f"AVERAGE:vm:{vm_uuid}:cpu0")] is not None:
            return doc
        assert time.monotonic() < deadline, doc
        time.sleep(0.5)


def check_shape(meta: dict, rows: list[tuple[int, list]]) -> None:
    assert meta["step"] == 5
    assert meta["rows"] == len(rows) > 0
    assert meta["columns"] == len(meta["legend"])
    assert all(len(v) == meta["columns"] for _t, v in rows)
    times = [t for t, _v in rows]
    assert times == sorted(times, reverse=True)        # newest first, as xapi
    assert all(t % 5 == 0 for t in times)
    assert meta["end"] == times[0] and meta["start"] == times[-1]
    assert abs(times[0] - time.time()) < 30


def test_json_layout(srv, running):
    x, session, vm_uuid = running
    doc = wait_json(srv, session, vm_uuid)
    meta = doc["meta"]
    check_shape(meta, [(r["t"], r["values"]) for r in doc["data"]])
    legend = meta["legend"]
    host_uuid = x.host.get_uuid(x.host.get_all()[0])
    vm_names = {e.split(":", 3)[3] for e in legend if e.startswith(f"AVERAGE:vm:{vm_uuid}:")}
    assert {"cpu0", "cpu1", "memory", "memory_internal_free", "vif_0_rx", "vif_0_tx"} <= vm_names
    host_names = {e.split(":", 3)[3] for e in legend if e.startswith(f"AVERAGE:host:{host_uuid}:")}
    nr_cpus = int(x.host.get_cpu_info(x.host.get_all()[0])["cpu_count"])
    assert HOST_SOURCES | {f"cpu{i}" for i in range(nr_cpus)} <= host_names

    newest = dict(zip(legend, doc["data"][0]["values"]))
    # the simulator's default load is 0.1 of each vCPU
    assert newest[f"AVERAGE:vm:{vm_uuid}:cpu0"] == pytest.approx(0.1, abs=0.03)
    assert newest[f"AVERAGE:vm:{vm_uuid}:memory"] == 256 * MiB
    hm = x.host_metrics.get_record(x.host.get_metrics(x.host.get_all()[0]))
    assert newest[f"AVERAGE:host:{host_uuid}:memory_total_kib"] == \
        pytest.approx(int(hm["memory_total"]) / 1024, rel=1e-6)
    assert 0 < newest[f"AVERAGE:vm:{vm_uuid}:vif_0_rx"]      # bytes/s into the guest

    # host=false: VMs only; vm_uuid: that VM only
    status, _c, body = get(srv, session_id=session, start=0, interval=5, json="true")
    assert status == 200
    assert not [e for e in json.loads(body)["meta"]["legend"] if ":host:" in e]
    status, _c, body = get(srv, session_id=session, start=0, interval=5, json="true",
                           vm_uuid=vm_uuid)
    assert {e.split(":")[2] for e in json.loads(body)["meta"]["legend"]} == {vm_uuid}
    # start after the newest row: nothing
    status, _c, body = get(srv, session_id=session, start=meta["end"] + 1, interval=5,
                           json="true", host="true")
    later = json.loads(body)
    assert status == 200 and later["meta"]["rows"] == 0 and later["data"] == []
    # the minute archive answers interval=60 with its own step
    status, _c, body = get(srv, session_id=session, start=0, interval=60, json="true")
    assert status == 200 and json.loads(body)["meta"]["step"] == 60


def test_xml_layout(srv, running):
    _x, session, vm_uuid = running
    wait_json(srv, session, vm_uuid)
    status, ctype, body = get(srv, session_id=session, start=0, cf="AVERAGE", interval=5,
                              host="true")
    assert status == 200 and ctype.startswith("text/xml")
    root = ET.fromstring(body)
    assert root.tag == "xport"
    m = root.find("meta")
    meta = {k: int(m.findtext(k)) for k in ("start", "step", "end", "rows", "columns")}
    meta["legend"] = [e.text for e in m.find("legend").findall("entry")]
    rows = [(int(r.findtext("t")), [float(v.text) for v in r.findall("v")])
            for r in root.find("data").findall("row")]
    check_shape(meta, rows)
    newest = dict(zip(meta["legend"], rows[0][1]))
    assert newest[f"AVERAGE:vm:{vm_uuid}:memory"] == 256 * MiB
    assert newest[f"AVERAGE:vm:{vm_uuid}:cpu1"] == pytest.approx(0.1, abs=0.03)


def test_session_required_and_bad_queries_refused(srv, running):
    _x, session, _vm = running
    assert get(srv, start=0, interval=5)[0] == 401
    status, _c, body = get(srv, session_id="OpaqueRef:nope", start=0, interval=5)
    assert (status, body.strip()) == (401, "SESSION_INVALID OpaqueRef:nope")
    assert get(srv, session_id=session, start="soon", interval=5) == \
        (400, "text/plain; charset=utf-8", "start must be an integer (seconds), got 'soon'\n")
    assert get(srv, session_id=session, start=0, interval=0)[2] == \
        "interval 0 must be a positive number of seconds\n"
    assert get(srv, session_id=session, start=0, interval=5, cf="MIN")[:2] == \
        (400, "text/plain; charset=utf-8")
    # a session that logged out is refused too
    s = XenAPI.Session(srv.url)
    s.xenapi.login_with_password("root", srv.password, "1.0", "pytest-rrd-out")
    gone = s._session
    s.xenapi.session.logout()
    assert get(srv, session_id=gone, start=0, interval=5)[0] == 401


def test_read_only_user_may_read(srv, running):
    """RBAC: the graphs are readable with the least role (xapi lets read-only users see them)."""
    _x, _session, vm_uuid = running
    subprocess.run([SERVER, "user", "add", "viewer", "--role", "read-only", "--password-stdin",
                    "--db", srv.db], input="viewer-pw\n", text=True, check=True,
                   capture_output=True)
    s = XenAPI.Session(srv.url)
    s.xenapi.login_with_password("viewer", "viewer-pw", "1.0", "pytest-rrd-ro")
    try:
        doc = wait_json(srv, s._session, vm_uuid)
        assert f"AVERAGE:vm:{vm_uuid}:memory" in doc["meta"]["legend"]
    finally:
        s.xenapi.session.logout()


XO_STATS = r"""
import { createClient } from 'xen-api'
const [url, user, password, vmUuid] = process.argv.slice(1)
const xapi = createClient({ url, auth: { user, password }, allowUnauthorized: true })
await xapi.connect()
const step = 5
const resp = await xapi.getResource('/rrd_updates', {
  query: { cf: 'AVERAGE', host: 'true', interval: step, json: 'true',
           start: Math.floor(Date.now() / 1000) - 600 },
})
const json = JSON.parse(await resp.body.text())
// what xo-server's xapi-stats does with the answer
if (json.meta.step !== step) throw new Error(`faulty granularity ${json.meta.step}`)
const oldest = json.data[json.meta.rows - 1].t
const out = { oldest, end: json.meta.end, vm: {}, host: {} }
json.meta.legend.forEach((legend, index) => {
  const [, type, uuid, metric] = /^AVERAGE:([^:]+):(.+):(.+)$/.exec(legend)
  if (type === 'vm' && uuid !== vmUuid) return
  out[type][metric] = json.data.map(({ values }) => values[index]).reverse()
})
process.stdout.write(JSON.stringify(out))
await xapi.disconnect()
"""


def test_xen_orchestra_reads_the_stats(srv, running):
    require_node()          # a missing connector fails, as in the other XO tests
    _x, session, vm_uuid = running
    wait_json(srv, session, vm_uuid)
    got = subprocess.run(["node", "--input-type=module", "-e", XO_STATS, srv.url, "root",
                          srv.password, vm_uuid], cwd=NODE_DIR, capture_output=True,
                         text=True, timeout=60)
    assert got.returncode == 0, got.stderr
    out = json.loads(got.stdout)
    assert out["oldest"] <= out["end"]
    cpu0 = out["vm"]["cpu0"]
    assert cpu0 and cpu0[-1] == pytest.approx(0.1, abs=0.03)     # oldest .. newest
    assert len(out["vm"]["memory"]) == len(cpu0)
    assert out["host"]["memory_free_kib"][-1] > 0


def test_new_vm_sources_listed_at_once(srv, running):
    """A VM just started: its cpu, disk and network series are in the legend of the very
    next /rrd_updates (NaN, i.e. null, until the monitor has measured them), as xapi's."""
    x, session, _uuid = running
    vm = x.VM.create(vm_create_record("rrd-new", vcpus=2))
    sr = x.pool.get_default_SR(x.pool.get_all()[0])
    vdi = x.VDI.create({"SR": sr, "virtual_size": str(8 * MiB), "type": "user",
                        "sharable": False, "read_only": False, "other_config": {},
                        "name_label": "rrd-disk"})
    x.VBD.create({"VM": vm, "VDI": vdi, "userdevice": "0", "bootable": True, "mode": "RW",
                  "type": "Disk", "empty": False, "other_config": {},
                  "qos_algorithm_type": "", "qos_algorithm_params": {}})
    net = x.network.get_all()[0]
    x.VIF.create({"device": "0", "network": net, "VM": vm, "MAC": "", "MTU": "1500",
                  "other_config": {}, "qos_algorithm_type": "", "qos_algorithm_params": {}})
    x.VM.start(vm, False, False)
    try:
        u = x.VM.get_uuid(vm)
        status, _c, body = get(srv, session_id=session, start=0, interval=5, json="true",
                               vm_uuid=u)
        assert status == 200
        doc = json.loads(body)
        names = {e.split(":", 3)[3] for e in doc["meta"]["legend"]}
        assert {"memory", "cpu0", "cpu1", "vbd_xvda_read", "vbd_xvda_write", "vif_0_rx",
                "vif_0_tx"} <= names, names
        assert doc["meta"]["columns"] == len(doc["meta"]["legend"])
        for row in doc["data"]:                 # rows from before the VM ran: null
            assert len(row["values"]) == doc["meta"]["columns"]
        # the XML layout lists them too
        status, _c, body = get(srv, session_id=session, start=0, interval=5, vm_uuid=u)
        assert status == 200 and f"AVERAGE:vm:{u}:vbd_xvda_read" in body
    finally:
        x.VM.hard_shutdown(vm)
        x.VM.destroy(vm)
        x.VDI.destroy(vdi)
