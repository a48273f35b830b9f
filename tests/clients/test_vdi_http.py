"""GET /export_raw_vdi and PUT /import_raw_vdi through the real server: the official SDK makes
the VDIs and tasks, plain http.client moves the bytes (raw and VHD), sparseness checked on the
SR's image files."""
from __future__ import annotations

import base64
import hashlib
import http.client
import os
import struct
import threading
import time
import urllib.parse

import pytest
import XenAPI

from serverproc import ServerProcess

MiB = 1 << 20


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    with ServerProcess(str(tmp_path_factory.mktemp("vdihttp"))) as s:
        yield s


@pytest.fixture(scope="module")
def api(srv):
    s = XenAPI.Session(srv.url)
    s.xenapi.login_with_password("root", srv.password, "1.0", "test")
    yield s
    s.xenapi.session.logout()


def _sr(api):
    return api.xenapi.pool.get_default_SR(api.xenapi.pool.get_all()[0])


def _vdi(api, size, name="d"):
    return api.xenapi.VDI.create({"SR": _sr(api), "virtual_size": str(size), "type": "user",
                                  "sharable": False, "read_only": False, "other_config": {},
                                  "name_label": name})


def _image(srv, api, vdi):
    loc = api.xenapi.VDI.get_location(vdi)
    return os.path.join(srv.db + ".sr", "local", loc + ".img")


def _request(srv, method, path, query, body=None, headers=None, chunks=None):
    conn = http.client.HTTPConnection("127.0.0.1", srv.ports["http"], timeout=60)
    url = path + "?" + urllib.parse.urlencode(query)
    if chunks is not None:
        conn.putrequest(method, url)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders()
        for c in chunks:
            conn.send(c)
    else:
        conn.request(method, url, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data, dict(r.getheaders())


def wait_task(api, task, timeout=30):
    """The task's final status (the body may arrive before the task is marked done)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = api.xenapi.task.get_status(task)
        if status != "pending":
            return status
        time.sleep(0.02)
    return "pending"


def _fill(path, writes):
    with open(path, "r+b") as f:
        for off, data in writes:
            f.seek(off)
            f.write(data)


def _allocated(path):
    return os.stat(path).st_blocks * 512


PATTERN = [(0, b"boot" * 128), (5 * MiB + 4096, os.urandom(MiB)), (63 * MiB, b"end!" * 1024)]


def _expected(size):
    buf = bytearray(size)
    for off, data in PATTERN:
        buf[off:off + len(data)] = data
    return bytes(buf)


@pytest.mark.parametrize("fmt", ["raw", "vhd"])
def test_round_trip_keeps_holes(srv, api, fmt):
    size = 64 * MiB
    src = _vdi(api, size)
    _fill(_image(srv, api, src), PATTERN)
    sess = api._session
    status, body, hdrs = _request(srv, "GET", "/export_raw_vdi",
                                  {"session_id": sess, "vdi": src, "format": fmt})
    assert status == 200, body
    if fmt == "raw":
        assert body == _expected(size)
    else:
        assert body[:8] == b"conectix" and body[-512:-504] == b"conectix"
        # footer, header, BAT (32 entries: 512), blocks 0, 2, 3, 31 (bitmap + 2 MiB), footer
        assert len(body) == 512 + 1024 + 512 + 4 * (512 + 2 * MiB) + 512
    # the task the server made for the export ended in success
    assert wait_task(api, hdrs["Task-Id"]) == "success"

    dst = _vdi(api, size)
    status, text, _ = _request(srv, "PUT", "/import_raw_vdi",
                               {"session_id": sess, "vdi": dst, "format": fmt}, body=body)
    assert status == 200, text
    img = _image(srv, api, dst)
    with open(img, "rb") as f:
        assert f.read() == _expected(size)
    # holes stay holes: only the three written MiB pieces (and a bit) are allocated
    assert _allocated(img) <= 4 * MiB, _allocated(img)
    assert api.xenapi.VDI.get_physical_utilisation(dst) == str(_allocated(img))


def test_vhd_reader_takes_a_hand_built_dynamic_vhd(srv, api):
    """A VHD built here field by field from the published layout (not by our writer), with a
    partial sector bitmap: sectors whose bit is clear are zeros."""
    size = 4 * MiB
    block = 2 * MiB

    def csum(b):
        return (~sum(b)) & 0xFFFFFFFF

    footer = bytearray(512)
    struct.pack_into(">8sIIQI4sI4sQQIII", footer, 0, b"conectix", 2, 0x10000, 512, 0, b"test",
                     1, b"Wi2k", size, size, (121 << 16) | (16 << 8) | 63, 3, 0)
    struct.pack_into(">I", footer, 64, csum(footer))
    header = bytearray(1024)
    struct.pack_into(">8sQQIIII", header, 0, b"cxsparse", 2**64 - 1, 1536, 0x10000, 2, block, 0)
    struct.pack_into(">I", header, 36, csum(header))
    bat = struct.pack(">2I", 0xFFFFFFFF, 2048 // 512) + b"\xff" * 504
    bitmap = bytearray(512)
    bitmap[0] = 0b01000000          # only sector 1 of block 1 is present
    data = bytes([7]) * block
    stream = bytes(footer) + bytes(header) + bat + bytes(bitmap) + data + bytes(footer)
    dst = _vdi(api, size)
    status, text, _ = _request(srv, "PUT", "/import_raw_vdi",
                               {"session_id": api._session, "vdi": dst, "format": "vhd"},
                               body=stream)
    assert status == 200, text
    with open(_image(srv, api, dst), "rb") as f:
        got = f.read()
    want = bytearray(size)
    want[block + 512:block + 1024] = bytes([7]) * 512
    assert got == bytes(want)


def test_basic_auth_and_refusals(srv, api):
    vdi = _vdi(api, MiB)
    good = base64.b64encode(f"root:{srv.password}".encode()).decode()
    bad = base64.b64encode(b"root:nope").decode()
    status, body, _ = _request(srv, "GET", "/export_raw_vdi", {"vdi": vdi},
                               headers={"Authorization": "Basic " + good})
    assert status == 200 and body == bytes(MiB)
    status, _, hdrs = _request(srv, "GET", "/export_raw_vdi", {"vdi": vdi})
    assert status == 401 and "Basic" in hdrs.get("WWW-Authenticate", "")
    status, _, _ = _request(srv, "GET", "/export_raw_vdi", {"vdi": vdi},
                            headers={"Authorization": "Basic " + bad})
    assert status == 401
    status, _, _ = _request(srv, "GET", "/export_raw_vdi",
                            {"vdi": vdi, "session_id": "OpaqueRef:nonsense"})
    assert status == 401
    status, _, _ = _request(srv, "GET", "/export_raw_vdi",
                            {"vdi": "OpaqueRef:none", "session_id": api._session})
    assert status == 404
    # a VDI given by uuid works too
    uuid = api.xenapi.VDI.get_uuid(vdi)
    status, body, _ = _request(srv, "GET", "/export_raw_vdi",
                               {"vdi": uuid, "session_id": api._session})
    assert status == 200 and len(body) == MiB


def test_client_task_shows_progress_and_fails_on_bad_upload(srv, api):
    size = 16 * MiB
    vdi = _vdi(api, size)
    task = api.xenapi.task.create("upload", "")
    seen = []

    def watch():
        while api.xenapi.task.get_status(task) == "pending":
            seen.append(float(api.xenapi.task.get_progress(task)))
            time.sleep(0.05)

    def slow():
        for i in range(16):
            yield bytes([i + 1]) * MiB
            time.sleep(0.1)

    w = threading.Thread(target=watch)
    w.start()
    status, text, _ = _request(
        srv, "PUT", "/import_raw_vdi", {"session_id": api._session, "vdi": vdi,
                                        "task_id": task},
        headers={"Content-Length": str(size)}, chunks=slow())
    w.join()
    assert status == 200, text
    assert api.xenapi.task.get_status(task) == "success"
    assert any(0 < p < 1 for p in seen), seen
    assert seen == sorted(seen)

    # a corrupt VHD fails the client's task with a clear error
    task = api.xenapi.task.create("bad", "")
    status, text, _ = _request(srv, "PUT", "/import_raw_vdi",
                               {"session_id": api._session, "vdi": vdi, "format": "vhd",
                                "task_id": task}, body=b"conectix" + bytes(2000))
    assert status == 500
    assert api.xenapi.task.get_status(task) == "failure"
    err = api.xenapi.task.get_error_info(task)
    assert err[0] == "IMPORT_ERROR" and "VHD" in err[1], err
    # a raw image larger than the VDI is refused
    status, text, _ = _request(srv, "PUT", "/import_raw_vdi",
                               {"session_id": api._session, "vdi": vdi},
                               body=bytes(size + MiB))
    assert status == 500 and b"VDI_TOO_SMALL" in text


def test_throughput_of_a_sparse_gib(srv, api, capsys):
    size = 1 << 30
    src = _vdi(api, size)
    _fill(_image(srv, api, src), [(i * 64 * MiB, os.urandom(MiB)) for i in range(16)])
    for fmt in ("raw", "vhd"):
        t0 = time.monotonic()
        status, body, _ = _request(srv, "GET", "/export_raw_vdi",
                                   {"session_id": api._session, "vdi": src, "format": fmt})
        t1 = time.monotonic()
        assert status == 200
        dst = _vdi(api, size)
        status, text, _ = _request(srv, "PUT", "/import_raw_vdi",
                                   {"session_id": api._session, "vdi": dst, "format": fmt},
                                   body=body)
        t2 = time.monotonic()
        assert status == 200, text
        assert _allocated(_image(srv, api, dst)) <= 20 * MiB
        with open(_image(srv, api, src), "rb") as a, open(_image(srv, api, dst), "rb") as b:
            assert hashlib.sha1(a.read()).digest() == hashlib.sha1(b.read()).digest()
        with capsys.disabled():
            print(f"\n1 GiB sparse ({fmt}, 16 MiB data): export {len(body) / MiB:.0f} MiB in "
                  f"{t1 - t0:.2f}s, import in {t2 - t1:.2f}s")


def test_task_cancel_stops_an_upload(srv, api):
    size = 64 * MiB
    vdi = _vdi(api, size)
    task = api.xenapi.task.create("to cancel", "")

    def slow():
        for i in range(64):
            if i == 3:
                # the server has seen some bytes: cancel the client's task
                while float(api.xenapi.task.get_progress(task)) == 0.0:
                    time.sleep(0.05)
                api.xenapi.task.cancel(task)
            yield bytes([i + 1]) * MiB
            time.sleep(0.05)

    try:
        status, text, _ = _request(
            srv, "PUT", "/import_raw_vdi", {"session_id": api._session, "vdi": vdi,
                                            "task_id": task},
            headers={"Content-Length": str(size)}, chunks=slow())
    except (ConnectionError, http.client.HTTPException):
        status = None                   # the server may close before the client is done
    assert status in (None, 500)
    assert wait_task(api, task) == "cancelled"
    # the VDI is free again for the next operation
    status, text, _ = _request(srv, "PUT", "/import_raw_vdi",
                               {"session_id": api._session, "vdi": vdi}, body=b"x" * MiB)
    assert status == 200, text
