"""`serve --manage-host-config` (a dom0): host settings are made with systemd's tools
(timedatectl, hostnamectl, systemctl) before they are recorded. The tools here are scripts on
the server's PATH that log their arguments (the machine running the tests is never
reconfigured); one of them fails on request, which must refuse the setting and change nothing.
"""
from __future__ import annotations

import datetime as dt
import os
import stat

import pytest
import XenAPI

from sdk import details
from serverproc import ServerProcess

TOOL = """#!/bin/sh
echo "$(basename "$0") $*" >> "{log}"
case "$*" in
  *fail-me*) echo "Could not set hostname: Access denied" >&2; exit 1 ;;
  "show --property=NTPSynchronized --value") echo yes ;;
esac
"""


@pytest.fixture(scope="module")
def dom0(tmp_path_factory):
    work = tmp_path_factory.mktemp("dom0cfg")
    bin_dir, log = work / "bin", work / "tools.log"
    bin_dir.mkdir()
    for name in ("timedatectl", "hostnamectl", "systemctl"):
        path = bin_dir / name
        path.write_text(TOOL.format(log=log))
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}"}
    with ServerProcess(str(work), extra=["--manage-host-config"], env=env) as server:
        s = XenAPI.Session(server.url)
        s.xenapi.login_with_password("root", server.password, "1.0", "pytest-dom0cfg")
        yield server, s.xenapi, log


def _calls(log) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_settings_run_the_system_tools(dom0):
    srv, x, log = dom0
    host = x.host.get_all()[0]
    x.host.set_timezone(host, "Europe/Paris")
    x.host.set_hostname_live(host, "dom0-a")
    x.host.set_ntp_mode(host, "Disabled")
    when = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)).replace(microsecond=0)
    x.host.set_servertime(host, when.strftime("%Y%m%dT%H:%M:%SZ"))
    x.host.enable_ssh(host)
    x.host.disable_ssh(host)
    assert _calls(log) == [
        "timedatectl set-timezone Europe/Paris",
        "hostnamectl set-hostname dom0-a",
        "timedatectl set-ntp false",
        f"timedatectl set-time {when.strftime('%Y-%m-%d %H:%M:%S')} UTC",
        "systemctl enable --now sshd",
        "systemctl disable --now sshd",
    ]
    assert x.host.get_timezone(host) == "Europe/Paris"
    assert x.host.get_hostname(host) == "dom0-a"
    x.host.set_ntp_mode(host, "DHCP")
    assert _calls(log)[-1] == "timedatectl set-ntp true"
    assert x.host.get_ntp_synchronized(host) is True      # timedatectl's answer
    # the machine's clock was set, not a simulated one: the server keeps reading the real clock
    server_now = dt.datetime.strptime(x.host.get_servertime(host).value, "%Y%m%dT%H:%M:%SZ")
    assert abs(server_now.replace(tzinfo=dt.timezone.utc)
               - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=5)


def test_a_failing_tool_refuses_the_setting(dom0):
    srv, x, log = dom0
    host = x.host.get_all()[0]
    before = x.host.get_hostname(host)
    err = details(x.host.set_hostname_live, host, "fail-me")
    assert err[0] == "INTERNAL_ERROR" and "Access denied" in err[1], err
    assert x.host.get_hostname(host) == before
    assert _calls(log)[-1] == "hostnamectl set-hostname fail-me"
