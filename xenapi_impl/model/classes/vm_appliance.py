"""The VM_appliance class (reference: xenapi.json): a group of VMs started and shut down
together, in the order of their VM.order (api/vm_appliance.py)."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, message, param, RO_RUN
from xenapi_impl.model.roles import R_POOL_OP, R_READ_ONLY

_OPS_DOC = ('list of the operations allowed in this state. This list is advisory only and the '
            'server state may have changed by the time this field is read by a client.')
_CUR_DOC = ('links each of the running tasks using this object (by reference) to a '
            'current_operation enum which describes the nature of the task.')


def _power(name: str, doc: str, *extra) -> object:
    return message(name, doc=doc,
                   params=[param('self', 'VM_appliance ref', 'The VM appliance'), *extra],
                   errors=['OPERATION_PARTIALLY_FAILED'], roles=R_POOL_OP, is_async=True)


VM_APPLIANCE = cls(
    'VM_appliance',
    'VM appliance',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('name/label', 'string', default='', doc='a human-readable name'),
        field('name/description', 'string', default='',
              doc='a notes field containing human-readable description'),
        field('allowed_operations', 'enum vm_appliance_operation set', RO_RUN, default=[],
              doc=_OPS_DOC),
        field('current_operations', '(string -> enum vm_appliance_operation) map', RO_RUN,
              default={}, doc=_CUR_DOC),
        field('VMs', 'VM ref set', RO_RUN, doc='all VMs in this appliance'),
    ],
    messages=[
        _power('start', 'Start all VMs in the appliance',
               param('paused', 'bool', 'Instantiate all VMs belonging to this appliance in '
                     'paused state if set to true.')),
        _power('clean_shutdown', 'Perform a clean shutdown of all the VMs in the appliance'),
        _power('hard_shutdown', 'Perform a hard shutdown of all the VMs in the appliance'),
        _power('shutdown', 'For each VM in the appliance, try to shut it down cleanly. If this '
               'fails, perform a hard shutdown of the VM.'),
        message(
            'assert_can_be_recovered',
            doc='Assert whether all SRs required to recover this VM appliance are available.',
            params=[
                param('self', 'VM_appliance ref', 'The VM appliance to recover'),
                param('session_to', 'session ref',
                      'The session to which the VM appliance is to be recovered.'),
            ],
            errors=['VM_REQUIRES_SR'],
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'get_SRs_required_for_recovery',
            doc='Get the list of SRs required by the VM appliance to recover.',
            params=[
                param('self', 'VM_appliance ref', 'The VM appliance for which the required list '
                      'of SRs has to be recovered.'),
                param('session_to', 'session ref',
                      'The session to which the list of SRs have to be recovered .'),
            ],
            result='SR ref set',
            result_doc='refs for SRs required to recover the VM',
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'recover',
            doc='Recover the VM appliance',
            params=[
                param('self', 'VM_appliance ref', 'The VM appliance to recover'),
                param('session_to', 'session ref',
                      'The session to which the VM appliance is to be recovered.'),
                param('force', 'bool',
                      'Whether the VMs should replace newer versions of themselves.'),
            ],
            errors=['VM_REQUIRES_SR'],
            roles=R_READ_ONLY,
            is_async=True,
        ),
    ],
    roles=R_POOL_OP, constructor=True,
)
