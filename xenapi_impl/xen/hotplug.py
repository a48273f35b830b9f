"""Hot-plug of VBDs and VIFs into running domains: the backend side of the storage and
network engineers' hooks (api/vbd.py `VBDHotplug`, api/vif.py `VifHotplug`).

VBD hooks record `currently_attached` themselves (api/vbd.py leaves it to the backend); VIF
hooks leave it to api/vif.py. CD insert/eject on a running VM (`vbd_insert`/`vbd_eject`):
the new ISO VDI is attached through its SR first, then the drive's media changes (HVM:
libxl_cdrom_insert, an empty path ejecting as xl does; PV, where libxl offers no media
change: the drive is detached and attached again with the new media), then the old media's
VDI is detached; api/vbd.py records VDI/empty after the hook succeeds.
"""
from __future__ import annotations

from typing import Any

from ..errors import XenAPIError
from ..store import NULL_REF


def _hvm(vm: dict[str, Any]) -> bool:
    from .config import domain_type
    return domain_type(vm) == "hvm"


class Hotplug:
    """Mixed into Backend; `services` is bound at start (seed)."""

    services: Any = None
    hypervisor: Any

    def bind(self, services: Any) -> None:
        self.services = services

    # --- VBD --------------------------------------------------------------------------
    async def vbd_plug(self, ctx: Any, vbd: str) -> None:
        from ..api.vm import Attached
        from .config import Disk, disk_config
        rec = ctx.txn.get("VBD", vbd)
        vm = ctx.txn.get("VM", rec["VM"])
        att = Attached(ctx)
        path = None
        rw = False
        if not rec["empty"] and rec["VDI"] != NULL_REF:
            v = ctx.txn.get("VDI", rec["VDI"])
            rw = rec["mode"] == "RW" and not v["read_only"]
            path = await att.attach(v["SR"], v["uuid"], rw)
        elif rec["type"] != "CD":
            raise XenAPIError("VBD_IS_EMPTY", vbd)
        try:
            cfg = disk_config(Disk(rec["userdevice"], path, rw, rec["type"] == "CD"), _hvm(vm))
            await self.hypervisor.run("disk hot-plug", self.hypervisor.context.add_disk,
                                      vm["domid"], cfg)
        except BaseException:
            await att.detach_all()
            raise
        ctx.services.vm_devices.setdefault(rec["VM"], []).extend(att.vdis)
        ctx.txn.update("VBD", vbd, {"currently_attached": True, "device": cfg.vdev})

    async def vbd_unplug(self, ctx: Any, vbd: str, force: bool) -> None:
        from .config import vdev
        rec = ctx.txn.get("VBD", vbd)
        vm = ctx.txn.get("VM", rec["VM"])
        await self.hypervisor.run("disk unplug", self.hypervisor.context.remove_disk,
                                  vm["domid"], vdev(rec["userdevice"], _hvm(vm)))
        if not rec["empty"]:
            await self._release(ctx, rec["VM"], rec["VDI"])
        ctx.txn.update("VBD", vbd, {"currently_attached": False})

    async def _release(self, ctx: Any, vm_ref: str, vdi_ref: str) -> None:
        """Detach a VDI this VM's domain held (the media taken out of a drive)."""
        if vdi_ref == NULL_REF or not ctx.txn.exists("VDI", vdi_ref):
            return
        uuid = ctx.txn.get("VDI", vdi_ref)["uuid"]
        held = ctx.services.vm_devices.get(vm_ref, [])
        for i, (drv, u) in enumerate(held):
            if u == uuid:
                del held[i]
                from ..api.pbd import call
                await call(ctx, drv.vdi_detach, u)
                return

    async def _change_media(self, ctx: Any, vbd: str, vdi: str) -> None:
        from ..api.vm import Attached
        from .config import Disk, disk_config, vdev
        rec = ctx.txn.get("VBD", vbd)
        vm = ctx.txn.get("VM", rec["VM"])
        hv = self.hypervisor
        hvm = _hvm(vm)
        device = vdev(rec["userdevice"], hvm)
        att = Attached(ctx)
        path = None
        if vdi != NULL_REF:
            v = ctx.txn.get("VDI", vdi)
            path = await att.attach(v["SR"], v["uuid"], False)
        try:
            if hvm:
                await hv.run("cdrom insert", hv.context.cdrom_insert, vm["domid"], device, path)
            else:
                # A PV guest's media changes by detach and attach; the drive as it is now
                # (read back from libxl) is put back if the new one cannot be attached.
                before = await hv.run("cdrom lookup", hv.context.disk, vm["domid"], device)
                cfg = disk_config(Disk(rec["userdevice"], path, False, True), hvm)
                await hv.run("cdrom detach", hv.context.remove_disk, vm["domid"], device)
                try:
                    await hv.run("cdrom attach", hv.context.add_disk, vm["domid"], cfg)
                except BaseException:
                    await hv.run("cdrom attach", hv.context.add_disk, vm["domid"], disk_config(
                        Disk(rec["userdevice"], before.target, False, True), hvm))
                    raise
        except BaseException:
            await att.detach_all()
            raise
        if not rec["empty"]:
            await self._release(ctx, rec["VM"], rec["VDI"])
        ctx.services.vm_devices.setdefault(rec["VM"], []).extend(att.vdis)

    async def vbd_insert(self, ctx: Any, vbd: str, vdi: str) -> None:
        await self._change_media(ctx, vbd, vdi)

    async def vbd_eject(self, ctx: Any, vbd: str) -> None:
        await self._change_media(ctx, vbd, NULL_REF)

    # --- VIF --------------------------------------------------------------------------
    def _nic(self, vif: dict[str, Any], network: str) -> Any:
        from .config import Nic, nic_config
        net = self.services.store.get("network", network) if self.services else None
        if net is None:
            raise XenAPIError("HANDLE_INVALID", "network", network)
        return nic_config(Nic(vif["device"], vif["MAC"], net["bridge"], vif["MTU"],
                              vif["other_config"], vif["qos_algorithm_type"],
                              vif["qos_algorithm_params"]))

    async def vif_plug(self, vm_ref: str, vm: dict[str, Any], vif_ref: str,
                       vif: dict[str, Any]) -> None:
        await self.hypervisor.run("nic hot-plug", self.hypervisor.context.add_nic,
                                  vm["domid"], self._nic(vif, vif["network"]))

    async def vif_unplug(self, vm_ref: str, vm: dict[str, Any], vif_ref: str,
                         vif: dict[str, Any], force: bool) -> None:
        await self.hypervisor.run("nic unplug", self.hypervisor.context.remove_nic,
                                  vm["domid"], int(vif["device"]))

    async def vif_move(self, vm_ref: str, vm: dict[str, Any], vif_ref: str,
                       vif: dict[str, Any], network_ref: str) -> None:
        nic = self._nic(vif, network_ref)          # checked before the old one goes
        await self.vif_unplug(vm_ref, vm, vif_ref, vif, True)
        await self.hypervisor.run("nic hot-plug", self.hypervisor.context.add_nic,
                                  vm["domid"], nic)
