"""The management interface (host/pool.management_reconfigure,
host.local_management_reconfigure, host.management_disable) and the pool's network switches
(pool.set_vswitch_controller, pool.set_igmp_snooping_enabled).

As xapi, the management interface is the PIF flagged `management` on each host:
reconfiguring moves the flag to the PIF given (refused with HA_IS_ENABLED, CANNOT_PLUG_BOND_SLAVE,
PIF_HAS_NO_NETWORK_CONFIGURATION / PIF_HAS_NO_V6_NETWORK_CONFIGURATION when the PIF has no
address of its primary address type) and plugs it; host.management_reconfigure runs on the
PIF's host. pool.management_reconfigure checks every host first (PIF_NOT_PRESENT [host,
network] for a host without a PIF on the network, PIF_INCOMPATIBLE_PRIMARY_ADDRESS_TYPE for one
whose primary address type differs from its current management PIF's) and then reconfigures
each. host.local_management_reconfigure is for a slave cut off from its master (xapi's
emergency mode): elsewhere it answers NOT_IN_EMERGENCY_MODE. host.management_disable clears
the flag on this host's PIFs; a slave needs it (SLAVE_REQUIRES_MANAGEMENT_INTERFACE).

What stays as it was: the server keeps listening where it was started (`--http`/`--https`)
and `host.address` keeps `--address`, so a pool's hosts still reach one another; the flag is
what clients and host.get_management_interface read.

The vswitch controller address is recorded (an IPv4 address or "" to clear it, else
INVALID_IP_ADDRESS_SPECIFIED [address]); no Open vSwitch runs here to use it. IGMP snooping:
the pool's flag, and every non-VLAN PIF's igmp_snooping_status follows it (a VLAN PIF stays
`unknown`, the reference's answer for a VLAN master).
"""
from __future__ import annotations

from typing import Any

from ..errors import XenAPIError
from ..hostnet.syntax import valid_ip
from ..server.context import Context
from ..store import NULL_REF
from .network import children
from .pif_links import call_on
from .pool_role import host_is_live, role_of
from .registry import implements


def _pool(ctx: Context) -> dict[str, Any]:
    return ctx.txn.get("pool", ctx.services.pool_ref)


def _check_no_ha(ctx: Context) -> None:
    if _pool(ctx)["ha_enabled"]:
        raise XenAPIError("HA_IS_ENABLED")


def _check_usable(rec: dict[str, Any], pif: str) -> None:
    if rec["bond_slave_of"] != NULL_REF:
        raise XenAPIError("CANNOT_PLUG_BOND_SLAVE", pif)
    if rec["primary_address_type"] == "IPv4":
        if rec["ip_configuration_mode"] == "None":
            raise XenAPIError("PIF_HAS_NO_NETWORK_CONFIGURATION", pif)
    elif rec["ipv6_configuration_mode"] == "None":
        raise XenAPIError("PIF_HAS_NO_V6_NETWORK_CONFIGURATION", pif)


def _set_management(ctx: Context, pif: str) -> None:
    """`pif` is its host's management PIF, and no other PIF of that host is."""
    txn = ctx.txn
    host = txn.get("PIF", pif)["host"]
    for other in children(txn, "PIF", "host", host):
        if other != pif and txn.get("PIF", other)["management"]:
            txn.update("PIF", other, {"management": False})
    txn.update("PIF", pif, {"management": True, "currently_attached": True})


def _management_of(txn: Any, host: str) -> str | None:
    return next((p for p in children(txn, "PIF", "host", host)
                 if txn.get("PIF", p)["management"]), None)


@implements("host.management_reconfigure")
async def management_reconfigure(ctx: Context, pif: str) -> None:
    _check_no_ha(ctx)
    rec = ctx.txn.get("PIF", pif)
    if rec["management"]:
        return
    _check_usable(rec, pif)
    _set_management(ctx, pif)


@implements("pool.management_reconfigure")
async def pool_management_reconfigure(ctx: Context, network: str) -> None:
    _check_no_ha(ctx)
    txn = ctx.txn
    on_network = {txn.get("PIF", p)["host"]: p for p in children(txn, "PIF", "network", network)}
    plan = []
    for host in sorted(txn.refs("host")):
        pif = on_network.get(host)
        if pif is None:
            raise XenAPIError("PIF_NOT_PRESENT", host, network)
        rec = txn.get("PIF", pif)
        _check_usable(rec, pif)
        current = _management_of(txn, host)
        if current is not None and \
                txn.get("PIF", current)["primary_address_type"] != rec["primary_address_type"]:
            raise XenAPIError("PIF_INCOMPATIBLE_PRIMARY_ADDRESS_TYPE", pif)
        plan.append((host, pif))
    for host, pif in plan:
        await call_on(ctx, host, "host.management_reconfigure", [pif])


def _local_pif(ctx: Context, interface: str) -> str | None:
    """This host's PIF named by device or by its network's bridge (xapi names the bridge)."""
    txn = ctx.txn
    for pif in children(txn, "PIF", "host", ctx.services.host_ref):
        rec = txn.get("PIF", pif)
        net = txn.get("network", rec["network"])
        if interface in (rec["device"], net["bridge"] if net is not None else None):
            return pif
    return None


@implements("host.local_management_reconfigure")
async def local_management_reconfigure(ctx: Context, interface: str) -> None:
    role = role_of(ctx.services)
    master = _pool(ctx)["master"]
    if role.is_master or master == ctx.services.host_ref or \
            host_is_live(ctx.services, master):
        raise XenAPIError("NOT_IN_EMERGENCY_MODE")
    pif = _local_pif(ctx, interface)
    if pif is None:
        raise XenAPIError("INVALID_VALUE", "interface", interface)
    _set_management(ctx, pif)


@implements("host.management_disable")
async def management_disable(ctx: Context) -> None:
    _check_no_ha(ctx)
    services = ctx.services
    if not role_of(services).is_master and _pool(ctx)["master"] != services.host_ref:
        raise XenAPIError("SLAVE_REQUIRES_MANAGEMENT_INTERFACE")
    for pif in children(ctx.txn, "PIF", "host", services.host_ref):
        if ctx.txn.get("PIF", pif)["management"]:
            ctx.txn.update("PIF", pif, {"management": False})


@implements("pool.set_vswitch_controller")
async def set_vswitch_controller(ctx: Context, address: str) -> None:
    if address and not valid_ip(address, 4):
        raise XenAPIError("INVALID_IP_ADDRESS_SPECIFIED", "address")
    ctx.txn.update("pool", ctx.services.pool_ref, {"vswitch_controller": address})


@implements("pool.set_igmp_snooping_enabled")
async def set_igmp_snooping_enabled(ctx: Context, pool: str, value: bool) -> None:
    txn = ctx.txn
    txn.update("pool", pool, {"igmp_snooping_enabled": value})
    status = "enabled" if value else "disabled"
    for pif in sorted(txn.refs("PIF")):
        if txn.get("PIF", pif)["VLAN"] < 0:
            txn.update("PIF", pif, {"igmp_snooping_status": status})

