"""Host messages carried out on their host, and pool messages carried out on every host.

`on_host(names)` routes host messages whose first argument is the host to that host
(api/host_agent.py ROUTES: another host of the pool runs it through its agent).
`on_every_host(ctx, method, ...)` calls a host message for every host of the pool, each on
its own host, as xapi's pool-wide helpers (pool.enable_ssh, pool.set_https_only...) do.
"""
from __future__ import annotations

from typing import Any

from .context import Context
from .host_agent import ROUTES, LocalAgent, agent_for


async def on_every_host(ctx: Context, method: str, *args: Any, master_last: bool = False) -> None:
    """Call the host message `method(host, *args)` for every host of the pool, each on its own
    host (xapi's pool-wide helpers do the same)."""
    hosts = list(ctx.services.store.records("host"))
    if master_last:
        pool = ctx.txn.get("pool", next(iter(ctx.txn.refs("pool"))))
        hosts.sort(key=lambda h: h == pool["master"])
    for host in hosts:
        await call_on(ctx, host, method, *args)


async def call_on(ctx: Context, host: str, method: str, *args: Any) -> Any:
    """The host message `method(host, *args)`, carried out on `host`."""
    agent = agent_for(ctx.services, host)
    return await (LocalAgent(ctx) if agent is None else agent).call(method, [host, *args])


def on_host(*names: str) -> None:
    """Route host messages whose first argument is the host to that host."""
    for name in names:
        ROUTES[name] = (lambda n: lambda ctx, a: (a[0], n, a))(name)
