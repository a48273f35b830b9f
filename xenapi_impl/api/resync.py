"""At server start: bring the records in line with what the hypervisor really has.

Domains are matched to VMs by uuid (every domain this server makes carries its VM's uuid).
- A VM recorded Running/Paused whose domain is there keeps its domid and records; a
  paused/unpaused change is taken.
- A VM recorded Running/Paused whose domain vanished becomes Halted.
- An operation recorded in progress did not survive the restart: it is cleared; a start that
  was cut short (domain made, record never said Running) loses its domain: no duplicate.
- A domain no VM knows is reported once with a `message` record, never destroyed.
- In a pool, a domain of a VM the records say runs on another host is a stale copy (this
  host was fenced and the VM started elsewhere, or a migration ended there): destroyed, so
  the VM never runs twice; that VM's records are left to its host.

Then the SRs' attachment records (which outlive the process: a file SR keeps them on disk)
are made to say exactly what the kept domains hold: each disk the hypervisor reports for a
kept domain is attached once per holder, every other attachment is released. Whatever the
previous process was doing when it ended (SIGTERM, SIGKILL mid-start, a crash), every halted
VM can start again. Running it twice changes nothing the second time.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from ..store import NULL_REF
from . import vm as vmapi
from .caller import Caller
from .context import Context
from .message import new_message
from .pbd import AttachedSRs, call

log = logging.getLogger(__name__)

_STARTING = frozenset({"start", "start_on", "resume", "resume_on", "hard_reboot",
                       "clean_reboot",
                       # an incoming migration cut short here: its paused copy goes
                       "pool_migrate", "migrate_send"})


async def resync(services: Any) -> dict[str, list[str]]:
    """Returns what was done (VM refs by outcome; unknown domain uuids; VDI uuids whose
    attachments were released or taken again) for logs and tests."""
    hv = getattr(services.backend, "hypervisor", None)
    done: dict[str, list[str]] = {"kept": [], "halted": [], "interrupted": [], "stale": [],
                                  "unknown": [], "released": [], "reattached": []}
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
                if state != rec["power_state"]:
                    txn.update("VM", ref, {"power_state": state})
                done["kept"].append(ref)
            elif running:
                if dom is not None:         # our uuid under another domid: not ours to keep
                    await hv.destroy(dom.domid)
                vmapi.record_halted(ctx, txn, ref)
                done["halted"].append(ref)
            elif dom is not None and services.store.shared \
                    and rec["power_state"] in ("Running", "Paused"):
                # the pool runs this VM on another host (this host was fenced, declared dead
                # and the VM started elsewhere, or a migration ended there): this copy is
                # stale, and keeping it would run the VM twice on the same disks
                await hv.destroy(dom.domid)
                done["stale"].append(ref)
                continue                    # the VM's records are its host's to write
            elif dom is not None and ops & _STARTING:
                await hv.destroy(dom.domid)
                done["interrupted"].append(ref)
            elif dom is not None:
                # a halted VM's uuid on a domain we did not record: report, do not touch
                done["unknown"].append(dom.uuid)
            # in a pool another host's VMs (and the operations another host is running on
            # halted VMs) are not this host's to reset
            if services.store.shared and rec["resident_on"] != host and dom is None:
                continue
            if rec["current_operations"]:
                txn.update("VM", ref, {"current_operations": {}})
            # written only when it differs: a restart with 10,000 VMs otherwise rewrote
            # every VM record (33 MB of new records, 10,000 rows) to say the same
            allowed = vmapi.allowed_operations(txn.get("VM", ref))
            if allowed != txn.get("VM", ref)["allowed_operations"]:
                txn.update("VM", ref, {"allowed_operations": allowed})
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
        await _reconcile_attachments(ctx, hv, done)
    for k, v in done.items():
        if not v:
            continue
        # VMs kept running are the normal case of a restart: counted; the rest is news
        shown = ", ".join(v[:20]) + (f" and {len(v) - 20} more" if len(v) > 20 else "")
        if k == "kept":
            log.info("resync: %d running VM(s) kept", len(v))
        else:
            log.warning("resync: %s: %s", k, shown)
    return done


async def _held_disks(ctx: Context, hv: Any, vm: str) -> list[tuple[str, str, bool]]:
    """(SR uuid, VDI uuid, writable) of each disk the VM's domain really holds; each VBD's
    currently_attached is set to what the hypervisor says."""
    from ..xen.config import domain_type, vdev
    txn = ctx.txn
    rec = txn.get("VM", vm)
    hvm = domain_type(rec) == "hvm"
    held = []
    for vbd in rec["VBDs"]:
        b = txn.get("VBD", vbd)
        disk = await hv.disk(rec["domid"], vdev(b["userdevice"], hvm))
        if b["currently_attached"] != (disk is not None):
            txn.update("VBD", vbd, {"currently_attached": disk is not None})
        if disk is None or disk.target is None or b["empty"] or b["VDI"] == NULL_REF:
            continue
        v = txn.get("VDI", b["VDI"])
        sr = txn.get("SR", v["SR"]) if v is not None else None
        if sr is not None:
            held.append((sr["uuid"], v["uuid"], b["mode"] == "RW" and not v["read_only"]))
    return held


async def _reconcile_attachments(ctx: Context, hv: Any, done: dict[str, list[str]]) -> None:
    srs = AttachedSRs.of(ctx.services).drivers
    wanted: dict[tuple[str, str], list[bool]] = defaultdict(list)
    holders: dict[str, list[tuple[str, str]]] = {}
    for vm in done["kept"]:
        disks = await _held_disks(ctx, hv, vm)
        holders[vm] = [(sr, vdi) for sr, vdi, _ in disks]
        for sr, vdi, rw in disks:
            wanted[sr, vdi].append(rw)
    for sr, vdi in wanted:
        if sr not in srs:
            log.error("resync: VDI %s is held by a running domain but its SR %s is not "
                      "attached", vdi, sr)
    for sr_uuid, drv in srs.items():
        have = await call(ctx, drv.attachments)
        mine = {vdi: rws for (sr, vdi), rws in wanted.items() if sr == sr_uuid}
        for vdi in have.keys() | mine.keys():
            rws = mine.get(vdi, [])
            if have.get(vdi, 0) == len(rws):
                continue                        # already as the domains hold it
            if vdi in have:
                await call(ctx, drv.vdi_detach, vdi, all_attachments=True)
            for rw in rws:
                await call(ctx, drv.vdi_attach, vdi, rw)
            done["reattached" if rws else "released"].append(vdi)
    for vm, disks in holders.items():
        ctx.services.vm_devices[vm] = [(srs[sr], vdi) for sr, vdi in disks if sr in srs]
