"""tunnel.create/destroy: a network carried over another PIF's IP connection (GRE or VxLAN).

As xapi (in its order): a managed network (NETWORK_UNMANAGED) without a PIF on the transport
PIF's host (NETWORK_ALREADY_CONNECTED); a managed transport PIF (PIF_UNMANAGED) that is not a
bond slave (CANNOT_ADD_TUNNEL_TO_BOND_SLAVE) nor a tunnel's access PIF (IS_TUNNEL_ACCESS_PIF).
The access PIF is `tunnel<N>` (lowest free on the host) with a MAC derived from the tunnel's
uuid (locally administered, as hostnet.mac derives VIF MACs), the network's MTU, the transport
PIF's metrics and primary address type; it is plugged at once, which needs the transport PIF
to have an IPv4 configuration (TRANSPORT_PIF_NOT_CONFIGURED [transport PIF], then nothing is
kept) and makes the host's `tunnel<N>` device keyed by the network
(hostnet.links.tunnel_key: the same on every host). `status` says `active` "true" once the
device exists; where the server only records links it stays "false" (nothing carries the
traffic).

xapi makes tunnels only with Open vSwitch (else OPENVSWITCH_NOT_ACTIVE) and leaves the remote
ends to the vswitch controller; here a managed host gets a Linux `gretap` or `vxlan` device
bound to the transport PIF's address, whose remote ends are added the same way (forwarding
entries), not by this server.
"""
from __future__ import annotations

from ..errors import XenAPIError
from ..hostnet.links import links_for, tunnel_key
from ..hostnet.mac import generate_mac
from ..store import NULL_REF, new_ref, new_uuid
from .context import Context
from .network import serialized
from .pif_links import check_managed, check_network_free, free_device, new_pif, on_host
from .registry import implements


@implements("tunnel.create")
async def create(ctx: Context, transport: str, network: str, protocol: str = "gre") -> str:
    txn = ctx.txn
    async with serialized(ctx):
        rec = txn.get("PIF", transport)
        host = rec["host"]
        check_network_free(txn, network, host)
        check_managed(rec, transport)
        if rec["bond_slave_of"] != NULL_REF:
            raise XenAPIError("CANNOT_ADD_TUNNEL_TO_BOND_SLAVE", transport)
        if rec["tunnel_access_PIF_of"]:
            raise XenAPIError("IS_TUNNEL_ACCESS_PIF", transport)
        uuid = new_uuid()
        device = free_device(txn, host, "tunnel")
        macs = {txn.get("PIF", p)["MAC"] for p in txn.refs("PIF")}
        access = new_pif(ctx, {
            "device": device, "network": network, "host": host,
            "MAC": generate_mac(uuid, device, macs), "VLAN": -1,
            "MTU": txn.get("network", network)["MTU"],
            "primary_address_type": rec["primary_address_type"]}, metrics=rec["metrics"])
        tunnel = new_ref()
        txn.create("tunnel", tunnel, {
            **ctx.services.default_record("tunnel"), "uuid": uuid, "access_PIF": access,
            "transport_PIF": transport, "protocol": protocol, "other_config": {},
            "status": {"active": "false"}})
        await plug_access(ctx, tunnel)
    return tunnel


async def plug_access(ctx: Context, tunnel: str) -> None:
    """Bring a tunnel's access PIF up (PIF.plug of an access PIF comes here too)."""
    txn = ctx.txn
    rec = txn.get("tunnel", tunnel)
    access, transport = rec["access_PIF"], rec["transport_PIF"]
    trec = txn.get("PIF", transport)
    if trec["ip_configuration_mode"] == "None":
        raise XenAPIError("TRANSPORT_PIF_NOT_CONFIGURED", transport)
    arec = txn.get("PIF", access)
    key = tunnel_key(txn.get("network", arec["network"])["uuid"])
    await on_host(ctx, access, lambda links: links.add_tunnel(
        arec["device"], rec["protocol"], trec["IP"], trec["device"], key))
    txn.update("PIF", access, {"currently_attached": True})
    if links_for(ctx.services) is not None:
        txn.update("tunnel", tunnel, {"status": {**rec["status"], "active": "true"}})


@implements("tunnel.destroy")
async def destroy(ctx: Context, tunnel: str) -> None:
    txn = ctx.txn
    async with serialized(ctx):
        access = txn.get("tunnel", tunnel)["access_PIF"]
        arec = txn.get("PIF", access) if access != NULL_REF else None
        if arec is not None:
            if arec["currently_attached"]:
                await on_host(ctx, access, lambda links: links.remove(arec["device"]))
            txn.delete("PIF", access)          # its metrics are the transport PIF's
        txn.delete("tunnel", tunnel)
