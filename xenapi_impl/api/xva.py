"""VM export and import in the XVA format (xvaformat.py): GET /export, PUT /import
(server/xva_http.py) and VM.import from a URL.

Export: a halted VM, template or snapshot; the header holds the VM, its VBDs, VIFs, the VDIs
of its disks (and CDs), their SRs and the VIFs' networks; then each disk's chunks, read
sparsely (holes are never read; all-zero chunks but the first and last are left out).

Import: the header first (ova.xml), then the disks are made in the target SR (the `sr`
argument, else the pool's default SR) and filled from the chunks as they arrive (SHA-1
checked); only when the archive's end has been read whole do the VMs, their VBDs and VIFs get
written, in one transaction. Any failure (bad header, unknown chunk, checksum mismatch, a
stream that ends early) destroys the disks made so far: nothing is left behind. CDs are
matched to this host's VDIs by uuid (else the drive comes back empty); VIFs to networks by
name_label, then bridge, else the network of the host's first PIF.
"""
from __future__ import annotations

import asyncio
import datetime as _dt
import hashlib
import logging
import os
import socket
from typing import Any, Callable

from .. import xvaformat as fmt
from ..errors import XenAPIError
from ..storage import sparse
from ..store import NULL_REF
from . import vdi as vdi_api
from .context import Context, TaskCancelled
from .registry import implements
from .vdi_image import close_image, open_image, refresh_sizes
from .vm_copy import VBD_FIELDS, VIF_FIELDS, NewDisks, _add_devices, _vm_record, sub_context

log = logging.getLogger(__name__)

PRODUCT = {"product_version": "8.2.1", "product_brand": "XenServer", "build_number": "xenapi-py",
           "xapi_major": 1, "xapi_minor": 1, "export_vsn": fmt.EXPORT_VSN}


# --- export ----------------------------------------------------------------------------------
def _record(rec: Any) -> dict[str, Any]:
    return {k: rec[k] for k in rec.keys()} if hasattr(rec, "keys") else dict(rec)


def export_plan(ctx: Context, vm: str) -> tuple[bytes, list[tuple[str, str]]]:
    """(ova.xml, [(chunk prefix, VDI ref) of each disk]) of a VM that can be exported."""
    store = ctx.store
    rec = store.get("VM", vm)
    if rec is None:
        raise XenAPIError("HANDLE_INVALID", "VM", vm)
    if rec["is_control_domain"]:
        raise XenAPIError("OPERATION_NOT_ALLOWED", "the control domain cannot be exported")
    if rec["power_state"] != "Halted" and not (rec["is_a_template"] or rec["is_a_snapshot"]):
        raise XenAPIError("VM_BAD_POWER_STATE", vm, "halted", rec["power_state"].lower())
    order: list[tuple[str, str]] = [("VM", vm)]
    disks: list[str] = []
    for b in rec["VBDs"]:
        vbd = store.get("VBD", b)
        if vbd is None:
            continue
        order.append(("VBD", b))
        if vbd["VDI"] != NULL_REF and store.get("VDI", vbd["VDI"]) is not None:
            if ("VDI", vbd["VDI"]) not in order:
                order.append(("VDI", vbd["VDI"]))
            if vbd["type"] != "CD" and vbd["VDI"] not in disks:
                disks.append(vbd["VDI"])
    for f in rec["VIFs"]:
        vif = store.get("VIF", f)
        if vif is None:
            continue
        order.append(("VIF", f))
        if vif["network"] != NULL_REF and ("network", vif["network"]) not in order:
            order.append(("network", vif["network"]))
    for cls, ref in list(order):
        if cls == "VDI":
            sr = store.get("VDI", ref)["SR"]
            if ("SR", sr) not in order:
                order.append(("SR", sr))
    ids = {ref: f"Ref:{i}" for i, (_cls, ref) in enumerate(order)}
    objects = []
    for cls, ref in order:
        snap = _record(store.get(cls, ref))
        if "current_operations" in snap:
            snap["current_operations"] = {}
        objects.append({"class": cls, "id": ids[ref], "snapshot": fmt.replace_refs(snap, ids)})
    version = {"hostname": socket.gethostname(),
               "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d"), **PRODUCT}
    return fmt.ova_xml(version, objects), [(ids[d], d) for d in disks]


def export_pieces(fd: int, prefix: str, size: int) -> Any:
    """The tar members of one disk's chunks."""
    extents = sparse.data_extents(fd, size)
    chunks = fmt.chunks_to_send(size, extents)
    last = chunks[-1] if chunks else 0
    for n in chunks:
        data = os.pread(fd, min(fmt.CHUNK, size - n * fmt.CHUNK), n * fmt.CHUNK)
        if n not in (0, last) and data.count(0) == len(data):
            yield len(data), b""
            continue
        yield len(data), fmt.chunk_members(prefix, n, data)


# --- import ----------------------------------------------------------------------------------
def _convert(ctx: Context, cls: str, snap: dict[str, Any],
             fields: tuple[str, ...]) -> dict[str, Any]:
    """The fields of an exported record, checked and converted by the model's types; a field
    that is missing or does not convert keeps this server's default."""
    defs = ctx.services.model.classes[cls].fields
    out = ctx.services.default_record(cls)
    for k in fields:
        if k in snap and k in defs:
            try:
                out[k] = defs[k].type.check(snap[k], k)
            except Exception:        # noqa: BLE001 - an older/newer exporter's value: default
                log.info("import: %s.%s %r not taken", cls, k, snap[k])
    return out


class Importer:
    """One XVA import: `run(read)` in a worker thread; async steps go to the loop."""

    def __init__(self, ctx: Context, sr: str, loop: asyncio.AbstractEventLoop,
                 progress: Callable[[int], None] | None = None, *,
                 restore: bool = False) -> None:
        self.ctx = ctx
        self.restore = restore
        self.sr = sr
        self.loop = loop
        self.progress = progress
        self.disks = NewDisks(ctx)
        self.open: dict[str, tuple[int, Any, str, int]] = {}   # id -> (fd, drv, uuid, size)

    def _on_loop(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def run(self, read: Callable[[int], bytes]) -> list[str]:
        try:
            try:
                return self._run(fmt.TarReader(read))
            except fmt.Truncated:
                raise XenAPIError("IMPORT_ERROR_PREMATURE_EOF") from None
            except fmt.XvaError as exc:
                raise XenAPIError("IMPORT_ERROR", str(exc)) from None
        except BaseException:
            self._close_all()
            self._on_loop(self.disks.discard())
            raise

    def _close_all(self) -> None:
        for key, (fd, drv, uuid, _size) in list(self.open.items()):
            try:
                os.close(fd)
            finally:
                self._on_loop(close_image(self.ctx, drv, uuid))
            del self.open[key]

    def _run(self, tar: fmt.TarReader) -> list[str]:
        first = tar.next()
        if first is None or first[0] != "ova.xml":
            raise XenAPIError("IMPORT_ERROR_UNEXPECTED_FILE", "ova.xml",
                              first[0] if first else "")
        if first[1] > 64 << 20:
            raise XenAPIError("IMPORT_ERROR", "ova.xml is larger than 64 MiB")
        _version, objects = fmt.parse_ova(tar.data(first[1]))
        byid = {o["id"]: o for o in objects}
        vms = [o for o in objects if o["class"] == "VM"]
        if not vms:
            raise XenAPIError("IMPORT_ERROR", "the archive holds no VM")
        disk_ids = []
        for o in objects:
            if o["class"] == "VBD" and o["snapshot"].get("type") != "CD":
                vid = o["snapshot"].get("VDI")
                if vid in byid and vid not in disk_ids:
                    if byid[vid]["class"] != "VDI":
                        raise XenAPIError("IMPORT_ERROR_FAILED_TO_FIND_OBJECT", vid)
                    disk_ids.append(vid)
        made: dict[str, str] = {}
        for vid in disk_ids:
            made[vid] = self._make_disk(byid[vid]["snapshot"], vid)
        self._fill(tar)
        self._close_all()
        for vid, ref in made.items():
            self._on_loop(self._refresh(ref))
        return self._on_loop(self._make_vms(objects, byid, made))

    def _make_disk(self, snap: dict[str, Any], vid: str) -> str:
        try:
            size = int(snap.get("virtual_size", "0"))
        except (TypeError, ValueError):
            raise XenAPIError("IMPORT_ERROR", f"VDI {vid} has no valid virtual_size") from None
        rec = _convert(self.ctx, "VDI", snap, ("name_label", "name_description", "type",
                                               "sharable", "other_config", "xenstore_data",
                                               "tags"))
        rec.update(SR=self.sr, virtual_size=size, read_only=False, sm_config={})
        if rec["type"] not in ("system", "user", "ephemeral", "suspend", "crashdump"):
            rec["type"] = "user"

        async def make() -> tuple[str, Any, str, str]:
            ref = await self.disks.make(lambda sub: vdi_api.create(sub, rec))
            drv, uuid, path = await open_image(self.ctx, ref, writable=True)
            return ref, drv, uuid, path
        ref, drv, uuid, path = self._on_loop(make())
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            self._on_loop(close_image(self.ctx, drv, uuid))
            raise
        self.open[vid] = (fd, drv, uuid, self.ctx.store.get("VDI", ref)["virtual_size"])
        return ref

    def _fill(self, tar: fmt.TarReader) -> None:
        pending: dict[str, str] = {}          # chunk name -> sha1 of its data, until checked
        seen_last: set[str] = set()
        while True:
            if self.ctx.task is not None:
                self.ctx.task.check_cancelled()
            m = tar.next()
            if m is None:
                break
            name, size = m
            match = fmt.CHUNK_NAME.match(name)
            if match is None:
                tar.data(size)             # e.g. a newer exporter's extra files: ignored
                continue
            vid, number, suffix = match.group(1), int(match.group(2)), match.group(3)
            if vid not in self.open:
                raise XenAPIError("IMPORT_ERROR_FAILED_TO_FIND_OBJECT", vid)
            if suffix == ".checksum":
                want = tar.data(size).decode("ascii", "replace").strip().lower()
                got = pending.pop(name[:-len(suffix)], None)
                if got is None or got != want:
                    raise XenAPIError("IMPORT_ERROR_SOME_CHECKSUMS_FAILED")
                continue
            if suffix == ".xxhash":
                tar.data(size)
                pending.pop(name[:-len(suffix)], None)
                continue
            if size > fmt.CHUNK:
                raise XenAPIError("IMPORT_ERROR", f"{name} is larger than 1 MiB")
            data = tar.data(size)
            fd, _drv, _uuid, vsize = self.open[vid]
            offset = number * fmt.CHUNK
            if size == 0:
                continue                    # a keep-alive: no data
            if offset + size > vsize:
                raise XenAPIError("IMPORT_ERROR", f"{name} lies beyond the disk's size {vsize}")
            sparse.write_sparse(fd, offset, data)
            pending[name] = hashlib.sha1(data).hexdigest()
            if offset + size >= vsize:
                seen_last.add(vid)
            if self.progress is not None:
                self.progress(0)
        if pending:
            raise XenAPIError("IMPORT_ERROR_SOME_CHECKSUMS_FAILED")
        for vid, (_fd, _d, _u, vsize) in self.open.items():
            if vsize and vid not in seen_last:
                raise XenAPIError("IMPORT_ERROR_PREMATURE_EOF")
        for fd, *_ in self.open.values():
            os.fsync(fd)

    async def _refresh(self, ref: str) -> None:
        from .pbd import attached_driver
        sub = sub_context(self.ctx)
        await refresh_sizes(sub, ref, attached_driver(sub, self.sr))

    async def _make_vms(self, objects: list[dict[str, Any]], byid: dict[str, Any],
                        made: dict[str, str]) -> list[str]:
        ctx = self.ctx
        store = ctx.store
        nets = store.records("network")

        def network_for(nid: str) -> str:
            snap = byid.get(nid, {}).get("snapshot", {})
            for key in ("name_label", "bridge"):
                for ref, n in nets.items():
                    if snap.get(key) and n[key] == snap.get(key):
                        return ref
            for pif in store.records("PIF").values():
                if pif["network"] in nets:
                    return pif["network"]
            return next(iter(nets), NULL_REF)

        def cd_vdi(vid: str) -> str:
            snap = byid.get(vid, {}).get("snapshot", {})
            found = store.find_uuid(snap.get("uuid", "")) if snap.get("uuid") else None
            return found[1] if found is not None and found[0] == "VDI" else NULL_REF

        from .pbd import serialized
        sub = sub_context(ctx)
        refs = []
        async with serialized(sub):
            for o in objects:
                if o["class"] != "VM":
                    continue
                from .vm_copy import CONFIG_FIELDS
                src = _convert(ctx, "VM", o["snapshot"], CONFIG_FIELDS + ("name_label",))
                src["affinity"] = NULL_REF
                src["suspend_SR"] = NULL_REF
                name = src["name_label"]
                ref, rec = _vm_record(ctx, sub.txn, src, name)
                old = o["snapshot"].get("uuid")
                if self.restore and isinstance(old, str) and old and \
                        store.find_uuid(old) is None:
                    rec["uuid"] = old        # a full restore keeps the VM's identity
                rec["is_a_snapshot"] = False
                sub.txn.create("VM", ref, rec)
                vbds, vifs = [], []
                for b in objects:
                    if b["class"] == "VBD" and b["snapshot"].get("VM") == o["id"]:
                        vb = _convert(ctx, "VBD", b["snapshot"], VBD_FIELDS)
                        vid = b["snapshot"].get("VDI")
                        vdi = made.get(vid) or (cd_vdi(vid) if vb["type"] == "CD" else NULL_REF)
                        if vdi == NULL_REF:
                            if vb["type"] != "CD":
                                continue        # a disk without data: xapi drops it too
                            vb["empty"] = True
                        vb["VDI"] = vdi
                        vbds.append((vb, vdi))
                    elif b["class"] == "VIF" and b["snapshot"].get("VM") == o["id"]:
                        vf = _convert(ctx, "VIF", b["snapshot"], VIF_FIELDS + ("MAC",))
                        vf["network"] = network_for(b["snapshot"].get("network", ""))
                        if vf["network"] == NULL_REF:
                            continue
                        vifs.append(vf)
                _add_devices(sub, ref, vbds, vifs, True, list(made.values()))
                refs.append(ref)
        return refs


async def import_xva(ctx: Context, read: Callable[[int], bytes], sr: str,
                     progress: Callable[[int], None] | None = None, *,
                     restore: bool = False) -> list[str]:
    """Import the XVA read (blocking) through `read` into `sr`; the new VMs' refs."""
    if sr == NULL_REF:
        sr = ctx.store.get("pool", ctx.services.pool_ref)["default_SR"]
        if sr == NULL_REF or ctx.store.get("SR", sr) is None:
            raise XenAPIError("DEFAULT_SR_NOT_FOUND", NULL_REF)
    from .pbd import attached_driver
    attached_driver(ctx, sr)                 # SR_NOT_ATTACHED before reading anything
    loop = asyncio.get_running_loop()
    importer = Importer(ctx, sr, loop, progress, restore=restore)
    return await loop.run_in_executor(None, importer.run, read)


@implements("VM.import")
async def vm_import(ctx: Context, url: str, sr: str, full_restore: bool, force: bool) -> list[str]:
    """Fetch the XVA at `url` (http, https) and import it into `sr`; `full_restore` keeps
    the VMs' uuids (when free here). `force` is accepted and has nothing to override."""
    import urllib.error
    import urllib.parse
    import urllib.request
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise XenAPIError("IMPORT_ERROR", f"cannot fetch {url!r}: only http and https URLs")
    loop = asyncio.get_running_loop()
    try:
        resp = await loop.run_in_executor(None, lambda: urllib.request.urlopen(url, timeout=60))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise XenAPIError("IMPORT_ERROR", f"cannot fetch {url}: {exc}") from None
    try:
        return await import_xva(ctx, resp.read1 if hasattr(resp, "read1") else resp.read, sr,
                                restore=full_restore)
    except TaskCancelled:
        raise
    finally:
        resp.close()
