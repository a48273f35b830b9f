"""External authentication (Active Directory): there is no authentication service here.

xapi enables AD through winbind; this host has none, so `enable_external_auth` is refused as
xapi refuses it when the service cannot be set up: AUTH_UNKNOWN_TYPE for a type other than AD
(or empty), AUTH_ALREADY_ENABLED when one is configured, else AUTH_ENABLE_FAILED naming why.
Disabling what is not enabled succeeds (nothing to undo); LDAPS needs an enabled service
(AUTH_IS_DISABLED). `pool.detect_nonhomogeneous_external_auth` compares every host's
configuration with the master's and raises an alert (a message) for each host that differs.
"""
from __future__ import annotations

from ..errors import XenAPIError
from .context import Context
from .message import new_message
from .registry import implements
from .host_fanout import on_every_host, on_host

AUTH_TYPES = ("AD",)
NO_SERVICE = "the AD authentication service (winbind) is not installed on this host"


@implements("host.enable_external_auth")
async def enable_external_auth(ctx: Context, host: str, config: dict[str, str],
                               service_name: str, auth_type: str) -> None:
    rec = ctx.txn.get("host", host)
    if rec["external_auth_type"]:
        raise XenAPIError("AUTH_ALREADY_ENABLED", rec["external_auth_type"],
                          rec["external_auth_service_name"])
    if auth_type not in AUTH_TYPES:
        raise XenAPIError("AUTH_UNKNOWN_TYPE", auth_type)
    raise XenAPIError("AUTH_ENABLE_FAILED", NO_SERVICE)


@implements("host.disable_external_auth")
async def disable_external_auth(ctx: Context, host: str, config: dict[str, str],
                                force: bool) -> None:
    ctx.txn.update("host", host, {"external_auth_type": "", "external_auth_service_name": "",
                                  "external_auth_configuration": {}})


@implements("host.external_auth_set_ldaps")
async def external_auth_set_ldaps(ctx: Context, host: str, ldaps: bool, force: bool) -> None:
    if not ctx.txn.get("host", host)["external_auth_type"]:
        raise XenAPIError("AUTH_IS_DISABLED")


@implements("pool.enable_external_auth")
async def pool_enable_external_auth(ctx: Context, pool: str, config: dict[str, str],
                                    service_name: str, auth_type: str) -> None:
    await on_every_host(ctx, "host.enable_external_auth", config, service_name, auth_type)


@implements("pool.disable_external_auth")
async def pool_disable_external_auth(ctx: Context, pool: str, config: dict[str, str]) -> None:
    await on_every_host(ctx, "host.disable_external_auth", config, False)


@implements("pool.external_auth_set_ldaps")
async def pool_external_auth_set_ldaps(ctx: Context, pool: str, ldaps: bool,
                                       force: bool) -> None:
    await on_every_host(ctx, "host.external_auth_set_ldaps", ldaps, force)


@implements("pool.detect_nonhomogeneous_external_auth")
async def detect_nonhomogeneous_external_auth(ctx: Context, pool: str) -> None:
    master = ctx.txn.get("pool", pool)["master"]
    m = ctx.txn.get("host", master)

    def config(rec):  # noqa: ANN001, ANN202
        return rec["external_auth_type"], rec["external_auth_service_name"]
    for host in ctx.txn.refs("host"):
        rec = ctx.txn.get("host", host)
        if host != master and config(rec) != config(m):
            new_message(ctx.services, ctx.txn, "EXTERNAL_AUTH_MISMATCH", 3, "Host", rec["uuid"],
                        f"The external authentication configuration of host "
                        f"{rec['name_label']} differs from the pool master's")


on_host("host.enable_external_auth", "host.disable_external_auth",
        "host.external_auth_set_ldaps")
