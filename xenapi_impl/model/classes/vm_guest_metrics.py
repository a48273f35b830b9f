"""The VM_guest_metrics class (reference: xenapi.json)."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, RO_RUN
from xenapi_impl.model.roles import R_VM_ADMIN

VM_GUEST_METRICS = cls(
    'VM_guest_metrics',
    'The metrics reported by the guest (as opposed to inferred from outside)',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('os_version', '(string -> string) map', RO_RUN, doc='version of the OS'),
        field('netbios_name', '(string -> string) map', RO_RUN, default={},
              doc='The NETBIOS name of the machine'),
        field('PV_drivers_version', '(string -> string) map', RO_RUN,
              doc='version of the PV drivers'),
        field('PV_drivers_up_to_date', 'bool', RO_RUN,
              doc='Logically equivalent to PV_drivers_detected'),
        field('memory', '(string -> string) map', RO_RUN, default={},
              doc=('This field exists but has no data. Use the memory and '
                   'memory_internal_free RRD data-sources instead.')),
        field('disks', '(string -> string) map', RO_RUN, default={},
              doc='This field exists but has no data.'),
        field('networks', '(string -> string) map', RO_RUN, doc='network configuration'),
        field('other', '(string -> string) map', RO_RUN, doc='anything else'),
        field('last_updated', 'datetime', RO_RUN,
              doc='Time at which this information was last updated'),
        field('other_config', '(string -> string) map', default={},
              doc='additional configuration'),
        field('live', 'bool', RO_RUN, default=False,
              doc='True if the guest is sending heartbeat messages via the guest agent'),
        field('can_use_hotplug_vbd', 'enum tristate_type', RO_RUN, default='unspecified',
              doc=("The guest's statement of whether it supports VBD hotplug, i.e. whether it "
                   'is capable of responding immediately to instantiation of a new VBD by '
                   'bringing online a new PV block device. If the guest states that it is not '
                   'capable, then the VBD plug and unplug operations will not be allowed '
                   'while the guest is running.')),
        field('can_use_hotplug_vif', 'enum tristate_type', RO_RUN, default='unspecified',
              doc=("The guest's statement of whether it supports VIF hotplug, i.e. whether it "
                   'is capable of responding immediately to instantiation of a new VIF by '
                   'bringing online a new PV network device. If the guest states that it is '
                   'not capable, then the VIF plug and unplug operations will not be allowed '
                   'while the guest is running.')),
        field('PV_drivers_detected', 'bool', RO_RUN, default=False,
              doc=("At least one of the guest's devices has successfully connected to the "
                   'backend.')),
        field('services', '(string -> string) map', RO_RUN, default={},
              doc="The guest's services data."),
    ],
    roles=R_VM_ADMIN,
)
