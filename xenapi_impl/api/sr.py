"""SR.*: storage repositories on the SR driver layer (xenapi_impl.storage).

SR.create makes the storage through the driver, then a PBD for the host, plugged; destroy and
forget need every PBD unplugged (SR_HAS_PBD) and drop the PBD records; scan turns the driver's
view into VDI records (new images appear, vanished ones get ``missing``); update and scan
refresh the sizes. First start seeds "Local storage" (file) and "ISO library" (iso) beside the
database (``seed_storage``).
"""
from __future__ import annotations

import logging
import os
from typing import Any
from xml.sax.saxutils import escape

from ..errors import XenAPIError
from ..storage import SRDriver, StorageError, VDIInfo, canonical_uuid, supported_types
from ..store import NULL_REF, new_ref, new_uuid
from ..store.retry import again_if_stale
from .context import Context
from .pbd import AttachedSRs, attached_driver, call, driver_class, new_driver, plug_record
from .registry import implements, implements_setter

log = logging.getLogger(__name__)


def vdi_record(ctx: Context, sr: str, info: VDIInfo, **values: Any) -> dict[str, Any]:
    """A full VDI record for an image the driver reports."""
    rec = ctx.services.default_record("VDI")
    snapshot_of = NULL_REF
    if info.snapshot_of:
        found = ctx.store.find_uuid(info.snapshot_of)
        if found is not None and found[0] == "VDI":
            snapshot_of = found[1]
    rec.update(uuid=info.uuid, name_label=info.name_label, name_description="", SR=sr,
               virtual_size=info.virtual_size, physical_utilisation=info.physical_utilisation,
               type="user", sharable=False, read_only=info.read_only, other_config={},
               location=info.location, managed=True, missing=False,
               sm_config=dict(info.sm_config), is_a_snapshot=info.is_a_snapshot,
               snapshot_of=snapshot_of)
    if info.snapshot_time is not None:
        rec["snapshot_time"] = info.snapshot_time
    rec.update(values)
    return rec


async def refresh(ctx: Context, sr: str, drv: SRDriver) -> None:
    """Scan (when the driver can) and stat: VDI records and SR sizes follow the storage."""
    if "SR_SCAN" in drv.capabilities:
        mine = {ctx.txn.get("VDI", v)["uuid"]: v for v in ctx.txn.get("SR", sr)["VDIs"]}
        result = await call(ctx, drv.scan, list(mine))
        for info in result.vdis:
            ref = mine.get(info.uuid)
            if ref is None:
                if ctx.store.find_uuid(info.uuid) is not None:
                    log.warning("SR %s: image %s has a uuid already used elsewhere; skipped",
                                drv.sr_uuid, info.location)
                    continue
                ctx.txn.create("VDI", new_ref(), vdi_record(ctx, sr, info))
            else:
                ctx.txn.update("VDI", ref, {"virtual_size": info.virtual_size,
                                            "physical_utilisation": info.physical_utilisation,
                                            "missing": False})
        for uuid in result.missing:
            if uuid in mine:
                ctx.txn.update("VDI", mine[uuid], {"missing": True})
    st = await call(ctx, drv.stat)
    ctx.txn.measure("SR", sr, {"physical_size": st.physical_size,
                               "physical_utilisation": st.physical_utilisation,
                               "virtual_allocation": st.virtual_allocation})


def _allowed_operations(drv_cls: type[SRDriver]) -> list[str]:
    caps = drv_cls.CAPABILITIES
    ops = ["forget", "plug", "unplug", "update", "pbd_create", "pbd_destroy"]
    for cap, op in (("SR_SCAN", "scan"), ("SR_DELETE", "destroy"), ("VDI_CREATE", "vdi_create"),
                    ("VDI_DELETE", "vdi_destroy"), ("VDI_RESIZE", "vdi_resize"),
                    ("VDI_CLONE", "vdi_clone"), ("VDI_SNAPSHOT", "vdi_snapshot")):
        if cap in caps:
            ops.append(op)
    return ops


def _sr_record(ctx: Context, uuid: str, name_label: str, name_description: str, type_: str,
               content_type: str, shared: bool, sm_config: dict[str, str],
               physical_size: int = 0) -> dict[str, Any]:
    rec = ctx.services.default_record("SR")
    rec.update(uuid=uuid, name_label=name_label, name_description=name_description, type=type_,
               content_type=content_type, shared=shared, sm_config=dict(sm_config),
               other_config={}, physical_size=physical_size,
               allowed_operations=_allowed_operations(driver_class(type_)))
    return rec


async def create_sr(ctx: Context, host: str, device_config: dict[str, str], physical_size: int,
                    name_label: str, name_description: str, type_: str, content_type: str,
                    shared: bool, sm_config: dict[str, str], *, commit: bool = True) -> str:
    """Make the storage, the SR record and a plugged PBD; `commit` commits the call's
    transaction here, so a failing commit also removes the storage again."""
    drv_cls = driver_class(type_)                    # SR_UNKNOWN_DRIVER first, like xapi
    uuid = new_uuid()
    rec = _sr_record(ctx, uuid, name_label, name_description, type_,
                     content_type or drv_cls.CONTENT_TYPE, shared, sm_config, physical_size)
    drv = new_driver(ctx, rec, device_config)
    await call(ctx, drv.create, physical_size)
    sr = new_ref()
    try:
        ctx.txn.create("SR", sr, rec)
        pbd = new_ref()
        ctx.txn.create("PBD", pbd, {**ctx.services.default_record("PBD"), "uuid": new_uuid(),
                                    "host": host, "SR": sr, "device_config": dict(device_config),
                                    "currently_attached": False, "other_config": {}})
        await plug_record(ctx, pbd)
        if commit:
            await ctx.txn.commit()
    except BaseException:
        discard_storage(ctx.services, uuid, drv)   # the records never existed
        raise
    return sr


def discard_storage(services: Any, uuid: str, drv: Any) -> None:
    """Remove the storage made for an SR whose records were never committed: a later
    SR.create (or this host's next first-start attempt) finds its place free."""
    AttachedSRs.of(services).drivers.pop(uuid, None)
    try:
        if drv.attached:
            drv.detach()
        drv.destroy()
    except StorageError:
        log.warning("could not remove the storage of failed SR.create %s", uuid, exc_info=True)


@implements("SR.create")
async def create(ctx: Context, host: str, device_config: dict[str, str], physical_size: int,
                 name_label: str, name_description: str, type: str, content_type: str,
                 shared: bool, sm_config: dict[str, str]) -> str:
    sr = await create_sr(ctx, host, device_config, physical_size, name_label,
                         name_description, type, content_type, shared, sm_config)
    if shared and ctx.services.store.shared:
        await plug_on_every_host(ctx, sr, host, device_config)
    return sr


async def plug_on_every_host(ctx: Context, sr: str, first: str,
                             device_config: dict[str, str]) -> None:
    """A shared SR, as xapi makes one: a PBD for every other host of the pool, each plugged by
    its own host (PBD.plug is carried out by the PBD's host, api/host_agent.py); a host that
    is not live keeps its PBD unplugged."""
    from .host_agent import _host_live, agent_for
    services = ctx.services
    pbds = {}
    async with services.transaction() as txn:
        for host in services.store.records("host"):
            if host == first:
                continue
            pbd = new_ref()
            txn.create("PBD", pbd, {**services.default_record("PBD"), "uuid": new_uuid(),
                                    "host": host, "SR": sr, "device_config": dict(device_config),
                                    "currently_attached": False, "other_config": {}})
            pbds[host] = pbd
    for host, pbd in pbds.items():
        if not _host_live(services, host):
            continue
        agent = agent_for(services, host)
        try:
            if agent is None:
                async with services.transaction() as raw:
                    from .context import Context as _Ctx
                    await plug_record(_Ctx(services, ctx.caller, "PBD.plug", raw), pbd)
            else:
                await agent.call("PBD.plug", [pbd])
        except XenAPIError as exc:
            log.error("shared SR %s: could not plug it on host %s: %s", sr, host, exc)


@implements("SR.make")
async def make(ctx: Context, host: str, device_config: dict[str, str], physical_size: int,
               name_label: str, name_description: str, type: str, content_type: str,
               sm_config: dict[str, str]) -> str:
    sr = await create_sr(ctx, host, device_config, physical_size, name_label,
                         name_description, type, content_type, False, sm_config)
    return ctx.txn.get("SR", sr)["uuid"]


@implements("SR.introduce")
async def introduce(ctx: Context, uuid: str, name_label: str, name_description: str, type: str,
                    content_type: str, shared: bool, sm_config: dict[str, str]) -> str:
    driver_class(type)
    if canonical_uuid(uuid) is None:
        raise XenAPIError("INVALID_VALUE", "uuid", uuid)
    if ctx.store.find_uuid(uuid) is not None:
        raise XenAPIError("SR_UUID_EXISTS", uuid)
    sr = new_ref()
    ctx.txn.create("SR", sr, _sr_record(ctx, uuid, name_label, name_description, type,
                                        content_type, shared, sm_config))
    return sr


def _check_unplugged(ctx: Context, sr: str) -> list[str]:
    pbds = list(ctx.txn.get("SR", sr)["PBDs"])
    if any(ctx.txn.get("PBD", p)["currently_attached"] for p in pbds):
        raise XenAPIError("SR_HAS_PBD", sr)
    return pbds


def _forget_records(ctx: Context, sr: str, pbds: list[str]) -> None:
    rec = ctx.txn.get("SR", sr)
    for vdi in list(rec["VDIs"]):
        for vbd in list(ctx.txn.get("VDI", vdi)["VBDs"]):
            ctx.txn.update("VBD", vbd, {"VDI": NULL_REF, "empty": True})
        ctx.txn.delete("VDI", vdi)
    for p in pbds:
        ctx.txn.delete("PBD", p)
    ctx.txn.delete("SR", sr)
    _clear_pool_refs(ctx, sr)


def _clear_pool_refs(ctx: Context, sr: str) -> None:
    for pool in ctx.txn.refs("pool"):
        prec = ctx.txn.get("pool", pool)
        changes = {f: NULL_REF for f in ("default_SR", "suspend_image_SR", "crash_dump_SR")
                   if prec[f] == sr}
        if changes:
            ctx.txn.update("pool", pool, changes)


@implements("SR.forget")
async def forget(ctx: Context, sr: str) -> None:
    pbds = _check_unplugged(ctx, sr)
    _forget_records(ctx, sr, pbds)


@implements("SR.destroy")
async def destroy(ctx: Context, sr: str) -> None:
    pbds = _check_unplugged(ctx, sr)
    rec = ctx.txn.get("SR", sr)
    if rec["VDIs"]:
        raise XenAPIError("SR_NOT_EMPTY")
    if not pbds:
        raise XenAPIError("SR_HAS_NO_PBDS", sr)
    pbd = next((p for p in pbds if ctx.txn.get("PBD", p)["host"] == ctx.services.host_ref),
               pbds[0])
    drv = new_driver(ctx, rec, ctx.txn.get("PBD", pbd)["device_config"])
    # the driver checks emptiness again on disk (a file dropped in since the last scan)
    await call(ctx, drv.destroy)
    _forget_records(ctx, sr, pbds)


@implements("SR.scan")
async def scan(ctx: Context, sr: str) -> None:
    await refresh(ctx, sr, attached_driver(ctx, sr))


@implements("SR.update")
async def update(ctx: Context, sr: str) -> None:
    drv = attached_driver(ctx, sr)
    st = await call(ctx, drv.stat)
    ctx.txn.measure("SR", sr, {"physical_size": st.physical_size,
                               "physical_utilisation": st.physical_utilisation,
                               "virtual_allocation": st.virtual_allocation})


@implements("SR.get_supported_types")
async def get_supported_types(ctx: Context) -> list[str]:
    return list(supported_types())


@implements("SR.probe")
async def probe(ctx: Context, host: str, device_config: dict[str, str], type: str,
                sm_config: dict[str, str]) -> str:
    drv_cls = driver_class(type)
    found = await call(ctx, drv_cls.probe, device_config)
    items = "".join(f"<SR><UUID>{escape(r.sr_uuid)}</UUID></SR>" for r in found if r.sr_uuid)
    return f"<?xml version=\"1.0\" ?>\n<SRlist>{items}</SRlist>\n"


implements_setter("SR.set_name_label", "name_label")
implements_setter("SR.set_name_description", "name_description")
implements_setter("SR.set_shared", "shared")


@implements("SR.set_physical_size")
async def set_physical_size(ctx: Context, self: str, value: int) -> None:
    if value < 0:
        raise XenAPIError("INVALID_VALUE", "value", str(value))
    ctx.txn.update("SR", self, {"physical_size": value})


# --- seeding --------------------------------------------------------------------------------

LOCAL_SR = ("Local storage", "file", "path", "local", "user")
ISO_SR = ("ISO library", "iso", "location", "iso", "iso")


async def seed_storage(services: Any, db_path: str | None) -> None:
    """Every start: re-attach this host's plugged PBDs. First start (with a database path):
    a local file SR as pool.default_SR and an ISO library, both under ``<db>.sr/``."""
    from .caller import Caller
    from .context import Context as _Ctx

    async def in_txn(fn: Any) -> None:
        async with services.store.transaction() as raw:
            ctx = _Ctx(services, Caller("unix", "seed", local_superuser=True), "seed", raw)
            await fn(ctx)

    async def replug(ctx: Context) -> None:
        for pbd, rec in list(services.store.records("PBD").items()):
            if rec["host"] != services.host_ref or not rec["currently_attached"]:
                continue
            ctx.txn.update("PBD", pbd, {"currently_attached": False})
            try:
                await plug_record(ctx, pbd)
            except XenAPIError as exc:
                log.error("could not re-attach SR of PBD %s: %s", rec["uuid"], exc)

    await in_txn(replug)
    # this host's first start (a pool's database already has other hosts' SRs)
    if db_path is None or any(p["host"] == services.host_ref
                              for p in services.store.records("PBD").values()):
        return
    base = os.path.abspath(db_path) + ".sr"
    os.makedirs(base, mode=0o700, exist_ok=True)

    srs: dict[str, str] = {}        # type -> the SR made
    made: list[str] = []             # their uuids

    async def make_all(ctx: Context) -> None:
        for name, type_, key, sub, content in (LOCAL_SR, ISO_SR):
            path = os.path.join(base, sub)
            if type_ == "iso":
                os.makedirs(path, mode=0o755, exist_ok=True)
            srs[type_] = await create_sr(ctx, services.host_ref, {key: path}, 0, name, "",
                                         type_, content, False, {}, commit=False)
            made.append(ctx.txn.get("SR", srs[type_])["uuid"])

    try:
        await in_txn(make_all)
    except BaseException:
        # not committed (the database unreachable): no storage left behind, or the next
        # start would find the SRs' directories taken and could never make them
        drivers = AttachedSRs.of(services).drivers
        for uuid in made:
            if uuid in drivers:
                discard_storage(services, uuid, drivers[uuid])
        raise
    log.info("created the local SR and the ISO library under %s", base)
    # the pool's, in a commit of its own: the other hosts of a pool starting at the same time
    # write it too, and only what is still unset is set
    await again_if_stale(services.store, lambda: _pool_defaults(services, srs["file"]))


async def _pool_defaults(services: Any, sr: str) -> None:
    """`sr` as the pool's default, suspend-image and crash-dump SR where none (or one now
    gone) is set."""
    store = services.store
    pool = store.get("pool", services.pool_ref)
    changes = {k: sr for k in ("default_SR", "suspend_image_SR", "crash_dump_SR")
               if pool[k] == NULL_REF or store.get("SR", pool[k]) is None}
    if changes:
        async with store.transaction() as txn:
            txn.update("pool", services.pool_ref, changes)
