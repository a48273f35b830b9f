"""The role class (reference: xenapi.json)."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, message, param, RO_CTOR, RO_RUN
from xenapi_impl.model.roles import R_POOL_ADMIN, R_READ_ONLY

ROLE = cls(
    'role',
    'A set of permissions associated with a subject',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('name/label', 'string', RO_CTOR, default='',
              doc='a short user-friendly name for the role'),
        field('name/description', 'string', RO_CTOR, default='', doc='what this role is for'),
        field('subroles', 'role ref set', RO_CTOR, default=[],
              doc='a list of pointers to other roles or permissions'),
        field('is_internal', 'bool', RO_RUN, default=False,
              doc=('Indicates whether the role is only to be assigned internally by xapi, or '
                   'can be used by clients')),
    ],
    messages=[
        message(
            'get_by_permission_name_label',
            doc='This call returns a list of roles given a permission name',
            params=[
                param('label', 'string', 'The short friendly name of the role'),
            ],
            result='role ref set',
            result_doc='a list of references to roles',
            roles=R_READ_ONLY,
        ),
        message(
            'get_by_permission',
            doc='This call returns a list of roles given a permission',
            params=[
                param('permission', 'role ref', 'a reference to a permission'),
            ],
            result='role ref set',
            result_doc='a list of references to roles',
            roles=R_READ_ONLY,
        ),
        message(
            'get_permissions_name_label',
            doc='This call returns a list of permission names given a role',
            params=[
                param('self', 'role ref', 'a reference to a role'),
            ],
            result='string set',
            result_doc='a list of permission names',
            roles=R_READ_ONLY,
        ),
        message(
            'get_permissions',
            doc='This call returns a list of permissions given a role',
            params=[
                param('self', 'role ref', 'a reference to a role'),
            ],
            result='role ref set',
            result_doc='a list of permissions',
            roles=R_READ_ONLY,
        ),
    ],
    roles=R_POOL_ADMIN,
)
