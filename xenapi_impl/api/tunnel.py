"""tunnel.create/destroy: a network carried over another PIF's IP connection (GRE or VxLAN).

As xapi: the transport PIF may not be a tunnel's access PIF (IS_TUNNEL_ACCESS_PIF) or a bond
slave (CANNOT_ADD_TUNNEL_TO_BOND_SLAVE), and needs an IP configuration
(TRANSPORT_PIF_NOT_CONFIGURED); the network must be managed and have no PIF on that host. The
access PIF is `tunnel<N>` (lowest free on the host) with a MAC derived from the tunnel's uuid
(locally administered, as hostnet.mac derives VIF MACs), the network's MTU, VLAN -1; it is
plugged at once, making the host's `tunnel<N>` device keyed by the network
(hostnet.links.tunnel_key: the same on every host). `status` says `active` "true" once the tunnel's device exists; where the
server only records links it stays "false" (nothing carries the traffic).

xapi makes tunnels only with Open vSwitch (else OPENVSWITCH_NOT_ACTIVE) and leaves the remote
ends to the vswitch controller; here a managed host gets a Linux `gretap` or `vxlan` device
bound to the transport PIF's address, whose remote ends are added the same way (forwarding
entries), not by this server.
"""
from __future__ import annotations

from ..errors import XenAPIError
from ..hostnet.mac import generate_mac
from ..server.context import Context
from ..store import NULL_REF, new_ref, new_uuid
from .network import serialized
from .owned import delete_with_metrics
from ..hostnet.links import links_for, tunnel_key
from .pif_links import check_network_free, free_device, new_pif, on_host
from .registry import implements


@implements("tunnel.create")
async def create(ctx: Context, transport: str, network: str, protocol: str = "gre") -> str:
    txn = ctx.txn
    async with serialized(ctx):
        rec = txn.get("PIF", transport)
        if rec["tunnel_access_PIF_of"]:
            raise XenAPIError("IS_TUNNEL_ACCESS_PIF", transport)
        if rec["bond_slave_of"] != NULL_REF:
            raise XenAPIError("CANNOT_ADD_TUNNEL_TO_BOND_SLAVE", transport)
        host = rec["host"]
        check_network_free(txn, network, host)
        if rec["ip_configuration_mode"] == "None" and rec["ipv6_configuration_mode"] == "None":
            raise XenAPIError("TRANSPORT_PIF_NOT_CONFIGURED", transport)
        uuid = new_uuid()
        device = free_device(txn, host, "tunnel")
        macs = {txn.get("PIF", p)["MAC"] for p in txn.refs("PIF")}
        access = new_pif(ctx, {
            "device": device, "network": network, "host": host,
            "MAC": generate_mac(uuid, device, macs),
            "MTU": txn.get("network", network)["MTU"], "VLAN": -1})
        tunnel = new_ref()
        txn.create("tunnel", tunnel, {
            **ctx.services.default_record("tunnel"), "uuid": uuid, "access_PIF": access,
            "transport_PIF": transport, "protocol": protocol, "other_config": {},
            "status": {"active": "false"}})
        local_ip = rec["IP"] or (rec["IPv6"][0].split("/")[0] if rec["IPv6"] else "")
        key = tunnel_key(txn.get("network", network)["uuid"])
        await on_host(ctx, access, lambda links: links.add_tunnel(
            device, protocol, local_ip, rec["device"], key))
        txn.update("PIF", access, {"currently_attached": True})
        if links_for(ctx.services) is not None:
            txn.update("tunnel", tunnel, {"status": {"active": "true"}})
    return tunnel


@implements("tunnel.destroy")
async def destroy(ctx: Context, tunnel: str) -> None:
    txn = ctx.txn
    async with serialized(ctx):
        access = txn.get("tunnel", tunnel)["access_PIF"]
        arec = txn.get("PIF", access) if access != NULL_REF else None
        if arec is not None:
            if arec["management"]:
                raise XenAPIError("PIF_IS_MANAGEMENT_INTERFACE", access)
            if arec["currently_attached"]:
                await on_host(ctx, access, lambda links: links.remove(arec["device"]))
            delete_with_metrics(txn, "PIF", access)
        txn.delete("tunnel", tunnel)
