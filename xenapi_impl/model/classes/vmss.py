"""The VMSS class (reference: xenapi.json): a snapshot schedule whose VMs are snapshotted at
the times of its schedule, keeping the newest `retained_snapshots` (api/vmss.py)."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, message, param, RO_CTOR, RO_RUN
from xenapi_impl.model.roles import R_LOCAL_ROOT_ONLY, R_POOL_OP

_SELF = param('self', 'VMSS ref', 'The snapshot schedule')

VMSS = cls(
    'VMSS',
    'VM Snapshot Schedule',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('name/label', 'string', default='', doc='a human-readable name'),
        field('name/description', 'string', default='',
              doc='a notes field containing human-readable description'),
        field('enabled', 'bool', default=True, doc='enable or disable this snapshot schedule'),
        field('type', 'enum vmss_type', RO_CTOR, doc='type of the snapshot schedule'),
        field('retained_snapshots', 'int', RO_CTOR, default=7,
              doc='maximum number of snapshots that should be stored at any time'),
        field('frequency', 'enum vmss_frequency', RO_CTOR,
              doc='frequency of taking snapshot from snapshot schedule'),
        field('schedule', '(string -> string) map', RO_CTOR, default={},
              doc=("schedule of the snapshot containing 'hour', 'min', 'days'. Date/time-related "
                   'information is in Local Timezone')),
        field('last_run_time', 'datetime', RO_RUN, default='19700101T00:00:00Z',
              doc='time of the last snapshot'),
        field('VMs', 'VM ref set', RO_RUN, doc='all VMs attached to this snapshot schedule'),
    ],
    messages=[
        message(
            'snapshot_now',
            doc='This call executes the snapshot schedule immediately',
            params=[param('vmss', 'VMSS ref', 'Snapshot Schedule to execute')],
            result='string',
            result_doc='An XMLRPC result',
            roles=R_POOL_OP,
        ),
        message(
            'set_retained_snapshots',
            params=[param('self', 'VMSS ref', 'The schedule snapshot'),
                    param('value', 'int', 'the value to set')],
            roles=R_POOL_OP,
        ),
        message(
            'set_frequency',
            doc='Set the value of the frequency field',
            params=[_SELF, param('value', 'enum vmss_frequency', 'the snapshot schedule frequency')],
            roles=R_POOL_OP,
        ),
        message(
            'set_schedule',
            params=[_SELF, param('value', '(string -> string) map', 'the value to set')],
            roles=R_POOL_OP,
        ),
        message(
            'set_last_run_time',
            params=[_SELF, param('value', 'datetime', 'The time at which the schedule was last '
                                 'run. When the timezone is missing, UTC is assumed')],
            roles=R_LOCAL_ROOT_ONLY,
        ),
        message(
            'add_to_schedule',
            params=[_SELF, param('key', 'string', 'the key to add'),
                    param('value', 'string', 'the value to add')],
            roles=R_POOL_OP,
        ),
        message(
            'remove_from_schedule',
            params=[_SELF, param('key', 'string', 'the key to remove')],
            roles=R_POOL_OP,
        ),
        message(
            'set_type',
            params=[_SELF, param('value', 'enum vmss_type', 'the snapshot schedule type')],
            roles=R_POOL_OP,
        ),
    ],
    roles=R_POOL_OP, constructor=True,
)
