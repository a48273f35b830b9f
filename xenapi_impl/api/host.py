"""host.*: time, enable/disable, dmesg, and the host's fields as the hypervisor reports them
(refreshed at every start: `refresh_from_hypervisor`)."""
from __future__ import annotations

import datetime as _dt
import zoneinfo
from typing import Any

from ..errors import XenAPIError
from ..hostconfig import host_config
from ..store import NULL_REF, new_ref, new_uuid
from .context import Context
from .registry import implements


@implements("host.get_servertime")
async def get_servertime(ctx: Context, host: str) -> _dt.datetime:
    """The host's clock (host.set_servertime moves it: hostconfig.py)."""
    return host_config(ctx.services).now().replace(microsecond=0)


@implements("host.get_server_localtime")
async def get_server_localtime(ctx: Context, host: str) -> _dt.datetime:
    """The host's wall clock in its time zone (host.timezone): the digits of local time, as
    xapi answers (the wire marks every datetime UTC, so it is given as a naive value)."""
    try:
        zone = zoneinfo.ZoneInfo(ctx.store.get("host", host)["timezone"])
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = _dt.timezone.utc
    return host_config(ctx.services).now().astimezone(zone).replace(microsecond=0, tzinfo=None)


# --- the host as the hypervisor reports it ---------------------------------------------
async def refresh_from_hypervisor(services: Any) -> None:
    """At start: host fields from physinfo/version info, one host_cpu per pCPU, host_metrics
    and the control domain's VM record (created once, kept current)."""
    hv = getattr(services.backend, "hypervisor", None)
    if hv is None:
        return
    services.backend.bind(services)        # the hot-plug hooks read networks
    phys, ver = await hv.physinfo(), await hv.version_info()
    doms = await hv.list_domains()
    dom0 = next((d for d in doms if d.domid == 0), None)
    host = services.host_ref
    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    from ..store import StoreConflict
    for attempt in range(5):
        # in a pool the master may mark this host not live meanwhile: read again and retry
        try:
            await _refresh(services, host, phys, ver, dom0, now)
            return
        except StoreConflict:
            if attempt == 4:
                raise


async def _refresh(services: Any, host: str, phys: Any, ver: Any, dom0: Any,
                   now: _dt.datetime) -> None:
    hrec = services.store.get("host", host)
    async with services.transaction() as txn:
        sw = dict(hrec["software_version"])
        sw.update(xen=ver.xen_version, platform_version=ver.xen_version,
                  xen_compiler=ver.compiler, xen_changeset=ver.changeset or "")
        vendor = "sim" if services.backend.kind == "sim" else _cpu_vendor()
        cpu_info = {"cpu_count": str(phys.nr_cpus), "socket_count": str(
            max(1, phys.nr_cpus // max(1, phys.threads_per_core * phys.cores_per_socket))),
            "threads_per_core": str(phys.threads_per_core),
            "cores_per_socket": str(phys.cores_per_socket),
            "speed": f"{phys.cpu_khz / 1000:.3f}", "vendor": vendor,
            "nr_nodes": str(phys.nr_nodes)}
        metrics = hrec["metrics"]
        mvals = {"memory_total": phys.total_pages * 4096, "memory_free": phys.free_pages * 4096,
                 "live": True, "last_updated": now}
        if metrics == NULL_REF or txn.get("host_metrics", metrics) is None:
            metrics = new_ref()
            txn.create("host_metrics", metrics, {**services.default_record("host_metrics"),
                                                 "uuid": new_uuid(), "other_config": {},
                                                 **mvals})
        else:
            txn.update("host_metrics", metrics, mvals)
        txn.update("host", host, {"software_version": sw, "cpu_info": cpu_info,
                                  "capabilities": ver.capabilities.split(),
                                  "metrics": metrics, "sched_policy": "credit2"
                                  if "sched=credit2" in ver.commandline else "credit"})
        cpus = {txn.get("host_cpu", c)["number"]: c for c in txn.refs("host_cpu")
                if txn.get("host_cpu", c)["host"] == host}
        for n in range(phys.nr_cpus):
            vals = {"host": host, "number": n, "vendor": vendor,
                    "speed": phys.cpu_khz // 1000, "modelname": "", "family": 0, "model": 0,
                    "stepping": "", "flags": "", "features": "", "utilisation": 0.0,
                    "other_config": {}}
            if n in cpus:
                txn.update("host_cpu", cpus.pop(n), vals)
            else:
                txn.create("host_cpu", new_ref(), {**services.default_record("host_cpu"),
                                                   "uuid": new_uuid(), **vals})
        for stale in cpus.values():
            txn.delete("host_cpu", stale)
        if dom0 is not None:
            _control_domain(services, txn, host, dom0, now)


def _cpu_vendor() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def _control_domain(services: Any, txn: Any, host: str, dom0: Any,
                    now: _dt.datetime) -> None:
    ref = next((r for r in txn.refs("VM") if txn.get("VM", r)["is_control_domain"]
                and txn.get("VM", r)["resident_on"] == host), None)
    mem = dom0.max_memkb * 1024
    vals = {"power_state": "Running", "domid": 0, "resident_on": host,
            "is_control_domain": True, "VCPUs_max": dom0.vcpu_max_id + 1,
            "VCPUs_at_startup": dom0.vcpu_online, "memory_static_max": mem,
            "memory_dynamic_max": mem, "memory_target": dom0.current_memkb * 1024,
            "domain_type": "pv", "allowed_operations": [], "current_operations": {}}
    if ref is None:
        metrics = new_ref()
        txn.create("VM_metrics", metrics, {**services.default_record("VM_metrics"),
                                           "uuid": new_uuid(), "state": [], "other_config": {},
                                           "start_time": now})
        ref = new_ref()
        rec = services.default_record("VM")
        rec.update(uuid=new_uuid(), name_label="Control domain on host: "
                   + txn.get("host", host)["name_label"], name_description="The domain "
                   "which manages physical devices and manages other domains",
                   user_version=1, is_a_template=False, affinity=host,
                   memory_dynamic_min=mem, memory_static_min=mem, VCPUs_params={},
                   actions_after_shutdown="destroy", actions_after_reboot="destroy",
                   actions_after_crash="destroy", PV_bootloader="", PV_kernel="",
                   PV_ramdisk="", PV_args="", PV_bootloader_args="", PV_legacy_args="",
                   HVM_boot_policy="", HVM_boot_params={}, platform={}, PCI_bus="",
                   other_config={}, recommendations="", metrics=metrics, **vals)
        txn.create("VM", ref, rec)
    else:
        txn.update("VM", ref, vals)
        metrics = txn.get("VM", ref)["metrics"]
    if metrics != NULL_REF and txn.get("VM_metrics", metrics) is not None:
        txn.update("VM_metrics", metrics, {"VCPUs_number": dom0.vcpu_online,
                                           "memory_actual": dom0.current_memkb * 1024,
                                           "last_updated": now})
    if "control_domain" in services.model.classes["host"].fields:
        txn.update("host", host, {"control_domain": ref})


@implements("host.enable")
async def enable(ctx: Context, host: str) -> None:
    ctx.txn.update("host", host, {"enabled": True})


@implements("host.disable")
async def disable(ctx: Context, host: str, auto_enable: bool = True) -> None:
    ctx.txn.update("host", host, {"enabled": False})


@implements("host.list_methods")
async def list_methods(ctx: Context) -> list[str]:
    return list(ctx.services.model.list_methods())


async def _console_ring(ctx: Context, clear: bool) -> str:
    """The hypervisor's console ring through libxl_xen_console_read_* (``xl dmesg``), on the
    simulated host as on real Xen."""
    hv = getattr(ctx.services.backend, "hypervisor", None)
    if hv is None:
        raise XenAPIError("NOT_IMPLEMENTED", "host.dmesg (no hypervisor backend)")
    return str(await hv.run("xen_dmesg", hv.context.xen_dmesg, clear))


@implements("host.dmesg")
async def dmesg(ctx: Context, host: str) -> str:
    return await _console_ring(ctx, False)


@implements("host.dmesg_clear")
async def dmesg_clear(ctx: Context, host: str) -> str:
    """The ring, emptied after reading (``xl dmesg -c``)."""
    return await _console_ring(ctx, True)
