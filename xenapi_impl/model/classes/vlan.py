"""The VLAN class (reference: xenapi.json)."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, message, param, RO_CTOR, RO_RUN
from xenapi_impl.model.roles import R_POOL_OP

VLAN = cls(
    'VLAN',
    'A VLAN mux/demux',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('tagged_PIF', 'PIF ref', RO_CTOR, default='OpaqueRef:NULL',
              doc='interface on which traffic is tagged'),
        field('untagged_PIF', 'PIF ref', RO_RUN, default='OpaqueRef:NULL',
              doc='interface on which traffic is untagged'),
        field('tag', 'int', RO_CTOR, default=-1, doc='VLAN tag in use'),
        field('other_config', '(string -> string) map', default={},
              doc='additional configuration'),
    ],
    messages=[
        message(
            'destroy',
            doc='Destroy a VLAN mux/demuxer',
            params=[
                param('self', 'VLAN ref', 'VLAN mux/demuxer to destroy'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'create',
            doc='Create a VLAN mux/demuxer',
            params=[
                param('tagged_PIF', 'PIF ref', 'PIF which receives the tagged traffic'),
                param('tag', 'int', 'VLAN tag to use'),
                param('network', 'network ref', 'Network to receive the untagged traffic'),
            ],
            result='VLAN ref',
            result_doc='The reference of the created VLAN object',
            roles=R_POOL_OP,
            is_async=True,
        ),
    ],
    roles=R_POOL_OP,
)
