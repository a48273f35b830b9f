"""A parent's set of children (SR.VDIs, host.resident_VMs, VM.VBDs...) lists every child
that points at it, also when many calls add children at once: each call used to write back
the set it had read before its own awaits (a VDI.create waits for the storage driver, a
VM.start for the hypervisor), so concurrent calls lost each other's additions (1,000 VMs
started 8 at a time: host.resident_VMs listed 367 of them; SR.VDIs 603 of 1,000 disks).
Through the real server, concurrent SDK clients, and again after a restart."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import XenAPI
from serverproc import ServerProcess
from vm_records import vm_create_record

N = 48
THREADS = 8


def login(srv: ServerProcess):
    s = XenAPI.Session(srv.url)
    s.xenapi.login_with_password("root", srv.password, "1.0", "pytest-relations")
    return s.xenapi


def vdi(sr: str, name: str) -> dict:
    return {"SR": sr, "virtual_size": str(16 << 20), "type": "user", "sharable": False,
            "read_only": False, "other_config": {}, "name_label": name,
            "name_description": ""}


def check_sets(x, vms: list[str], host: str, sr: str) -> None:
    vdis = {r for r, v in x.VDI.get_all_records().items() if v["SR"] == sr}
    listed = x.SR.get_VDIs(sr)
    assert len(listed) == len(set(listed)) and set(listed) == vdis, \
        f"SR.VDIs lists {len(listed)} of {len(vdis)} disks"
    running = {r for r, v in x.VM.get_all_records().items() if v["resident_on"] == host}
    resident = x.host.get_resident_VMs(host)
    assert set(resident) == running and len(resident) == len(running), \
        f"host.resident_VMs lists {len(resident)} of {len(running)} VMs"
    for vm in vms:
        vbds = {r for r, b in x.VBD.get_all_records().items() if b["VM"] == vm}
        assert set(x.VM.get_VBDs(vm)) == vbds


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.setenv("XLSIM_STATE_FILE", str(tmp_path / "xlsim.state"))
    with ServerProcess(str(tmp_path)) as srv:
        yield srv


def test_sets_keep_every_child_added_concurrently(server):
    x = login(server)
    sr = x.pool.get_default_SR(x.pool.get_all()[0])
    host = x.host.get_all()[0]

    local = threading.local()

    def client():
        """One SDK session per thread (a connection is not shared between threads)."""
        if not hasattr(local, "x"):
            local.x = login(server)
        return local.x

    def make(i: int) -> str:
        xi = client()
        vm = xi.VM.create(vm_create_record(f"rel-{i}", memory_mib=32, static_min_mib=32))
        disk = xi.VDI.create(vdi(sr, f"rel-{i}"))
        xi.VBD.create({"VM": vm, "VDI": disk, "userdevice": "0", "bootable": True,
                       "mode": "RW", "type": "Disk", "empty": False, "other_config": {},
                       "qos_algorithm_type": "", "qos_algorithm_params": {}})
        return vm

    with ThreadPoolExecutor(THREADS) as pool:
        vms = list(pool.map(make, range(N)))
        list(pool.map(lambda i: client().VM.start(vms[i], False, False), range(N)))
    check_sets(x, vms, host, sr)

    # halves stop and lose their disks concurrently: the sets shrink by exactly those
    def retire(i: int) -> None:
        xi = client()
        xi.VM.hard_shutdown(vms[i])
        for b in xi.VM.get_VBDs(vms[i]):
            d = xi.VBD.get_VDI(b)
            xi.VBD.destroy(b)
            xi.VDI.destroy(d)
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(retire, range(0, N, 2)))
    check_sets(x, vms, host, sr)
    assert len(set(x.host.get_resident_VMs(host)) & set(vms)) == N // 2

    # what was stored is what a restarted server serves
    server.stop()
    server.start()
    check_sets(login(server), vms, host, sr)
