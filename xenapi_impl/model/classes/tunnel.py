"""The tunnel class (reference: xenapi.json)."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, message, param, RO_CTOR, RO_RUN
from xenapi_impl.model.roles import R_POOL_OP

TUNNEL = cls(
    'tunnel',
    'A tunnel for network traffic',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('access_PIF', 'PIF ref', RO_CTOR, default='OpaqueRef:NULL',
              doc='The interface through which the tunnel is accessed'),
        field('transport_PIF', 'PIF ref', RO_CTOR, default='OpaqueRef:NULL',
              doc='The interface used by the tunnel'),
        field('status', '(string -> string) map', default={'active': 'false'},
              doc='Status information about the tunnel'),
        field('other_config', '(string -> string) map', default={},
              doc='Additional configuration'),
        field('protocol', 'enum tunnel_protocol', default='gre',
              doc='The protocol used for tunneling (either GRE or VxLAN)'),
    ],
    messages=[
        message(
            'destroy',
            doc='Destroy a tunnel',
            params=[
                param('self', 'tunnel ref', 'tunnel to destroy'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'create',
            doc='Create a tunnel',
            params=[
                param('transport_PIF', 'PIF ref', 'PIF which receives the tagged traffic'),
                param('network', 'network ref', 'Network to receive the tunnelled traffic'),
                param('protocol', 'enum tunnel_protocol',
                      'Protocol used for the tunnel (GRE or VxLAN)', default='gre'),
            ],
            result='tunnel ref',
            result_doc='The reference of the created tunnel object',
            errors=['OPENVSWITCH_NOT_ACTIVE', 'TRANSPORT_PIF_NOT_CONFIGURED',
                    'IS_TUNNEL_ACCESS_PIF'],
            roles=R_POOL_OP,
            is_async=True,
        ),
    ],
    roles=R_POOL_OP,
)
