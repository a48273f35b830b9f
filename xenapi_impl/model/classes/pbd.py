"""The PBD class (reference: xenapi.json)."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, message, param, RO_CTOR, RO_RUN
from xenapi_impl.model.roles import R_POOL_OP

PBD = cls(
    'PBD',
    'The physical block devices through which hosts access SRs',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('host', 'host ref', RO_CTOR, doc='physical machine on which the pbd is available'),
        field('SR', 'SR ref', RO_CTOR, doc='the storage repository that the pbd realises'),
        field('device_config', '(string -> string) map', RO_CTOR,
              doc=("a config string to string map that is provided to the host's "
                   'SR-backend-driver')),
        field('currently_attached', 'bool', RO_RUN,
              doc='is the SR currently attached on this host?'),
        field('other_config', '(string -> string) map', default={},
              doc='additional configuration'),
    ],
    messages=[
        message(
            'set_device_config',
            doc="Sets the PBD's device_config field",
            params=[
                param('self', 'PBD ref', 'The PBD to modify'),
                param('value', '(string -> string) map',
                      "The new value of the PBD's device_config"),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'unplug',
            doc=('Deactivate the specified PBD, causing the referenced SR to be detached and '
                 'nolonger scanned'),
            params=[
                param('self', 'PBD ref', 'The PBD to deactivate'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'plug',
            doc='Activate the specified PBD, causing the referenced SR to be attached and scanned',
            params=[
                param('self', 'PBD ref', 'The PBD to activate'),
            ],
            errors=['SR_UNKNOWN_DRIVER'],
            roles=R_POOL_OP,
            is_async=True,
        ),
    ],
    roles=R_POOL_OP, constructor=True,
)
