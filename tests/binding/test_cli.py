"""The xl-like command line, run as a subprocess against a shared simulated host."""
from __future__ import annotations

import re

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
