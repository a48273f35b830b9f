"""The management interface (host/pool.management_reconfigure,
host.local_management_reconfigure, host.management_disable) and the pool's network switches
(pool.set_vswitch_controller, pool.set_igmp_snooping_enabled).

As xapi, the management interface is the PIF flagged `management` on each host.
host.management_reconfigure moves the flag to the PIF given and plugs it, on the PIF's host;
refused with HA_IS_ENABLED, and for a managed PIF with CANNOT_PLUG_BOND_SLAVE or, when it has
no address of its primary address type, PIF_HAS_NO_NETWORK_CONFIGURATION /
PIF_HAS_NO_V6_NETWORK_CONFIGURATION. pool.management_reconfigure checks every host first
(PIF_NOT_PRESENT [host, network] for a host without a PIF on the network,
PIF_INCOMPATIBLE_PRIMARY_ADDRESS_TYPE for a PIF whose primary address type differs from the
network's first PIF's) and then reconfigures each, the slaves before the master.
host.local_management_reconfigure is for a slave cut off from its master (xapi's emergency
mode): elsewhere it answers NOT_IN_EMERGENCY_MODE. host.management_disable clears the flag on
this host's PIFs; a slave needs it (SLAVE_REQUIRES_MANAGEMENT_INTERFACE).

What stays as it was: the server keeps listening where it was started (`--http`/`--https`)
and `host.address` keeps `--address`, so a pool's hosts still reach one another; the flag is
what clients and host.get_management_interface read.

Where xapi needs Open vSwitch for the last two (it answers OPERATION_NOT_ALLOWED /
OPENVSWITCH_NOT_ACTIVE on its Linux-bridge backend), this server records them: the vswitch
controller address (an IPv4 address or "" to clear it, else INVALID_IP_ADDRESS_SPECIFIED
["address"]; no vswitch runs here to use it), and the pool's IGMP snooping flag, which every
managed PIF that is neither a VLAN nor a bond slave reports in igmp_snooping_status (the
others stay `unknown`, the reference's answer for a VLAN master).
"""
from __future__ import annotations

from typing import Any

from ..errors import XenAPIError
from ..hostnet.syntax import valid_ip
from ..store import NULL_REF
from .context import Context
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


@implements("host.management_reconfigure")
async def management_reconfigure(ctx: Context, pif: str) -> None:
    _check_no_ha(ctx)
    rec = ctx.txn.get("PIF", pif)
    if rec["managed"]:
        _check_usable(rec, pif)
    if not rec["management"]:
        _set_management(ctx, pif)


@implements("pool.management_reconfigure")
async def pool_management_reconfigure(ctx: Context, network: str) -> None:
    """Every host's PIF on `network` becomes its management PIF: all checked first, then
    each host's host.management_reconfigure on its host, the slaves before the master."""
    _check_no_ha(ctx)
    txn = ctx.txn
    pifs = list(txn.get("network", network)["PIFs"])
    on_host = {txn.get("PIF", p)["host"]: p for p in pifs}
    for host in sorted(txn.refs("host")):
        if host not in on_host:
            raise XenAPIError("PIF_NOT_PRESENT", host, network)
    address_type = txn.get("PIF", pifs[0])["primary_address_type"] if pifs else "IPv4"
    for pif in pifs:
        rec = txn.get("PIF", pif)
        if rec["primary_address_type"] != address_type:
            raise XenAPIError("PIF_INCOMPATIBLE_PRIMARY_ADDRESS_TYPE", pif)
        _check_usable(rec, pif)
    master = _pool(ctx)["master"]
    for host in sorted(on_host, key=lambda h: (h == master, h)):
        await call_on(ctx, host, "host.management_reconfigure", [on_host[host]])


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
        rec = txn.get("PIF", pif)
        if rec["VLAN"] < 0 and rec["bond_slave_of"] == NULL_REF and rec["managed"]:
            txn.update("PIF", pif, {"igmp_snooping_status": status})

