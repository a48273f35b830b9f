"""NIC hot-plug into running domains: the backend side of api/vif.py's `VifHotplug` hooks
(records in, a libxl NIC out; api/vif.py records `currently_attached`). Disks of running VMs
are plugged by the API layer itself (api/vbd_live.py) through the hypervisor's operations."""
from __future__ import annotations

from typing import Any

from ..errors import XenAPIError
from .config import Nic, nic_config


class Hotplug:
    """Mixed into Backend; `services` is bound at start (for the networks' bridges)."""

    services: Any = None
    hypervisor: Any

    def bind(self, services: Any) -> None:
        self.services = services

    def _nic(self, vif: dict[str, Any], network: str) -> Any:
        net = self.services.store.get("network", network) if self.services else None
        if net is None:
            raise XenAPIError("HANDLE_INVALID", "network", network)
        return nic_config(Nic(vif["device"], vif["MAC"], net["bridge"], vif["MTU"],
                              vif["other_config"], vif["qos_algorithm_type"],
                              vif["qos_algorithm_params"]))

    async def vif_plug(self, vm_ref: str, vm: dict[str, Any], vif_ref: str,
                       vif: dict[str, Any]) -> None:
        await self.hypervisor.add_nic(vm["domid"], self._nic(vif, vif["network"]))

    async def vif_unplug(self, vm_ref: str, vm: dict[str, Any], vif_ref: str,
                         vif: dict[str, Any], force: bool) -> None:
        await self.hypervisor.remove_nic(vm["domid"], int(vif["device"]))

    async def vif_move(self, vm_ref: str, vm: dict[str, Any], vif_ref: str,
                       vif: dict[str, Any], network_ref: str) -> None:
        nic = self._nic(vif, network_ref)          # checked before the old one goes
        await self.vif_unplug(vm_ref, vm, vif_ref, vif, True)
        await self.hypervisor.add_nic(vm["domid"], nic)
