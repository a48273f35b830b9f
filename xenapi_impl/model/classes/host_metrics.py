"""The host_metrics class (reference: xenapi.json)."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, RO_RUN
from xenapi_impl.model.roles import R_POOL_OP

HOST_METRICS = cls(
    'host_metrics',
    'The metrics associated with a host',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('memory/total', 'int', RO_RUN, doc='Total host memory (bytes)'),
        field('memory/free', 'int', RO_RUN, default=0, doc='Free host memory (bytes)'),
        field('live', 'bool', RO_RUN, doc='Pool master thinks this host is live'),
        field('last_updated', 'datetime', RO_RUN,
              doc='Time at which this information was last updated'),
        field('other_config', '(string -> string) map', default={},
              doc='additional configuration'),
    ],
    roles=R_POOL_OP,
)
