"""The class declarations, one module per class (the single source of truth of the model)."""
from __future__ import annotations

from xenapi_impl.model import enums as _enums  # noqa: F401  (declares the enums used below)
from xenapi_impl.model.classes.session import SESSION
from xenapi_impl.model.classes.task import TASK
from xenapi_impl.model.classes.event import EVENT
from xenapi_impl.model.classes.pool import POOL
from xenapi_impl.model.classes.host import HOST
from xenapi_impl.model.classes.host_metrics import HOST_METRICS
from xenapi_impl.model.classes.host_cpu import HOST_CPU
from xenapi_impl.model.classes.vm import VM
from xenapi_impl.model.classes.vm_metrics import VM_METRICS
from xenapi_impl.model.classes.vm_guest_metrics import VM_GUEST_METRICS
from xenapi_impl.model.classes.network import NETWORK
from xenapi_impl.model.classes.vif import VIF
from xenapi_impl.model.classes.vif_metrics import VIF_METRICS
from xenapi_impl.model.classes.pif import PIF
from xenapi_impl.model.classes.pif_metrics import PIF_METRICS
from xenapi_impl.model.classes.bond import BOND
from xenapi_impl.model.classes.vlan import VLAN
from xenapi_impl.model.classes.tunnel import TUNNEL
from xenapi_impl.model.classes.sr import SR
from xenapi_impl.model.classes.vdi import VDI
from xenapi_impl.model.classes.vbd import VBD
from xenapi_impl.model.classes.vbd_metrics import VBD_METRICS
from xenapi_impl.model.classes.pbd import PBD
from xenapi_impl.model.classes.console import CONSOLE
from xenapi_impl.model.classes.crashdump import CRASHDUMP
from xenapi_impl.model.classes.message import MESSAGE
from xenapi_impl.model.classes.user import USER
from xenapi_impl.model.classes.blob import BLOB
from xenapi_impl.model.classes.role import ROLE
from xenapi_impl.model.classes.vm_appliance import VM_APPLIANCE
from xenapi_impl.model.classes.vmss import VMSS
from xenapi_impl.model.classes.vm_group import VM_GROUP
from xenapi_impl.model.classes.certificate import CERTIFICATE
from xenapi_impl.model.dsl import ClassDef

#: in the order the reference lists them
ALL_CLASSES: list[ClassDef] = [
    SESSION, TASK, EVENT, POOL, HOST, HOST_METRICS, HOST_CPU, VM, VM_METRICS, VM_GUEST_METRICS,
    NETWORK, VIF, VIF_METRICS, PIF, PIF_METRICS, BOND, VLAN, SR, VDI, VBD, VBD_METRICS, PBD,
    CONSOLE, CRASHDUMP, MESSAGE, USER, BLOB, ROLE, TUNNEL, VM_APPLIANCE, VMSS, VM_GROUP,
    CERTIFICATE,
]
