"""Blobs through a real server process and the official SDK: `<class>.create_new_blob` files a
named blob in the object's `blobs` map, PUT /blob stores its bytes (size and last_updated
follow), GET /blob answers them with the blob's mime type (a public blob without a session),
blob.destroy takes it out of the map and deletes its bytes; refusals change nothing."""
from __future__ import annotations

import base64
import os
import urllib.error
import urllib.parse
import urllib.request

import pytest
import XenAPI
from vm_records import vm_create_record


def request(server, method: str, data: bytes | None = None, auth: str | None = None,
            **query) -> tuple[int, str, bytes]:
    req = urllib.request.Request(f"{server.url}/blob?{urllib.parse.urlencode(query)}",
                                 data=data, method=method)
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, "", e.read()


def test_create_new_blob_on_every_owner(x):
    owners = {"pool": x.pool.get_all()[0], "host": x.host.get_all()[0],
              "network": x.network.get_all()[0], "SR": x.pool.get_default_SR(
                  x.pool.get_all()[0])}
    vm = x.VM.create(vm_create_record("blob-vm"))
    owners["VM"] = vm
    for cls, ref in owners.items():
        api = getattr(x, cls)
        blob = api.create_new_blob(ref, f"notes-{cls}", "text/plain", False)
        assert api.get_blobs(ref)[f"notes-{cls}"] == blob
        rec = x.blob.get_record(blob)
        assert rec["name_label"] == f"notes-{cls}" and rec["mime_type"] == "text/plain"
        assert rec["size"] == "0" and rec["public"] is False
        # the same name again: refused, nothing added
        with pytest.raises(XenAPI.Failure) as e:
            api.create_new_blob(ref, f"notes-{cls}", "", False)
        assert e.value.details == ["MAP_DUPLICATE_KEY", cls, "blobs", api.get_uuid(ref),
                                   f"notes-{cls}"]
        assert len(api.get_blobs(ref)) == 1
        x.blob.destroy(blob)
        assert api.get_blobs(ref) == {}
    x.VM.destroy(vm)
    # an empty mime type is the reference's default
    blob = x.blob.create("", False)
    assert x.blob.get_mime_type(blob) == "application/octet-stream"
    assert x.blob.get_by_uuid(x.blob.get_uuid(blob)) == blob
    x.blob.destroy(blob)


def test_data_over_http(server, x):
    pool = x.pool.get_all()[0]
    blob = x.pool.create_new_blob(pool, "logo", "image/png", False)
    uuid = x.blob.get_uuid(blob)
    data = os.urandom(200_000)
    status, _t, body = request(server, "PUT", data, auth=f"root:{server.password}", ref=blob)
    assert status == 200, body
    rec = x.blob.get_record(blob)
    assert rec["size"] == str(len(data))
    status, ctype, body = request(server, "GET", auth=f"root:{server.password}", uuid=uuid)
    assert status == 200 and ctype == "image/png" and body == data
    # private: no session, no data
    assert request(server, "GET", ref=blob)[0] == 401
    # public: anyone may read
    x.blob.set_public(blob, True)
    status, _t, body = request(server, "GET", ref=blob)
    assert status == 200 and body == data
    # but not write
    assert request(server, "PUT", b"x", ref=blob)[0] == 401
    assert x.blob.get_size(blob) == str(len(data))
    # replaced by a new upload
    assert request(server, "PUT", b"new", auth=f"root:{server.password}", ref=blob)[0] == 200
    assert request(server, "GET", ref=blob)[2] == b"new" and x.blob.get_size(blob) == "3"
    # destroyed: its bytes go, its name leaves the pool's map, the URL answers 404
    path = os.path.join(server.workdir, "xapi.db.blobs", uuid)
    assert os.path.exists(path)
    x.blob.destroy(blob)
    assert not os.path.exists(path)
    assert "logo" not in x.pool.get_blobs(pool)
    assert request(server, "GET", auth=f"root:{server.password}", ref=blob)[0] == 404
