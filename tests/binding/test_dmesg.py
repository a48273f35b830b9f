"""The Xen console ring (libxl_xen_console_read_*): Context.xen_dmesg and `xenlight dmesg`."""
from __future__ import annotations

import re

from xenlight_py import Context, DomainConfig

from .conftest import run_cli

LINE = re.compile(r"\(XEN\) \[ *\d+\.\d{6}\] .*")


def test_banner_domain_lines_and_clear(ctx: Context, pv: DomainConfig) -> None:
    text = ctx.xen_dmesg()
    assert "Xen version 4.17.0" in text
    assert all(LINE.fullmatch(line) for line in text.splitlines()), text
    assert text.endswith("\n")

    domid = ctx.create_domain(pv)
    ctx.sim.guest_crash(domid)
    ctx.destroy(domid)
    text = ctx.xen_dmesg(clear=True)
    assert f"d{domid}: domain created (PV, 2 vCPUs, 263168 KiB)" in text
    assert f"Domain {domid} (vcpu#0) crashed" in text
    assert f"d{domid}: domain destroyed" in text
    # Cleared: empty until the hypervisor prints again.
    assert ctx.xen_dmesg() == ""
    domid = ctx.create_domain(pv)
    assert ctx.xen_dmesg().splitlines() == [
        line for line in ctx.xen_dmesg().splitlines() if f"d{domid}: domain created" in line]


def test_cli_dmesg(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"XLSIM_STATE_FILE": str(tmp_path / "state")}
    r = run_cli("--backend", "sim", "dmesg", "-c", env=env)
    assert r.returncode == 0, r.stderr
    assert "Using scheduler: SMP Credit Scheduler (credit)" in r.stdout
    r = run_cli("--backend", "sim", "dmesg", env=env)
    assert (r.returncode, r.stdout) == (0, "")
