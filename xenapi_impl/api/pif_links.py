"""What VLAN, Bond and tunnel messages share: the host's devices behind a PIF (hostnet.links)
and the checks xapi makes before putting something on a PIF or a network."""
from __future__ import annotations

from typing import Any, Awaitable, Callable

from ..errors import XenAPIError
from ..hostnet.links import LinkError, Links, links_for
from ..store import NULL_REF, new_ref, new_uuid
from .context import Context
from .network import children


async def on_host(ctx: Context, pif: str, change: Callable[[Links], Awaitable[None]]) -> None:
    """Apply `change` to this host's links (nothing when the server only records them); the
    kernel's refusal is PIF_CONFIGURATION_ERROR [pif, reason] and the caller's transaction,
    not committed yet, is discarded with it."""
    links = links_for(ctx.services)
    if links is None:
        return
    try:
        await change(links)
    except LinkError as exc:
        raise XenAPIError("PIF_CONFIGURATION_ERROR", pif, str(exc)) from None


async def call_on(ctx: Context, host: str, method: str, args: list[Any]) -> Any:
    """Run a routed message on `host` and commit it there: here in a transaction of its own
    (the caller's may have been committed by an earlier call), else through its agent."""
    from .host_agent import LocalAgent, _host_live, agent_for
    agent = agent_for(ctx.services, host)
    if agent is None:
        async with ctx.services.transaction() as txn:
            return await LocalAgent(Context(ctx.services, ctx.caller, method, txn,
                                            ctx.session_ref, ctx.session, ctx.task)
                                    ).call(method, args)
    if not _host_live(ctx.services, host):
        raise XenAPIError("HOST_OFFLINE", host)
    return await agent.call(method, args)


def check_network_free(txn: Any, network: str, host: str) -> None:
    """A managed network with no PIF on `host` yet (xapi: one PIF per network and host)."""
    if not txn.get("network", network)["managed"]:
        raise XenAPIError("NETWORK_UNMANAGED", network)
    for pif in children(txn, "PIF", "network", network):
        if txn.get("PIF", pif)["host"] == host:
            raise XenAPIError("NETWORK_ALREADY_CONNECTED", network, pif)


def check_managed(rec: dict[str, Any], pif: str) -> None:
    if not rec["managed"]:
        raise XenAPIError("PIF_UNMANAGED", pif)


def free_device(txn: Any, host: str, prefix: str) -> str:
    """`prefix<N>` with the lowest N no PIF of `host` uses (bond0, tunnel1...)."""
    used = {txn.get("PIF", r)["device"] for r in children(txn, "PIF", "host", host)}
    n = 0
    while f"{prefix}{n}" in used:
        n += 1
    return f"{prefix}{n}"


def new_pif(ctx: Context, values: dict[str, Any], metrics: str | None = None) -> str:
    """A PIF that is not a NIC (VLAN, bond master, tunnel access): no IP configuration, not
    plugged yet; `metrics` shared (a VLAN's are its NIC's, as xapi's) or new ones."""
    txn = ctx.txn
    if metrics is None:
        metrics = new_ref()
        txn.create("PIF_metrics", metrics, {**ctx.services.default_record("PIF_metrics"),
                                            "uuid": new_uuid()})
    rec = ctx.services.default_record("PIF")
    rec.update({"uuid": new_uuid(), "metrics": metrics, "physical": False,
                "currently_attached": False, "managed": True, "other_config": {},
                "properties": {}, "capabilities": [], **values})
    ref = new_ref()
    txn.create("PIF", ref, rec)
    return ref
