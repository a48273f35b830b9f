"""Storage motion's downtime: `VM.migrate_send` with a `vdi_map` across a pool of 3 simulated
hosts (tests/clients/poolhosts.py, private PostgreSQL), the copy made after the memory stream
while the domain is suspended (the code before the two-pass copy: "before") against the
two-pass copy, pass 1 while the guest runs, pass 2 a delta in the before-commit phase
("after"), in the same run.

Two pools run side by side: "before" runs its servers on the xenapi_impl of commit BASELINE
(env STORAGE_MOTION_BASELINE to pick another), exported with `git archive` and put first on
their PYTHONPATH; "after" on this tree. Each migration in one pool is followed by the same in
the other, so that both see the same load on a shared machine. In each pool: a VM of 128 MiB
(2 vCPUs at load 0.5) per disk, each disk 1 GiB virtual holding 256 MiB or 64 MiB of random
data (4 MiB extents spread over the disk), moved B -> C (vdi_map to C's local SR) and back,
ROUNDS times each way; and the same VM without a disk (the memory's own downtime). Downtime
and wall time are measured as in test_bench_pool_migration.py: the guest's uptime read on the
source just before the SDK call and on the destination just after, wall time minus the
uptime gained.

Reproduce: .venv/bin/python -m pytest bench/test_bench_storage_motion.py --benchmark-only -s
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

import pytest

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "clients"))

from benchsize import size  # noqa: E402
from pgcluster import pg_cluster  # noqa: E402,F401 - fixture
from poolhosts import Host, local_sr, running_pool  # noqa: E402
from test_bench_pool_migration import LEASE, Reader, _set_load  # noqa: E402
from vm_records import vm_create_record  # noqa: E402

#: the last commit whose storage motion copies the disks while the domain is suspended
BASELINE = os.environ.get("STORAGE_MOTION_BASELINE", "f5b3b05")
MiB = 1 << 20
VIRTUAL = size(1024 * MiB, 64 * MiB)
#: MiB of data on each moved disk; 0: a VM without a disk (the memory's own downtime)
DATA = size([256, 64, 0], [8])
EXTENT = size(4 * MiB, 1 * MiB)
ROUNDS = size(5, 1)


def _baseline(tmp: Any) -> str:
    """BASELINE's xenapi_impl exported under `tmp` (for the servers' PYTHONPATH)."""
    archive = subprocess.run(["git", "-C", os.path.join(HERE, ".."), "archive", BASELINE,
                              "xenapi_impl"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
    return str(tmp)


@pytest.fixture
def pools(tmp_path: Any, pg_cluster: Any, monkeypatch: Any) -> Any:
    """{"before": hosts, "after": hosts}: two pools of 3 hosts, each on its own database,
    the first on BASELINE's code."""
    gens, hosts = {}, {}
    try:
        for code in ("before", "after"):
            if code == "before":
                monkeypatch.setenv("PYTHONPATH", _baseline(tmp_path))
            else:
                monkeypatch.delenv("PYTHONPATH")
            (tmp_path / code).mkdir()
            # BASELINE predates b0bcefa: its hosts' first starts are made one at a time
            gens[code] = running_pool(tmp_path / code, pg_cluster.new_database().url, LEASE,
                                      together=code == "after")
            hosts[code] = next(gens[code])
        yield hosts
    finally:
        for g in gens.values():
            g.close()


def _disky_vm(x: Any, host: str, sr: str, data_mib: int, work: Any) -> str:
    """A VM with a VIRTUAL disk on `sr` holding `data_mib` MiB of random data, spread (none
    for 0)."""
    vm = x.VM.create(vm_create_record(f"mover {data_mib}", memory_mib=128, static_min_mib=128,
                                      vcpus=2))
    if not data_mib:
        return vm
    vdi = x.VDI.create({"SR": sr, "virtual_size": str(VIRTUAL), "type": "user",
                        "sharable": False, "read_only": False, "other_config": {},
                        "name_label": "root", "name_description": ""})
    x.VBD.create({"VM": vm, "VDI": vdi, "userdevice": "0", "bootable": True, "mode": "RW",
                  "type": "Disk", "empty": False, "other_config": {}, "qos_algorithm_type": "",
                  "qos_algorithm_params": {}, "device": "", "unpluggable": False})
    path, = work.rglob(x.VDI.get_location(vdi) + ".img")
    extents = data_mib * MiB // EXTENT
    stride = VIRTUAL // extents
    with open(path, "r+b") as f:
        for i in range(extents):
            f.seek(i * stride)
            f.write(os.urandom(EXTENT))
    return vm


def test_storage_motion_downtime(benchmark: Any, pools: dict[str, list[Host]]) -> None:
    """Each migration of the pool on the old code is followed by the same on the new one, so
    that both see the same load on the shared machine."""
    ends = {}
    for code, (a, b, c) in pools.items():
        x = a.session(a.proc.password).xenapi
        refs = {rec["address"]: ref for ref, rec in x.host.get_all_records().items()}
        B, C = refs[b.address], refs[c.address]
        vms = {}
        for mib in DATA:
            vm = _disky_vm(x, B, local_sr(x, B), mib, b.work)
            x.VM.start_on(vm, B, False, False)
            _set_load(b, int(x.VM.get_domid(vm)))
            vms[mib] = vm
        ends[code] = {"x": x, "B": B, "C": C, "srs": {B: local_sr(x, B), C: local_sr(x, C)},
                      "readers": {B: Reader(b), C: Reader(c)}, "vms": vms,
                      "results": {m: {"wall": [], "down": []} for m in DATA}}

    def migrate(e: dict[str, Any], mib: int, src: str, dst: str) -> None:
        x, vm = e["x"], e["vms"][mib]
        uuid = x.VM.get_uuid(vm)
        vdi_map = {x.VBD.get_VDI(v): e["srs"][dst] for v in x.VM.get_VBDs(vm)}
        before = e["readers"][src].read()
        t0 = time.monotonic()
        x.VM.migrate_send(vm, {"host": dst}, True, vdi_map, {}, {})
        wall = time.monotonic() - t0
        after = e["readers"][dst].read()
        assert x.VM.get_resident_on(vm) == dst
        up0, up1 = before["domains"][uuid][1], after["domains"][uuid][1]
        e["results"][mib]["wall"].append(wall * 1000)
        e["results"][mib]["down"].append(((after["t"] - before["t"]) - (up1 - up0)) / 1e6)

    def run() -> None:
        for _ in range(ROUNDS):
            for there in (False, True):            # B -> C, then back
                for mib in DATA:
                    for e in ends.values():
                        src, dst = (e["C"], e["B"]) if there else (e["B"], e["C"])
                        migrate(e, mib, src, dst)

    loads = []
    with open("/proc/loadavg") as f:
        loads.append(f.read().split()[0])
    try:
        benchmark.pedantic(run, rounds=1, iterations=1)
    finally:
        for e in ends.values():
            for r in e["readers"].values():
                r.close()
    with open("/proc/loadavg") as f:
        loads.append(f.read().split()[0])
    benchmark.extra_info["loadavg_start_end"] = loads
    for code, e in ends.items():
        for mib, r in e["results"].items():
            benchmark.extra_info[f"{code} {mib}MiB"] = {
                "migrations": len(r["wall"]),
                "downtime_ms_min": round(min(r["down"]), 1),
                "downtime_ms_median": round(statistics.median(r["down"]), 1),
                "downtime_ms_max": round(max(r["down"]), 1),
                "wall_ms_min": round(min(r["wall"]), 1),
                "wall_ms_median": round(statistics.median(r["wall"]), 1),
                "wall_ms_max": round(max(r["wall"]), 1)}
    print(json.dumps(benchmark.extra_info, indent=1))
    for e in ends.values():
        for vm in e["vms"].values():
            e["x"].VM.hard_shutdown(vm)
