"""The host_cpu class (reference: xenapi.json)."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, RO_RUN
from xenapi_impl.model.roles import R_POOL_OP

HOST_CPU = cls(
    'host_cpu',
    'A physical CPU',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('host', 'host ref', RO_RUN, doc='the host the CPU is in'),
        field('number', 'int', RO_RUN, doc='the number of the physical CPU within the host'),
        field('vendor', 'string', RO_RUN, doc='the vendor of the physical CPU'),
        field('speed', 'int', RO_RUN, doc='the speed of the physical CPU'),
        field('modelname', 'string', RO_RUN, doc='the model name of the physical CPU'),
        field('family', 'int', RO_RUN, doc='the family (number) of the physical CPU'),
        field('model', 'int', RO_RUN, doc='the model number of the physical CPU'),
        field('stepping', 'string', RO_RUN, doc='the stepping of the physical CPU'),
        field('flags', 'string', RO_RUN,
              doc='the flags of the physical CPU (a decoded version of the features field)'),
        field('features', 'string', RO_RUN, doc='the physical CPU feature bitmap'),
        field('utilisation', 'float', RO_RUN, doc='the current CPU utilisation'),
        field('other_config', '(string -> string) map', default={},
              doc='additional configuration'),
    ],
    roles=R_POOL_OP,
)
