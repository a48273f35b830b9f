"""A VM.create record with every field WIRE.md lists as required; tests override what matters."""
from __future__ import annotations

from typing import Any

MiB = 1 << 20


def vm_create_record(name: str, *, memory_mib: int = 256, static_min_mib: int = 128,
                     static_max_mib: int | None = None, vcpus: int = 1,
                     **overrides: Any) -> dict[str, Any]:
    """A halted PV VM: dynamic memory `memory_mib`, static range [static_min, static_max
    (default: memory_mib)], `vcpus` vCPUs; ints as strings, as an XML-RPC client sends them."""
    rec: dict[str, Any] = {
        "name_label": name, "name_description": "", "user_version": "1",
        "is_a_template": False, "affinity": "OpaqueRef:NULL",
        "memory_static_max": str((static_max_mib or memory_mib) * MiB),
        "memory_dynamic_max": str(memory_mib * MiB), "memory_dynamic_min": str(memory_mib * MiB),
        "memory_static_min": str(static_min_mib * MiB),
        "VCPUs_params": {}, "VCPUs_max": str(vcpus), "VCPUs_at_startup": str(vcpus),
        "actions_after_shutdown": "destroy", "actions_after_reboot": "restart",
        "actions_after_crash": "destroy", "PV_bootloader": "", "PV_kernel": "/boot/vmlinuz",
        "PV_ramdisk": "", "PV_args": "", "PV_bootloader_args": "", "PV_legacy_args": "",
        "HVM_boot_policy": "", "HVM_boot_params": {}, "platform": {}, "PCI_bus": "",
        "other_config": {}, "recommendations": "",
    }
    rec.update(overrides)
    return rec
