"""The master's session and tasks on every host's HTTP endpoints, as xapi's are the pool's.

Xen Orchestra reads each host's `/rrd_updates` with the session it opened on the master,
opens a VM's console at the host the VM runs on, and moves disks through the host that has
the SR, with a task it made on the master. Sessions and tasks live on the host that made
them, so a slave asks the master about the ones it does not know (each request: a logout
on the master counts at once) and reports a transfer's progress and end to the master's task.
Through three real server processes on PostgreSQL, with plain HTTP clients."""
from __future__ import annotations

import http.client
import urllib.parse

from poolhosts import local_sr, pool, wait, with_disk  # noqa: F401
from vm_records import vm_create_record


def _get(host, path: str, query: dict[str, str]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host.address, host.port, timeout=30)
    try:
        conn.request("GET", f"{path}?{urllib.parse.urlencode(query)}")
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def test_master_session_and_task_on_a_slave(pool):  # noqa: F811
    a, b, _c = pool
    s = a.session(a.proc.password)
    x = s.xenapi
    session = s._session
    hosts = {h["address"]: ref for ref, h in x.host.get_all_records().items()}
    vm = x.VM.create(vm_create_record("on b"))
    sr = local_sr(x, hosts[b.address])
    with_disk(x, vm, sr)
    x.VM.start_on(vm, hosts[b.address], False, False)
    vdi = x.VDI.create({"SR": sr, "virtual_size": str(16 << 20), "type": "user",
                        "sharable": False, "read_only": False, "other_config": {},
                        "name_label": "to export", "name_description": ""})

    # the slave's graphs, with the master's session
    status, body = _get(b, "/rrd_updates", {"session_id": session, "start": "0",
                                            "host": "true", "json": "true"})
    assert status == 200, body
    assert b'"meta"' in body
    status, body = _get(b, "/host_rrd", {"session_id": session})
    assert status == 200 and body.startswith(b"<rrd>"), body[:200]

    # the VM's console on the host it runs on
    con = x.VM.get_consoles(vm)[0]
    uuid = x.console.get_uuid(con)
    status, body = _get(b, "/console", {"uuid": uuid, "session_id": session})
    assert status == 200, body

    # a disk of B's local SR exported by B, reported to the task made on the master
    task = x.task.create("export", "from b")
    status, body = _get(b, "/export_raw_vdi", {"session_id": session, "vdi": vdi,
                                                "format": "raw", "task_id": task})
    assert status == 200, body[:200]
    assert len(body) == 16 << 20
    wait(lambda: x.task.get_status(task) != "pending", 10, "the master's task to end")
    assert x.task.get_status(task) == "success"
    assert x.task.get_progress(task) == 1.0
    # a task that is not pending any more, and one nobody made, are refused
    status, _ = _get(b, "/export_raw_vdi", {"session_id": session, "vdi": vdi,
                                             "task_id": task})
    assert status == 400
    status, _ = _get(b, "/export_raw_vdi", {"session_id": session, "vdi": vdi,
                                             "task_id": "OpaqueRef:nothing"})
    assert status == 404

    # a session nobody opened, and the master's once logged out, are refused at once
    status, _ = _get(b, "/rrd_updates", {"session_id": "OpaqueRef:nobody", "start": "0"})
    assert status == 401
    s.xenapi.session.logout()
    status, body = _get(b, "/rrd_updates", {"session_id": session, "start": "0"})
    assert status == 401, body
    status, _ = _get(b, "/console", {"uuid": uuid, "session_id": session})
    assert status == 401

    x = a.session(a.proc.password).xenapi
    x.VM.hard_shutdown(vm)
