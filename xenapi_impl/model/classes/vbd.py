"""The VBD class (reference: xenapi.json)."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, message, param, RO_CTOR, RO_RUN
from xenapi_impl.model.roles import R_VM_ADMIN, R_VM_OP

VBD = cls(
    'VBD',
    'A virtual block device',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('allowed_operations', 'enum vbd_operations set', RO_RUN, default=[],
              doc=('list of the operations allowed in this state. This list is advisory only '
                   'and the server state may have changed by the time this field is read by a '
                   'client.')),
        field('current_operations', '(string -> enum vbd_operations) map', RO_RUN, default={},
              doc=('links each of the running tasks using this object (by reference) to a '
                   'current_operation enum which describes the nature of the task.')),
        field('VM', 'VM ref', RO_CTOR, doc='the virtual machine'),
        field('VDI', 'VDI ref', RO_CTOR, doc='the virtual disk'),
        field('device', 'string', RO_CTOR, default='',
              doc='device seen by the guest, for example, hda1'),
        field('userdevice', 'string', doc='user-friendly device name, for example, 0, 1, 2, etc.'),
        field('bootable', 'bool', doc='true if this VBD is bootable'),
        field('mode', 'enum vbd_mode', RO_CTOR, doc='the mode the VBD should be mounted with'),
        field('type', 'enum vbd_type',
              doc='how the VBD will appear to the guest (for example, disk or CD)'),
        field('unpluggable', 'bool', default=True, doc='true if this VBD will support hot-unplug'),
        field('storage_lock', 'bool', RO_RUN, doc='true if a storage level lock was acquired'),
        field('empty', 'bool', RO_CTOR, doc='if true this represents an empty drive'),
        field('other_config', '(string -> string) map', doc='additional configuration'),
        field('currently_attached', 'bool', RO_CTOR, default=False,
              doc='is the device currently attached (erased on reboot)'),
        field('status_code', 'int', RO_RUN,
              doc='error/success code associated with last attach-operation (erased on reboot)'),
        field('status_detail', 'string', RO_RUN,
              doc=('error/success information associated with last attach-operation status '
                   '(erased on reboot)')),
        field('runtime_properties', '(string -> string) map', RO_RUN,
              doc='Device runtime properties'),
        field('qos/algorithm_type', 'string', doc='QoS algorithm to use'),
        field('qos/algorithm_params', '(string -> string) map',
              doc='parameters for chosen QoS algorithm'),
        field('qos/supported_algorithms', 'string set', RO_RUN,
              doc='supported QoS algorithms for this VBD'),
        field('metrics', 'VBD_metrics ref', RO_RUN, default='OpaqueRef:NULL',
              doc='metrics associated with this VBD'),
    ],
    messages=[
        message(
            'set_mode',
            doc='Sets the mode of the VBD. The power_state of the VM must be halted.',
            params=[
                param('self', 'VBD ref', 'Reference to the object'),
                param('value', 'enum vbd_mode', 'New value to set'),
            ],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'assert_attachable',
            doc=('Throws an error if this VBD could not be attached to this VM if the VM were '
                 'running. Intended for debugging.'),
            params=[
                param('self', 'VBD ref', 'The VBD to query'),
            ],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'unplug_force',
            doc='Forcibly unplug the specified VBD',
            params=[
                param('self', 'VBD ref', 'The VBD to forcibly unplug'),
            ],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'unplug',
            doc='Hot-unplug the specified VBD, dynamically unattaching it from the running VM',
            params=[
                param('self', 'VBD ref', 'The VBD to hot-unplug'),
            ],
            errors=['DEVICE_DETACH_REJECTED', 'DEVICE_ALREADY_DETACHED'],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'plug',
            doc='Hotplug the specified VBD, dynamically attaching it to the running VM',
            params=[
                param('self', 'VBD ref', 'The VBD to hotplug'),
            ],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'insert',
            doc='Insert new media into the device',
            params=[
                param('vbd', 'VBD ref', 'The vbd representing the CDROM-like device'),
                param('vdi', 'VDI ref', "The new VDI to 'insert'"),
            ],
            errors=['VBD_NOT_REMOVABLE_MEDIA', 'VBD_NOT_EMPTY'],
            roles=R_VM_OP,
            is_async=True,
        ),
        message(
            'eject',
            doc='Remove the media from the device and leave it empty',
            params=[
                param('vbd', 'VBD ref', 'The vbd representing the CDROM-like device'),
            ],
            errors=['VBD_NOT_REMOVABLE_MEDIA', 'VBD_IS_EMPTY'],
            roles=R_VM_OP,
            is_async=True,
        ),
    ],
    roles=R_VM_ADMIN, constructor=True,
)
