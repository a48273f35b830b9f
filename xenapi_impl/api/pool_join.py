"""pool.join, pool.join_force, pool.eject, host.destroy: hosts entering and leaving a pool.

A standalone host keeps its records in SQLite (`--db x.db`). pool.join(master_address, user,
password), called on it:
1. checks as xapi's join does: not already in a pool with other hosts
   (JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS), no running or paused VM
   (JOINING_HOST_CANNOT_HAVE_RUNNING_VMS), no bond, tunnel or VLAN other than the
   management one (POOL_JOINING_HOST_HAS_BONDS, _HAS_TUNNELS, _HAS_NON_MANAGEMENT_VLANS);
2. logs in to the master (HTTPS on this host's own HTTPS port: the hosts of a pool share one
   port; the master's certificate is not known yet, so it is not verified: the password goes
   over TLS as xapi's join sends it) and asks it (`POST /pool/join-info`, a pool-admin
   session) for the pool database's URL and its API version (a different one:
   POOL_JOINING_HOST_MUST_HAVE_SAME_API_VERSION [host, master]); cannot reach it:
   JOINING_HOST_CONNECTION_FAILED; a wrong password: SESSION_AUTHENTICATION_FAILED;
3. copies its own records into the pool database in one transaction: the host (same uuid,
   same ref), host_metrics, host_cpus, PIFs (with a management VLAN's record) and their
   networks (a network of the pool with the same bridge is used instead of a copy), its
   local SRs with their PBDs and VDIs, its control domain. Its halted VMs' records stay behind (their disks stay in the local SR);
4. writes `<db>.pool` (the URL, mode 0600) and restarts itself (exec): from then on `serve
   --db x.db` runs on the pool database as a slave, its inventory unchanged.
`pool.join_force` skips the API version check. `pool.eject(host)` on the master: the host
deletes its records from the pool database, removes `<db>.pool`, moves its SQLite file and
its local SRs (`<db>.sr`) aside (`.ejected-<time>`: xapi's eject destroys them), and restarts
standalone on a fresh SQLite database, its inventory (host uuid) unchanged.
`host.destroy(host)` on the master removes the records of a host that is gone (not live).
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import ssl
import time
from typing import Any

from ..errors import XenAPIError
from ..store import NULL_REF
from .context import Context
from .registry import implements

log = logging.getLogger(__name__)

EXIT_REEXEC = 75            # the server execs itself again (cli.py)
JOIN_INFO_PATH = "/pool/join-info"


def pool_file(state_base: str) -> str:
    return os.path.abspath(state_base) + ".pool"


def api_version(rec: Any) -> str:
    return f"{rec['API_version_major']}.{rec['API_version_minor']}"


# --- what a host brings into (or takes out of) the pool --------------------------------
def own_records(store: Any, host: str) -> list[tuple[str, str]]:
    """(class, ref) of every record that belongs to `host` alone, parents before children."""
    out: list[tuple[str, str]] = [("host", host)]
    h = store.get("host", host)
    if h["metrics"] != NULL_REF and store.get("host_metrics", h["metrics"]) is not None:
        out.append(("host_metrics", h["metrics"]))
    out += [("host_cpu", r) for r, c in store.records("host_cpu").items() if c["host"] == host]
    pifs = {r for r, p in store.records("PIF").items() if p["host"] == host}
    for r in sorted(pifs):
        out.append(("PIF", r))
        m = store.get("PIF", r)["metrics"]      # a VLAN PIF shares its NIC's metrics
        if m != NULL_REF and store.get("PIF_metrics", m) is not None and \
                ("PIF_metrics", m) not in out:
            out.append(("PIF_metrics", m))
    for cls, field in (("VLAN", "untagged_PIF"), ("Bond", "master"), ("tunnel", "access_PIF")):
        out += [(cls, r) for r, v in store.records(cls).items() if v[field] in pifs]
    pbds = {r: p for r, p in store.records("PBD").items() if p["host"] == host}
    for sr in {p["SR"] for p in pbds.values()}:
        rec = store.get("SR", sr)
        if rec is None or rec["shared"] or any(store.get("PBD", p)["host"] != host
                                                for p in rec["PBDs"]):
            continue
        out.append(("SR", sr))
        out += [("VDI", v) for v in rec["VDIs"]]
    out += [("PBD", r) for r in pbds]
    for r, v in store.records("VM").items():
        if v["is_control_domain"] and v["resident_on"] == host:
            out.append(("VM", r))
            if v["metrics"] != NULL_REF and store.get("VM_metrics", v["metrics"]) is not None:
                out.append(("VM_metrics", v["metrics"]))
    return out


def _check_network_can_join(store: Any) -> None:
    """As xapi's pre-join checks: the joining host brings no bond, no tunnel and no VLAN
    other than its management interface's (they would clash with the pool's networks)."""
    if store.records("Bond"):
        raise XenAPIError("POOL_JOINING_HOST_HAS_BONDS")
    if store.records("tunnel"):
        raise XenAPIError("POOL_JOINING_HOST_HAS_TUNNELS")
    if any(p["VLAN_master_of"] != NULL_REF and not p["management"]
           for p in store.records("PIF").values()):
        raise XenAPIError("POOL_JOINING_HOST_HAS_NON_MANAGEMENT_VLANS")


def _http_json(url: str, payload: dict[str, Any], timeout: float = 30) -> Any:
    import urllib.request
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=ctx, timeout=timeout) as resp:
        return json.loads(resp.read())


def _master_call(base: str, method: str, params: list[Any]) -> Any:
    answer = _http_json(base + "/jsonrpc", {"jsonrpc": "2.0", "id": 1, "method": method,
                                            "params": params})
    if "error" in answer and answer["error"]:
        err = answer["error"]          # JSON-RPC 2.0: message = code, data = params
        if isinstance(err, dict) and err.get("message"):
            raise XenAPIError(str(err["message"]), *(err.get("data") or []))
        raise XenAPIError("JOINING_HOST_SERVICE_FAILED")
    return answer["result"]


async def _join(ctx: Context, address: str, user: str, password: str, force: bool) -> None:
    services = ctx.services
    store = services.store
    if store.shared or len(store.records("host")) > 1:
        raise XenAPIError("JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS")
    if any(v["power_state"] in ("Running", "Paused") and not v["is_control_domain"]
           for v in store.records("VM").values()):
        raise XenAPIError("JOINING_HOST_CANNOT_HAVE_RUNNING_VMS")
    _check_network_can_join(store)
    if services.state_base is None or services.https_port is None:
        raise XenAPIError("JOINING_HOST_SERVICE_FAILED")
    base = f"https://{address}:{services.https_port}"
    loop = asyncio.get_running_loop()
    try:
        session = await loop.run_in_executor(None, _master_call, base,
                                             "session.login_with_password",
                                             [user, password, "1.0", "pool.join"])
        info = await loop.run_in_executor(None, _http_json, base + JOIN_INFO_PATH,
                                          {"session": session})
        await loop.run_in_executor(None, _master_call, base, "session.logout", [session])
    except XenAPIError:
        raise
    except (OSError, ValueError, KeyError) as exc:
        log.warning("pool.join: cannot reach the master at %s: %s", base, exc)
        raise XenAPIError("JOINING_HOST_CONNECTION_FAILED") from None
    if "error" in info:
        raise XenAPIError(*info["error"])
    mine = api_version(store.get("host", services.host_ref))
    if info["api_version"] != mine and not force:
        raise XenAPIError("POOL_JOINING_HOST_MUST_HAVE_SAME_API_VERSION", mine,
                          info["api_version"])
    await _copy_into(services, info["db"])
    path = pool_file(services.state_base)
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(info["db"] + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(path + ".tmp", path)
    log.warning("joined the pool of %s: restarting as its slave", address)
    restart_soon(services)


async def _copy_into(services: Any, url: str) -> None:
    from ..store import store_specs
    from ..store.postgres import PostgresStore
    src = services.store
    pool_db = await PostgresStore.open(url, store_specs(services.model))
    try:
        by_bridge = {n["bridge"]: r for r, n in pool_db.records("network").items()
                     if n["bridge"]}
        items = own_records(src, services.host_ref)
        nets: dict[str, str] = {}
        for cls, ref in items:
            if cls == "PIF":
                net = src.get("PIF", ref)["network"]
                n = src.get("network", net)
                if n is not None and net not in nets:
                    nets[net] = by_bridge.get(n["bridge"], net) if n["bridge"] else net
        async with services.model.relations.wrap(pool_db.transaction()) as txn:
            for net, target in nets.items():
                if target == net and pool_db.get("network", net) is None:
                    txn.create("network", net, dict(src.get("network", net)))
            for cls, ref in items:
                rec = dict(src.get(cls, ref))
                if cls == "PIF":
                    rec["network"] = nets.get(rec["network"], rec["network"])
                txn.create(cls, ref, rec)
        log.info("pool.join: %d records of this host copied into the pool database",
                 len(items) + len(nets))
    finally:
        await pool_db.close()


def restart_soon(services: Any, delay: float = 0.3) -> None:
    """After the answer went out: stop and exec again (cli.py), on the new database."""
    services.exit_status = EXIT_REEXEC
    asyncio.get_running_loop().call_later(delay, services.stop_requested.set)


@implements("pool.join")
async def join(ctx: Context, master_address: str, master_username: str,
               master_password: str) -> None:
    await _join(ctx, master_address, master_username, master_password, False)


@implements("pool.join_force")
async def join_force(ctx: Context, master_address: str, master_username: str,
                     master_password: str) -> None:
    await _join(ctx, master_address, master_username, master_password, True)


def _delete_host_records(ctx: Context, host: str) -> int:
    txn = ctx.txn
    items = own_records(ctx.services.store, host)
    for cls, ref in reversed(items):
        if txn.get(cls, ref) is not None:
            txn.delete(cls, ref)
    return len(items)


@implements("pool.eject")
async def eject(ctx: Context, host: str) -> None:
    """On the master: routed to `host` (api/host_agent.py), which removes itself."""
    services = ctx.services
    from .pool_role import role_of
    if ctx.caller.transport != "pool":
        role_of(services).check_master()
        if host == services.host_ref:
            raise XenAPIError("OPERATION_NOT_ALLOWED", "Cannot eject the pool master")
    if any(v["resident_on"] == host and v["power_state"] in ("Running", "Paused")
           and not v["is_control_domain"] for v in ctx.txn.store.records("VM").values()):
        raise XenAPIError("HOST_IN_USE", host, "VM", "running VMs")
    if host != services.host_ref:
        from .host_agent import agent_for
        agent = agent_for(services, host)
        assert agent is not None
        await agent.call("pool.eject", [host])
        return
    n = _delete_host_records(ctx, host)
    await ctx.txn.commit()
    base = services.state_base
    if base is not None:
        if os.path.exists(pool_file(base)):
            os.unlink(pool_file(base))
        stamp = int(time.time())
        # the host starts over: its database and its local SRs (as xapi's eject destroys
        # them) are moved aside, not deleted
        for path in (base, base + ".sr"):
            if os.path.exists(path):
                os.replace(path, f"{path}.ejected-{stamp}")
        for suffix in ("-wal", "-shm"):
            if os.path.exists(base + suffix):
                os.unlink(base + suffix)
    log.warning("ejected from the pool (%d records removed): restarting standalone", n)
    restart_soon(services)


@implements("host.destroy")
async def destroy(ctx: Context, host: str) -> None:
    """Remove a host that is gone (its lease expired) from the pool's records."""
    from .pool_role import _assert_dead
    if any(v["resident_on"] == host and v["power_state"] in ("Running", "Paused")
           and not v["is_control_domain"] for v in ctx.txn.store.records("VM").values()):
        raise XenAPIError("HOST_HAS_RESIDENT_VMS", host)
    await _assert_dead(ctx, host)
    _delete_host_records(ctx, host)
