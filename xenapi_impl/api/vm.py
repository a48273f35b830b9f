"""VM.*: the lifecycle of VMs on this host, through the Xen adapter (`xen/`).

An operation is checked in xapi's order (blocked operation, power state, another operation in
progress, template), then announced: `current_operations` gets the task (or a fresh ref for a
synchronous call) and that is committed at once, so clients see it and a concurrent call gets
OTHER_OPERATION_IN_PROGRESS. The hypervisor work runs off the event loop; its record changes
are committed together with the end of the operation. A failure leaves the VM as it found it.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import logging
from typing import Any, AsyncIterator, Awaitable, Callable

from ..errors import XenAPIError
from ..store import NULL_REF, new_ref, new_uuid
from .context import Context
from .owned import delete_with_metrics
from .registry import implements

log = logging.getLogger(__name__)

MIB = 1024 * 1024
#: what each power state allows (xapi's tables, restricted to what this server implements)
ALLOWED = {
    "Halted": ["start", "start_on", "clone", "copy", "snapshot", "destroy", "changing_VCPUs",
               "changing_memory_limits", "changing_static_range", "changing_dynamic_range"],
    "Running": ["pause", "suspend", "snapshot", "checkpoint", "clean_shutdown", "clean_reboot",
                "hard_shutdown", "hard_reboot", "shutdown", "changing_dynamic_range",
                "changing_VCPUs_live", "pool_migrate", "migrate_send"],
    "Paused": ["unpause", "snapshot", "hard_shutdown", "hard_reboot", "shutdown"],
    "Suspended": ["resume", "resume_on", "hard_shutdown", "shutdown", "destroy"],
}
TEMPLATE_ALLOWED = ["clone", "copy", "provision", "destroy", "export"]


class VmOps:
    """VM ref -> (operation, its ref) of the operation running on it (one per Services)."""

    def __init__(self) -> None:
        self.busy: dict[str, tuple[str, str]] = {}

    @staticmethod
    def of(services: Any) -> "VmOps":
        found = getattr(services, "vm_ops", None)
        if found is None:
            found = services.vm_ops = VmOps()
        return found


def allowed_operations(rec: dict[str, Any]) -> list[str]:
    if rec["current_operations"]:
        return []
    if rec["is_a_template"]:
        return list(TEMPLATE_ALLOWED)
    if rec["is_control_domain"]:
        return []
    return list(ALLOWED.get(rec["power_state"], []))


def hypervisor(ctx: Context) -> Any:
    hv = getattr(ctx.services.backend, "hypervisor", None)
    if hv is None:
        raise XenAPIError("NOT_IMPLEMENTED", ctx.method)     # no hypervisor backend
    return hv


def txn_of(ctx: Context) -> Any:
    """A fresh transaction that keeps the relation sets (host.resident_VMs...) current."""
    return ctx.services.transaction()


def check_operation(ctx: Context, vm: str, op: str, states: tuple[str, ...], *,
                    template_ok: bool = False) -> dict[str, Any]:
    """xapi's order: blocked operation, power state, another operation, template, dom0."""
    rec = ctx.txn.get("VM", vm)
    blocked = rec["blocked_operations"]
    if op in blocked:
        raise XenAPIError("OPERATION_BLOCKED", vm, blocked[op])
    if rec["power_state"] not in states:
        raise XenAPIError("VM_BAD_POWER_STATE", vm, ",".join(s.lower() for s in states),
                          rec["power_state"].lower())
    busy = VmOps.of(ctx.services).busy.get(vm)
    if busy is not None:
        raise XenAPIError("OTHER_OPERATION_IN_PROGRESS", "VM", vm, busy[0], busy[1])
    if rec["is_a_template"] and not template_ok:
        raise XenAPIError("VM_IS_TEMPLATE", vm)
    if rec["is_control_domain"]:
        raise XenAPIError("OPERATION_NOT_ALLOWED",
                          "This operation is not allowed on the control domain")
    return rec


@contextlib.asynccontextmanager
async def operation(ctx: Context, vm: str, op: str, states: tuple[str, ...], *,
                    ends_call: Callable[[Any], bool] | None = None) -> AsyncIterator[Any]:
    """Check, announce (committed), run the body with a transaction committed with the
    operation's end; a failing body's writes are discarded, the announcement still removed.
    `ends_call(VM record)` true: the call (void) returns right after, so an Async call's task
    succeeds in that same commit (one commit and one event wake-up fewer per call)."""
    check_operation(ctx, vm, op, states)
    ops = VmOps.of(ctx.services).busy
    op_ref = ctx.task.ref if ctx.task is not None else new_ref()
    ops[vm] = (op, op_ref)
    try:
        ctx.txn.update("VM", vm, {"current_operations": {op_ref: op}, "allowed_operations": []})
        await ctx.txn.commit()
        txn = txn_of(ctx)
        done = False
        try:
            yield txn
            done = True
        except BaseException:
            txn.rollback()
            txn = txn_of(ctx)
            raise
        finally:
            rec = txn.get("VM", vm)
            if rec is not None:
                cur = {k: v for k, v in rec["current_operations"].items() if k != op_ref}
                txn.update("VM", vm, {"current_operations": cur})
                txn.update("VM", vm, {"allowed_operations": allowed_operations(
                    txn.get("VM", vm))})
                from .vm_appliance import refresh_allowed
                refresh_allowed(txn, txn.get("VM", vm)["appliance"])
            task = ctx.task
            succeeds = (done and ends_call is not None and task is not None and rec is not None
                        and ends_call(txn.get("VM", vm))
                        and ctx.services.tasks.succeed_in(txn, task))
            await txn.commit()
            if succeeds:
                task.succeeded = True
            monitor = getattr(ctx.services, "monitor", None)
            if monitor is not None:
                # a VM that now runs here: /rrd_updates lists its sources at once
                monitor.declare_vm(vm)
    finally:
        ops.pop(vm, None)


# --- VM.create: checked, with its metrics and allowed operations ------------------------
def check_memory(rec: dict[str, Any]) -> None:
    smin, dmin = rec["memory_static_min"], rec["memory_dynamic_min"]
    dmax, smax = rec["memory_dynamic_max"], rec["memory_static_max"]
    if not smin <= dmin <= dmax <= smax:
        raise XenAPIError("MEMORY_CONSTRAINT_VIOLATION",
                          "Memory limits must satisfy: static_min <= dynamic_min <= "
                          "dynamic_max <= static_max")


def check_vcpus(rec: dict[str, Any]) -> None:
    if rec["VCPUs_max"] < 1:
        raise XenAPIError("VALUE_NOT_SUPPORTED", "VCPUs_max", str(rec["VCPUs_max"]),
                          "value must be at least 1")
    if not 1 <= rec["VCPUs_at_startup"] <= rec["VCPUs_max"]:
        raise XenAPIError("VALUE_NOT_SUPPORTED", "VCPUs_at_startup",
                          str(rec["VCPUs_at_startup"]), "value must be between 1 and VCPUs_max")


def new_metrics(ctx: Context, txn: Any) -> str:
    ref = new_ref()
    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    txn.create("VM_metrics", ref, {**ctx.services.default_record("VM_metrics"),
                                   "uuid": new_uuid(), "memory_actual": 0, "VCPUs_number": 0,
                                   "state": [], "other_config": {}, "install_time": now,
                                   "last_updated": now})
    return ref


@implements("VM.create")
async def create(ctx: Context, record: dict[str, Any]) -> str:
    from ..xen.config import domain_type
    full = ctx.services.default_record("VM")
    full.update(record)
    if full["domain_type"] == "unspecified":
        # xapi: clients unaware of domain_type set only HVM_boot_policy; derive it
        full["domain_type"] = domain_type(full)
    check_memory(full)
    check_vcpus(full)
    ref = new_ref()
    # runtime state is the server's, never the client's
    full.update(uuid=new_uuid(), power_state="Halted", domid=-1, resident_on=NULL_REF,
                current_operations={}, is_control_domain=False,
                metrics=new_metrics(ctx, ctx.txn), consoles=[], crash_dumps=[])
    full["allowed_operations"] = allowed_operations(full)
    ctx.txn.create("VM", ref, full)
    return ref


# --- starting ----------------------------------------------------------------------------
class Attached:
    """VDIs attached for a domain being started, detached again if the start fails."""

    def __init__(self, ctx: Context, handover: bool = False) -> None:
        self.ctx = ctx
        self.vdis: list[tuple[Any, str]] = []      # (driver, vdi uuid)
        #: the destination of a live migration: the source's domain still holds the disks
        self.handover = handover

    async def attach(self, sr: str, vdi_uuid: str, writable: bool) -> str:
        from .pbd import attached_driver, call
        return await call(self.ctx, self.attach_now, attached_driver(self.ctx, sr), vdi_uuid,
                          writable)

    def attach_now(self, drv: Any, vdi_uuid: str, writable: bool) -> str:
        """`attach` in the calling (storage worker) thread, the SR's driver given."""
        if self.handover:
            info = drv.vdi_attach(vdi_uuid, writable, handover=True)
        else:
            info = drv.vdi_attach(vdi_uuid, writable)
        self.vdis.append((drv, vdi_uuid))
        return info.pdev_path

    async def detach_all(self) -> None:
        for drv, uuid in reversed(self.vdis):
            try:
                await asyncio.to_thread(drv.vdi_detach, uuid)
            except Exception:  # noqa: BLE001 - best effort on the failure path; say so
                log.warning("could not detach VDI %s", uuid, exc_info=True)
        self.vdis.clear()


def _nics(txn: Any, rec: dict[str, Any]) -> list[Any]:
    """The NICs of a VM's domain, from its VIFs and their networks' bridges."""
    from ..xen.config import Nic
    nics = []
    for vif in rec["VIFs"]:
        f = txn.get("VIF", vif)
        net = txn.get("network", f["network"])
        nics.append(Nic(f["device"], f["MAC"], net["bridge"] if net else "", f["MTU"],
                        f["other_config"], f["qos_algorithm_type"], f["qos_algorithm_params"]))
    return nics


def _check_memory_free(rec: dict[str, Any], free_kib: int) -> None:
    needed = rec["memory_static_max"]
    available = free_kib * 1024
    if needed > available:
        raise XenAPIError("HOST_NOT_ENOUGH_FREE_MEMORY", str(needed), str(available))


async def boot(ctx: Context, txn: Any, vm: str, paused: bool,
               restore: Callable[[Any], Awaitable[int]] | None = None) -> int:
    """Create the VM's domain (or restore it through `restore(cfg)`) and record it running.
    Any failure destroys what was made and detaches the disks before raising."""
    if restore is None:
        return await _boot_new(ctx, txn, vm, paused)
    from ..xen import config
    hv = hypervisor(ctx)
    rec = txn.get("VM", vm)
    free_kib, phys = await hv.free_memory_and_physinfo()
    _check_memory_free(rec, free_kib)
    att = Attached(ctx)
    domid = None
    try:
        disks, nics = await _devices(ctx, txn, vm, att)
        cfg = config.build(rec, disks, nics, nr_cpus=phys.nr_cpus)
        if ctx.task is not None:
            ctx.task.check_cancelled()
        domid = await restore(cfg)
        info = await hv.domain_info(domid)
    except BaseException:
        await _undo_start(hv, rec["uuid"], domid, att)
        raise
    return _started(ctx, txn, vm, att, domid, paused, info)


def _disk_plan(ctx: Context, txn: Any, vm: str) -> tuple[list[tuple[Any, ...]], list[Any]]:
    """What a domain's devices need, read on the loop: per disk (userdevice, the SR's
    attached driver or the XenAPIError asking for it raised, VDI uuid, writable, is a CD;
    driver None: an empty CD drive), and the NICs."""
    from .pbd import attached_driver
    rec = txn.get("VM", vm)
    disks: list[tuple[Any, ...]] = []
    for vbd in rec["VBDs"]:
        b = txn.get("VBD", vbd)
        cd = b["type"] == "CD"
        if b["empty"] or b["VDI"] == NULL_REF:
            if cd:
                disks.append((b["userdevice"], None, "", False, True))
            continue
        v = txn.get("VDI", b["VDI"])
        try:
            drv: Any = attached_driver(ctx, v["SR"])
        except XenAPIError as exc:
            drv = exc           # raised where the attach would have been, in order
        disks.append((b["userdevice"], drv, v["uuid"], b["mode"] == "RW" and not v["read_only"],
                      cd))
    return disks, _nics(txn, rec)


def _attach_disks(plan: list[tuple[Any, ...]], att: Attached) -> list[Any]:
    """The disks of `_disk_plan` attached, in order, in the calling (storage worker) thread:
    the domain config's Disks."""
    from ..xen.config import Disk
    disks = []
    for userdevice, drv, vdi_uuid, rw, cd in plan:
        if drv is None:
            disks.append(Disk(userdevice, None, False, True))
            continue
        if isinstance(drv, XenAPIError):
            raise drv
        disks.append(Disk(userdevice, att.attach_now(drv, vdi_uuid, rw), rw, cd))
    return disks


async def _devices(ctx: Context, txn: Any, vm: str, att: Attached) -> tuple[list, list]:
    """A domain's Disks (attached through `att`, in one storage worker call) and NICs."""
    from .pbd import call
    plan, nics = _disk_plan(ctx, txn, vm)
    return await call(ctx, _attach_disks, plan, att), nics


async def _boot_new(ctx: Context, txn: Any, vm: str, paused: bool) -> int:
    """A new domain in ONE worker call, in the order the steps always had: free memory
    checked, the disks attached, the domain made and its info read. Each hop to a worker
    thread costs the event loop a wake-up and a GIL hand-over (three hops per start were a
    third of the loop's time for a burst of starts on a loaded host); the records are read
    on the loop, the worker touches none."""
    from ..xen import config
    from .pbd import call
    hv = hypervisor(ctx)
    rec = txn.get("VM", vm)
    plan, nics = _disk_plan(ctx, txn, vm)
    att = Attached(ctx)
    task = ctx.task

    def work() -> tuple[int, Any]:
        free_kib, phys = hv.free_memory_and_physinfo_now()
        _check_memory_free(rec, free_kib)
        cfg = config.build(rec, _attach_disks(plan, att), nics, nr_cpus=phys.nr_cpus)
        if task is not None:
            task.check_cancelled()
        return hv.create_with_info_now(cfg, paused)

    domid = None
    try:
        domid, info = await call(ctx, work)
        if isinstance(info, BaseException):
            raise info
    except BaseException:
        await _undo_start(hv, rec["uuid"], domid, att)
        raise
    return _started(ctx, txn, vm, att, domid, paused, info)


async def _undo_start(hv: Any, uuid: str, domid: int | None, att: Attached) -> None:
    """A failed start leaves no domain behind and no disk attached."""
    await _destroy_by_uuid(hv, uuid, domid)
    await att.detach_all()


def _started(ctx: Context, txn: Any, vm: str, att: Attached, domid: int, paused: bool,
             info: Any) -> int:
    ctx.services.vm_devices[vm] = att.vdis
    _record_running(ctx, txn, vm, domid, paused, info)
    return domid


async def _destroy_by_uuid(hv: Any, uuid: str, domid: int | None) -> None:
    """No domain of a failed start stays behind (libxl may fail after making one)."""
    try:
        for d in await hv.list_domains():
            if d.uuid == uuid and d.domid != 0 or d.domid == domid:
                await hv.destroy(d.domid)
    except XenAPIError:
        log.warning("cleaning up the domain of a failed start of %s failed", uuid,
                    exc_info=True)


def _domain_type(rec: dict[str, Any]) -> str:
    from ..xen.config import domain_type
    return domain_type(rec)


def _record_running(ctx: Context, txn: Any, vm: str, domid: int, paused: bool,
                    info: Any) -> None:
    rec = txn.get("VM", vm)
    metrics = rec["metrics"]
    if metrics == NULL_REF or txn.get("VM_metrics", metrics) is None:
        metrics = new_metrics(ctx, txn)
    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    txn.update("VM_metrics", metrics, {
        "start_time": now, "last_updated": now,
        "VCPUs_number": info.vcpu_online if info is not None else rec["VCPUs_at_startup"],
        "memory_actual": (info.current_memkb * 1024) if info is not None
        else rec["memory_dynamic_max"],
        "hvm": rec["HVM_boot_policy"] != "", "state": [],
        "current_domain_type": _domain_type(rec)})
    txn.update("VM", vm, {"power_state": "Paused" if paused else "Running", "domid": domid,
                          "resident_on": ctx.services.host_ref, "metrics": metrics,
                          "memory_target": rec["memory_dynamic_max"],
                          "domain_type": _domain_type(rec)})
    for vbd in rec["VBDs"]:
        txn.update("VBD", vbd, {"currently_attached": True})
    for vif in rec["VIFs"]:
        txn.update("VIF", vif, {"currently_attached": True})
    for c in rec["consoles"]:
        if txn.get("console", c) is not None:
            txn.delete("console", c)
    # like xapi: the URL XenCenter and Xen Orchestra open (CONNECT or a websocket); the
    # server answers on /console?uuid=... (server/console_http.py) on every endpoint
    cuuid = new_uuid()
    host = txn.get("host", ctx.services.host_ref)
    address = (host or {}).get("address") or "127.0.0.1"
    txn.create("console", new_ref(), {**ctx.services.default_record("console"),
                                      "uuid": cuuid, "protocol": "vt100",
                                      "location": f"https://{address}/console?uuid={cuuid}",
                                      "VM": vm, "other_config": {}})


async def halt(ctx: Context, txn: Any, vm: str, *, destroy: bool = True) -> None:
    """Destroy the VM's domain (if asked), detach its disks, record it Halted."""
    rec = txn.get("VM", vm)
    if destroy and rec["domid"] >= 0:
        await hypervisor(ctx).destroy(rec["domid"])
    await release_devices(ctx, vm)
    record_halted(ctx, txn, vm)


async def release_devices(ctx: Context, vm: str) -> None:
    vdis = ctx.services.vm_devices.pop(vm, [])
    att = Attached(ctx)
    att.vdis = vdis
    await att.detach_all()


def record_halted(ctx: Context, txn: Any, vm: str, state: str = "Halted") -> None:
    rec = txn.get("VM", vm)
    txn.update("VM", vm, {"power_state": state, "domid": -1, "resident_on": NULL_REF,
                          "guest_metrics": NULL_REF})
    # what the guest agent reported belongs to the run that ended (xapi drops it too)
    if rec["guest_metrics"] != NULL_REF and txn.get("VM_guest_metrics",
                                                    rec["guest_metrics"]) is not None:
        txn.delete("VM_guest_metrics", rec["guest_metrics"])
    if rec["metrics"] != NULL_REF and txn.get("VM_metrics", rec["metrics"]) is not None:
        txn.update("VM_metrics", rec["metrics"], {
            "VCPUs_number": 0, "memory_actual": 0,
            # a suspended guest keeps its type; a halted one has none (xapi)
            "current_domain_type": _domain_type(rec) if state == "Suspended"
            else "unspecified"})
    for vbd in rec["VBDs"]:
        if txn.get("VBD", vbd) is not None:
            txn.update("VBD", vbd, {"currently_attached": state == "Suspended"})
    for vif in rec["VIFs"]:
        if txn.get("VIF", vif) is not None:
            txn.update("VIF", vif, {"currently_attached": False})
    for c in rec["consoles"]:
        if txn.get("console", c) is not None:
            txn.delete("console", c)


def _check_host(ctx: Context, host: str) -> None:
    hrec = ctx.txn.get("host", host)
    if not hrec["enabled"]:
        raise XenAPIError("HOST_DISABLED", host)


@implements("VM.start")
async def start(ctx: Context, vm: str, start_paused: bool, force: bool) -> None:
    check_operation(ctx, vm, "start", ("Halted",))
    _check_host(ctx, ctx.services.host_ref)
    async with operation(ctx, vm, "start", ("Halted",), ends_call=_no_start_delay) as txn:
        await boot(ctx, txn, vm, start_paused)
    await delay(ctx, vm, "start_delay")


def _no_start_delay(rec: dict[str, Any]) -> bool:
    """Nothing follows the start in the call: no start_delay to wait (`delay`)."""
    return not rec["start_delay"] > 0


async def delay(ctx: Context, vm: str, field: str) -> None:
    """xapi's start_delay/shutdown_delay: the call returns that many seconds after the VM
    started/shut down (an appliance's next group waits for it)."""
    rec = ctx.store.get("VM", vm)
    if rec is not None and rec[field] > 0:
        await asyncio.sleep(rec[field])


@implements("VM.start_on")
async def start_on(ctx: Context, vm: str, host: str, start_paused: bool, force: bool) -> None:
    check_operation(ctx, vm, "start_on", ("Halted",))
    _check_host(ctx, host)
    if host != ctx.services.host_ref:
        raise XenAPIError("HOST_OFFLINE", host)
    async with operation(ctx, vm, "start_on", ("Halted",), ends_call=_no_start_delay) as txn:
        await boot(ctx, txn, vm, start_paused)
    await delay(ctx, vm, "start_delay")


# --- running -> paused -> running ----------------------------------------------------------
@implements("VM.pause")
async def pause(ctx: Context, vm: str) -> None:
    async with operation(ctx, vm, "pause", ("Running",)) as txn:
        await hypervisor(ctx).pause(txn.get("VM", vm)["domid"])
        txn.update("VM", vm, {"power_state": "Paused"})


@implements("VM.unpause")
async def unpause(ctx: Context, vm: str) -> None:
    async with operation(ctx, vm, "unpause", ("Paused",)) as txn:
        await hypervisor(ctx).unpause(txn.get("VM", vm)["domid"])
        txn.update("VM", vm, {"power_state": "Running"})


# --- shutdown and reboot -------------------------------------------------------------------
#: seconds a guest has to finish a clean shutdown/reboot once asked (xapi's default 1200)
CLEAN_TIMEOUT = 1200.0


async def ask_guest(ctx: Context, vm: str, domid: int, reboot: bool,
                    timeout: float | None = None) -> None:
    """Ask the guest to power off / reboot and wait until it has shut down (the domain stays
    until the caller destroys it). VM_FAILED_SHUTDOWN_ACKNOWLEDGMENT if the guest never
    acknowledged, VM_SHUTDOWN_TIMEOUT [vm, timeout] if it did not finish in time (`timeout`,
    else the backend's)."""
    hv = hypervisor(ctx)
    if timeout is None:
        timeout = getattr(ctx.services.backend, "clean_timeout", CLEAN_TIMEOUT)
    from ..xen.hypervisor import NotAcknowledged
    try:
        stream = await hv.request_shutdown(domid, reboot)
    except NotAcknowledged as exc:
        raise XenAPIError("VM_FAILED_SHUTDOWN_ACKNOWLEDGMENT", vm) from exc
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while True:
            info = await hv.domain_info(domid)
            if info is None or info.shutdown or info.dying:
                return
            left = deadline - loop.time()
            if left <= 0:
                raise XenAPIError("VM_SHUTDOWN_TIMEOUT", vm, f"{timeout:g}")
            await stream.next(left)
            if ctx.task is not None and ctx.task.cancelled:
                ctx.task.check_cancelled()
    finally:
        stream.close()


@implements("VM.clean_shutdown")
async def clean_shutdown(ctx: Context, vm: str) -> None:
    async with operation(ctx, vm, "clean_shutdown", ("Running",)) as txn:
        await ask_guest(ctx, vm, txn.get("VM", vm)["domid"], reboot=False)
        await halt(ctx, txn, vm)
    await delay(ctx, vm, "shutdown_delay")


@implements("VM.hard_shutdown")
async def hard_shutdown(ctx: Context, vm: str) -> None:
    async with operation(ctx, vm, "hard_shutdown", ("Running", "Paused", "Suspended")) as txn:
        suspended = txn.get("VM", vm)["power_state"] == "Suspended"
        await _hard_halt(ctx, txn, vm)
    if not suspended:
        await delay(ctx, vm, "shutdown_delay")


async def _hard_halt(ctx: Context, txn: Any, vm: str) -> None:
    if txn.get("VM", vm)["power_state"] == "Suspended":
        await _drop_suspend_image(ctx, txn, vm)
        record_halted(ctx, txn, vm)
    else:
        await halt(ctx, txn, vm)


@implements("VM.shutdown")
async def shutdown(ctx: Context, vm: str) -> None:
    """Clean shutdown when the VM runs, hard shutdown if that fails or it cannot; a
    shutdown_delay is also how long the guest has to shut down cleanly (xapi)."""
    async with operation(ctx, vm, "shutdown", ("Running", "Paused", "Suspended")) as txn:
        rec = txn.get("VM", vm)
        if rec["power_state"] == "Running":
            try:
                await ask_guest(ctx, vm, rec["domid"], reboot=False,
                                timeout=float(rec["shutdown_delay"]) or None)
            except XenAPIError as exc:
                log.info("clean shutdown of %s failed (%s): hard shutdown", vm, exc.code)
        await _hard_halt(ctx, txn, vm)
    await delay(ctx, vm, "shutdown_delay")


@implements("VM.clean_reboot")
async def clean_reboot(ctx: Context, vm: str) -> None:
    async with operation(ctx, vm, "clean_reboot", ("Running",)) as txn:
        await ask_guest(ctx, vm, txn.get("VM", vm)["domid"], reboot=True)
        await restart(ctx, txn, vm)


@implements("VM.hard_reboot")
async def hard_reboot(ctx: Context, vm: str) -> None:
    async with operation(ctx, vm, "hard_reboot", ("Running", "Paused")) as txn:
        await restart(ctx, txn, vm)


async def restart(ctx: Context, txn: Any, vm: str) -> None:
    """A new domain (new domid) for the VM; if it cannot be made, the VM ends Halted."""
    await halt(ctx, txn, vm)
    await boot(ctx, txn, vm, False)


# --- suspend and resume ------------------------------------------------------------------
def suspend_sr(ctx: Context, txn: Any, vm: str) -> str:
    """Where the VM's memory image goes: its suspend_SR, the pool's, or the default SR."""
    rec = txn.get("VM", vm)
    pool = txn.get("pool", ctx.services.pool_ref)
    for sr in (rec["suspend_SR"], pool["suspend_image_SR"], pool["default_SR"]):
        if sr != NULL_REF and txn.get("SR", sr) is not None:
            return sr
    raise XenAPIError("VM_NO_SUSPEND_SR", vm)


async def memory_image(ctx: Context, rec: dict[str, Any], sr: str,
                       then: Callable[[], Awaitable[None]] | None = None) -> Any:
    """A new image in `sr` holding the VM's domain suspended into it (libxl_domain_suspend,
    written in place); `then` runs once it is written. Returns the image's VDIInfo as
    written; the image is deleted again if anything fails."""
    from .pbd import attached_driver, call
    drv = attached_driver(ctx, sr)
    # the image holds the guest's memory plus libxl's headers: static max + 1 MiB slack
    info = await call(ctx, drv.vdi_create, rec["memory_static_max"] + MIB,
                      name_label=f"Suspend image of {rec['name_label']}")
    try:
        path = (await call(ctx, drv.vdi_attach, info.uuid, True)).pdev_path
        try:
            await hypervisor(ctx).suspend(rec["domid"], path)
        finally:
            await call(ctx, drv.vdi_detach, info.uuid)
        if then is not None:
            await then()
        return await call(ctx, drv.vdi_stat, info.uuid)
    except BaseException:
        with contextlib.suppress(Exception):
            drv.vdi_delete(info.uuid)
        raise


@implements("VM.suspend")
async def suspend(ctx: Context, vm: str) -> None:
    from .sr import vdi_record
    async with operation(ctx, vm, "suspend", ("Running",)) as txn:
        rec = txn.get("VM", vm)
        sr = suspend_sr(ctx, txn, vm)
        info = await memory_image(ctx, rec, sr,
                                  then=lambda: hypervisor(ctx).destroy(rec["domid"]))
        vdi = new_ref()
        txn.create("VDI", vdi, vdi_record(ctx, sr, info, type="suspend",
                                          name_description="suspend image"))
        txn.update("VM", vm, {"suspend_VDI": vdi})
        await release_devices(ctx, vm)
        record_halted(ctx, txn, vm, "Suspended")


async def _drop_suspend_image(ctx: Context, txn: Any, vm: str) -> None:
    from .pbd import attached_driver, call
    vdi = txn.get("VM", vm)["suspend_VDI"]
    vrec = txn.get("VDI", vdi) if vdi != NULL_REF else None
    if vrec is not None:
        drv = attached_driver(ctx, vrec["SR"])
        await call(ctx, drv.vdi_delete, vrec["uuid"])
        txn.delete("VDI", vdi)
    txn.update("VM", vm, {"suspend_VDI": NULL_REF})


async def _resume(ctx: Context, vm: str, host: str, start_paused: bool, op: str) -> None:
    from .pbd import attached_driver, call
    check_operation(ctx, vm, op, ("Suspended",))
    _check_host(ctx, host)
    if host != ctx.services.host_ref:
        raise XenAPIError("HOST_OFFLINE", host)
    async with operation(ctx, vm, op, ("Suspended",)) as txn:
        vdi = txn.get("VM", vm)["suspend_VDI"]
        vrec = txn.get("VDI", vdi) if vdi != NULL_REF else None
        if vrec is None:
            raise XenAPIError("VM_HAS_NO_SUSPEND_VDI", vm)
        drv = attached_driver(ctx, vrec["SR"])
        path = (await call(ctx, drv.vdi_attach, vrec["uuid"], False)).pdev_path
        try:
            hv = hypervisor(ctx)
            await boot(ctx, txn, vm, start_paused,
                       restore=lambda cfg: hv.create_restore(cfg, path, start_paused))
        finally:
            await call(ctx, drv.vdi_detach, vrec["uuid"])
        await _drop_suspend_image(ctx, txn, vm)


@implements("VM.resume")
async def resume(ctx: Context, vm: str, start_paused: bool, force: bool) -> None:
    await _resume(ctx, vm, ctx.services.host_ref, start_paused, "resume")


@implements("VM.resume_on")
async def resume_on(ctx: Context, vm: str, host: str, start_paused: bool,
                    force: bool) -> None:
    await _resume(ctx, vm, host, start_paused, "resume_on")


# --- what the guests do by themselves (xen/pump.py, through AgentHooks.domain_event) ------
#: libxl shutdown reason -> the VM field naming what to do
REASON_FIELD = {"POWEROFF": "actions_after_shutdown", "REBOOT": "actions_after_reboot",
                "CRASH": "actions_after_crash", "WATCHDOG": "actions_after_crash"}


async def domain_event(services: Any, kind: str, domid: int, reason: str | None) -> None:
    """A domain of this host shut down (with libxl's reason) or died by itself."""
    vm = vm_of_domid(services, domid)
    if vm is None:
        return
    if kind == "death":
        await guest_vanished(services, vm, domid)
        return
    field = REASON_FIELD.get(reason or "")
    if field is None:               # suspend / soft reset: the operation that asked acts
        return
    await guest_shut_down(services, vm, domid, field)


def vm_of_domid(services: Any, domid: int) -> str | None:
    """The VM whose domain on this host is `domid`, unless an operation owns it now."""
    if domid == 0:
        return None
    for ref, rec in services.store.records("VM").items():
        if rec["domid"] == domid and rec["resident_on"] == services.host_ref \
                and rec["power_state"] in ("Running", "Paused") \
                and not rec["is_control_domain"]:
            return None if ref in VmOps.of(services).busy else ref
    return None


def _internal_ctx(services: Any, method: str, txn: Any) -> Context:
    from .caller import Caller
    return Context(services, Caller("unix", "xen-events", local_superuser=True), method, txn)


async def guest_shut_down(services: Any, vm: str, domid: int, field: str) -> None:
    """The guest powered off, rebooted or crashed: apply VM.<field> like xapi."""
    async with services.store.transaction() as raw:
        ctx = _internal_ctx(services, "VM.hard_shutdown", raw)
        rec = ctx.txn.get("VM", vm)
        if rec is None or rec["domid"] != domid:
            return
        action = rec[field]
        async with operation(ctx, vm, "hard_reboot" if "restart" in action
                             else "hard_shutdown", ("Running", "Paused")) as txn:
            if action.startswith("coredump_and_"):
                await _dump_core(ctx, txn, vm, domid)
            if action == "preserve":
                # the domain stays (shut down, for inspection) until hard_shutdown
                txn.update("VM", vm, {"power_state": "Paused"})
            elif action in ("restart", "coredump_and_restart"):
                await restart(ctx, txn, vm)
            elif action == "rename_restart":
                hv = hypervisor(ctx)
                await hv.rename(domid, f"{rec['uuid']}-zombie-{domid}")
                await release_devices(ctx, vm)
                record_halted(ctx, txn, vm)
                await boot(ctx, txn, vm, False)
            else:                       # destroy, coredump_and_destroy, soft_reboot
                await halt(ctx, txn, vm)


async def _dump_core(ctx: Context, txn: Any, vm: str, domid: int) -> None:
    """A failed dump is logged, not raised: the crashed guest is still destroyed/restarted."""
    from .crashdump import dump_core
    try:
        await dump_core(ctx, txn, vm, domid)
    except Exception:  # noqa: BLE001 - see the docstring
        log.exception("VM %s: the core dump of domain %d failed", vm, domid)


async def guest_vanished(services: Any, vm: str, domid: int) -> None:
    """The domain died without this server destroying it (xl destroy, a crash elsewhere)."""
    async with services.store.transaction() as raw:
        ctx = _internal_ctx(services, "VM.hard_shutdown", raw)
        rec = ctx.txn.get("VM", vm)
        if rec is None or rec["domid"] != domid:
            return
        async with operation(ctx, vm, "hard_shutdown", ("Running", "Paused")) as txn:
            await halt(ctx, txn, vm, destroy=False)


@implements("VM.destroy")
async def destroy(ctx: Context, self: str) -> None:
    """Remove a halted (or suspended) VM with its VBDs, VIFs, metrics and suspend image; the
    disks (VDIs) stay, like xapi."""
    rec = ctx.txn.get("VM", self)
    if rec["is_control_domain"]:
        raise XenAPIError("OPERATION_NOT_ALLOWED",
                          "This operation is not allowed on the control domain")
    if rec["is_default_template"]:
        # built-in templates belong to the server (they would come back at the next start)
        raise XenAPIError("VM_CANNOT_DELETE_DEFAULT_TEMPLATE", self)
    if rec["power_state"] not in ("Halted", "Suspended"):
        raise XenAPIError("VM_BAD_POWER_STATE", self, "halted,suspended",
                          rec["power_state"].lower())
    busy = VmOps.of(ctx.services).busy.get(self)
    if busy is not None:
        raise XenAPIError("OTHER_OPERATION_IN_PROGRESS", "VM", self, busy[0], busy[1])
    for vbd in list(rec["VBDs"]):
        delete_with_metrics(ctx.txn, "VBD", vbd)
    for vif in list(rec["VIFs"]):
        delete_with_metrics(ctx.txn, "VIF", vif)
    for c in rec["consoles"]:
        if ctx.txn.get("console", c) is not None:
            ctx.txn.delete("console", c)
    if rec["power_state"] == "Suspended":
        await _drop_suspend_image(ctx, ctx.txn, self)
    from .vm_appliance import refresh_allowed
    from .vm_group import leave_groups
    leave_groups(ctx.txn, self)
    delete_with_metrics(ctx.txn, "VM", self)
    refresh_allowed(ctx.txn, rec["appliance"])
