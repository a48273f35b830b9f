"""Classes the reference names in ref and record types that this server does not serve.

A field typed ``Bond ref`` is a valid field: its value is always ``OpaqueRef:NULL`` here and
ref sets of these classes stay empty. The names keep the types resolvable and let the docs say
why no such object exists; none of these classes has messages, records, or events.
"""
from __future__ import annotations

EXTERNAL_CLASSES: dict[str, str] = {
    'data_source': 'Data sources for logging in RRDs',
    'DR_task': 'DR task',
    'Feature': 'A new piece of functionality',
    'GPU_group': 'A group of compatible GPUs across the resource pool',
    'host_crashdump': 'Represents a host crash dump',
    'host_patch': 'Represents a patch stored on a server',
    'network_sriov': 'network-sriov which connects logical pif and physical pif',
    'PCI': 'A PCI device',
    'PGPU': 'A physical GPU (pGPU)',
    'pool_update': 'Pool-wide updates to the host software',
    'probe_result': ('A set of properties that describe one result element of SR.probe. Result '
                     'elements and properties can change dynamically based on changes to the the '
                     'SR.probe input-parameters or the target.'),
    'PUSB': 'A physical USB device',
    'Repository': 'Repository for updates',
    'secret': 'A secret',
    'subject': 'A user or group that can log in xapi',
    'vdi_nbd_server_info': ('Details for connecting to a VDI using the Network Block Device '
                            'protocol'),
    'VGPU': 'A virtual GPU (vGPU)',
    'VMPP': 'VM Protection Policy',
    'VTPM': 'A virtual TPM device',
    'VUSB': 'Describes the vusb device',
}
