"""The session class (reference: xenapi.json)."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, message, param, RO_CTOR, RO_RUN
from xenapi_impl.model.roles import R_LOCAL_ROOT_ONLY, R_POOL_ADMIN, R_POOL_OP, R_READ_ONLY

SESSION = cls(
    'session',
    'A session',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('this_host', 'host ref', RO_RUN, doc='Currently connected host'),
        field('this_user', 'user ref', RO_RUN, doc='Currently connected user'),
        field('last_active', 'datetime', RO_RUN, doc='Timestamp for last time session was active'),
        field('pool', 'bool', RO_RUN,
              doc='True if this session relates to a intra-pool login, false otherwise'),
        field('other_config', '(string -> string) map', default={},
              doc='additional configuration'),
        field('is_local_superuser', 'bool', RO_RUN, default=False,
              doc='true iff this session was created using local superuser credentials'),
        field('subject', 'subject ref', RO_RUN, default='OpaqueRef:NULL',
              doc=('references the subject instance that created the session. If a session '
                   'instance has is_local_superuser set, then the value of this field is '
                   'undefined.')),
        field('validation_time', 'datetime', RO_RUN, default='19700101T00:00:00Z',
              doc='time when session was last validated'),
        field('auth_user_sid', 'string', RO_RUN, default='',
              doc=('the subject identifier of the user that was externally authenticated. If '
                   'a session instance has is_local_superuser set, then the value of this '
                   'field is undefined.')),
        field('auth_user_name', 'string', RO_RUN, default='',
              doc=('the subject name of the user that was externally authenticated. If a '
                   'session instance has is_local_superuser set, then the value of this field '
                   'is undefined.')),
        field('rbac_permissions', 'string set', RO_CTOR, default=[],
              doc='list with all RBAC permissions for this session'),
        field('tasks', 'task ref set', RO_RUN,
              doc='list of tasks created using the current session'),
        field('parent', 'session ref', RO_CTOR, default='OpaqueRef:NULL',
              doc='references the parent session that created this session'),
        field('originator', 'string', RO_RUN, default='',
              doc=('a key string provided by a API user to distinguish itself from other '
                   'users sharing the same login name')),
        field('client_certificate', 'bool', RO_RUN, default=False,
              doc='indicates whether this session was authenticated using a client certificate'),
    ],
    messages=[
        message(
            'logout_subject_identifier',
            doc=('Log out all sessions associated to a user subject-identifier, except the '
                 'session associated with the context calling this function'),
            params=[
                param('subject_identifier', 'string',
                      'User subject-identifier of the sessions to be destroyed'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'get_all_subject_identifiers',
            doc='Return a list of all the user subject-identifiers of all existing sessions',
            result='string set',
            result_doc='The list of user subject-identifiers of all existing sessions',
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'local_logout',
            doc='Log out of local session.',
            roles=R_POOL_ADMIN,
        ),
        message(
            'create_from_db_file',
            doc='',
            params=[
                param('filename', 'string', 'Database dump filename.'),
            ],
            result='session ref',
            result_doc='ID of newly created session',
            roles=R_LOCAL_ROOT_ONLY,
            is_async=True,
        ),
        message(
            'slave_local_login_with_password',
            doc=('Authenticate locally against a slave in emergency mode. Note the resulting '
                 'sessions are only good for use on this host.'),
            params=[
                param('uname', 'string', 'Username for login.'),
                param('pwd', 'string', 'Password for login.'),
            ],
            result='session ref',
            result_doc='ID of newly created session',
            roles=R_POOL_ADMIN,
            session=False,
        ),
        message(
            'change_password',
            doc=('Change the account password; if your session is authenticated with root '
                 'privileges then the old_pwd is validated and the new_pwd is set regardless'),
            params=[
                param('old_pwd', 'string', 'Old password for account'),
                param('new_pwd', 'string', 'New password for account'),
            ],
            roles=R_LOCAL_ROOT_ONLY,
        ),
        message(
            'logout',
            doc='Log out of a session',
            roles=R_READ_ONLY,
        ),
        message(
            'login_with_password',
            doc='Attempt to authenticate the user, returning a session reference if successful',
            params=[
                param('uname', 'string', 'Username for login.'),
                param('pwd', 'string', 'Password for login.'),
                param('version', 'string', 'Client API version.', default='1.1'),
                param('originator', 'string',
                      ('Key string for distinguishing different API users sharing the same '
                       'login name.'),
                      default=''),
            ],
            result='session ref',
            result_doc='reference of newly created session',
            errors=['SESSION_AUTHENTICATION_FAILED', 'HOST_IS_SLAVE'],
            roles=R_READ_ONLY,
            session=False,
        ),
    ],
    persistent=False, roles=R_POOL_ADMIN, get_all=False,
)
