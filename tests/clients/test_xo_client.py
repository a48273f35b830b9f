"""Xen Orchestra's connector (npm `xen-api`, pinned in tests/clients/node/package.json) run with
node against the real server: it logs in, loads every class into its cache, follows events,
sees an object created by the Python SDK appear, and calls methods (sync and Async)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid

import pytest
import XenAPI

NODE_DIR = os.path.join(os.path.dirname(__file__), "node")
SCRIPT = os.path.join(NODE_DIR, "xo_check.mjs")

if shutil.which("node") is None or not os.path.isdir(os.path.join(NODE_DIR, "node_modules",
                                                                  "xen-api")):
    # Fail loudly: this client is part of what the server must prove (make venv runs npm ci).
    raise RuntimeError("node or tests/clients/node/node_modules/xen-api missing: "
                       "install nodejs and npm, then run `make venv`")


def _read(proc: subprocess.Popen) -> dict:
    line = proc.stdout.readline()
    if not line:
        proc.wait(10)
        raise AssertionError(f"node exited ({proc.returncode}): {proc.stderr.read()}")
    msg = json.loads(line)
    if msg["step"] == "warning":
        return _read(proc)
    assert msg["step"] != "error", msg
    return msg


@pytest.mark.parametrize("transport,path", [("auto", "/jsonrpc"), ("xml-rpc", "/xmlrpc")])
def test_xen_orchestra_connector(server, transport, path):
    proc = subprocess.Popen(["node", SCRIPT, server.url, "root", server.password, transport],
                            cwd=NODE_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        ready = _read(proc)
        assert ready["step"] == "ready"
        print("xen-api loaded", ready["objects"], "objects of", ready["nTypes"], "classes")
        # every class with get_all_records was loaded; the seeded objects are in its cache
        assert ready["nTypes"] >= 20
        assert {"pool", "host", "role"} <= set(ready["types"])
        assert ready["poolMaster"].startswith("OpaqueRef:") and ready["otherConfig"] == {}

        name = f"xo-{uuid.uuid4().hex[:8]}"
        sdk = XenAPI.Session(server.url)
        sdk.xenapi.login_with_password("root", server.password)
        net = sdk.xenapi.network.create({"name_label": name, "name_description": "",
                                         "MTU": "1500", "other_config": {}, "bridge": "xo9",
                                         "managed": True, "tags": []})
        proc.stdin.write(name + "\n")
        proc.stdin.flush()
        seen = _read(proc)
        assert seen["step"] == "seen" and seen["ref"] == net
        assert seen["id"] == sdk.xenapi.network.get_uuid(net)          # cached by uuid

        called = _read(proc)
        assert called["name_label"] == name + "-renamed"
        assert sdk.xenapi.network.get_name_label(net) == name + "-renamed"
        assert called["asyncResult"].startswith("OpaqueRef:")

        done = _read(proc)
        assert done["step"] == "done"
        assert path in done["paths"]
        other = "/xmlrpc" if path == "/jsonrpc" else "/jsonrpc"
        assert other not in done["paths"]           # auto mode never fell back
        sdk.xenapi.network.destroy(net)
        sdk.xenapi.session.logout()
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
