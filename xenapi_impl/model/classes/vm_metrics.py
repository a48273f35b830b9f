"""The VM_metrics class (reference: xenapi.json)."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, RO_CTOR, RO_RUN
from xenapi_impl.model.roles import R_VM_ADMIN

VM_METRICS = cls(
    'VM_metrics',
    'The metrics associated with a VM',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('memory/actual', 'int', RO_RUN, doc="Guest's actual memory (bytes)"),
        field('VCPUs/number', 'int', RO_RUN, doc='Current number of VCPUs'),
        field('VCPUs/utilisation', '(int -> float) map', RO_RUN, default={},
              doc="Utilisation for all of guest's current VCPUs"),
        field('VCPUs/CPU', '(int -> int) map', RO_RUN, doc='VCPU to PCPU map'),
        field('VCPUs/params', '(string -> string) map', RO_RUN,
              doc='The live equivalent to VM.VCPUs_params'),
        field('VCPUs/flags', '(int -> string set) map', RO_RUN,
              doc='CPU flags (blocked,online,running)'),
        field('state', 'string set', RO_RUN, doc='The state of the guest, eg blocked, dying etc'),
        field('start_time', 'datetime', RO_RUN, doc='Time at which this VM was last booted'),
        field('install_time', 'datetime', RO_RUN, doc='Time at which the VM was installed'),
        field('last_updated', 'datetime', RO_RUN,
              doc='Time at which this information was last updated'),
        field('other_config', '(string -> string) map', default={},
              doc='additional configuration'),
        field('hvm', 'bool', RO_RUN, default=False, doc='hardware virtual machine'),
        field('nested_virt', 'bool', RO_RUN, default=False,
              doc='VM supports nested virtualisation'),
        field('nomigrate', 'bool', RO_RUN, default=False,
              doc="VM is immobile and can't migrate between hosts"),
        field('current_domain_type', 'enum domain_type', RO_RUN, default='unspecified',
              doc=('The current domain type of the VM (for running,suspended, or paused VMs). '
                   'The last-known domain type for halted VMs.')),
        field('numa_optimised', 'bool', RO_CTOR, default=False,
              doc='If the VM is optimised for NUMA'),
        field('numa_nodes', 'int', RO_CTOR, default=0,
              doc='number of NUMA nodes of the host the VM is using'),
        field('numa_node_memory', '(int -> int) map', RO_RUN, default={},
              doc='mapping a NUMA node (int) to an amount of memory (bytes) in that node.'),
    ],
    roles=R_VM_ADMIN,
)
