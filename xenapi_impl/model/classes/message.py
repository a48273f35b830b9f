"""The message class (reference: xenapi.json)."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, message, param, RO_RUN
from xenapi_impl.model.roles import R_POOL_ADMIN, R_POOL_OP, R_READ_ONLY

MESSAGE = cls(
    'message',
    'An message for the attention of the administrator',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('name', 'string', RO_RUN, doc='The name of the message'),
        field('priority', 'int', RO_RUN, doc='The message priority, 0 being low priority'),
        field('cls', 'enum cls', RO_RUN,
              doc='The class of the object this message is associated with'),
        field('obj_uuid', 'string', RO_RUN,
              doc='The uuid of the object this message is associated with'),
        field('timestamp', 'datetime', RO_RUN, doc='The time at which the message was created'),
        field('body', 'string', RO_RUN, doc='The body of the message'),
    ],
    messages=[
        message(
            'get_all_records_where',
            doc='',
            params=[
                param('expr', 'string', 'The expression to match'),
            ],
            result='(message ref -> message record) map',
            result_doc='The messages',
            roles=R_READ_ONLY,
        ),
        message(
            'get_all_records',
            doc='',
            result='(message ref -> message record) map',
            result_doc='The messages',
            roles=R_READ_ONLY,
        ),
        message(
            'get_by_uuid',
            doc='',
            params=[
                param('uuid', 'string', 'The uuid of the message'),
            ],
            result='message ref',
            result_doc='The message reference',
            roles=R_READ_ONLY,
        ),
        message(
            'get_record',
            doc='',
            params=[
                param('self', 'message ref', 'The reference to the message'),
            ],
            result='message record',
            result_doc='The message record',
            roles=R_READ_ONLY,
        ),
        message(
            'get_since',
            doc='',
            params=[
                param('since', 'datetime',
                      'The cutoff time. When the timezone is missing, UTC is assumed'),
            ],
            result='(message ref -> message record) map',
            result_doc='The relevant messages',
            roles=R_READ_ONLY,
        ),
        message(
            'get_all',
            doc='',
            result='message ref set',
            result_doc='The references to the messages',
            roles=R_READ_ONLY,
        ),
        message(
            'get',
            doc='',
            params=[
                param('cls', 'enum cls', 'The class of object'),
                param('obj_uuid', 'string', 'The uuid of the object'),
                param('since', 'datetime',
                      'The cutoff time. When the timezone is missing, UTC is assumed'),
            ],
            result='(message ref -> message record) map',
            result_doc='The relevant messages',
            roles=R_READ_ONLY,
        ),
        message(
            'destroy_all',
            doc='',
            params=[
                param('filters', '(string -> string) map',
                      ('Optional filters identifying messages to destroy: before (RFC3339 '
                       'DateTime, destroy messages dated before this timestamp), after '
                       '(RFC3339 DateTime, destroy messages dated after this timestamp), and '
                       'priority (int, only destroy messages with this priority). All '
                       'provided conditions must be met (logical AND). If no filters are '
                       'provided, all messages are destroyed. If no timezone is specified in '
                       'a timestamp, UTC is assumed.')),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'destroy_many',
            doc='',
            params=[
                param('messages', 'message ref set', 'Messages to destroy'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'destroy',
            doc='',
            params=[
                param('self', 'message ref', 'The reference of the message to destroy'),
            ],
            roles=R_POOL_OP,
        ),
        message(
            'create',
            doc='',
            params=[
                param('name', 'string', 'The name of the message'),
                param('priority', 'int', 'The priority of the message'),
                param('cls', 'enum cls', 'The class of object this message is associated with'),
                param('obj_uuid', 'string',
                      'The uuid of the object this message is associated with'),
                param('body', 'string', 'The body of the message'),
            ],
            result='message ref',
            result_doc='The reference of the created message',
            roles=R_POOL_OP,
        ),
    ],
    roles=R_POOL_ADMIN, get_all=False, accessors=False,
)
