"""The VM_group class (reference: xenapi.json; prototyped there): VMs grouped under a placement
policy. A VM joins a group with VM.set_groups (api/vm_group.py)."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, RO_CTOR, RO_RUN
from xenapi_impl.model.roles import R_VM_ADMIN

VM_GROUP = cls(
    'VM_group',
    'A VM group',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('name/label', 'string', default='', doc='a human-readable name'),
        field('name/description', 'string', default='',
              doc='a notes field containing human-readable description'),
        field('placement', 'enum placement_policy', RO_CTOR, default='normal',
              doc='The placement policy of the VM group'),
        field('VMs', 'VM ref set', RO_RUN, doc='The list of VMs associated with the group'),
    ],
    roles=R_VM_ADMIN, constructor=True,
)
