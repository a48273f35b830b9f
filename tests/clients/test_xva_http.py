"""Whole VMs in and out (GET /export, PUT /import, VM.import from a URL) through two real
server processes, the official SDK and plain http.client; an XVA fixture built by hand from
the format's published description; broken uploads leave nothing behind."""
from __future__ import annotations

import base64
import hashlib
import http.client
import http.server
import io
import os
import tarfile
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET

import pytest
import XenAPI

from serverproc import ServerProcess

MiB = 1 << 20
NULL = "OpaqueRef:NULL"


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    with ServerProcess(str(tmp_path_factory.mktemp("xva-a"))) as a, \
            ServerProcess(str(tmp_path_factory.mktemp("xva-b"))) as b:
        yield a, b


def login(srv):
    s = XenAPI.Session(srv.url)
    s.xenapi.login_with_password("root", srv.password, "1.0", "xva-test")
    return s


def wait_task(x, task, timeout=60):
    deadline = time.monotonic() + timeout
    while x.task.get_status(task) == "pending" and time.monotonic() < deadline:
        time.sleep(0.02)
    return x.task.get_status(task)


def request(srv, method, path, query, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", srv.ports["http"], timeout=120)
    conn.request(method, path + "?" + urllib.parse.urlencode(query), body=body,
                 headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data, dict(r.getheaders())


def image(srv, x, vdi):
    return os.path.join(srv.db + ".sr", "local", x.VDI.get_location(vdi) + ".img")


def disks(x, vm):
    return [x.VBD.get_VDI(b) for b in x.VM.get_VBDs(vm) if x.VBD.get_type(b) == "Disk"]


def result_refs(x, task):
    root = ET.fromstring(x.task.get_result(task))
    return [v.text for v in root.iter("value") if v.text and v.text.startswith("OpaqueRef:")]


def digest(path):
    """The disk's content (size, non-zero MiB pieces and their offsets) without reading its
    holes or holding it in memory."""
    from xenapi_impl.storage.sparse import data_extents
    h = hashlib.sha1()
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        h.update(str(size).encode())
        for off, length in data_extents(fd, size) or [(0, size)]:
            start = off - off % MiB
            for pos in range(start, off + length, MiB):
                piece = os.pread(fd, MiB, pos)
                if piece.count(0) != len(piece):
                    h.update(str(pos).encode() + piece)
    finally:
        os.close(fd)
    return h.hexdigest()


def counts(srv, x):
    return (len(x.VM.get_all()), len(x.VDI.get_all()), len(x.VBD.get_all()),
            sorted(os.listdir(os.path.join(srv.db + ".sr", "local"))))


@pytest.fixture(scope="module")
def exported(pair):
    """The SDK's install-from-template cycle on server A, then GET /export of the VM."""
    a, _b = pair
    s = login(a)
    x = s.xenapi
    t = x.VM.get_by_name_label("Generic Linux PV")[0]
    vm = x.VM.clone(t, "xva-web")
    x.VM.provision(vm)
    x.VM.set_is_a_template(vm, False)
    net = x.network.get_all()[0]
    x.VIF.create({"device": "0", "network": net, "VM": vm, "MAC": "", "MTU": "1500",
                  "other_config": {}, "qos_algorithm_type": "", "qos_algorithm_params": {}})
    [vdi] = disks(x, vm)
    with open(image(a, x, vdi), "r+b") as f:
        f.write(b"MBR!" * 128)
        f.seek(300 * MiB + 12345)
        f.write(os.urandom(3 * MiB))
    x.VM.start(vm, False, False)
    assert x.VM.get_power_state(vm) == "Running"
    status, _, _ = request(a, "GET", "/export", {"session_id": s._session, "ref": vm})
    assert status == 500                     # a running VM cannot be exported
    x.VM.clean_shutdown(vm)
    task = x.task.create("export", "")
    t0 = time.monotonic()
    status, body, hdrs = request(a, "GET", "/export",
                                 {"session_id": s._session, "ref": vm, "task_id": task})
    took = time.monotonic() - t0
    assert status == 200, body[:200]
    assert wait_task(x, task) == "success" and float(x.task.get_progress(task)) == 1.0
    info = {"vm": vm, "vdi": vdi, "size": int(x.VDI.get_virtual_size(vdi)),
            "digest": digest(image(a, x, vdi)),
            "record": x.VM.get_record(vm), "took": took}
    s.xenapi.session.logout()
    return body, info


def test_export_is_a_well_formed_xva(exported):
    body, info = exported
    tar = tarfile.open(fileobj=io.BytesIO(body))
    names = tar.getnames()
    assert names[0] == "ova.xml"
    ova = ET.fromstring(tar.extractfile("ova.xml").read())
    objects = ova.find("./struct/member[name='objects']/value/array/data")
    classes = [o.find("./struct/member[name='class']/value").text for o in objects]
    assert classes[0] == "VM" and {"VBD", "VDI", "SR", "VIF", "network"} <= set(classes)
    version = ova.find("./struct/member[name='version']/value/struct")
    keys = {m.find("name").text for m in version}
    assert {"hostname", "date", "product_version", "product_brand", "build_number",
            "xapi_major", "xapi_minor", "export_vsn"} <= keys
    chunks = [n for n in names if not n.endswith(".checksum") and n != "ova.xml"]
    prefix = chunks[0].split("/")[0]
    numbers = [int(n.split("/")[1]) for n in chunks]
    last = (info["size"] - 1) // MiB
    assert numbers[0] == 0 and numbers[-1] == last
    # sparse: only the first chunk, the 4 chunks of the 3 MiB written and the last one
    assert numbers == [0, 300, 301, 302, 303, last], numbers
    for n in chunks:
        data = tar.extractfile(n).read()
        assert len(data) == MiB
        assert tar.extractfile(n + ".checksum").read().decode() == hashlib.sha1(data).hexdigest()
    assert all(n.startswith(prefix + "/") for n in chunks)


def test_import_into_another_server_and_start(pair, exported, capsys):
    _a, b = pair
    body, info = exported
    s = login(b)
    x = s.xenapi
    task = x.task.create("import", "")
    t0 = time.monotonic()
    status, text, _ = request(b, "PUT", "/import", {"session_id": s._session, "task_id": task},
                              body=body)
    took = time.monotonic() - t0
    assert status == 200, text
    assert wait_task(x, task) == "success"
    [vm] = result_refs(x, task)
    rec = x.VM.get_record(vm)
    src = info["record"]
    for k in ("name_label", "memory_static_max", "VCPUs_max", "PV_args", "platform",
              "HVM_boot_policy", "domain_type"):
        assert rec[k] == src[k], k
    assert rec["power_state"] == "Halted" and not rec["is_a_template"]
    assert rec["uuid"] != src["uuid"]
    [vdi] = disks(x, vm)
    assert int(x.VDI.get_virtual_size(vdi)) == info["size"]
    path = image(b, x, vdi)
    assert digest(path) == info["digest"]
    assert os.stat(path).st_blocks * 512 <= 8 * MiB      # holes stay holes
    assert len(rec["VIFs"]) == len(src["VIFs"])
    x.VM.start(vm, False, False)
    assert x.VM.get_power_state(vm) == "Running"
    x.VM.hard_shutdown(vm)
    with capsys.disabled():
        print(f"\nXVA of a {info['size'] // MiB} MiB sparse disk ({len(body) / MiB:.1f} MiB):"
              f" export {info['took']:.2f}s, import {took:.2f}s")
    s.xenapi.session.logout()


def test_import_with_basic_auth_and_vm_import_from_url(pair, exported):
    _a, b = pair
    body, _info = exported
    s = login(b)
    x = s.xenapi
    auth = base64.b64encode(f"root:{b.password}".encode()).decode()
    status, text, hdrs = request(b, "PUT", "/import", {}, body=body,
                                 headers={"Authorization": "Basic " + auth})
    assert status == 200, text
    assert wait_task(x, hdrs["Task-Id"]) == "success"
    assert x.VM.get_name_label(text.decode().split()[0]) == "xva-web"

    class One(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), One)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        sr = x.pool.get_default_SR(x.pool.get_all()[0])
        vm_import = getattr(x.VM, "import")        # a Python keyword
        refs = vm_import(f"http://127.0.0.1:{web.server_port}/vm.xva", sr, False, False)
        assert len(refs) == 1 and x.VM.get_name_label(refs[0]) == "xva-web"
    finally:
        web.shutdown()
    s.xenapi.session.logout()


def _checksum_member(tar, name, data):
    for n, d in ((name, data), (name + ".checksum", hashlib.sha1(data).hexdigest().encode())):
        info = tarfile.TarInfo(n)
        info.size = len(d)
        tar.addfile(info, io.BytesIO(d))


def hand_built_xva(chunks, size=4 * MiB, checksum=True):
    """An XVA written from the published description alone: ova.xml (XML-RPC struct with
    version and objects, references as Ref:N, ints as strings in the records), then the disk
    Ref:2 in 1 MiB chunks named by number, each followed by its SHA-1."""
    def member(name, value):
        return f"<member><name>{name}</name><value>{value}</value></member>"

    def struct(fields):
        return "<struct>" + "".join(member(k, v) for k, v in fields.items()) + "</struct>"

    def array(values):
        return "<array><data>" + "".join(f"<value>{v}</value>" for v in values) + "</data></array>"

    def obj(cls, id_, snap):
        return struct({"class": cls, "id": id_, "snapshot": struct(snap)})

    vm = {"uuid": "00000000-1111-2222-3333-444444444444", "name_label": "hand-made",
          "name_description": "from the XVA description", "is_a_template": "<boolean>0</boolean>",
          "power_state": "Halted", "memory_static_max": str(256 * MiB),
          "memory_dynamic_max": str(256 * MiB), "memory_dynamic_min": str(256 * MiB),
          "memory_static_min": str(128 * MiB), "VCPUs_max": "2", "VCPUs_at_startup": "2",
          "PV_args": "console=hvc0", "PV_bootloader": "pygrub", "HVM_boot_policy": "",
          "domain_type": "pv", "platform": struct({}), "other_config": struct({"k": "v"}),
          "actions_after_shutdown": "destroy", "actions_after_reboot": "restart",
          "actions_after_crash": "restart", "VBDs": array(["Ref:1", "Ref:5"]),
          "VIFs": array(["Ref:4"])}
    vbd = {"VM": "Ref:0", "VDI": "Ref:2", "userdevice": "0", "bootable": "<boolean>1</boolean>",
           "mode": "RW", "type": "Disk", "empty": "<boolean>0</boolean>",
           "other_config": struct({})}
    cd = {"VM": "Ref:0", "VDI": NULL, "userdevice": "3", "bootable": "<boolean>0</boolean>",
          "mode": "RO", "type": "CD", "empty": "<boolean>1</boolean>",
          "other_config": struct({})}
    vdi = {"uuid": "55555555-1111-2222-3333-444444444444", "name_label": "hand disk",
           "SR": "Ref:3", "virtual_size": str(size), "type": "system",
           "sharable": "<boolean>0</boolean>", "read_only": "<boolean>0</boolean>",
           "other_config": struct({})}
    sr = {"uuid": "66666666-1111-2222-3333-444444444444", "name_label": "elsewhere"}
    vif = {"VM": "Ref:0", "network": "Ref:6", "device": "0", "MAC": "00:16:3e:12:34:56",
           "MTU": "1500", "other_config": struct({})}
    net = {"name_label": "no such network here", "bridge": "xenbr9"}
    version = {"hostname": "fixture", "date": "2024-01-01", "product_version": "8.2.1",
               "product_brand": "XenServer", "build_number": "fixture",
               "xapi_major": "<int>1</int>", "xapi_minor": "<int>1</int>",
               "export_vsn": "<int>2</int>"}
    objs = [obj("VM", "Ref:0", vm), obj("VBD", "Ref:1", vbd), obj("VDI", "Ref:2", vdi),
            obj("SR", "Ref:3", sr), obj("VIF", "Ref:4", vif), obj("VBD", "Ref:5", cd),
            obj("network", "Ref:6", net)]
    ova = ("<value>" + struct({"version": struct(version), "objects": array(objs)})
           + "</value>").encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("ova.xml")
        info.size = len(ova)
        tar.addfile(info, io.BytesIO(ova))
        for n, data in chunks:
            if checksum:
                _checksum_member(tar, f"Ref:2/{n:08d}", data)
            else:
                info = tarfile.TarInfo(f"Ref:2/{n:08d}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


FIXTURE_CHUNKS = [(0, b"\xeb\x63" + bytes(MiB - 2)), (2, b"two!" * (MiB // 4)),
                  (3, bytes(MiB - 4) + b"end.")]


def test_hand_built_fixture_imports_and_starts(pair):
    _a, b = pair
    s = login(b)
    x = s.xenapi
    task = x.task.create("import", "")
    status, text, _ = request(b, "PUT", "/import", {"session_id": s._session, "task_id": task},
                              body=hand_built_xva(FIXTURE_CHUNKS))
    assert status == 200, text
    assert wait_task(x, task) == "success"
    [vm] = result_refs(x, task)
    rec = x.VM.get_record(vm)
    assert rec["name_label"] == "hand-made" and rec["VCPUs_max"] == "2"
    assert rec["memory_static_max"] == str(256 * MiB) and rec["other_config"]["k"] == "v"
    [vdi] = disks(x, vm)
    assert x.VDI.get_name_label(vdi) == "hand disk"
    with open(image(b, x, vdi), "rb") as f:
        data = f.read()
    want = bytearray(4 * MiB)
    for n, d in FIXTURE_CHUNKS:
        want[n * MiB:n * MiB + len(d)] = d
    assert data == bytes(want)
    cds = [bb for bb in rec["VBDs"] if x.VBD.get_type(bb) == "CD"]
    assert len(cds) == 1 and x.VBD.get_empty(cds[0])
    [vif] = rec["VIFs"]
    assert x.VIF.get_MAC(vif) == "00:16:3e:12:34:56"
    x.VM.start(vm, False, False)
    assert x.VM.get_power_state(vm) == "Running"
    x.VM.hard_shutdown(vm)
    assert rec["uuid"] != "00000000-1111-2222-3333-444444444444"
    # restore=true keeps the VM's uuid, while it is free
    uuids = []
    for _ in range(2):
        status, text, _ = request(b, "PUT", "/import", {"session_id": s._session,
                                                        "restore": "true"},
                                  body=hand_built_xva(FIXTURE_CHUNKS))
        assert status == 200, text
        uuids.append(x.VM.get_uuid(text.decode().split()[0]))
    assert uuids[0] == "00000000-1111-2222-3333-444444444444" != uuids[1]
    s.xenapi.session.logout()


def test_broken_uploads_leave_nothing(pair, exported):
    _a, b = pair
    body, _info = exported
    s = login(b)
    x = s.xenapi
    before = counts(b, x)
    bad_sum = bytearray(hand_built_xva(FIXTURE_CHUNKS))
    at = bad_sum.index(b"two!two!")
    bad_sum[at] ^= 0xFF
    no_last = hand_built_xva(FIXTURE_CHUNKS[:2])
    cases = [
        (body[:len(body) // 2], "IMPORT_ERROR_PREMATURE_EOF"),
        (body[:-1024], "IMPORT_ERROR_PREMATURE_EOF"),        # the end marker is missing
        (bytes(bad_sum), "IMPORT_ERROR_SOME_CHECKSUMS_FAILED"),
        (no_last, "IMPORT_ERROR_PREMATURE_EOF"),              # the last chunk never came
        (b"this is not a tar file at all" * 40, "IMPORT_ERROR"),
        (hand_built_xva([(7, b"x" * MiB)]), "IMPORT_ERROR"),  # a chunk beyond the disk
    ]
    for upload, code in cases:
        task = x.task.create("bad import", "")
        status, text, _ = request(b, "PUT", "/import",
                                  {"session_id": s._session, "task_id": task}, body=upload)
        assert status == 500, text
        assert wait_task(x, task) == "failure"
        err = x.task.get_error_info(task)
        assert err[0] == code, (code, err)
        assert counts(b, x) == before
    # an upload cut off by the client (Content-Length promised, connection closed)
    task = x.task.create("cut", "")
    conn = http.client.HTTPConnection("127.0.0.1", b.ports["http"], timeout=30)
    conn.putrequest("PUT", "/import?" + urllib.parse.urlencode(
        {"session_id": s._session, "task_id": task}))
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    conn.send(body[:len(body) // 3])
    conn.close()
    assert wait_task(x, task) == "failure"
    assert counts(b, x) == before
    s.xenapi.session.logout()


def _put_unknown_length(srv, path, query, body):
    """Xen Orchestra's way with a stream of unknown length: Content-Length 2^50, the body,
    then wait for the answer (the server must stop at the archive's / image's end)."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.ports["http"], timeout=60)
    conn.putrequest("PUT", path + "?" + urllib.parse.urlencode(query))
    conn.putheader("Content-Length", str(1 << 50))
    conn.endheaders()
    conn.send(body)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data


def test_xen_orchestra_paths_and_unknown_length(pair, exported):
    _a, b = pair
    body, info = exported
    s = login(b)
    x = s.xenapi
    status, text = _put_unknown_length(b, "/import/", {"session_id": s._session}, body)
    assert status == 200, text
    [vm] = text.decode().split()
    [vdi] = disks(x, vm)
    assert digest(image(b, x, vdi)) == info["digest"]
    # a disk image the same way (a small one: the raw stream is the whole disk)
    sr = x.VDI.get_SR(vdi)

    def small():
        return x.VDI.create({"SR": sr, "virtual_size": str(32 * MiB), "type": "user",
                             "sharable": False, "read_only": False, "other_config": {},
                             "name_label": "xo"})
    src = small()
    with open(image(b, x, src), "r+b") as f:
        f.seek(5 * MiB)
        f.write(os.urandom(MiB + 7))
    want = digest(image(b, x, src))
    for fmt in ("vhd", "raw"):
        status, data, _ = request(b, "GET", "/export_raw_vdi/",
                                  {"session_id": s._session, "vdi": src, "format": fmt})
        assert status == 200
        dst = small()
        status, text = _put_unknown_length(b, "/import_raw_vdi/",
                                           {"session_id": s._session, "vdi": dst,
                                            "format": fmt}, data)
        assert status == 200, text
        assert digest(image(b, x, dst)) == want
    s.xenapi.session.logout()
