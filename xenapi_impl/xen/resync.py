"""At server start: bring the VM records in line with the domains the hypervisor has.

Domains are matched to VMs by uuid (every domain this server makes carries its VM's uuid).
- A VM recorded Running/Paused whose domain is there keeps its domid and records (its disks
  are attached again so a later shutdown detaches them); a paused/unpaused change is taken.
- A VM recorded Running/Paused whose domain vanished becomes Halted.
- An operation recorded in progress did not survive the restart: it is cleared; a start that
  was cut short (domain made, record never said Running) loses its domain: no duplicate.
- A domain no VM knows is reported once with a `message` record, never destroyed.
"""
from __future__ import annotations

import logging
from typing import Any

from ..errors import XenAPIError
from ..store import NULL_REF

log = logging.getLogger(__name__)


async def resync(services: Any) -> dict[str, list[str]]:
    """Returns what was done (VM refs by outcome; unknown domain uuids) for logs and tests."""
    from ..api import vm as vmapi
    from ..api.message import new_message
    from ..server.caller import Caller
    from ..server.context import Context

    hv = getattr(services.backend, "hypervisor", None)
    done: dict[str, list[str]] = {"kept": [], "halted": [], "interrupted": [], "unknown": []}
    if hv is None:
        return done
    domains = {d.uuid: d for d in await hv.list_domains() if d.domid != 0}
    host = services.host_ref
    async with services.store.transaction() as raw:
        ctx = Context(services, Caller("unix", "resync", local_superuser=True), "resync", raw)
        txn = ctx.txn
        known = set()
        for ref in txn.refs("VM"):
            rec = txn.get("VM", ref)
            if rec["is_control_domain"]:
                continue
            known.add(rec["uuid"])
            dom = domains.get(rec["uuid"])
            ops = set(rec["current_operations"].values())
            running = rec["power_state"] in ("Running", "Paused") and rec["resident_on"] == host
            if running and dom is not None and dom.domid == rec["domid"]:
                state = "Paused" if dom.paused or dom.shutdown else "Running"
                txn.update("VM", ref, {"power_state": state})
                await _reattach(ctx, ref)
                done["kept"].append(ref)
            elif running:
                if dom is not None:         # our uuid under another domid: not ours to keep
                    await hv.destroy(dom.domid)
                vmapi.record_halted(ctx, txn, ref)
                done["halted"].append(ref)
            elif dom is not None and ops & {"start", "start_on", "resume", "resume_on",
                                            "hard_reboot", "clean_reboot"}:
                await hv.destroy(dom.domid)
                done["interrupted"].append(ref)
            elif dom is not None:
                # a halted VM's uuid on a domain we did not record: report, do not touch
                done["unknown"].append(dom.uuid)
            if rec["current_operations"]:
                txn.update("VM", ref, {"current_operations": {}})
            txn.update("VM", ref, {"allowed_operations": vmapi.allowed_operations(
                txn.get("VM", ref))})
        for uuid, dom in domains.items():
            if uuid not in known:
                done["unknown"].append(uuid)
        for uuid in done["unknown"]:
            dom = domains[uuid]
            if "message" in services.store_classes:
                new_message(services, txn, "UNKNOWN_DOMAIN", 3, "Host",
                            txn.get("host", host)["uuid"],
                            f"domain {dom.domid} (uuid {uuid}) runs on this host but no VM "
                            "in the database has that uuid; left untouched")
    for k, v in done.items():
        if v:
            log.warning("resync: %s: %s", k, ", ".join(v))
    return done


async def _reattach(ctx: Any, vm: str) -> None:
    """Attach a kept VM's disks again in this process (the SR drivers' attachment counts
    start from zero after a restart), so its shutdown detaches them."""
    from ..api.vm import Attached
    att = Attached(ctx)
    rec = ctx.txn.get("VM", vm)
    for vbd in rec["VBDs"]:
        b = ctx.txn.get("VBD", vbd)
        if b["empty"] or b["VDI"] == NULL_REF:
            continue
        v = ctx.txn.get("VDI", b["VDI"])
        try:
            await att.attach(v["SR"], v["uuid"], b["mode"] == "RW" and not v["read_only"])
        except XenAPIError as exc:
            log.error("resync: disk %s of VM %s cannot be attached again: %s",
                      v["uuid"], rec["uuid"], exc)
    ctx.services.vm_devices[vm] = att.vdis
