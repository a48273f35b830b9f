"""The user class (reference: xenapi.json)."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, RO_CTOR, RO_RUN
from xenapi_impl.model.roles import R_POOL_ADMIN

USER = cls(
    'user',
    'A user of the system',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('short_name', 'string', RO_CTOR, doc='short name (for example, userid)'),
        field('fullname', 'string', doc='full name'),
        field('other_config', '(string -> string) map', default={},
              doc='additional configuration'),
    ],
    roles=R_POOL_ADMIN, constructor=True, get_all=False,
)
