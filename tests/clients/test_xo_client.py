"""Xen Orchestra's connector (npm `xen-api`, pinned in tests/clients/node/package.json) run with
node against the real server: it logs in, loads every class into its cache, follows events,
sees an object created by the Python SDK appear, and calls methods (sync and Async)."""
from __future__ import annotations

import os
import subprocess
import uuid

import pytest
import XenAPI
from xo import NODE_DIR, read_step, require_node

SCRIPT = os.path.join(NODE_DIR, "xo_check.mjs")

require_node()


@pytest.mark.parametrize("transport,path", [("auto", "/jsonrpc"), ("xml-rpc", "/xmlrpc")])
def test_xen_orchestra_connector(server, transport, path):
    proc = subprocess.Popen(["node", SCRIPT, server.url, "root", server.password, transport],
                            cwd=NODE_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        ready = read_step(proc)
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
        seen = read_step(proc)
        assert seen["step"] == "seen" and seen["ref"] == net
        assert seen["id"] == sdk.xenapi.network.get_uuid(net)          # cached by uuid

        called = read_step(proc)
        assert called["name_label"] == name + "-renamed"
        assert sdk.xenapi.network.get_name_label(net) == name + "-renamed"
        assert called["asyncResult"].startswith("OpaqueRef:")

        done = read_step(proc)
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
