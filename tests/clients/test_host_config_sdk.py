"""Host and pool configuration messages through the official XenAPI SDK against a real server
process (simulator): each setting is validated, recorded in the host record and handed to the
host-configuration seam (its journal `<db>.hostconfig.json`), which changes nothing on the
machine running the tests; refusals get the reference's errors and change nothing."""
from __future__ import annotations

import base64
import datetime as dt
import io
import json
import os
import socket
import tarfile
import time

import pytest
import XenAPI

from sdk import details
from serverproc import ServerProcess


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    work = tmp_path_factory.mktemp("hostcfg")
    os.makedirs(work / "extensions")
    os.makedirs(work / "plugins")
    with ServerProcess(str(work), https=True, unix=True,
                       extra=["--plugin-dir", str(work / "plugins")]) as server:
        yield server


@pytest.fixture(scope="module")
def x(srv):
    s = XenAPI.Session(srv.url)
    s.xenapi.login_with_password("root", srv.password, "1.0", "pytest-hostcfg")
    return s.xenapi         # (the last test restarts the server: no logout on this port)


def local_root(srv: ServerProcess):
    """The local superuser over the Unix socket (sched-gran is only theirs)."""
    s = XenAPI.Session("http://" + srv.unix_path.replace("/", "_"),
                       transport=XenAPI.UDSTransport())
    s.xenapi.login_with_password("root", "")
    return s.xenapi


def applied(srv: ServerProcess) -> list[list]:
    with open(srv.db + ".hostconfig.json") as f:
        return json.load(f)["applied"]


def test_timezone(srv, x):
    host = x.host.get_all()[0]
    zones = x.host.list_timezones(host)
    assert "Europe/Paris" in zones and "UTC" in zones and zones == sorted(zones)
    x.host.set_timezone(host, "Asia/Tokyo")
    assert x.host.get_timezone(host) == "Asia/Tokyo"
    assert applied(srv)[-1] == ["timezone", "Asia/Tokyo"]
    # the host's local time follows its zone (UTC+9, no daylight saving)
    utc = x.host.get_servertime(host).value
    local = x.host.get_server_localtime(host).value
    delta = (dt.datetime.strptime(local, "%Y%m%dT%H:%M:%SZ")
             - dt.datetime.strptime(utc, "%Y%m%dT%H:%M:%SZ")).total_seconds()
    assert abs(delta - 9 * 3600) < 5
    n = len(applied(srv))
    assert details(x.host.set_timezone, host, "Mars/Olympus") == \
        ["INVALID_VALUE", "timezone", "Mars/Olympus"]
    assert x.host.get_timezone(host) == "Asia/Tokyo" and len(applied(srv)) == n
    # the machine's own zone was not touched
    assert time.tzname != ("JST", "JST")


def test_ntp_and_servertime(srv, x):
    host = x.host.get_all()[0]
    assert x.host.get_ntp_mode(host) == "Factory"
    assert details(x.host.set_ntp_mode, host, "Custom") == [
        "INVALID_NTP_CONFIG", "Can't set ntp_mode to Custom when ntp_custom_servers is empty"]
    assert details(x.host.set_ntp_custom_servers, host, ["ok.example", "bad server"]) == \
        ["INVALID_NTP_CONFIG", "Invalid NTP server: bad server"]
    x.host.set_ntp_custom_servers(host, ["ntp1.example", "192.0.2.7"])
    x.host.set_ntp_mode(host, "Custom")
    assert x.host.get_ntp_mode(host) == "Custom"
    assert applied(srv)[-1] == ["ntp", {"mode": "Custom",
                                        "servers": ["ntp1.example", "192.0.2.7"]}]
    # no NTP client runs for the simulated host: nothing is reached
    assert x.host.get_ntp_servers_status(host) == {"ntp1.example": "unreachable",
                                                   "192.0.2.7": "unreachable"}
    assert x.host.get_ntp_synchronized(host) is False
    target = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=400)
    stamp = target.strftime("%Y%m%dT%H:%M:%SZ")
    assert details(x.host.set_servertime, host, stamp) == \
        ["NOT_ALLOWED_WHEN_NTP_IS_ENABLED", host]
    x.host.set_ntp_mode(host, "Disabled")
    assert x.host.get_ntp_servers_status(host) == {}
    x.host.set_servertime(host, stamp)
    got = dt.datetime.strptime(x.host.get_servertime(host).value,
                               "%Y%m%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    assert abs((got - target).total_seconds()) < 5              # the simulated clock moved
    assert abs((dt.datetime.now(dt.timezone.utc) - target).days) >= 399   # the machine's not
    x.host.set_servertime(host, dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H:%M:%SZ"))
    x.host.set_ntp_mode(host, "Factory")


def test_hostname_ssh_and_timeouts(srv, x):
    host = x.host.get_all()[0]
    machine = socket.gethostname()
    x.host.set_hostname_live(host, "sim-host-1.example")
    assert x.host.get_hostname(host) == "sim-host-1.example"
    assert applied(srv)[-1] == ["hostname", "sim-host-1.example"]
    assert socket.gethostname() == machine
    for bad, reason in (("bad_name", "hostname contains invalid characters"),
                        ("-lead", "hostname contains invalid characters"),
                        ("a" * 256, "hostname is too long")):
        assert details(x.host.set_hostname_live, host, bad) == ["HOST_NAME_INVALID", reason]
    assert x.host.get_hostname(host) == "sim-host-1.example"

    assert details(x.host.set_ssh_enabled_timeout, host, "-1") == \
        ["INVALID_VALUE", "ssh_enabled_timeout", "-1"]
    x.host.set_ssh_enabled_timeout(host, "3600")
    x.host.disable_ssh(host)
    rec = x.host.get_record(host)
    assert rec["ssh_enabled"] is False and rec["ssh_expiry"].value == "19700101T00:00:00Z"
    x.host.enable_ssh(host)
    rec = x.host.get_record(host)
    expiry = dt.datetime.strptime(rec["ssh_expiry"].value, "%Y%m%dT%H:%M:%SZ").replace(
        tzinfo=dt.timezone.utc)
    assert rec["ssh_enabled"] is True
    assert 3590 < (expiry - dt.datetime.now(dt.timezone.utc)).total_seconds() <= 3600
    assert applied(srv)[-1] == ["ssh", {"enabled": True, "timeout": 3600}]
    pool = x.pool.get_all()[0]
    x.pool.set_ssh_enabled_timeout(pool, "0")
    x.pool.disable_ssh(pool)
    assert x.host.get_ssh_enabled(host) is False
    x.pool.set_ssh_auto_mode(pool, True)
    assert x.host.get_ssh_auto_mode(host) is True
    x.pool.set_console_idle_timeout(pool, "300")
    assert x.host.get_console_idle_timeout(host) == "300"
    assert details(x.host.set_console_idle_timeout, host, "-5") == \
        ["INVALID_VALUE", "console_idle_timeout", "-5"]


def test_storage_power_and_boot_options(srv, x):
    host = x.host.get_all()[0]
    x.host.set_iscsi_iqn(host, "iqn.2026-12.example:sim")
    rec = x.host.get_record(host)
    assert rec["iscsi_iqn"] == "iqn.2026-12.example:sim"
    assert rec["other_config"]["iscsi_iqn"] == "iqn.2026-12.example:sim"
    assert details(x.host.set_iscsi_iqn, host, "") == ["INVALID_VALUE", "value", ""]
    x.host.set_multipathing(host, True)
    assert x.host.get_multipathing(host) is True
    assert x.host.get_other_config(host)["multipathing"] == "true"
    x.host.set_power_on_mode(host, "wake-on-lan", {})
    assert x.host.get_power_on_mode(host) == "wake-on-lan"
    assert details(x.host.set_power_on_mode, host, "magic", {}) == \
        ["INVALID_VALUE", "power_on_mode", "magic"]
    assert details(x.host.get_sched_gran, host)[0] == "RBAC_PERMISSION_DENIED"
    root = local_root(srv)
    assert root.host.get_sched_gran(host) == "cpu"
    root.host.set_sched_gran(host, "core")
    assert root.host.get_sched_gran(host) == "core"
    assert applied(srv)[-1] == ["xen_cmdline:sched-gran", "core"]
    assert details(root.host.set_sched_gran, host, "thread")[0] == "INVALID_VALUE"
    x.host.set_max_cstate(host, "1,0")
    assert x.host.get_max_cstate(host) == "1,0"
    assert details(x.host.set_max_cstate, host, "C3") == ["INVALID_VALUE", "max_cstate", "C3"]
    x.host.set_numa_affinity_policy(host, "best_effort")
    assert x.host.get_numa_affinity_policy(host) == "best_effort"
    assert x.host.disable_display(host) == "disable_on_reboot"
    assert x.host.enable_display(host) == "enabled"         # back before a reboot
    x.host.syslog_reconfigure(host)
    assert applied(srv)[-1][0] == "syslog"


def test_local_storage_caching(srv, x):
    host = x.host.get_all()[0]
    srs = x.SR.get_all_records()
    local = next(r for r, s in srs.items() if s["type"] == "file")
    iso = next(r for r, s in srs.items() if s["type"] != "file")
    assert details(x.host.enable_local_storage_caching, host, iso) == \
        ["SR_OPERATION_NOT_SUPPORTED", iso]
    x.host.enable_local_storage_caching(host, local)
    assert x.host.get_local_cache_sr(host) == local
    assert x.SR.get_local_cache_enabled(local) is True
    pool = x.pool.get_all()[0]
    x.pool.disable_local_storage_caching(pool)
    assert x.host.get_local_cache_sr(host) == "OpaqueRef:NULL"
    assert x.SR.get_local_cache_enabled(local) is False
    x.pool.enable_local_storage_caching(pool)
    assert x.host.get_local_cache_sr(host) == local


def test_tls_settings(srv, x):
    host = x.host.get_all()[0]
    pool = x.pool.get_all()[0]
    assert x.host.get_ssl_legacy(host) is False
    assert details(x.host.set_ssl_legacy, host, True) == [
        "VALUE_NOT_SUPPORTED", "value", "true",
        "legacy SSL is not supported: the minimum is TLS 1.2"]
    assert details(x.pool.enable_ssl_legacy, pool) == ["MESSAGE_REMOVED"]
    x.pool.disable_ssl_legacy(pool)
    x.pool.set_https_only(pool, True)
    assert x.host.get_https_only(host) is True
    assert applied(srv)[-1] == ["https_only", True]
    x.host.set_https_only(host, False)
    x.pool.enable_client_certificate_auth(pool, "client.example")
    assert x.pool.get_client_certificate_auth_enabled(pool) is True
    assert x.pool.get_client_certificate_auth_name(pool) == "client.example"
    x.pool.disable_client_certificate_auth(pool)
    assert x.pool.get_client_certificate_auth_name(pool) == ""
    x.pool.enable_tls_verification()
    assert x.pool.get_tls_verification_enabled(pool) is True
    assert x.host.get_tls_verification_enabled(host) is True
    x.pool.rotate_secret()               # a single host has no pool secret: nothing to do


def test_editions_and_external_auth(srv, x):
    host = x.host.get_all()[0]
    pool = x.pool.get_all()[0]
    rec = x.host.get_record(host)
    assert rec["edition"] == "free" and rec["editions"] == ["free"]
    assert rec["license_params"]["expiry"] == "never"
    assert x.pool.get_license_state(pool) == {"edition": "free", "expiry": "never"}
    assert details(x.host.apply_edition, host, "enterprise", False) == \
        ["INVALID_EDITION", "enterprise"]
    x.pool.apply_edition(pool, "free")
    x.host.license_remove(host)
    assert x.host.get_edition(host) == "free"
    assert details(x.host.license_add, host, "!!notbase64") == ["LICENSE_PROCESSING_ERROR"]
    assert details(x.host.license_add, host, base64.b64encode(b"<license/>").decode()) == \
        ["LICENSE_FILE_DEPRECATED"]
    assert details(x.host.license_apply, host, "") == ["MESSAGE_REMOVED"]
    assert details(x.host.enable_external_auth, host, {}, "corp.example", "LDAP") == \
        ["AUTH_UNKNOWN_TYPE", "LDAP"]
    assert details(x.pool.enable_external_auth, pool, {"user": "a"}, "corp.example", "AD") == \
        ["AUTH_ENABLE_FAILED",
         "the AD authentication service (winbind) is not installed on this host"]
    assert x.host.get_external_auth_type(host) == ""
    assert details(x.pool.external_auth_set_ldaps, pool, True, False) == ["AUTH_IS_DISABLED"]
    x.pool.disable_external_auth(pool, {})
    x.pool.detect_nonhomogeneous_external_auth(pool)
    assert not [m for m in x.message.get_all_records().values()
                if m["name"] == "EXTERNAL_AUTH_MISMATCH"]


def test_reports_and_extensions(srv, x):
    host = x.host.get_all()[0]
    pool = x.pool.get_all()[0]
    agents = x.host.get_tracked_user_agents(host)
    assert "xmlrpc.client" in agents or "Python-xmlrpc" in agents, agents
    caps = x.host.get_system_status_capabilities(host)
    assert "<system-status-capabilities>" in caps and 'key="xen-dmesg"' in caps
    assert x.host.get_uncooperative_resident_VMs(host) == []
    ext = os.path.join(srv.workdir, "extensions", "echo")
    assert x.host.has_extension(host, "echo") is False
    assert x.pool.has_extension(pool, "echo") is False
    with open(ext, "w") as f:
        f.write("#!/bin/sh\nprintf '<?xml version=\"1.0\"?><methodResponse><params><param>"
                "<value><string>ok</string></value></param></params></methodResponse>'\n")
    os.chmod(ext, 0o755)
    assert x.host.has_extension(host, "echo") is True
    assert x.pool.has_extension(pool, "echo") is True
    call = "<?xml version='1.0'?><methodCall><methodName>echo</methodName><params>" \
           "</params></methodCall>"
    assert x.host.call_extension(host, call) == "ok"
    assert details(x.host.call_extension, host, call.replace("echo", "nope")) == \
        ["MESSAGE_METHOD_UNKNOWN", "nope"]
    assert details(x.host.set_cpu_features, host, "x") == ["MESSAGE_REMOVED"]
    assert details(x.pool.test_archive_target, pool, {}) == ["MESSAGE_REMOVED"]


def test_uefi_and_pool_settings(srv, x):
    pool = x.pool.get_all()[0]
    host = x.host.get_all()[0]
    assert x.pool.get_guest_secureboot_readiness(pool) == "not_ready"

    def tarball(names):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for n in names:
                info = tarfile.TarInfo(n)
                info.size = 4
                tar.addfile(info, io.BytesIO(b"auth"))
        return base64.b64encode(buf.getvalue()).decode()
    x.pool.set_custom_uefi_certificates(pool, tarball(["PK.auth", "KEK.auth", "db.auth"]))
    assert x.pool.get_guest_secureboot_readiness(pool) == "ready_no_dbx"
    x.pool.set_uefi_certificates(pool, tarball(["PK.auth", "KEK.auth", "db.auth", "dbx.auth"]))
    x.pool.set_custom_uefi_certificates(pool, "")            # back to the pool's
    assert x.pool.get_guest_secureboot_readiness(pool) == "ready"
    assert x.host.get_uefi_certificates(host) == x.pool.get_uefi_certificates(pool)
    for name in ("local_auth_max_threads", "ext_auth_max_threads", "ext_auth_cache_size",
                 "ext_auth_cache_expiry"):
        getattr(x.pool, "set_" + name)(pool, "7")
        assert getattr(x.pool, "get_" + name)(pool) == "7"
        assert details(getattr(x.pool, "set_" + name), pool, "0") == \
            ["INVALID_VALUE", name, "0"]
    x.pool.set_ext_auth_cache_enabled(pool, False)
    assert x.pool.get_ext_auth_cache_enabled(pool) is False
    soon = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).strftime(
        "%Y%m%dT%H:%M:%SZ")
    x.pool.set_telemetry_next_collection(pool, soon)
    assert x.pool.get_telemetry_next_collection(pool).value == soon
    late = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)).strftime(
        "%Y%m%dT%H:%M:%SZ")
    assert details(x.pool.set_telemetry_next_collection, pool, late) == \
        ["TELEMETRY_NEXT_COLLECTION_TOO_LATE", late]


def test_settings_survive_restart(srv, x):
    host = x.host.get_all()[0]
    x.host.set_timezone(host, "Europe/Paris")
    local_root(srv).host.set_sched_gran(host, "socket")
    srv.stop()
    srv.start()
    s = XenAPI.Session(srv.url)
    s.xenapi.login_with_password("root", srv.password, "1.0", "pytest-hostcfg")
    assert s.xenapi.host.get_timezone(host) == "Europe/Paris"
    assert local_root(srv).host.get_sched_gran(host) == "socket"
    s.xenapi.session.logout()
