"""host.* and pool.* setters of dom0's configuration: time zone, NTP, the clock, hostname, SSH,
console idle timeout, iSCSI IQN, multipathing, power-on mode, Xen boot options (sched-gran,
max-cstate), syslog, UEFI certificates, display, local storage caching.

Each setter validates as xapi does (bad input: its error, nothing changed), records the setting
in the host record and hands it to the host-configuration seam (hostconfig.py), which on the
simulator and in tests changes nothing on the machine. The pool forms call the host message on
every host (each on its own host, api/tls_policy.on_every_host), as xapi's pool helpers do.
"""
from __future__ import annotations

import datetime as _dt
import re
import zoneinfo
from typing import Any

from ..errors import XenAPIError
from ..hostconfig import host_config
from ..hostnet.syntax import valid_ip
from .context import Context
from ..store import NULL_REF
from .registry import implements
from .host_fanout import call_on, on_every_host, on_host

EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
#: chrony's servers when the mode is Factory (XenServer's defaults)
FACTORY_NTP_SERVERS = ["0.centos.pool.ntp.org", "1.centos.pool.ntp.org",
                       "2.centos.pool.ntp.org", "3.centos.pool.ntp.org"]
#: xapi's bound on host.ssh_enabled_timeout (seconds: two days)
MAX_SSH_TIMEOUT = 172800
_HOSTNAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*"
                       r"[A-Za-z0-9])?)*")
_CSTATE = re.compile(r"(\d+(,\d+)?)?")
POWER_ON_MODES = ("", "wake-on-lan", "iLO", "DRAC", "IPMI")
#: SR types whose VDIs can hold local caches (xapi: file-based SRs; ours is "file")
CACHING_SR_TYPES = ("file", "ext", "nfs")


def _apply(ctx: Context, host: str, setting: str, value: Any, fields: dict[str, Any]) -> None:
    """Hand `setting` to dom0 (the seam), then record `fields` in the host record."""
    host_config(ctx.services).apply(setting, value)
    if fields:
        ctx.txn.update("host", host, fields)


def _pool(ctx: Context) -> str:
    return next(iter(ctx.txn.refs("pool")))


# --- time -----------------------------------------------------------------------------------
def timezones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


@implements("host.list_timezones")
async def list_timezones(ctx: Context, self: str) -> list[str]:
    return timezones()


@implements("host.set_timezone")
async def set_timezone(ctx: Context, self: str, value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise XenAPIError("INVALID_VALUE", "timezone", value)
    _apply(ctx, self, "timezone", value, {"timezone": value})


def _valid_ntp_server(name: str) -> bool:
    return 0 < len(name) <= 255 and (valid_ip(name) or _HOSTNAME.fullmatch(name) is not None)


def _ntp_servers(rec: Any) -> list[str]:
    """The servers chrony uses in the host's mode (DHCP's are not known here)."""
    mode = rec["ntp_mode"]
    if mode == "Custom":
        return list(rec["ntp_custom_servers"])
    if mode == "Factory":
        return list(FACTORY_NTP_SERVERS)
    return []


def _apply_ntp(ctx: Context, host: str, mode: str, servers: list[str]) -> None:
    _apply(ctx, host, "ntp", {"mode": mode, "servers": servers},
           {"ntp_mode": mode, "ntp_custom_servers": servers})


@implements("host.set_ntp_mode")
async def set_ntp_mode(ctx: Context, self: str, value: str) -> None:
    servers = list(ctx.txn.get("host", self)["ntp_custom_servers"])
    if value == "Custom" and not servers:
        raise XenAPIError("INVALID_NTP_CONFIG",
                          "Can't set ntp_mode to Custom when ntp_custom_servers is empty")
    _apply_ntp(ctx, self, value, servers)


@implements("host.set_ntp_custom_servers")
async def set_ntp_custom_servers(ctx: Context, self: str, value: list[str]) -> None:
    for name in value:
        if not _valid_ntp_server(name):
            raise XenAPIError("INVALID_NTP_CONFIG", f"Invalid NTP server: {name}")
    mode = ctx.txn.get("host", self)["ntp_mode"]
    if mode == "Custom" and not value:
        raise XenAPIError("INVALID_NTP_CONFIG",
                          "Can't set ntp_custom_servers to empty when ntp_mode is Custom")
    _apply_ntp(ctx, self, mode, list(dict.fromkeys(value)))


@implements("host.get_ntp_servers_status")
async def get_ntp_servers_status(ctx: Context, self: str) -> dict[str, str]:
    return host_config(ctx.services).ntp_status(_ntp_servers(ctx.txn.get("host", self)))


@implements("host.get_ntp_synchronized")
async def get_ntp_synchronized(ctx: Context, self: str) -> bool:
    rec = ctx.txn.get("host", self)
    return rec["ntp_mode"] != "Disabled" and host_config(ctx.services).ntp_synchronized()


@implements("host.set_servertime")
async def set_servertime(ctx: Context, self: str, value: _dt.datetime) -> None:
    if ctx.txn.get("host", self)["ntp_mode"] != "Disabled":
        raise XenAPIError("NOT_ALLOWED_WHEN_NTP_IS_ENABLED", self)
    _apply(ctx, self, "servertime", value.astimezone(_dt.timezone.utc), {})


# --- identity, access -----------------------------------------------------------------------
@implements("host.set_hostname_live")
async def set_hostname_live(ctx: Context, host: str, hostname: str) -> None:
    if len(hostname) > 255:
        raise XenAPIError("HOST_NAME_INVALID", "hostname is too long")
    if not _HOSTNAME.fullmatch(hostname) or any(len(p) > 63 for p in hostname.split(".")):
        raise XenAPIError("HOST_NAME_INVALID", "hostname contains invalid characters")
    _apply(ctx, host, "hostname", hostname, {"hostname": hostname})


def _ssh_expiry(enabled: bool, timeout: int) -> _dt.datetime:
    if not enabled or timeout <= 0:
        return EPOCH
    return (_dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(seconds=timeout)).replace(
        microsecond=0)


def _set_ssh(ctx: Context, host: str, enabled: bool) -> None:
    timeout = ctx.txn.get("host", host)["ssh_enabled_timeout"]
    _apply(ctx, host, "ssh", {"enabled": enabled, "timeout": timeout},
           {"ssh_enabled": enabled, "ssh_expiry": _ssh_expiry(enabled, timeout)})


@implements("host.enable_ssh")
async def enable_ssh(ctx: Context, self: str) -> None:
    _set_ssh(ctx, self, True)


@implements("host.disable_ssh")
async def disable_ssh(ctx: Context, self: str) -> None:
    _set_ssh(ctx, self, False)


@implements("host.set_ssh_enabled_timeout")
async def set_ssh_enabled_timeout(ctx: Context, self: str, value: int) -> None:
    if not 0 <= value <= MAX_SSH_TIMEOUT:
        raise XenAPIError("INVALID_VALUE", "ssh_enabled_timeout", str(value))
    enabled = ctx.txn.get("host", self)["ssh_enabled"]
    _apply(ctx, self, "ssh", {"enabled": enabled, "timeout": value},
           {"ssh_enabled_timeout": value, "ssh_expiry": _ssh_expiry(enabled, value)})


@implements("host.set_ssh_auto_mode")
async def set_ssh_auto_mode(ctx: Context, self: str, value: bool) -> None:
    _apply(ctx, self, "ssh_auto_mode", value, {"ssh_auto_mode": value})


async def expire_ssh(services: Any) -> None:
    """SSH access whose timeout has passed is disabled (run by the periodic maintenance)."""
    now = _dt.datetime.now(_dt.timezone.utc)
    rec = services.store.get("host", services.host_ref)
    if rec is None or not rec["ssh_enabled"] or rec["ssh_expiry"] <= EPOCH \
            or rec["ssh_expiry"] > now:
        return
    host_config(services).apply("ssh", {"enabled": False, "timeout": rec["ssh_enabled_timeout"]})
    async with services.transaction() as txn:
        txn.update("host", services.host_ref, {"ssh_enabled": False, "ssh_expiry": EPOCH})


@implements("host.set_console_idle_timeout")
async def set_console_idle_timeout(ctx: Context, self: str, value: int) -> None:
    if value < 0:
        raise XenAPIError("INVALID_VALUE", "console_idle_timeout", str(value))
    _apply(ctx, self, "console_idle_timeout", value, {"console_idle_timeout": value})


# --- storage, power, Xen boot options -----------------------------------------------------------
@implements("host.set_iscsi_iqn")
async def set_iscsi_iqn(ctx: Context, host: str, value: str) -> None:
    if value == "":
        raise XenAPIError("INVALID_VALUE", "value", value)
    oc = {**ctx.txn.get("host", host)["other_config"], "iscsi_iqn": value}
    _apply(ctx, host, "iscsi_iqn", value, {"iscsi_iqn": value, "other_config": oc})


@implements("host.set_multipathing")
async def set_multipathing(ctx: Context, host: str, value: bool) -> None:
    oc = {**ctx.txn.get("host", host)["other_config"], "multipathing": str(value).lower()}
    _apply(ctx, host, "multipathing", value, {"multipathing": value, "other_config": oc})


@implements("host.set_power_on_mode")
async def set_power_on_mode(ctx: Context, self: str, power_on_mode: str,
                            power_on_config: dict[str, str]) -> None:
    if power_on_mode not in POWER_ON_MODES:
        raise XenAPIError("INVALID_VALUE", "power_on_mode", power_on_mode)
    # the credentials of the power-on interface are given in the config, as xapi keeps them
    _apply(ctx, self, "power_on", {"mode": power_on_mode, "config": sorted(power_on_config)},
           {"power_on_mode": power_on_mode, "power_on_config": dict(power_on_config)})


@implements("host.set_sched_gran")
async def set_sched_gran(ctx: Context, self: str, value: str) -> None:
    """Xen's sched-gran on its command line, for the next boot."""
    host_config(ctx.services).apply("xen_cmdline:sched-gran", value)


@implements("host.get_sched_gran")
async def get_sched_gran(ctx: Context, self: str) -> str:
    """What Xen's command line says (xapi reads it the same way); Xen's default is cpu."""
    return host_config(ctx.services).setting("xen_cmdline:sched-gran") or "cpu"


@implements("host.set_max_cstate")
async def set_max_cstate(ctx: Context, self: str, value: str) -> None:
    if not _CSTATE.fullmatch(value):
        raise XenAPIError("INVALID_VALUE", "max_cstate", value)
    _apply(ctx, self, "xen_cmdline:max_cstate", value, {"max_cstate": value})


@implements("host.set_numa_affinity_policy")
async def set_numa_affinity_policy(ctx: Context, self: str, value: str) -> None:
    """The placement policy of the VMs started from now on (the toolstack's own setting)."""
    ctx.txn.update("host", self, {"numa_affinity_policy": value})


@implements("host.syslog_reconfigure")
async def syslog_reconfigure(ctx: Context, host: str) -> None:
    """Apply host.logging again: this server's own destinations (server/logconfig.py, the
    local syslog among them) and, through the seam, dom0's syslog forwarding."""
    from ..logconfig import apply_stored
    logging_map = dict(ctx.txn.get("host", host)["logging"])
    host_config(ctx.services).apply("syslog", logging_map)
    apply_stored(ctx.services)


@implements("host.set_uefi_certificates")
async def set_uefi_certificates(ctx: Context, host: str, value: str) -> None:
    _apply(ctx, host, "uefi_certificates", value, {"uefi_certificates": value})


async def _set_display(ctx: Context, host: str, enable: bool) -> str:
    """The display setting takes effect at the next boot: enabled/disabled become
    *_on_reboot, and going back before a reboot restores the current state."""
    current = ctx.txn.get("host", host)["display"]
    if enable:
        new = {"disabled": "enable_on_reboot", "disable_on_reboot": "enabled"}.get(
            current, current)
    else:
        new = {"enabled": "disable_on_reboot", "enable_on_reboot": "disabled"}.get(
            current, current)
    _apply(ctx, host, "display", enable, {"display": new})
    return new


@implements("host.enable_display")
async def enable_display(ctx: Context, host: str) -> str:
    return await _set_display(ctx, host, True)


@implements("host.disable_display")
async def disable_display(ctx: Context, host: str) -> str:
    return await _set_display(ctx, host, False)


@implements("host.enable_local_storage_caching")
async def enable_local_storage_caching(ctx: Context, host: str, sr: str) -> None:
    """Cache on a local file-based SR of this host (xapi: SR_OPERATION_NOT_SUPPORTED for a
    shared SR, one not plugged here, or one that is not file-based)."""
    rec = ctx.txn.get("SR", sr)
    pbds = [ctx.txn.get("PBD", p) for p in rec["PBDs"]]
    if rec["shared"] or not any(p is not None and p["host"] == host and p["currently_attached"]
                                for p in pbds):
        raise XenAPIError("SR_OPERATION_NOT_SUPPORTED", sr)
    if rec["type"] not in CACHING_SR_TYPES:
        raise XenAPIError("SR_OPERATION_NOT_SUPPORTED", sr)
    _apply(ctx, host, "local_cache_sr", rec["uuid"], {"local_cache_sr": sr})
    ctx.txn.update("SR", sr, {"local_cache_enabled": True})


@implements("host.disable_local_storage_caching")
async def disable_local_storage_caching(ctx: Context, host: str) -> None:
    sr = ctx.txn.get("host", host)["local_cache_sr"]
    _apply(ctx, host, "local_cache_sr", "", {"local_cache_sr": NULL_REF})
    if sr != NULL_REF and ctx.txn.get("SR", sr) is not None:
        ctx.txn.update("SR", sr, {"local_cache_enabled": False})


on_host("host.set_timezone", "host.set_ntp_mode", "host.set_ntp_custom_servers",
        "host.get_ntp_servers_status", "host.get_ntp_synchronized", "host.set_servertime",
        "host.set_hostname_live", "host.enable_ssh", "host.disable_ssh",
        "host.set_ssh_enabled_timeout", "host.set_ssh_auto_mode", "host.set_console_idle_timeout",
        "host.set_iscsi_iqn", "host.set_multipathing", "host.set_power_on_mode",
        "host.set_sched_gran", "host.get_sched_gran", "host.set_max_cstate",
        "host.syslog_reconfigure", "host.set_uefi_certificates", "host.enable_display",
        "host.disable_display", "host.enable_local_storage_caching",
        "host.disable_local_storage_caching")


# --- the pool forms ---------------------------------------------------------------------------
@implements("pool.enable_ssh")
async def pool_enable_ssh(ctx: Context, self: str) -> None:
    await on_every_host(ctx, "host.enable_ssh")


@implements("pool.disable_ssh")
async def pool_disable_ssh(ctx: Context, self: str) -> None:
    await on_every_host(ctx, "host.disable_ssh")


@implements("pool.set_ssh_enabled_timeout")
async def pool_set_ssh_enabled_timeout(ctx: Context, self: str, value: int) -> None:
    await on_every_host(ctx, "host.set_ssh_enabled_timeout", value)


@implements("pool.set_ssh_auto_mode")
async def pool_set_ssh_auto_mode(ctx: Context, self: str, value: bool) -> None:
    await on_every_host(ctx, "host.set_ssh_auto_mode", value)


@implements("pool.set_console_idle_timeout")
async def pool_set_console_idle_timeout(ctx: Context, self: str, value: int) -> None:
    await on_every_host(ctx, "host.set_console_idle_timeout", value)


@implements("pool.set_uefi_certificates")
async def pool_set_uefi_certificates(ctx: Context, self: str, value: str) -> None:
    ctx.txn.update("pool", self, {"uefi_certificates": value})
    await on_every_host(ctx, "host.set_uefi_certificates", value)


@implements("pool.set_custom_uefi_certificates")
async def pool_set_custom_uefi_certificates(ctx: Context, self: str, value: str) -> None:
    """Custom certificates replace the pool's; empty goes back to pool.uefi_certificates."""
    ctx.txn.update("pool", self, {"custom_uefi_certificates": value})
    effective = value or ctx.txn.get("pool", self)["uefi_certificates"]
    await on_every_host(ctx, "host.set_uefi_certificates", effective)


@implements("pool.enable_local_storage_caching")
async def pool_enable_local_storage_caching(ctx: Context, self: str) -> None:
    """Every host caches on its local SR that supports it (hosts without one are skipped)."""
    for host in ctx.txn.refs("host"):
        for ref in ctx.txn.refs("SR"):
            rec = ctx.txn.get("SR", ref)
            if not rec["shared"] and rec["type"] in CACHING_SR_TYPES and any(
                    (p := ctx.txn.get("PBD", b)) is not None and p["host"] == host
                    and p["currently_attached"] for b in rec["PBDs"]):
                await call_on(ctx, host, "host.enable_local_storage_caching", ref)
                break


@implements("pool.disable_local_storage_caching")
async def pool_disable_local_storage_caching(ctx: Context, self: str) -> None:
    await on_every_host(ctx, "host.disable_local_storage_caching")


# --- pool settings of the toolstack itself ------------------------------------------------------
def _positive(name: str, value: int) -> None:
    if value <= 0:
        raise XenAPIError("INVALID_VALUE", name, str(value))


@implements("pool.set_local_auth_max_threads")
async def set_local_auth_max_threads(ctx: Context, self: str, value: int) -> None:
    _positive("local_auth_max_threads", value)
    ctx.txn.update("pool", self, {"local_auth_max_threads": value})


@implements("pool.set_ext_auth_max_threads")
async def set_ext_auth_max_threads(ctx: Context, self: str, value: int) -> None:
    _positive("ext_auth_max_threads", value)
    ctx.txn.update("pool", self, {"ext_auth_max_threads": value})


@implements("pool.set_ext_auth_cache_enabled")
async def set_ext_auth_cache_enabled(ctx: Context, self: str, value: bool) -> None:
    ctx.txn.update("pool", self, {"ext_auth_cache_enabled": value})


@implements("pool.set_ext_auth_cache_size")
async def set_ext_auth_cache_size(ctx: Context, self: str, value: int) -> None:
    _positive("ext_auth_cache_size", value)
    ctx.txn.update("pool", self, {"ext_auth_cache_size": value})


@implements("pool.set_ext_auth_cache_expiry")
async def set_ext_auth_cache_expiry(ctx: Context, self: str, value: int) -> None:
    _positive("ext_auth_cache_expiry", value)
    ctx.txn.update("pool", self, {"ext_auth_cache_expiry": value})
