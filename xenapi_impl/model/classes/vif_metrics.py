"""The VIF_metrics class (reference: xenapi.json)."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, RO_RUN
from xenapi_impl.model.roles import R_VM_ADMIN

VIF_METRICS = cls(
    'VIF_metrics',
    'The metrics associated with a virtual network device',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('io/read_kbs', 'float', RO_RUN, default=0.0, doc='Read bandwidth (KiB/s)'),
        field('io/write_kbs', 'float', RO_RUN, default=0.0, doc='Write bandwidth (KiB/s)'),
        field('last_updated', 'datetime', RO_RUN,
              doc='Time at which this information was last updated'),
        field('other_config', '(string -> string) map', default={},
              doc='additional configuration'),
    ],
    roles=R_VM_ADMIN,
)
