"""The crashdump class (reference: xenapi.json)."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, message, param, RO_CTOR, RO_RUN
from xenapi_impl.model.roles import R_POOL_OP

CRASHDUMP = cls(
    'crashdump',
    'A VM crashdump',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('VM', 'VM ref', RO_CTOR, doc='the virtual machine'),
        field('VDI', 'VDI ref', RO_CTOR, doc='the virtual disk'),
        field('other_config', '(string -> string) map', default={},
              doc='additional configuration'),
    ],
    messages=[
        message(
            'destroy',
            doc='Destroy the specified crashdump',
            params=[
                param('self', 'crashdump ref', 'The crashdump to destroy'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
    ],
    roles=R_POOL_OP,
)
