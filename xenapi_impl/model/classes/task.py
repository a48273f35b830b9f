"""The task class (reference: xenapi.json)."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, message, param, RO_RUN
from xenapi_impl.model.roles import R_POOL_ADMIN, R_READ_ONLY

TASK = cls(
    'task',
    'A long-running asynchronous task',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('name/label', 'string', RO_RUN, default='', doc='a human-readable name'),
        field('name/description', 'string', RO_RUN, default='',
              doc='a notes field containing human-readable description'),
        field('allowed_operations', 'enum task_allowed_operations set', RO_RUN, default=[],
              doc=('list of the operations allowed in this state. This list is advisory only '
                   'and the server state may have changed by the time this field is read by a '
                   'client.')),
        field('current_operations', '(string -> enum task_allowed_operations) map', RO_RUN,
              default={},
              doc=('links each of the running tasks using this object (by reference) to a '
                   'current_operation enum which describes the nature of the task.')),
        field('created', 'datetime', RO_RUN, doc='Time task was created'),
        field('finished', 'datetime', RO_RUN,
              doc=('Time task finished (i.e. succeeded or failed). If task-status is pending, '
                   'then the value of this field has no meaning')),
        field('status', 'enum task_status_type', RO_RUN, doc='current status of the task'),
        field('resident_on', 'host ref', RO_RUN, doc='the host on which the task is running'),
        field('progress', 'float', RO_RUN,
              doc=('This field contains the estimated fraction of the task which is complete. '
                   'This field should not be used to determine whether the task is complete - '
                   'for this the status field of the task should be used.')),
        field('type', 'string', RO_RUN,
              doc=('if the task has completed successfully, this field contains the type of '
                   'the encoded result (i.e. name of the class whose reference is in the '
                   'result field). Undefined otherwise.')),
        field('result', 'string', RO_RUN,
              doc=('if the task has completed successfully, this field contains the result '
                   'value (either Void or an object reference). Undefined otherwise.')),
        field('error_info', 'string set', RO_RUN,
              doc=('if the task has failed, this field contains the set of associated error '
                   'strings. Undefined otherwise.')),
        field('other_config', '(string -> string) map', RO_RUN, default={},
              doc='additional configuration'),
        field('subtask_of', 'task ref', RO_RUN, default='OpaqueRef:NULL',
              doc='Ref pointing to the task this is a substask of.'),
        field('subtasks', 'task ref set', RO_RUN, doc='List pointing to all the substasks.'),
        field('backtrace', 'string', RO_RUN, default='()',
              doc='Function call trace for debugging.'),
    ],
    messages=[
        message(
            'set_other_config',
            doc='Set the other_config field of the given task.',
            params=[
                param('self', 'task ref', 'Task object to modify'),
                param('value', '(string -> string) map', 'New value to set'),
            ],
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'remove_from_other_config',
            doc=('Remove the given key and its corresponding value from the other_config field '
                 'of the given task. If the key is not in that Map, then do nothing.'),
            params=[
                param('self', 'task ref', 'Task object to modify'),
                param('key', 'string', 'Key of entry to remove'),
            ],
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'add_to_other_config',
            doc='Add the given key-value pair to the other_config field of the given task.',
            params=[
                param('self', 'task ref', 'Task object to modify'),
                param('key', 'string', 'Key to add'),
                param('value', 'string', 'Value to add'),
            ],
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'set_error_info',
            doc='Set the task error info',
            params=[
                param('self', 'task ref', 'Reference to the task object'),
                param('value', 'string set', 'Task error info to be set'),
            ],
            roles=R_READ_ONLY,
        ),
        message(
            'set_result',
            doc='Set the task result',
            params=[
                param('self', 'task ref', 'Reference to the task object'),
                param('value', 'string', 'Task result to be set'),
            ],
            roles=R_READ_ONLY,
        ),
        message(
            'set_progress',
            doc='Set the task progress',
            params=[
                param('self', 'task ref', 'Reference to the task object'),
                param('value', 'float', 'Task progress value to be set'),
            ],
            roles=R_READ_ONLY,
        ),
        message(
            'set_status',
            doc='Set the task status',
            params=[
                param('self', 'task ref', 'Reference to the task object'),
                param('value', 'enum task_status_type', 'task status value to be set'),
            ],
            roles=R_READ_ONLY,
        ),
        message(
            'cancel',
            doc=('Request that a task be cancelled. Note that a task may fail to be cancelled '
                 'and may complete or fail normally and note that, even when a task does '
                 'cancel, it might take an arbitrary amount of time.'),
            params=[
                param('task', 'task ref', 'The task'),
            ],
            errors=['OPERATION_NOT_ALLOWED'],
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'destroy',
            doc='Destroy the task object',
            params=[
                param('self', 'task ref', 'Reference to the task object'),
            ],
            roles=R_READ_ONLY,
        ),
        message(
            'create',
            doc='Create a new task object which must be manually destroyed.',
            params=[
                param('label', 'string', 'short label for the new task'),
                param('description', 'string', 'longer description for the new task'),
            ],
            result='task ref',
            result_doc='The reference of the created task object',
            roles=R_READ_ONLY,
        ),
    ],
    persistent=False, roles=R_POOL_ADMIN,
)
