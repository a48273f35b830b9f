"""The seam between deciding and acting: the API layer decides which host acts (the VM's
`resident_on`, the host a start is placed on) and a host agent carries the call out on that
host's hypervisor.

- `LocalAgent`: this host; the call runs here, through the implementation registered for it
  (`agent_for` answers None for this host and the routed implementation runs directly).
- `RemoteAgent`: another host of the pool; the call goes to that host's HTTPS endpoint
  (`POST /pool/call`, JSON), authenticated by the pool secret (`Store.pool_secret`, kept in
  the pool's database) and over TLS pinned to the certificate fingerprint the host recorded
  (`host.other_config["tls_sha256"]`, port `["https_port"]`). That host runs it as if it had
  been called locally (its own implementation, its own hypervisor) and answers the result or
  the XenAPI error, which the caller gets unchanged. RBAC was checked where the client called.

What the hypervisor reports by itself goes the other way, through AgentHooks (xen/adapter.py),
on the host that runs the domain: each host writes only its own records.

`route(name, ctx, args)` (the table `ROUTES`) decides the target of a call; the dispatcher
wraps the implementations of routed messages with `forwarded` (server/dispatch.py).

An Async call forwarded to another host runs there under a `RelayedTask`: the progress it
reports goes back to the task the client holds, on the host the client called (tasks live in
that host's memory), so a migration run by the VM's host shows its steps on the master's task;
a task.cancel of that task is relayed to the host running the call (`RemoteAgent.cancel`).
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Awaitable, Callable, Iterator

from ..errors import XenAPIError
from ..store import NULL_REF
from .context import Context, TaskCancelled, TaskHandle

log = logging.getLogger(__name__)

CALL_PATH = "/pool/call"
SESSION_PATH = "/pool/session"
CANCEL_PATH = "/pool/cancel"
SECRET_HEADER = "X-Pool-Secret"
CALL_TIMEOUT = 600.0


class RemoteAgent:
    """Calls on another host of the pool."""

    def __init__(self, services: Any, host: str) -> None:
        self.services = services
        self.host = host

    async def call(self, method: str, args: list[Any], task: TaskHandle | None = None) -> Any:
        """`task`: the caller's task, whose progress the call reports as it runs there."""
        # the target applies at least what this host has seen before it runs the call
        call: dict[str, Any] = {"method": method, "params": args,
                                "generation": self.services.store.generation}
        if task is not None:
            task.check_cancelled()
            call["task"] = {"ref": task.ref, "host": self.services.host_ref}
            task.remote = self.host     # a task.cancel meanwhile is relayed there
        try:
            answer = await self._post(CALL_PATH, call, method)
        finally:
            if task is not None:
                task.remote = None
        gen = answer.get("generation")
        store = self.services.store
        if isinstance(gen, int) and store.generation < gen:
            await store.catch_up()      # the target's writes, before we answer our client
        if "error" in answer:
            if answer["error"][0] == "TASK_CANCELLED" and task is not None and task.cancelled:
                raise TaskCancelled(task.ref)
            raise XenAPIError(answer["error"][0], *answer["error"][1:])
        return answer.get("result")

    async def cancel(self, task: str) -> None:
        """Cancel the call that host runs for `task` (a task of this host), as task.cancel
        does a call running here: it stops where stopping is safe."""
        answer = await self._post(CANCEL_PATH, {"task": task}, "task cancellation", 10.0)
        if "error" in answer:
            raise XenAPIError(answer["error"][0], *answer["error"][1:])

    async def session(self, ref: str) -> dict[str, Any]:
        """What that host knows of a client's session it opened (user, role, originator,
        local_superuser), its activity refreshed there; SESSION_INVALID [ref] if none."""
        answer = await self._post(SESSION_PATH, {"session": ref}, "session check", 10.0)
        if "error" in answer:
            raise XenAPIError(answer["error"][0], *answer["error"][1:])
        return answer

    async def _post(self, path: str, payload: dict[str, Any], what: str,
                    timeout: float = CALL_TIMEOUT) -> dict[str, Any]:
        """POST JSON to that host's pool endpoint `path`, with the pool secret, over TLS
        pinned to its recorded certificate, on a kept connection (api/pool_links.py); its JSON
        answer, or HOST_OFFLINE."""
        import aiohttp
        services = self.services
        rec = services.store.get("host", self.host)
        oc = rec["other_config"] if rec is not None else {}
        port, fp = oc.get("https_port"), oc.get("tls_sha256")
        if not port or not fp:
            raise XenAPIError("HOST_OFFLINE", self.host)
        links = services.pool_links
        pin = False if verification_skipped(services) else links.pin(fp)
        url = f"https://{rec['address']}:{port}{path}"
        body = json.dumps(payload, default=str)
        # this host's copy of the secret may predate a rotation: refused (403, before the
        # call ran), it reads the secret again and sends once more
        for fresh in (False, True):
            secret = await services.store.pool_secret(fresh)
            try:
                async with links.http().post(
                        url, data=body, ssl=pin,
                        headers={SECRET_HEADER: secret or "", "Content-Type": "application/json"},
                        timeout=aiohttp.ClientTimeout(total=timeout, sock_connect=5)) as resp:
                    answer = await resp.json(content_type=None)
                    refused = resp.status == 403
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as exc:
                log.warning("%s on host %s (%s) failed: %s", what, rec["name_label"],
                            rec["address"], exc)
                raise XenAPIError("HOST_OFFLINE", self.host) from None
            if not refused:
                break
        if not isinstance(answer, dict):
            raise XenAPIError("HOST_OFFLINE", self.host)
        return answer


def verification_skipped(services: Any) -> bool:
    """Certificates are always pinned, except by a host whose TLS verification was
    emergency-disabled while the pool's is on (api/tls_policy.py)."""
    pool = next(iter(services.store.records("pool").values()), None)
    own = services.store.get("host", services.host_ref)
    return bool(pool and pool["tls_verification_enabled"] and own is not None
                and not own["tls_verification_enabled"])


def stream_pin(services: Any, host: str) -> str | None:
    """The SHA-256 fingerprint (hex) `host`'s certificate must have for a stream this host
    opens to it (a migration's memory or disk, api/vm_migrate.py): the one the host recorded
    (`other_config["tls_sha256"]`, as RemoteAgent pins), this host's own served certificate
    for itself; None when this host does not verify (the emergency exception above).
    HOST_OFFLINE when the host recorded none."""
    if verification_skipped(services):
        return None
    served = getattr(services, "tls", None)
    if host == services.host_ref and served is not None:
        return served.facts().sha256
    rec = services.store.get("host", host)
    fp = rec["other_config"].get("tls_sha256") if rec is not None else None
    if not fp:
        raise XenAPIError("HOST_OFFLINE", host)
    return fp


class LocalAgent:
    """Calls on this host: the implementation registered for the message, in the calling
    context (its transaction, its task)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def call(self, method: str, args: list[Any]) -> Any:
        from .registry import IMPLEMENTATIONS
        return await IMPLEMENTATIONS[method](self.ctx, *args)


class RelayedTask(TaskHandle):
    """The task of a call forwarded from another host: progress goes to the caller's task on
    `host` (at most every RELAY_EVERY seconds, the last value before a pause always; a
    failure to report is logged, never fails the call)."""

    __slots__ = ("host", "_sent_at", "_sent")
    RELAY_EVERY = 0.2

    def __init__(self, ref: str, services: Any, host: str) -> None:
        super().__init__(ref, services)
        self.host = host
        self._sent_at = 0.0
        self._sent = -1.0

    async def set_progress(self, progress: float) -> None:
        now = time.monotonic()
        if progress == self._sent or (now - self._sent_at < self.RELAY_EVERY and progress < 1):
            return
        self._sent_at, self._sent = now, progress
        try:
            await asyncio.wait_for(RemoteAgent(self.services, self.host).call(
                "task.set_progress", [self.ref, progress]), 5)
        except (XenAPIError, asyncio.TimeoutError) as exc:
            log.info("progress of task %s not reported to its host: %s", self.ref, exc)


def agent_for(services: Any, host: str) -> RemoteAgent | None:
    """None for this host (the call runs here), else the agent reaching `host`."""
    if host == NULL_REF or host == services.host_ref:
        return None
    return RemoteAgent(services, host)


def other_live_hosts(services: Any) -> Iterator[tuple[str, RemoteAgent]]:
    """The pool's other hosts that are live, each with the agent reaching it."""
    for host in list(services.store.records("host")):
        agent = agent_for(services, host)
        if agent is not None and _host_live(services, host):
            yield host, agent


# --- deciding where a call runs ---------------------------------------------------------
def _resident(ctx: Context, vm: str) -> str:
    rec = ctx.services.store.get("VM", vm)
    if rec is None or rec["power_state"] not in ("Running", "Paused"):
        return NULL_REF
    return rec["resident_on"]


def _host_live(services: Any, host: str) -> bool:
    h = services.store.get("host", host)
    m = services.store.get("host_metrics", h["metrics"]) if h is not None else None
    return bool(m is not None and m["live"])


def _srs_of(store: Any, vm: str) -> list[str]:
    """The SRs of the VM's disks."""
    out = []
    for vbd in store.get("VM", vm)["VBDs"]:
        b = store.get("VBD", vbd)
        if b is None or b["empty"] or b["VDI"] == NULL_REF:
            continue
        v = store.get("VDI", b["VDI"])
        if v is not None and v["SR"] not in out:
            out.append(v["SR"])
    return out


def missing_sr(store: Any, vm: str, host: str) -> str | None:
    """An SR of the VM's disks that `host` has no plugged PBD for (it cannot run the VM)."""
    for sr in _srs_of(store, vm):
        rec = store.get("SR", sr)
        if rec is None or not any(
                (p := store.get("PBD", pbd)) is not None and p["host"] == host
                and p["currently_attached"] for pbd in rec["PBDs"]):
            return sr
    return None


def place(ctx: Context, vm: str) -> str:
    """The host a start without a host runs on: the VM's affinity if it is enabled, live,
    sees the VM's SRs and has the memory, else the enabled live host seeing the SRs with the
    most free memory; VM_REQUIRES_SR when no live host sees them all."""
    services, store = ctx.services, ctx.services.store
    rec = store.get("VM", vm)
    need = max(rec["memory_static_max"], rec["memory_dynamic_max"])
    best, best_free = NULL_REF, -1
    lacking = None
    for host, h in store.records("host").items():
        if not h["enabled"] or not _host_live(services, host):
            continue
        sr = missing_sr(store, vm, host)
        if sr is not None:
            lacking = sr
            continue
        m = store.get("host_metrics", h["metrics"])
        free = m["memory_free"] if m is not None else 0
        if free >= need and host == rec["affinity"]:
            return host
        if free > best_free:
            best, best_free = host, free
    if best == NULL_REF and lacking is not None:
        raise XenAPIError("VM_REQUIRES_SR", vm, lacking)
    if best == NULL_REF or best_free < need:
        raise XenAPIError("HOST_NOT_ENOUGH_FREE_MEMORY", str(need), str(max(best_free, 0)))
    return best


Router = Callable[[Context, list[Any]], tuple[str, str, list[Any]]]


def _on_vm(name: str) -> Router:
    return lambda ctx, args: (_resident(ctx, args[0]), name, args)


def _on_device_vm(cls: str, name: str) -> Router:
    def route(ctx: Context, args: list[Any]) -> tuple[str, str, list[Any]]:
        rec = ctx.services.store.get(cls, args[0])
        return (_resident(ctx, rec["VM"]) if rec is not None else NULL_REF, name, args)
    return route


def _start(ctx: Context, args: list[Any]) -> tuple[str, str, list[Any]]:
    vm, paused, force = args
    rec = ctx.services.store.get("VM", vm)
    if rec is None or rec["power_state"] != "Halted":
        return NULL_REF, "VM.start", args       # the local implementation reports it
    host = place(ctx, vm)
    return host, "VM.start_on", [vm, host, paused, force]


def _resume(ctx: Context, args: list[Any]) -> tuple[str, str, list[Any]]:
    vm, paused, force = args
    rec = ctx.services.store.get("VM", vm)
    if rec is None or rec["power_state"] != "Suspended":
        return NULL_REF, "VM.resume", args
    host = place(ctx, vm)
    return host, "VM.resume_on", [vm, host, paused, force]


def _on_pbd_host(name: str) -> Router:
    def route(ctx: Context, args: list[Any]) -> tuple[str, str, list[Any]]:
        rec = ctx.services.store.get("PBD", args[0])
        return (rec["host"] if rec is not None else NULL_REF, name, args)
    return route


def sr_host(ctx: Context, sr: str) -> str:
    """Where an SR's storage is reached: this host if it has the SR plugged, else a live host
    that has (a local SR: its host)."""
    store = ctx.services.store
    rec = store.get("SR", sr)
    if rec is None:
        return NULL_REF
    plugged = [p["host"] for pbd in rec["PBDs"] if (p := store.get("PBD", pbd)) is not None
               and p["currently_attached"]]
    if not plugged or ctx.services.host_ref in plugged:
        return NULL_REF
    return next((h for h in plugged if _host_live(ctx.services, h)), plugged[0])


def _on_sr(name: str, sr_of: Callable[[Context, list[Any]], str]) -> Router:
    def route(ctx: Context, args: list[Any]) -> tuple[str, str, list[Any]]:
        try:
            sr = sr_of(ctx, args)
        except (KeyError, TypeError):
            sr = NULL_REF
        return sr_host(ctx, sr), name, args
    return route


def _vdi_sr(ctx: Context, args: list[Any]) -> str:
    rec = ctx.services.store.get("VDI", args[0])
    return rec["SR"] if rec is not None else NULL_REF


def _start_on(ctx: Context, args: list[Any]) -> tuple[str, str, list[Any]]:
    vm, host = args[0], args[1]
    rec = ctx.services.store.get("VM", vm)
    if rec is not None and rec["power_state"] == "Halted":
        sr = missing_sr(ctx.services.store, vm, host)
        if sr is not None:
            raise XenAPIError("VM_REQUIRES_SR", vm, sr)
    return host, "VM.start_on", args


def _pif_host(ctx: Context, pif: Any) -> str:
    rec = ctx.services.store.get("PIF", pif) if isinstance(pif, str) else None
    return rec["host"] if rec is not None else NULL_REF


def _on_pif(name: str, pif_of: Callable[[Context, list[Any]], Any]) -> Router:
    """Network devices are made on the host of the PIF they hang on."""
    def route(ctx: Context, args: list[Any]) -> tuple[str, str, list[Any]]:
        try:
            pif = pif_of(ctx, args)
        except (KeyError, TypeError, IndexError):
            pif = NULL_REF
        return _pif_host(ctx, pif), name, args
    return route


def _field_of(cls: str, field: str) -> Callable[[Context, list[Any]], Any]:
    def get(ctx: Context, args: list[Any]) -> Any:
        rec = ctx.services.store.get(cls, args[0])
        return rec[field] if rec is not None else NULL_REF
    return get


ROUTES: dict[str, Router] = {
    "PBD.plug": _on_pbd_host("PBD.plug"),
    "PBD.unplug": _on_pbd_host("PBD.unplug"),
    "VM.start": _start,
    "VM.resume": _resume,
    "VM.start_on": _start_on,
    "VM.resume_on": lambda ctx, a: (a[1], "VM.resume_on", a),
    "host.dmesg": lambda ctx, a: (a[0], "host.dmesg", a),
    "host.migrate_receive": lambda ctx, a: (a[0], "host.migrate_receive", a),
    "host.compute_free_memory": lambda ctx, a: (a[0], "host.compute_free_memory", a),
    "host.dmesg_clear": lambda ctx, a: (a[0], "host.dmesg_clear", a),
}
for _op in ("pause", "unpause", "clean_shutdown", "hard_shutdown", "shutdown", "clean_reboot",
            "hard_reboot", "suspend", "set_VCPUs_number_live", "add_to_VCPUs_params_live",
            "set_memory_dynamic_range", "set_memory", "set_memory_target_live",
            "set_shadow_multiplier_live", "send_sysrq", "send_trigger", "pool_migrate",
            "migrate_send", "assert_can_migrate", "restart_device_models"):
    ROUTES[f"VM.{_op}"] = _on_vm(f"VM.{_op}")
# a running VM's disk moves where the VM runs (api/vm_migrate.py)
def _vdi_pool_migrate(ctx: Context, args: list[Any]) -> tuple[str, str, list[Any]]:
    store = ctx.services.store
    rec = store.get("VDI", args[0]) if isinstance(args[0], str) else None
    vbds = [store.get("VBD", b) for b in (rec["VBDs"] if rec is not None else ())]
    vm = next((b["VM"] for b in vbds if b is not None and b["currently_attached"]), None)
    return (_resident(ctx, vm) if vm is not None else NULL_REF, "VDI.pool_migrate", args)


ROUTES["VDI.pool_migrate"] = _vdi_pool_migrate
# a host's and a running VM's data sources are in the RRDs of the host that measures them;
# a host's RRD backups and its agent's restart happen on that host
for _op in ("get_data_sources", "query_data_source", "record_data_source",
            "forget_data_source_archives", "backup_rrds", "sync_data", "restart_agent"):
    ROUTES[f"host.{_op}"] = (lambda name: lambda ctx, a: (a[0], name, a))(f"host.{_op}")
    if "data_source" in _op:
        ROUTES[f"VM.{_op}"] = _on_vm(f"VM.{_op}")
# storage operations run where the SR is plugged (a local SR: on its host)
ROUTES["VDI.create"] = _on_sr("VDI.create", lambda ctx, a: a[0]["SR"])
for _op in ("destroy", "resize", "resize_online", "clone", "snapshot", "update"):
    ROUTES[f"VDI.{_op}"] = _on_sr(f"VDI.{_op}", _vdi_sr)
for _op in ("scan", "update"):
    ROUTES[f"SR.{_op}"] = _on_sr(f"SR.{_op}", lambda ctx, a: a[0])
for _name, _pif_of in (("VLAN.create", lambda ctx, a: a[0]),
                       ("VLAN.destroy", _field_of("VLAN", "tagged_PIF")),
                       ("Bond.create", lambda ctx, a: a[1][0]),
                       ("Bond.destroy", _field_of("Bond", "master")),
                       ("Bond.set_mode", _field_of("Bond", "master")),
                       ("tunnel.create", lambda ctx, a: a[0]),
                       ("tunnel.destroy", _field_of("tunnel", "access_PIF")),
                       ("PIF.plug", lambda ctx, a: a[0]),
                       ("PIF.unplug", lambda ctx, a: a[0]),
                       ("host.management_reconfigure", lambda ctx, a: a[0])):
    ROUTES[_name] = _on_pif(_name, _pif_of)
ROUTES["PIF.create_VLAN"] = lambda ctx, a: (a[2], "PIF.create_VLAN", a)
for _cls, _ops in (("VBD", ("plug", "unplug", "unplug_force", "insert", "eject")),
                   ("VIF", ("plug", "unplug", "unplug_force"))):
    for _op in _ops:
        ROUTES[f"{_cls}.{_op}"] = _on_device_vm(_cls, f"{_cls}.{_op}")


def forwarded(name: str, impl: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """`impl` of a routed message: run here when this host is the target, else on the
    target host through its agent."""
    route = ROUTES[name]

    async def run(ctx: Context, *args: Any) -> Any:
        if not ctx.services.store.shared or ctx.caller.transport == "pool":
            return await impl(ctx, *args)       # one host; or already forwarded to us
        target, method, fargs = route(ctx, list(args))
        agent = agent_for(ctx.services, target)
        if agent is None:
            if method == name:
                return await impl(ctx, *fargs)
            return await LocalAgent(ctx).call(method, fargs)
        if not _host_live(ctx.services, target):
            raise XenAPIError("HOST_OFFLINE", target)
        return await agent.call(method, fargs, ctx.task)
    return run
