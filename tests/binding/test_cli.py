"""The xl-like command line, run as a subprocess against a shared simulated host."""
from __future__ import annotations

import re
from typing import Any

import pytest

from .conftest import run_cli

CONFIG = """\
# an xl.cfg
name = "web1"
type = "pv"
memory = 256
maxmem = 512
vcpus = 2
kernel = "/boot/vmlinuz"
ramdisk = "/boot/initrd.img"
extra = "console=hvc0"
disk = [ 'format=raw, vdev=xvda, access=rw, target={disk}' ]
vif = [ 'mac=00:16:3e:01:02:03,bridge=xenbr0' ]
"""


@pytest.fixture
def env(tmp_path):  # type: ignore[no-untyped-def]
    e = {"XLSIM_STATE_FILE": str(tmp_path / "state")}
    r = run_cli("--backend", "sim", "list", env=e)
    assert r.returncode == 0, r.stderr
    return e


def test_create_list_pause_destroy(env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "web1.cfg"
    (tmp_path / "web1.img").write_bytes(b"")
    cfg.write_text(CONFIG.format(disk=tmp_path / "web1.img"))
    r = run_cli("--backend", "sim", "create", str(cfg), env=env)
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == [f"Parsing config from {cfg}", "Created domain web1 (domid 1)"]
    assert r.stdout == ""

    r = run_cli("--backend", "sim", "list", env=env)
    lines = r.stdout.splitlines()
    assert lines[0] == "Name                                        ID   Mem VCPUs\tState\tTime(s)"
    assert re.fullmatch(r"Domain-0 {32} {5}0  4096     4     r-----  +\d+\.\d", lines[1]), lines[1]
    assert re.fullmatch(r"web1 {36} {5}1   256     2     r-----  +\d+\.\d", lines[2]), lines[2]

    assert run_cli("--backend", "sim", "pause", "web1", env=env).returncode == 0
    r = run_cli("--backend", "sim", "list", "web1", env=env)
    assert r.stdout.splitlines()[1].split()[4] == "-bp---"
    assert run_cli("--backend", "sim", "unpause", "1", env=env).returncode == 0

    r = run_cli("--backend", "sim", "vcpu-list", "web1", env=env)
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["Name", "ID", "VCPU", "CPU", "State", "Time(s)", "Affinity",
                                "(Hard", "/", "Soft)"]
    assert len(lines) == 3
    assert lines[1].startswith("web1" + " " * 28 + "     1     0")
    assert lines[1].endswith("all / all")

    r = run_cli("--backend", "sim", "shutdown", "-w", "web1", env=env)
    assert r.returncode == 0, r.stderr
    assert "has been shut down" in r.stdout
    r = run_cli("--backend", "sim", "list", env=env)
    assert len(r.stdout.splitlines()) == 2


def test_destroy_and_errors(env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "a.cfg"
    cfg.write_text('name = "a"\nkernel = "/k"\n')
    assert run_cli("--backend", "sim", "create", "-p", str(cfg), env=env).returncode == 0
    r = run_cli("--backend", "sim", "list", "a", env=env)
    assert r.stdout.splitlines()[1].split()[4] == "--p---"
    assert run_cli("--backend", "sim", "destroy", "a", env=env).returncode == 0
    r = run_cli("--backend", "sim", "destroy", "a", env=env)
    assert r.returncode == 1 and "no domain named 'a'" in r.stderr
    bad = tmp_path / "bad.cfg"
    bad.write_text('name = "b"\nmemory = "lots"\nkernel = "/k"\n')
    r = run_cli("--backend", "sim", "create", str(bad), env=env)
    assert r.returncode == 1 and "memory has the wrong type" in r.stderr
    assert len(run_cli("--backend", "sim", "list", env=env).stdout.splitlines()) == 2


def test_info(env) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("--backend", "sim", "info", env=env)
    assert r.returncode == 0
    rows = dict(line.split(" : ", 1) for line in r.stdout.splitlines())
    rows = {k.strip(): v for k, v in rows.items()}
    assert rows["nr_cpus"] == "16" and rows["xen_version"] == "4.17.0"
    assert rows["cpu_mhz"] == "2400.000"
    assert int(rows["total_memory"]) == 65536


def test_xen_backend_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("--backend", "xen", "list")
    assert r.returncode == 1
    assert "cannot open libxc handle" in r.stderr and "'sim'" in r.stderr


def test_env_backend(env) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("list", env={**env, "XENLIGHT_BACKEND": "sim"})
    assert r.returncode == 0 and "Domain-0" in r.stdout


def test_usage_error() -> None:
    r = run_cli("frobnicate")
    assert r.returncode == 2


# ---- the rest of the daily xl commands, line by line against xl's formats ----

def sim(env, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    r = run_cli("--backend", "sim", *args, env=env, input=input)
    return r


def ok(env, *args: str) -> list[str]:  # type: ignore[no-untyped-def]
    r = sim(env, *args)
    assert r.returncode == 0, (args, r.stderr)
    return r.stdout.splitlines()


@pytest.fixture
def web1(env, tmp_path):  # type: ignore[no-untyped-def]
    """web1 (domid 1) from CONFIG, with its disk image; returns the config path."""
    cfg = tmp_path / "web1.cfg"
    (tmp_path / "web1.img").write_bytes(b"")
    cfg.write_text(CONFIG.format(disk=tmp_path / "web1.img"))
    assert sim(env, "create", str(cfg)).returncode == 0
    return cfg


UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def test_list_verbose_and_long(env, web1) -> None:  # type: ignore[no-untyped-def]
    lines = ok(env, "list", "-v")
    assert lines[0] == ("Name                                        ID   Mem VCPUs\tState\tTime(s)"
                        "   UUID                            Reason-Code\tSecurity Label")
    # xl: "%-40s %5d %5lu %5d     %s  %8.1f" + " uuid" + " %8s" + " %16s"
    assert re.fullmatch(r"web1 {36} {5}1   256     2     r-----  +\d+\.\d " + UUID +
                        r" {8}- {16}-", lines[2]), lines[2]
    import json
    doms = json.loads("\n".join(ok(env, "list", "-l")))
    assert [d["domid"] for d in doms] == [1]                # dom0 left out, as xl
    c = doms[0]["config"]
    assert c["c_info"]["name"] == "web1" and c["c_info"]["type"] == "pv"
    assert c["b_info"] == {"max_vcpus": 2, "max_memkb": 512 * 1024 + 1024,
                           "target_memkb": 256 * 1024}
    assert [d["vdev"] for d in c["disks"]] == ["xvda"]
    assert c["nics"] == [{"devid": 0, "mac": "00:16:3e:01:02:03", "bridge": "xenbr0"}]


def test_info_numa(env) -> None:  # type: ignore[no-untyped-def]
    lines = ok(env, "info", "-n")
    keys = [ln.split(":", 1)[0].rstrip() for ln in lines if re.match(r"^[a-z_]+ +: ", ln)]
    # xl's order: node, physinfo (free_cpus last), topology, numa, xen info.
    assert keys[:4] == ["host", "release", "version", "machine"]
    assert keys[keys.index("outstanding_claims") + 1] == "free_cpus"
    assert keys[keys.index("xen_caps") + 1] == "xen_scheduler"
    assert keys[-1] == "xend_config_format"
    rows = {ln.split(" : ", 1)[0].rstrip(): ln.split(" : ", 1)[1] for ln in lines if " : " in ln}
    assert rows["free_cpus"] == "0" and rows["xen_scheduler"] == "credit"
    i = lines.index("cpu_topology           :")
    assert lines[i + 1] == "cpu:    core    socket     node"
    topo = lines[i + 2:i + 2 + 16]
    assert topo[0] == "  0:       0        0        0"               # "%3d:    %4d     %4d     %4d"
    assert topo[15] == " 15:       3        1        1"
    assert lines[i + 18:i + 21] == ["device topology        :", "device           node",
                                    "No device topology data available"]
    assert lines[i + 21:i + 23] == ["numa_info              :",
                                    "node:    memsize    memfree    distances"]
    assert re.fullmatch(r"   0:     32768     +\d+      10,20", lines[i + 23]), lines[i + 23]
    assert re.fullmatch(r"   1:     32768     +\d+      20,10", lines[i + 24]), lines[i + 24]
    assert lines[i + 25].startswith("xen_major")
    # Plain info has no topology.
    assert "cpu_topology           :" not in ok(env, "info")


def test_cpupool_list(env, web1) -> None:  # type: ignore[no-untyped-def]
    assert ok(env, "cpupool-list") == [
        "Name               CPUs   Sched     Active   Domain count",
        "Pool-0              16    credit       y          2"]
    assert ok(env, "cpupool-list", "-c") == [
        "Name               CPU list", "Pool-0             " + ",".join(map(str, range(16)))]
    r = sim(env, "cpupool-list", "Pool-9")
    assert r.returncode == 1 and "Pool 'Pool-9' does not exist" in r.stderr


BLOCK_HEAD = "Vdev  BE  handle state evt-ch ring-ref BE-path" + " " * 23
NET_HEAD = ("Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref BE-path" + " " * 23)


def _block_row(line: str) -> tuple[Any, ...]:
    """A block-list row's fields, checked to be laid out exactly as xl prints them."""
    dev, be, hdl, st, evt, rref, path = line.split()
    row = tuple(int(x) for x in (dev, be, hdl, st, evt, rref))
    assert line == "%-5d %-3d %-6d %-5d %-6d %-8d %-30s" % (*row, path)
    return (*row, path)


def _net_row(line: str) -> tuple[Any, ...]:
    idx, be, mac, hdl, st, evt, rings, path = line.split()
    tx, rx = rings.split("/")
    row = (int(idx), int(be), mac, int(hdl), int(st), int(evt), int(tx), int(rx), path)
    assert line == "%-3d %-2d %s%6d %5d %6d %5d/%-11d %-30s" % row
    return row


def test_block_and_network(env, web1, tmp_path) -> None:  # type: ignore[no-untyped-def]
    lines = ok(env, "block-list", "web1")
    assert lines[0] == BLOCK_HEAD and len(lines) == 2
    # libxl_device_disk_getinfo: connected (4), the frontend's event channel and ring ref.
    xvda = _block_row(lines[1])
    assert xvda[:4] == (51712, 0, 1, 4) and xvda[6] == "/local/domain/0/backend/vbd/1/51712"
    assert xvda[4] > 0 and xvda[5] > 0
    (tmp_path / "b.img").write_bytes(b"")
    ok(env, "block-attach", "web1", f"{tmp_path / 'b.img'},raw,xvdb,w")
    rows = [_block_row(ln) for ln in ok(env, "block-list", "1")[1:]]
    assert rows[0] == xvda                                  # stable while attached
    assert rows[1][:4] == (51728, 0, 1, 4) and rows[1][6] == "/local/domain/0/backend/vbd/1/51728"
    assert rows[1][4] > 0 and rows[1][5] > 0 and rows[1][4:6] != xvda[4:6]
    ok(env, "block-detach", "web1", "51712")              # by device number, as xl
    ok(env, "block-detach", "web1", "xvdb")               # or by name
    assert ok(env, "block-list", "web1") == [BLOCK_HEAD]
    r = sim(env, "block-detach", "web1", "xvdc")
    assert r.returncode == 1 and "has no disk xvdc" in r.stderr

    lines = ok(env, "network-list", "web1")
    assert lines[0] == NET_HEAD and len(lines) == 2
    nic0 = _net_row(lines[1])
    assert nic0[:5] == (0, 0, "00:16:3e:01:02:03", 1, 4)
    assert nic0[8] == "/local/domain/0/backend/vif/1/0"
    # evt-ch -1: netfront's split tx/rx channels leave libxl's event-channel node unset.
    assert nic0[5] == -1 and nic0[6] > 0 and nic0[7] > 0 and nic0[6] != nic0[7]
    ok(env, "network-attach", "web1", "mac=00:16:3e:00:00:07", "bridge=xenbr1")
    rows = [_net_row(ln) for ln in ok(env, "network-list", "web1")[1:]]
    assert rows[0] == nic0
    assert rows[1][:5] == (1, 0, "00:16:3e:00:00:07", 1, 4) and rows[1][6:8] != nic0[6:8]
    ok(env, "network-detach", "web1", "00:16:3e:01:02:03")   # by mac
    ok(env, "network-detach", "web1", "1")                   # by devid
    assert ok(env, "network-list", "web1") == [NET_HEAD]
    r = sim(env, "network-detach", "web1", "5")
    assert r.returncode == 1 and "has no nic 5" in r.stderr


def test_cd_insert_eject(env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "h.img").write_bytes(b"")
    (tmp_path / "d.iso").write_bytes(b"")
    cfg = tmp_path / "h.cfg"
    cfg.write_text(f'name = "h1"\ntype = "hvm"\nmemory = 256\n'
                   f"disk = [ '{tmp_path / 'h.img'},raw,hda,w', ',raw,hdc:cdrom,r' ]\n")
    r = sim(env, "create", str(cfg))
    assert r.returncode == 0, r.stderr
    ok(env, "cd-insert", "h1", "hdc", str(tmp_path / "d.iso"))
    import json
    disks = json.loads("\n".join(ok(env, "list", "-l", "h1")))[0]["config"]["disks"]
    assert [(d["vdev"], d["pdev_path"], d["is_cdrom"]) for d in disks] == [
        ("hda", str(tmp_path / "h.img"), 0), ("hdc", str(tmp_path / "d.iso"), 1)]
    assert ok(env, "block-list", "h1")[2].startswith("5632  0   1      4")   # hdc: 3<<8|64
    ok(env, "cd-eject", "h1", "hdc")
    disks = json.loads("\n".join(ok(env, "list", "-l", "h1")))[0]["config"]["disks"]
    assert disks[1]["pdev_path"] == ""


def test_memory_vcpus_sched(env, web1) -> None:  # type: ignore[no-untyped-def]
    import json

    def b_info() -> dict[str, int]:
        return json.loads("\n".join(ok(env, "list", "-l", "web1")))[0]["config"]["b_info"]
    ok(env, "mem-max", "web1", "1g")
    assert b_info()["max_memkb"] == 1024 * 1024 + 1024      # Xen's max: libxl adds its slack
    ok(env, "mem-set", "web1", "300")                    # MiB without a unit, as xl
    # mem-set enforces (as xl): Xen's max follows the target.
    assert b_info()["target_memkb"] == 300 * 1024 and b_info()["max_memkb"] == 301 * 1024
    r = sim(env, "mem-set", "web1", "lots")
    assert r.returncode == 1 and "invalid memory size" in r.stderr

    ok(env, "vcpu-set", "web1", "1")
    assert ok(env, "list", "web1")[1].split()[3] == "1"
    ok(env, "vcpu-pin", "web1", "all", "0-3,^1", "nodes:1")
    lines = ok(env, "vcpu-list", "web1")
    assert lines[1].endswith("0,2-3 / 8-15") and lines[2].endswith("0,2-3 / 8-15")
    assert lines[2][32:].split()[:3] == ["1", "1", "-"]  # offline: CPU "-", state "--p"
    ok(env, "vcpu-pin", "web1", "0", "-", "all")            # "-": hard affinity unchanged
    assert ok(env, "vcpu-list", "web1")[1].endswith("0,2-3 / all")

    ok(env, "sched-credit", "-d", "web1", "-w", "512", "-c", "50")
    assert ok(env, "sched-credit") == [
        "Cpupool Pool-0: tslice=30ms ratelimit=1000us migration-delay=0us",
        "Name                                ID Weight  Cap",      # "%-33s %4s %6s %4s"
        "Domain-0                             0    256    0",
        "web1                                 1    512   50"]
    assert ok(env, "sched-credit", "-d", "1")[1:] == [
        "web1                                 1    512   50"]
    r = sim(env, "sched-credit", "-d", "web1", "-w", "0")
    assert r.returncode == 1
    r = sim(env, "sched-credit", "-w", "10")
    assert r.returncode == 1 and "Must specify a domain" in r.stderr


def test_rename_save_restore(env, web1, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ok(env, "rename", "web1", "web2")
    assert ok(env, "list", "1")[1].startswith("web2 ")
    r = sim(env, "save", "web2", str(tmp_path / "web2.save"), str(web1))
    assert r.returncode == 0, r.stderr
    assert r.stderr.startswith(f"Saving to {tmp_path / 'web2.save'} new xl format")
    assert len(ok(env, "list")) == 2 - 0 and ok(env, "list")[-1].startswith("Domain-0")
    r = sim(env, "restore", str(tmp_path / "web2.save"))
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines()[-1] == "Restored domain web2 (domid 2)"
    assert re.fullmatch(r"web2 {36} {5}2   256     2     r-----  +\d+\.\d", ok(env, "list")[2])
    r = sim(env, "restore", str(web1))
    assert r.returncode == 1 and "not a xenlight save file" in r.stderr


def test_uptime_dmesg(env, web1) -> None:  # type: ignore[no-untyped-def]
    lines = ok(env, "uptime")
    assert lines[0] == "Name                                ID Uptime"      # "%-33s %4s %s"
    assert re.fullmatch(r"Domain-0 {25} {4}0 (\d+ days?, )?[ \d]\d:\d\d:\d\d", lines[1]), lines[1]
    assert re.fullmatch(r"web1 {29} {4}1  0:00:0\d", lines[2]), lines[2]
    out = sim(env, "dmesg").stdout
    assert "Xen version 4.17" in out


def test_console(env, web1) -> None:  # type: ignore[no-untyped-def]
    import os
    import select
    import subprocess
    from .conftest import XENLIGHT
    p = subprocess.Popen([str(XENLIGHT), "--backend", "sim", "console", "web1"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env={**os.environ, **env})
    assert p.stdout is not None and p.stdin is not None
    got = b""
    deadline = 30.0
    import time
    t0 = time.monotonic()
    while b"Linux version" not in got and time.monotonic() - t0 < deadline:
        if select.select([p.stdout], [], [], 1.0)[0]:
            got += os.read(p.stdout.fileno(), 4096)
    assert b"Linux version" in got              # the guest's console so far
    assert p.poll() is None                     # still attached
    p.stdin.write(b"\x1d")                      # Ctrl-] leaves
    p.stdin.flush()
    assert p.wait(timeout=30) == 0
    # EOF on stdin: what the console has, then back.
    r = sim(env, "console", "web1", input="")
    assert r.returncode == 0 and "Linux version" in r.stdout
    r = sim(env, "console", "nope", input="")
    assert r.returncode == 1


def test_top_batch(env, web1) -> None:  # type: ignore[no-untyped-def]
    lines = ok(env, "top", "-b", "-i", "2", "-d", "0.3")
    assert len(lines) == 2 * 6
    for screen in (lines[:6], lines[6:]):
        assert re.fullmatch(r"xentop - \d\d:\d\d:\d\d   Xen 4\.17\.0", screen[0])
        assert screen[1] == ("2 domains: 2 running, 0 blocked, 0 paused, 0 crashed, "
                             "0 dying, 0 shutdown ")
        assert re.fullmatch(r"Mem: \d+k total, \d+k used, \d+k free    CPUs: 16 @ 2400MHz",
                            screen[2])
        assert screen[3] == ("      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k)"
                             " MAXMEM(%) VCPUS NETS VBDS")
        assert re.fullmatch(r"  Domain-0 -----r +\d+ +\d+\.\d    4194304    6\.2   no limit"
                            r"       n/a     4    0    0", screen[4]), screen[4]
        assert re.fullmatch(r"      web1 -----r +\d+ +\d+\.\d     262144    0\.4     525312"
                            r"       0\.8     2    1    1", screen[5]), screen[5]
    assert lines[4].split()[3] == "0.0"                  # no CPU% before a second sample
    assert float(lines[11].split()[3]) > 0               # the simulated guest's load


def test_xen_backend_hint() -> None:
    r = run_cli("--backend", "xen", "info")
    assert r.returncode == 1
    assert "xenlight --backend sim" in r.stderr


def test_exit_codes(env) -> None:  # type: ignore[no-untyped-def]
    for args in (("pause", "ghost"), ("rename", "ghost", "x"), ("block-list", "ghost"),
                 ("uptime", "ghost"), ("vcpu-pin", "0", "0", "99-100")):
        r = sim(env, *args)
        assert r.returncode == 1, (args, r.stderr)
    assert sim(env, "vcpu-set").returncode == 2         # usage
