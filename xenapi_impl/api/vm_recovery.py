"""VM.assert_can_be_recovered / get_SRs_required_for_recovery (and the appliance's): which
SRs a VM's disks need in the pool it would be recovered into, as xapi finds them.

The disks' SRs (CD drives and ISO SRs left out) are looked up by uuid in the destination; one
without an attached PBD there is missing. `session_to` is a session of this server (the only
pool this server knows), so the destination is this database.
"""
from __future__ import annotations

from ..errors import XenAPIError
from ..store import NULL_REF
from .context import Context
from .registry import implements


def required_srs(ctx: Context, vm: str) -> list[str]:
    """The SRs of the VM's non-CD disks, ISO SRs left out, each once."""
    out: list[str] = []
    for vbd in ctx.txn.get("VM", vm)["VBDs"]:
        b = ctx.txn.get("VBD", vbd)
        if b is None or b["type"] == "CD" or b["VDI"] == NULL_REF:
            continue
        vdi = ctx.txn.get("VDI", b["VDI"])
        if vdi is None:
            continue
        sr = ctx.txn.get("SR", vdi["SR"])
        if sr is not None and sr["content_type"] != "iso" and vdi["SR"] not in out:
            out.append(vdi["SR"])
    return out


def _attached(ctx: Context, sr: str) -> bool:
    """Whether the SR with this one's uuid has an attached PBD in the destination."""
    uuid = ctx.txn.get("SR", sr)["uuid"]
    for ref, rec in ctx.store.records("SR").items():
        if rec["uuid"] == uuid:
            return any(ctx.txn.get("PBD", p)["currently_attached"] for p in rec["PBDs"]
                       if ctx.txn.get("PBD", p) is not None)
    return False


def missing_srs(ctx: Context, vm: str) -> list[str]:
    return [sr for sr in required_srs(ctx, vm) if not _attached(ctx, sr)]


def assert_recoverable(ctx: Context, vm: str) -> None:
    missing = missing_srs(ctx, vm)
    if missing:
        raise XenAPIError("VM_REQUIRES_SR", vm, missing[0])


@implements("VM.assert_can_be_recovered")
async def assert_can_be_recovered(ctx: Context, self: str, session_to: str) -> None:
    assert_recoverable(ctx, self)


@implements("VM.get_SRs_required_for_recovery")
async def get_SRs_required_for_recovery(ctx: Context, self: str, session_to: str) -> list[str]:
    return missing_srs(ctx, self)
