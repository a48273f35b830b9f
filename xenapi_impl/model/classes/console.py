"""The console class (reference: xenapi.json)."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, RO_RUN
from xenapi_impl.model.roles import R_VM_ADMIN

CONSOLE = cls(
    'console',
    'A console',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('protocol', 'enum console_protocol', RO_RUN,
              doc='the protocol used by this console'),
        field('location', 'string', RO_RUN, doc='URI for the console service'),
        field('VM', 'VM ref', RO_RUN, doc='VM to which this console is attached'),
        field('other_config', '(string -> string) map', doc='additional configuration'),
    ],
    roles=R_VM_ADMIN, constructor=True,
)
