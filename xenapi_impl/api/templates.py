"""Built-in templates, made at first start (and again if one was lost), with stable uuids.

Like xapi's: is_a_template and is_default_template true, other_config "default_template"
"true", "install-methods", a "disks" provision XML that VM.provision turns into disks, and
the recommendations XML XenCenter/XO read. A default template can be cloned, copied and
provisioned but not destroyed (VM_CANNOT_DELETE_DEFAULT_TEMPLATE, checked by VM.destroy).
"""
from __future__ import annotations

import logging
import uuid as _uuid
from types import SimpleNamespace
from typing import Any

from ..store import NULL_REF, new_ref

log = logging.getLogger(__name__)

MIB = 1024 * 1024
GIB = 1024 * MIB
#: uuids are derived from the template's name under this namespace: the same on every host
NAMESPACE = _uuid.UUID("6c1e0b2a-5f4d-4b8e-9a57-3f0d2c7e9b11")
DEFAULT_TEMPLATE_KEY = "default_template"

RECOMMENDATIONS = (
    '<restrictions><restriction field="memory-static-max" max="137438953472" />'
    '<restriction field="vcpus-max" max="32" />'
    '<restriction property="number-of-vbds" max="255" />'
    '<restriction property="number-of-vifs" max="7" />'
    '<restriction field="has-vendor-device" value="false" /></restrictions>')


def provision_xml(size: int) -> str:
    """xapi's other_config "disks" form: one bootable system disk in the default SR."""
    return (f'<provision><disk device="0" size="{size}" sr="" bootable="true" '
            f'type="system"/></provision>')


def template_uuid(name: str) -> str:
    return str(_uuid.uuid5(NAMESPACE, name))


_HVM = {"domain_type": "hvm", "HVM_boot_policy": "BIOS order", "HVM_boot_params": {"order": "cd"},
        "platform": {"acpi": "1", "apic": "true", "pae": "true", "viridian": "false",
                     "nx": "true", "device-model": "qemu-upstream-compat"}}
_PV = {"domain_type": "pv", "HVM_boot_policy": "", "HVM_boot_params": {}, "platform": {"nx": "true"}}

#: name -> (description, memory, vCPUs, boot fields, install methods, disk size)
BUILTIN: dict[str, tuple[str, int, int, dict[str, Any], str, int]] = {
    "Other install media": (
        "Template for any HVM guest installed from CD/DVD or network boot",
        512 * MIB, 1, _HVM, "cdrom", 10 * GIB),
    "Debian Bookworm 12": (
        "Debian 12 (Bookworm), paravirtualised, booted by pygrub from its own disk",
        1 * GIB, 1, {**_PV, "PV_bootloader": "pygrub", "PV_args": "console=hvc0"},
        "cdrom,nfs,http,ftp", 10 * GIB),
    "Generic Linux PV": (
        "Any Linux guest with PV drivers, booted from a kernel in dom0 (set PV_kernel)",
        256 * MIB, 1, {**_PV, "PV_kernel": "/boot/vmlinuz", "PV_args": "console=hvc0"},
        "", 8 * GIB),
}


def template_record(services: Any, name: str) -> dict[str, Any]:
    desc, mem, vcpus, boot, methods, disk = BUILTIN[name]
    rec = services.default_record("VM")
    rec.update({
        "uuid": template_uuid(name), "name_label": name, "name_description": desc,
        "power_state": "Halted", "user_version": 1, "is_a_template": True,
        "is_default_template": True, "affinity": NULL_REF, "resident_on": NULL_REF,
        "memory_static_min": min(mem, 128 * MIB), "memory_dynamic_min": mem,
        "memory_dynamic_max": mem, "memory_static_max": mem,
        "VCPUs_params": {}, "VCPUs_max": vcpus, "VCPUs_at_startup": vcpus,
        "actions_after_shutdown": "destroy", "actions_after_reboot": "restart",
        "actions_after_crash": "restart", "PV_bootloader": "", "PV_kernel": "",
        "PV_ramdisk": "", "PV_args": "", "PV_bootloader_args": "", "PV_legacy_args": "",
        "PCI_bus": "", "recommendations": RECOMMENDATIONS, "domid": -1,
        "current_operations": {}, "is_control_domain": False, "consoles": [],
        "crash_dumps": [], "other_config": {DEFAULT_TEMPLATE_KEY: "true",
                                            "install-methods": methods,
                                            "disks": provision_xml(disk)},
    })
    rec.update(boot)
    return rec


async def seed_templates(services: Any) -> None:
    """Create every built-in template that is missing (found by its stable uuid). A server
    without a hypervisor backend (dispatch-level tests) runs no guests and gets none."""
    from .vm import allowed_operations, new_metrics
    if getattr(services.backend, "hypervisor", None) is None:
        return
    store = services.store
    missing = [n for n in BUILTIN if store.find_uuid(template_uuid(n)) is None]
    # templates made by earlier versions said "unspecified": they get their type
    untyped = [(n, found[1]) for n in BUILTIN
               if (found := store.find_uuid(template_uuid(n))) is not None
               and store.get("VM", found[1])["domain_type"] == "unspecified"]
    if untyped:
        async with services.transaction() as txn:
            for name, ref in untyped:
                txn.update("VM", ref, {"domain_type": BUILTIN[name][3]["domain_type"]})
    if not missing:
        return
    async with services.transaction() as txn:
        ctx = SimpleNamespace(services=services)     # new_metrics reads only ctx.services
        for name in missing:
            rec = template_record(services, name)
            rec["metrics"] = new_metrics(ctx, txn)   # type: ignore[arg-type]
            rec["allowed_operations"] = allowed_operations(rec)
            txn.create("VM", new_ref(), rec)
    log.info("created the built-in templates: %s", ", ".join(missing))
