"""The Bond class (reference: xenapi.json)."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, message, param, RO_CTOR, RO_RUN
from xenapi_impl.model.roles import R_POOL_OP

BOND = cls(
    'Bond',
    'A Network bond that combines physical network interfaces, also known as link aggregation',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('master', 'PIF ref', RO_CTOR, default='OpaqueRef:NULL',
              doc='The bonded interface'),
        field('slaves', 'PIF ref set', RO_RUN, doc='The interfaces which are part of this bond'),
        field('other_config', '(string -> string) map', default={},
              doc='additional configuration'),
        field('primary_slave', 'PIF ref', RO_RUN, default='OpaqueRef:NULL',
              doc=('The PIF of which the IP configuration and MAC were copied to the bond, and '
                   'which will receive all configuration/VLANs/VIFs on the bond if the bond is '
                   'destroyed')),
        field('mode', 'enum bond_mode', RO_RUN, default='balance-slb',
              doc='The algorithm used to distribute traffic among the bonded NICs'),
        field('properties', '(string -> string) map', RO_RUN, default={},
              doc='Additional configuration properties specific to the bond mode.'),
        field('links_up', 'int', RO_RUN, default=0, doc='Number of links up in this bond'),
        field('auto_update_mac', 'bool', RO_RUN, default=True,
              doc=('true if the MAC was taken from the primary slave when the bond was created, '
                   'and false if the client specified the MAC')),
    ],
    messages=[
        message(
            'set_property',
            doc='Set the value of a property of the bond',
            params=[
                param('self', 'Bond ref', 'The bond'),
                param('name', 'string', 'The property name'),
                param('value', 'string', 'The property value'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'set_mode',
            doc='Change the bond mode',
            params=[
                param('self', 'Bond ref', 'The bond'),
                param('value', 'enum bond_mode', 'The new bond mode'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'destroy',
            doc='Destroy an interface bond',
            params=[
                param('self', 'Bond ref', 'Bond to destroy'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'create',
            doc='Create an interface bond',
            params=[
                param('network', 'network ref', 'Network to add the bonded PIF to'),
                param('members', 'PIF ref set', 'PIFs to add to this bond'),
                param('MAC', 'string',
                      ('The MAC address to use on the bond itself. If this parameter is the empty '
                       'string then the bond will inherit its MAC address from the primary '
                       'slave.')),
                param('mode', 'enum bond_mode', 'Bonding mode to use for the new bond',
                      default='balance-slb'),
                param('properties', '(string -> string) map',
                      'Additional configuration parameters specific to the bond mode',
                      default={}),
            ],
            result='Bond ref',
            result_doc='The reference of the created Bond object',
            roles=R_POOL_OP,
            is_async=True,
        ),
    ],
    roles=R_POOL_OP,
)
