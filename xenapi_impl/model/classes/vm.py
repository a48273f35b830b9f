"""The VM class (reference: xenapi.json)."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, message, param, RO_CTOR, RO_RUN
from xenapi_impl.model.roles import (
    R_CLIENT_CERT, R_POOL_ADMIN, R_POOL_OP, R_READ_ONLY, R_VM_ADMIN, R_VM_OP, R_VM_POWER_ADMIN,
)

VM = cls(
    'VM',
    "A virtual machine (or 'guest').",
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('allowed_operations', 'enum vm_operations set', RO_RUN, default=[],
              doc=('list of the operations allowed in this state. This list is advisory only '
                   'and the server state may have changed by the time this field is read by a '
                   'client.')),
        field('current_operations', '(string -> enum vm_operations) map', RO_RUN, default={},
              doc=('links each of the running tasks using this object (by reference) to a '
                   'current_operation enum which describes the nature of the task.')),
        field('name/label', 'string', default='', doc='a human-readable name'),
        field('name/description', 'string', default='',
              doc='a notes field containing human-readable description'),
        field('power_state', 'enum vm_power_state', RO_CTOR, default='Halted',
              doc='Current power state of the machine'),
        field('user_version', 'int',
              doc='Creators of VMs and templates may store version information here.'),
        field('is_a_template', 'bool',
              doc=('true if this is a template. Template VMs can never be started, they are '
                   'used only for cloning other VMs')),
        field('is_default_template', 'bool', RO_RUN, default=False,
              doc=('true if this is a default template. Default template VMs can never be '
                   'started or migrated, they are used only for cloning other VMs')),
        field('suspend_VDI', 'VDI ref', RO_CTOR, default='OpaqueRef:NULL',
              doc=('The VDI that a suspend image is stored on. (Only has meaning if VM is '
                   'currently suspended)')),
        field('resident_on', 'host ref', RO_RUN, doc='the host the VM is currently resident on'),
        field('scheduled_to_be_resident_on', 'host ref', RO_RUN, default='OpaqueRef:NULL',
              doc=('the host on which the VM is due to be started/resumed/migrated. This acts '
                   'as a memory reservation indicator')),
        field('affinity', 'host ref', write_roles=R_VM_POWER_ADMIN,
              doc=('A host which the VM has some affinity for (or NULL). This is used as a '
                   'hint to the start call when it decides where to run the VM. Resource '
                   'constraints may cause the VM to be started elsewhere.')),
        field('memory/overhead', 'int', RO_RUN, default=0,
              doc='Virtualization memory overhead (bytes).'),
        field('memory/target', 'int', RO_CTOR, default=0,
              doc=('Dynamically-set memory target (bytes). The value of this field indicates '
                   'the current target for memory available to this VM.')),
        field('memory/static_max', 'int', RO_CTOR,
              doc=('Statically-set (i.e. absolute) maximum (bytes). The value of this field '
                   'at VM start time acts as a hard limit of the amount of memory a guest can '
                   'use. New values only take effect on reboot.')),
        field('memory/dynamic_max', 'int', RO_CTOR, doc='Dynamic maximum (bytes)'),
        field('memory/dynamic_min', 'int', RO_CTOR, doc='Dynamic minimum (bytes)'),
        field('memory/static_min', 'int', RO_CTOR,
              doc=('Statically-set (i.e. absolute) mininum (bytes). The value of this field '
                   'indicates the least amount of memory this VM can boot with without '
                   'crashing.')),
        field('VCPUs/params', '(string -> string) map',
              doc='configuration parameters for the selected VCPU policy'),
        field('VCPUs/max', 'int', RO_CTOR, doc='Max number of VCPUs'),
        field('VCPUs/at_startup', 'int', RO_CTOR, doc='Boot number of VCPUs'),
        field('actions/after_softreboot', 'enum on_softreboot_behavior', default='soft_reboot',
              doc='action to take after soft reboot'),
        field('actions/after_shutdown', 'enum on_normal_exit',
              doc='action to take after the guest has shutdown itself'),
        field('actions/after_reboot', 'enum on_normal_exit',
              doc='action to take after the guest has rebooted itself'),
        field('actions/after_crash', 'enum on_crash_behaviour', RO_CTOR,
              doc='action to take if the guest crashes'),
        field('consoles', 'console ref set', RO_RUN, doc='virtual console devices'),
        field('VIFs', 'VIF ref set', RO_RUN, doc='virtual network interfaces'),
        field('VBDs', 'VBD ref set', RO_RUN, doc='virtual block devices'),
        field('VUSBs', 'VUSB ref set', RO_RUN, doc='virtual usb devices'),
        field('crash_dumps', 'crashdump ref set', RO_RUN,
              doc='crash dumps associated with this VM'),
        field('VTPMs', 'VTPM ref set', RO_RUN, doc='virtual TPMs'),
        field('PV/bootloader', 'string', doc='name of or path to bootloader'),
        field('PV/kernel', 'string', doc='path to the kernel'),
        field('PV/ramdisk', 'string', doc='path to the initrd'),
        field('PV/args', 'string', doc='kernel command-line arguments'),
        field('PV/bootloader_args', 'string', doc='miscellaneous arguments for the bootloader'),
        field('PV/legacy_args', 'string', doc='to make Zurich guests boot'),
        field('HVM/boot_policy', 'string', RO_CTOR, doc='HVM boot policy'),
        field('HVM/boot_params', '(string -> string) map', doc='HVM boot params'),
        field('HVM/shadow_multiplier', 'float', RO_CTOR, default=1.0,
              doc=('multiplier applied to the amount of shadow that will be made available to '
                   'the guest')),
        field('platform', '(string -> string) map', RO_CTOR,
              doc='platform-specific configuration'),
        field('PCI_bus', 'string', doc='PCI bus path for pass-through devices'),
        field('other_config', '(string -> string) map', RO_CTOR, doc='additional configuration'),
        field('domid', 'int', RO_RUN, doc='domain ID (if available, -1 otherwise)'),
        field('domarch', 'string', RO_RUN,
              doc='Domain architecture (if available, null string otherwise)'),
        field('last_boot_CPU_flags', '(string -> string) map', RO_CTOR, default={},
              doc='describes the CPU flags on which the VM was last booted'),
        field('is_control_domain', 'bool', RO_RUN,
              doc='true if this is a control domain (domain 0 or a driver domain)'),
        field('metrics', 'VM_metrics ref', RO_RUN, doc='metrics associated with this VM'),
        field('guest_metrics', 'VM_guest_metrics ref', RO_RUN,
              doc='metrics associated with the running guest'),
        field('last_booted_record', 'string', RO_CTOR, default='',
              doc='marshalled value containing VM record at time of last boot'),
        field('recommendations', 'string',
              doc=('An XML specification of recommended values and ranges for properties of '
                   'this VM')),
        field('xenstore_data', '(string -> string) map', default={},
              doc=('data to be inserted into the xenstore tree '
                   '(/local/domain/<domid>/vm-data) after the VM is created.')),
        field('ha_always_run', 'bool', RO_CTOR, default=False,
              doc=('if true then the system will attempt to keep the VM running as much as '
                   'possible.')),
        field('ha_restart_priority', 'string', RO_CTOR, default='',
              doc=('has possible values: "best-effort" meaning "try to restart this VM if '
                   "possible but don't consider the Pool to be overcommitted if this is not "
                   'possible"; "restart" meaning "this VM should be restarted"; "" meaning '
                   '"do not try to restart this VM"')),
        field('is_a_snapshot', 'bool', RO_RUN, default=False,
              doc=('true if this is a snapshot. Snapshotted VMs can never be started, they '
                   'are used only for cloning other VMs')),
        field('snapshot_of', 'VM ref', RO_RUN, default='OpaqueRef:NULL',
              doc='Ref pointing to the VM this snapshot is of.'),
        field('snapshots', 'VM ref set', RO_RUN, doc='List pointing to all the VM snapshots.'),
        field('snapshot_time', 'datetime', RO_RUN, default='19700101T00:00:00Z',
              doc='Date/time when this snapshot was created.'),
        field('transportable_snapshot_id', 'string', RO_RUN, default='',
              doc='Transportable ID of the snapshot VM'),
        field('blobs', '(string -> blob ref) map', RO_RUN, default={},
              doc='Binary blobs associated with this VM'),
        field('tags', 'string set', default=[], write_roles=R_VM_OP,
              doc='user-specified tags for categorization purposes'),
        field('blocked_operations', '(enum vm_operations -> string) map', RO_CTOR, default={},
              doc='List of operations which have been explicitly blocked and an error code'),
        field('snapshot_info', '(string -> string) map', RO_RUN, default={},
              doc='Human-readable information concerning this snapshot'),
        field('snapshot_metadata', 'string', RO_RUN, default='',
              doc="Encoded information about the VM's metadata this is a snapshot of"),
        field('parent', 'VM ref', RO_RUN, default='OpaqueRef:NULL',
              doc='Ref pointing to the parent of this VM'),
        field('children', 'VM ref set', RO_RUN,
              doc='List pointing to all the children of this VM'),
        field('bios_strings', '(string -> string) map', RO_RUN, default={}, doc='BIOS strings'),
        field('protection_policy', 'VMPP ref', RO_CTOR, default='OpaqueRef:NULL',
              doc='Ref pointing to a protection policy for this VM'),
        field('is_snapshot_from_vmpp', 'bool', RO_CTOR, default=False,
              doc='true if this snapshot was created by the protection policy'),
        field('snapshot_schedule', 'VMSS ref', RO_CTOR, default='OpaqueRef:NULL',
              doc='Ref pointing to a snapshot schedule for this VM'),
        field('is_vmss_snapshot', 'bool', RO_CTOR, default=False,
              doc='true if this snapshot was created by the snapshot schedule'),
        field('appliance', 'VM_appliance ref', RO_CTOR, default='OpaqueRef:NULL',
              doc='the appliance to which this VM belongs'),
        field('start_delay', 'int', RO_CTOR, default=0,
              doc=('The delay to wait before proceeding to the next order in the startup '
                   'sequence (seconds)')),
        field('shutdown_delay', 'int', RO_CTOR, default=0,
              doc=('The delay to wait before proceeding to the next order in the shutdown '
                   'sequence (seconds)')),
        field('order', 'int', RO_CTOR, default=0,
              doc=('The point in the startup or shutdown sequence at which this VM will be '
                   'started')),
        field('VGPUs', 'VGPU ref set', RO_RUN, doc='Virtual GPUs'),
        field('attached_PCIs', 'PCI ref set', RO_RUN, doc='Currently passed-through PCI devices'),
        field('suspend_SR', 'SR ref', default='OpaqueRef:NULL',
              doc='The SR on which a suspend image is stored'),
        field('version', 'int', RO_CTOR, default=0,
              doc='The number of times this VM has been recovered'),
        field('generation_id', 'string', RO_CTOR, default='0:0', doc='Generation ID of the VM'),
        field('hardware_platform_version', 'int', default=0,
              doc='The host virtual hardware platform version the VM can run on'),
        field('has_vendor_device', 'bool', RO_CTOR, default=True,
              doc=('When an HVM guest starts, this controls the presence of the emulated C000 '
                   'PCI device which triggers Windows Update to fetch or update PV drivers.')),
        field('requires_reboot', 'bool', RO_RUN, default=False,
              doc=('Indicates whether a VM requires a reboot in order to update its '
                   'configuration, for example, its memory allocation.')),
        field('reference_label', 'string', RO_CTOR, default='',
              doc=('Textual reference to the template used to create a VM. This can be used '
                   'by clients in need of an immutable reference to the template since the '
                   "latter's uuid and name_label may change, for example, after a package "
                   'installation or upgrade.')),
        field('domain_type', 'enum domain_type', RO_CTOR, default='unspecified',
              doc='The type of domain that will be created when the VM is started'),
        field('NVRAM', '(string -> string) map', RO_CTOR, default={},
              doc=('initial value for guest NVRAM (containing UEFI variables, etc). Cannot be '
                   'changed while the VM is running')),
        field('pending_guidances', 'enum update_guidances set', RO_RUN, default=[],
              doc=('The set of pending mandatory guidances after applying updates, which must '
                   'be applied, otherwise there may be, for example, VM failures')),
        field('pending_guidances_recommended', 'enum update_guidances set', RO_RUN, default=[],
              doc=('The set of pending recommended guidances after applying updates, which '
                   'most users should follow to make the updates effective, but if not '
                   'followed, will not cause a failure')),
        field('pending_guidances_full', 'enum update_guidances set', RO_RUN, default=[],
              doc=('The set of pending full guidances after applying updates, which a user '
                   'should follow to make some updates, for example, specific hardware '
                   "drivers or CPU features, fully effective, but the 'average user' doesn't "
                   'need to')),
        field('groups', 'VM_group ref set', RO_RUN, doc='VM groups associated with the VM'),
        field('secureboot_certificates_state', 'enum vm_secureboot_certificates_state', RO_RUN,
              default='ok',
              doc=('The state of the Secure Boot certificates, showing whether an update is '
                   'available, already scheduled, or not needed.')),
    ],
    messages=[
        message(
            'set_platform',
            doc='Set the platform field of the given VM.',
            params=[
                param('self', 'VM ref', 'reference to object'),
                param('value', '(string -> string) map', 'New value to set'),
            ],
            roles=R_VM_ADMIN,
        ),
        message(
            'remove_from_platform',
            doc=('Remove the given key and its corresponding value from the platform field of '
                 'the given VM. If the key is not in that Map, then do nothing.'),
            params=[
                param('self', 'VM ref', 'reference to object'),
                param('key', 'string', 'Key of entry to remove'),
            ],
            roles=R_VM_ADMIN,
        ),
        message(
            'add_to_platform',
            doc='Add the given key-value pair to the platform field of the given VM.',
            params=[
                param('self', 'VM ref', 'reference to object'),
                param('key', 'string', 'Key to add'),
                param('value', 'string', 'Value to add'),
            ],
            roles=R_VM_ADMIN,
        ),
        message(
            'set_other_config',
            doc='Set the other_config field of the given VM.',
            params=[
                param('self', 'VM ref', 'reference to object'),
                param('value', '(string -> string) map', 'New value to set'),
            ],
            roles=R_VM_ADMIN,
        ),
        message(
            'remove_from_other_config',
            doc=('Remove the given key and its corresponding value from the other_config field '
                 'of the given VM. If the key is not in that Map, then do nothing.'),
            params=[
                param('self', 'VM ref', 'reference to object'),
                param('key', 'string', 'Key of entry to remove'),
            ],
            roles=R_VM_ADMIN,
        ),
        message(
            'add_to_other_config',
            doc='Add the given key-value pair to the other_config field of the given VM.',
            params=[
                param('self', 'VM ref', 'reference to object'),
                param('key', 'string', 'Key to add'),
                param('value', 'string', 'Value to add'),
            ],
            roles=R_VM_ADMIN,
        ),
        message(
            'sysprep',
            doc=('Pass unattend.xml to Windows sysprep and wait for the VM to shut down as '
                 'part of a reboot.'),
            params=[
                param('self', 'VM ref', 'The VM'),
                param('unattend', 'string', 'XML content passed to sysprep'),
                param('timeout', 'float', 'timeout in seconds for expected reboot'),
            ],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'remove_from_blocked_operations',
            doc='Update list of operations which have been explicitly blocked and an error code',
            params=[
                param('self', 'VM ref', 'The VM'),
                param('key', 'enum vm_operations', 'Blocked operation'),
            ],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'add_to_blocked_operations',
            doc='Update list of operations which have been explicitly blocked and an error code',
            params=[
                param('self', 'VM ref', 'The VM'),
                param('key', 'enum vm_operations', 'Blocked operation'),
                param('value', 'string', 'Error code'),
            ],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'set_blocked_operations',
            doc='Update list of operations which have been explicitly blocked and an error code',
            params=[
                param('self', 'VM ref', 'The VM'),
                param('value', '(enum vm_operations -> string) map', 'Blocked operations'),
            ],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'update_secureboot_certificates_on_boot',
            doc='Mark or unmark secure boot certificate update on VM boot',
            params=[
                param('self', 'VM ref', 'The VM'),
                param('mark', 'bool',
                      ('If true: mark certificates for update on next boot. If false: remove '
                       'the mark')),
            ],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'get_secureboot_readiness',
            doc='Return the secureboot readiness of the VM',
            params=[
                param('self', 'VM ref', 'The VM'),
            ],
            result='enum vm_secureboot_readiness',
            result_doc='The secureboot readiness of the VM',
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'set_uefi_mode',
            doc='Set the UEFI mode of a VM',
            params=[
                param('self', 'VM ref', 'The VM'),
                param('mode', 'enum vm_uefi_mode', 'The UEFI mode to set'),
            ],
            result='string',
            result_doc='Result from the varstore-sb-state call',
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'restart_device_models',
            doc='Restart device models of the VM',
            params=[
                param('self', 'VM ref', 'The VM'),
            ],
            errors=[
                'VM_BAD_POWER_STATE', 'OTHER_OPERATION_IN_PROGRESS', 'VM_IS_TEMPLATE',
                'OPERATION_NOT_ALLOWED', 'VM_BAD_POWER_STATE',
            ],
            roles=R_VM_POWER_ADMIN | R_CLIENT_CERT,
            is_async=True,
        ),
        message(
            'set_HVM_boot_policy',
            doc=('Set the VM.HVM_boot_policy field of the given VM, which will take effect '
                 'when it is next started'),
            params=[
                param('self', 'VM ref', 'The VM'),
                param('value', 'string', 'The new HVM boot policy'),
            ],
            roles=R_VM_ADMIN,
        ),
        message(
            'set_domain_type',
            doc=('Set the VM.domain_type field of the given VM, which will take effect when it '
                 'is next started'),
            params=[
                param('self', 'VM ref', 'The VM'),
                param('value', 'enum domain_type', 'The new domain type'),
            ],
            roles=R_VM_ADMIN,
        ),
        message(
            'set_actions_after_crash',
            doc='Sets the actions_after_crash parameter',
            params=[
                param('self', 'VM ref', 'The VM to set'),
                param('value', 'enum on_crash_behaviour', 'The new value to set'),
            ],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'import',
            doc='Import an XVA from a URI',
            params=[
                param('url', 'string', 'The URL of the XVA file'),
                param('sr', 'SR ref', 'The destination SR for the disks'),
                param('full_restore', 'bool', 'Perform a full restore'),
                param('force', 'bool', 'Force the import'),
            ],
            result='VM ref set',
            result_doc='Imported VM reference',
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'set_has_vendor_device',
            doc=('Controls whether, when the VM starts in HVM mode, its virtual hardware will '
                 'include the emulated PCI device for which drivers may be available through '
                 'Windows Update. Usually this should never be changed on a VM on which '
                 'Windows has been installed: changing it on such a VM is likely to lead to a '
                 'crash on next start.'),
            params=[
                param('self', 'VM ref', 'The VM on which to set this flag'),
                param('value', 'bool', 'True to provide the vendor PCI device.'),
            ],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'call_host_plugin',
            doc='Call an API plugin on the host where this vm resides',
            params=[
                param('vm', 'VM ref', 'The vm'),
                param('plugin', 'string', 'The name of the plugin'),
                param('fn', 'string', 'The name of the function within the plugin'),
                param('args', '(string -> string) map', 'Arguments for the function'),
            ],
            result='string',
            result_doc='Result from the plugin',
            roles=R_VM_OP,
            is_async=True,
        ),
        message(
            'call_plugin',
            doc='Call an API plugin on this vm',
            params=[
                param('vm', 'VM ref', 'The vm'),
                param('plugin', 'string', 'The name of the plugin'),
                param('fn', 'string', 'The name of the function within the plugin'),
                param('args', '(string -> string) map', 'Arguments for the function'),
            ],
            result='string',
            result_doc='Result from the plugin',
            roles=R_VM_OP,
            is_async=True,
        ),
        message(
            'query_services',
            doc=('Query the system services advertised by this VM and register them. This can '
                 'only be applied to a system domain.'),
            params=[
                param('self', 'VM ref', 'The VM'),
            ],
            result='(string -> string) map',
            result_doc='map of service type to name',
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'set_groups',
            doc='Associate this VM with VM groups.',
            params=[
                param('self', 'VM ref', 'The VM'),
                param('value', 'VM_group ref set', 'The VM groups to set'),
            ],
            errors=['OPERATION_NOT_ALLOWED'],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'set_appliance',
            doc='Assign this VM to an appliance.',
            params=[
                param('self', 'VM ref', 'The VM to assign to an appliance.'),
                param('value', 'VM_appliance ref',
                      'The appliance to which this VM should be assigned.'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'import_convert',
            doc='Import using a conversion service.',
            params=[
                param('type', 'string', 'Type of the conversion'),
                param('username', 'string', 'Admin username on the host'),
                param('password', 'string', 'Password on the host'),
                param('sr', 'SR ref', 'The destination SR'),
                param('remote_config', '(string -> string) map', 'Remote configuration options'),
            ],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'recover',
            doc='Recover the VM',
            params=[
                param('self', 'VM ref', 'The VM to recover'),
                param('session_to', 'session ref',
                      'The session to which the VM is to be recovered.'),
                param('force', 'bool', 'Whether the VM should replace newer versions of itself.'),
            ],
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'get_SRs_required_for_recovery',
            doc="List all the SR's that are required for the VM to be recovered",
            params=[
                param('self', 'VM ref', 'The VM for which the SRs have to be recovered'),
                param('session_to', 'session ref',
                      'The session to which the SRs of the VM have to be recovered.'),
            ],
            result='SR ref set',
            result_doc='refs for SRs required to recover the VM',
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'assert_can_be_recovered',
            doc='Assert whether all SRs required to recover this VM are available.',
            params=[
                param('self', 'VM ref', 'The VM to recover'),
                param('session_to', 'session ref',
                      'The session to which the VM is to be recovered.'),
            ],
            errors=['VM_IS_PART_OF_AN_APPLIANCE', 'VM_REQUIRES_SR'],
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'set_suspend_VDI',
            doc="Set this VM's suspend VDI, which must be indentical to its current one",
            params=[
                param('self', 'VM ref', 'The VM'),
                param('value', 'VDI ref', 'The suspend VDI uuid'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'set_order',
            doc="Set this VM's boot order",
            params=[
                param('self', 'VM ref', 'The VM'),
                param('value', 'int', "This VM's boot order"),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'set_shutdown_delay',
            doc="Set this VM's shutdown delay in seconds",
            params=[
                param('self', 'VM ref', 'The VM'),
                param('value', 'int', "This VM's shutdown delay in seconds"),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'set_start_delay',
            doc="Set this VM's start delay in seconds",
            params=[
                param('self', 'VM ref', 'The VM'),
                param('value', 'int', "This VM's start delay in seconds"),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'set_snapshot_schedule',
            doc='Set the value of the snapshot schedule field',
            params=[
                param('self', 'VM ref', 'The VM'),
                param('value', 'VMSS ref', 'The value'),
            ],
            roles=R_POOL_OP,
        ),
        message(
            'set_protection_policy',
            doc='Set the value of the protection_policy field',
            params=[
                param('self', 'VM ref', 'The VM'),
                param('value', 'VMPP ref', 'The value'),
            ],
            roles=R_POOL_OP,
        ),
        message(
            'copy_bios_strings',
            doc='Copy the BIOS strings from the given host to this VM',
            params=[
                param('vm', 'VM ref', 'The VM to modify'),
                param('host', 'host ref', 'The host to copy the BIOS strings from'),
            ],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'set_bios_strings',
            doc=('Set custom BIOS strings to this VM. VM will be given a default set of BIOS '
                 'strings, only some of which can be overridden by the supplied values. '
                 "Allowed keys are: 'bios-vendor', 'bios-version', 'system-manufacturer', "
                 "'system-product-name', 'system-version', 'system-serial-number', "
                 "'enclosure-asset-tag', 'baseboard-manufacturer', 'baseboard-product-name', "
                 "'baseboard-version', 'baseboard-serial-number', 'baseboard-asset-tag', "
                 "'baseboard-location-in-chassis', 'enclosure-asset-tag'"),
            params=[
                param('self', 'VM ref', 'The VM to modify'),
                param('value', '(string -> string) map',
                      'The custom BIOS strings as a list of key-value pairs'),
            ],
            errors=['VM_BIOS_STRINGS_ALREADY_SET', 'INVALID_VALUE'],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'retrieve_wlb_recommendations',
            doc=('Returns mapping of hosts to ratings, indicating the suitability of starting '
                 'the VM at that location according to wlb. Rating is replaced with an error '
                 'if the VM cannot boot there.'),
            params=[
                param('vm', 'VM ref', 'The VM'),
            ],
            result='(host ref -> string set) map',
            result_doc='The potential hosts and their corresponding recommendations or errors',
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'assert_agile',
            doc=('Returns an error if the VM is not considered agile, for example, because it '
                 'is tied to a resource local to a host'),
            params=[
                param('self', 'VM ref', 'The VM'),
            ],
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'create_new_blob',
            doc=('Create a placeholder for a named binary blob of data that is associated with '
                 'this VM'),
            params=[
                param('vm', 'VM ref', 'The VM'),
                param('name', 'string', 'The name associated with the blob'),
                param('mime_type', 'string',
                      ('The mime type for the data. Empty string translates to '
                       'application/octet-stream')),
                param('public', 'bool', 'True if the blob should be publicly available',
                      default=False),
            ],
            result='blob ref',
            result_doc='The reference of the blob, needed for populating its data',
            roles=R_VM_POWER_ADMIN,
            is_async=True,
        ),
        message(
            'assert_can_boot_here',
            doc='Returns an error if the VM could not boot on this host for some reason',
            params=[
                param('self', 'VM ref', 'The VM'),
                param('host', 'host ref', 'The host'),
            ],
            errors=[
                'HOST_NOT_ENOUGH_FREE_MEMORY', 'HOST_NOT_ENOUGH_PCPUS',
                'NETWORK_SRIOV_INSUFFICIENT_CAPACITY', 'HOST_NOT_LIVE', 'HOST_DISABLED',
                'HOST_CANNOT_ATTACH_NETWORK', 'VM_HVM_REQUIRED', 'VM_REQUIRES_GPU',
                'VM_REQUIRES_IOMMU', 'VM_REQUIRES_NETWORK', 'VM_REQUIRES_SR', 'VM_REQUIRES_VGPU',
                'VM_HOST_INCOMPATIBLE_VERSION',
                'VM_HOST_INCOMPATIBLE_VIRTUAL_HARDWARE_PLATFORM_VERSION', 'INVALID_VALUE',
                'MEMORY_CONSTRAINT_VIOLATION', 'OPERATION_NOT_ALLOWED', 'VALUE_NOT_SUPPORTED',
                'VM_INCOMPATIBLE_WITH_THIS_HOST',
            ],
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'get_possible_hosts',
            doc='Return the list of hosts on which this VM may run.',
            params=[
                param('vm', 'VM ref', 'The VM'),
            ],
            result='host ref set',
            result_doc='The possible hosts',
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'get_allowed_VIF_devices',
            doc='Returns a list of the allowed values that a VIF device field can take',
            params=[
                param('vm', 'VM ref', 'The VM to query'),
            ],
            result='string set',
            result_doc='The allowed values',
            roles=R_READ_ONLY,
        ),
        message(
            'get_allowed_VBD_devices',
            doc='Returns a list of the allowed values that a VBD device field can take',
            params=[
                param('vm', 'VM ref', 'The VM to query'),
            ],
            result='string set',
            result_doc='The allowed values',
            roles=R_READ_ONLY,
        ),
        message(
            'update_allowed_operations',
            doc='Recomputes the list of acceptable operations',
            params=[
                param('self', 'VM ref', 'reference to the object'),
            ],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'assert_operation_valid',
            doc=('Check to see whether this operation is acceptable in the current state of '
                 'the system, raising an error if the operation is invalid for some reason'),
            params=[
                param('self', 'VM ref', 'reference to the object'),
                param('op', 'enum vm_operations', 'proposed operation'),
            ],
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'forget_data_source_archives',
            doc='Forget the recorded statistics related to the specified data source',
            params=[
                param('self', 'VM ref', 'The VM'),
                param('data_source', 'string',
                      'The data source whose archives are to be forgotten'),
            ],
            roles=R_VM_ADMIN,
        ),
        message(
            'query_data_source',
            doc='Query the latest value of the specified data source',
            params=[
                param('self', 'VM ref', 'The VM'),
                param('data_source', 'string', 'The data source to query'),
            ],
            result='float',
            result_doc='The latest value, averaged over the last 5 seconds',
            roles=R_READ_ONLY,
        ),
        message(
            'record_data_source',
            doc='Start recording the specified data source',
            params=[
                param('self', 'VM ref', 'The VM'),
                param('data_source', 'string', 'The data source to record'),
            ],
            roles=R_VM_ADMIN,
        ),
        message(
            'get_data_sources',
            doc='',
            params=[
                param('self', 'VM ref', 'The VM to interrogate'),
            ],
            result='data_source record set',
            result_doc='A set of data sources',
            roles=R_READ_ONLY,
        ),
        message(
            'get_boot_record',
            doc=("Returns a record describing the VM's dynamic state, initialised when the VM "
                 'boots and updated to reflect runtime configuration changes, for example CPU '
                 'hotplug'),
            params=[
                param('self', 'VM ref', 'The VM whose boot-time state to return'),
            ],
            result='VM record',
            result_doc='A record describing the VM',
            roles=R_READ_ONLY,
        ),
        message(
            'assert_can_migrate',
            doc='Assert whether a VM can be migrated to the specified destination.',
            params=[
                param('vm', 'VM ref', 'The VM'),
                param('dest', '(string -> string) map',
                      'The result of a Host.migrate_receive call.'),
                param('live', 'bool', 'Live migration'),
                param('vdi_map', '(VDI ref -> SR ref) map', 'Map of source VDI to destination SR'),
                param('vif_map', '(VIF ref -> network ref) map',
                      'Map of source VIF to destination network'),
                param('options', '(string -> string) map', 'Other parameters'),
                param('vgpu_map', '(VGPU ref -> GPU_group ref) map',
                      'Map of source vGPU to destination GPU group', default={}),
            ],
            errors=['LICENCE_RESTRICTION'],
            roles=R_VM_POWER_ADMIN,
            is_async=True,
        ),
        message(
            'migrate_send',
            doc=('Migrate the VM to another host.  This can only be called when the specified '
                 'VM is in the Running state.'),
            params=[
                param('vm', 'VM ref', 'The VM'),
                param('dest', '(string -> string) map',
                      'The result of a Host.migrate_receive call.'),
                param('live', 'bool', 'Live migration'),
                param('vdi_map', '(VDI ref -> SR ref) map', 'Map of source VDI to destination SR'),
                param('vif_map', '(VIF ref -> network ref) map',
                      'Map of source VIF to destination network'),
                param('options', '(string -> string) map', 'Other parameters'),
                param('vgpu_map', '(VGPU ref -> GPU_group ref) map',
                      'Map of source vGPU to destination GPU group', default={}),
                param('vdi_format_map', '(VDI ref -> string) map',
                      "Map of source VDI to it's expected type on destination", default={}),
            ],
            result='VM ref',
            result_doc='The reference of the newly created VM in the destination pool',
            errors=['VM_BAD_POWER_STATE', 'LICENCE_RESTRICTION'],
            roles=R_VM_POWER_ADMIN,
            is_async=True,
        ),
        message(
            'maximise_memory',
            doc=('Returns the maximum amount of guest memory which will fit, together with '
                 "overheads, in the supplied amount of physical memory. If 'exact' is true "
                 "then an exact calculation is performed using the VM's current settings. If "
                 "'exact' is false then a more conservative approximation is used"),
            params=[
                param('self', 'VM ref', 'The VM'),
                param('total', 'int', 'Total amount of physical RAM to fit within'),
                param('approximate', 'bool',
                      ("If false the limit is calculated with the guest's current exact "
                       'configuration. Otherwise a more approximate calculation is performed')),
            ],
            result='int',
            result_doc='The maximum possible static-max',
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'send_trigger',
            doc=('Send the named trigger to this VM.  This can only be called when the '
                 'specified VM is in the Running state.'),
            params=[
                param('vm', 'VM ref', 'The VM'),
                param('trigger', 'string', 'The trigger to send'),
            ],
            errors=['VM_BAD_POWER_STATE'],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'send_sysrq',
            doc=('Send the given key as a sysrq to this VM.  The key is specified as a single '
                 'character (a String of length 1).  This can only be called when the '
                 'specified VM is in the Running state.'),
            params=[
                param('vm', 'VM ref', 'The VM'),
                param('key', 'string', 'The key to send'),
            ],
            errors=['VM_BAD_POWER_STATE'],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'set_VCPUs_at_startup',
            doc='Set the number of startup VCPUs for a halted VM',
            params=[
                param('self', 'VM ref', 'The VM'),
                param('value', 'int', 'The new maximum number of VCPUs'),
            ],
            roles=R_VM_ADMIN,
        ),
        message(
            'set_VCPUs_max',
            doc='Set the maximum number of VCPUs for a halted VM',
            params=[
                param('self', 'VM ref', 'The VM'),
                param('value', 'int', 'The new maximum number of VCPUs'),
            ],
            roles=R_VM_ADMIN,
        ),
        message(
            'set_shadow_multiplier_live',
            doc='Set the shadow memory multiplier on a running VM',
            params=[
                param('self', 'VM ref', 'The VM'),
                param('multiplier', 'float', 'The new shadow memory multiplier to set'),
            ],
            roles=R_VM_POWER_ADMIN,
            is_async=True,
        ),
        message(
            'set_HVM_shadow_multiplier',
            doc='Set the shadow memory multiplier on a halted VM',
            params=[
                param('self', 'VM ref', 'The VM'),
                param('value', 'float', 'The new shadow memory multiplier to set'),
            ],
            roles=R_VM_POWER_ADMIN,
        ),
        message(
            'get_cooperative',
            doc=("Return true if the VM is currently 'co-operative' i.e. is expected to reach "
                 'a balloon target and actually has done'),
            params=[
                param('self', 'VM ref', 'The VM'),
            ],
            result='bool',
            result_doc="true if the VM is currently 'co-operative'; false otherwise",
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'wait_memory_target_live',
            doc='Wait for a running VM to reach its current memory target',
            params=[
                param('self', 'VM ref', 'The VM'),
            ],
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'set_memory_target_live',
            doc='Set the memory target for a running VM',
            params=[
                param('self', 'VM ref', 'The VM'),
                param('target', 'int', 'The target in bytes'),
            ],
            roles=R_VM_POWER_ADMIN,
            is_async=True,
        ),
        message(
            'set_memory',
            doc=('Set the memory allocation of this VM. Sets all of memory_static_max, '
                 'memory_dynamic_min, and memory_dynamic_max to the given value, and leaves '
                 'memory_static_min untouched.'),
            params=[
                param('self', 'VM ref', 'The VM'),
                param('value', 'int', 'The new memory allocation (bytes).'),
            ],
            roles=R_VM_POWER_ADMIN,
            is_async=True,
        ),
        message(
            'set_memory_limits',
            doc='Set the memory limits of this VM.',
            params=[
                param('self', 'VM ref', 'The VM'),
                param('static_min', 'int', 'The new value of memory_static_min.'),
                param('static_max', 'int', 'The new value of memory_static_max.'),
                param('dynamic_min', 'int', 'The new value of memory_dynamic_min.'),
                param('dynamic_max', 'int', 'The new value of memory_dynamic_max.'),
            ],
            roles=R_VM_POWER_ADMIN,
            is_async=True,
        ),
        message(
            'set_memory_static_range',
            doc=('Set the static (ie boot-time) range of virtual memory that the VM is allowed '
                 'to use.'),
            params=[
                param('self', 'VM ref', 'The VM'),
                param('min', 'int', 'The new minimum value'),
                param('max', 'int', 'The new maximum value'),
            ],
            roles=R_VM_POWER_ADMIN,
            is_async=True,
        ),
        message(
            'set_memory_static_min',
            doc='Set the value of the memory_static_min field',
            params=[
                param('self', 'VM ref', 'The VM to modify'),
                param('value', 'int', 'The new value of memory_static_min'),
            ],
            roles=R_VM_POWER_ADMIN,
        ),
        message(
            'set_memory_static_max',
            doc='Set the value of the memory_static_max field',
            params=[
                param('self', 'VM ref', 'The VM to modify'),
                param('value', 'int', 'The new value of memory_static_max'),
            ],
            errors=['HA_OPERATION_WOULD_BREAK_FAILOVER_PLAN'],
            roles=R_VM_POWER_ADMIN,
        ),
        message(
            'set_memory_dynamic_range',
            doc='Set the minimum and maximum amounts of physical memory the VM is allowed to use.',
            params=[
                param('self', 'VM ref', 'The VM'),
                param('min', 'int', 'The new minimum value'),
                param('max', 'int', 'The new maximum value'),
            ],
            roles=R_VM_POWER_ADMIN,
            is_async=True,
        ),
        message(
            'set_memory_dynamic_min',
            doc='Set the value of the memory_dynamic_min field',
            params=[
                param('self', 'VM ref', 'The VM to modify'),
                param('value', 'int', 'The new value of memory_dynamic_min'),
            ],
            roles=R_VM_POWER_ADMIN,
        ),
        message(
            'set_memory_dynamic_max',
            doc='Set the value of the memory_dynamic_max field',
            params=[
                param('self', 'VM ref', 'The VM to modify'),
                param('value', 'int', 'The new value of memory_dynamic_max'),
            ],
            roles=R_VM_POWER_ADMIN,
        ),
        message(
            'compute_memory_overhead',
            doc='Computes the virtualization memory overhead of a VM.',
            params=[
                param('vm', 'VM ref', 'The VM for which to compute the memory overhead'),
            ],
            result='int',
            result_doc='the virtualization memory overhead of the VM.',
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'set_ha_always_run',
            doc='Set the value of the ha_always_run',
            params=[
                param('self', 'VM ref', 'The VM'),
                param('value', 'bool', 'The value'),
            ],
            roles=R_POOL_OP,
        ),
        message(
            'set_ha_restart_priority',
            doc='Set the value of the ha_restart_priority field',
            params=[
                param('self', 'VM ref', 'The VM'),
                param('value', 'string', 'The value'),
            ],
            roles=R_POOL_OP,
        ),
        message(
            'remove_from_NVRAM',
            doc='',
            params=[
                param('self', 'VM ref', 'The VM'),
                param('key', 'string', 'The key'),
            ],
            roles=R_VM_ADMIN,
        ),
        message(
            'add_to_NVRAM',
            doc='',
            params=[
                param('self', 'VM ref', 'The VM'),
                param('key', 'string', 'The key'),
                param('value', 'string', 'The value'),
            ],
            roles=R_VM_ADMIN,
        ),
        message(
            'set_NVRAM',
            doc='',
            params=[
                param('self', 'VM ref', 'The VM'),
                param('value', '(string -> string) map', 'The value'),
            ],
            roles=R_VM_ADMIN,
        ),
        message(
            'add_to_VCPUs_params_live',
            doc=('Add the given key-value pair to VM.VCPUs_params, and apply that value on the '
                 'running VM'),
            params=[
                param('self', 'VM ref', 'The VM'),
                param('key', 'string', 'The key'),
                param('value', 'string', 'The value'),
            ],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'set_VCPUs_number_live',
            doc='Set the number of VCPUs for a running VM',
            params=[
                param('self', 'VM ref', 'The VM'),
                param('nvcpu', 'int', 'The number of VCPUs'),
            ],
            errors=['OPERATION_NOT_ALLOWED', 'LICENCE_RESTRICTION'],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'pool_migrate',
            doc='Migrate a VM to another Host.',
            params=[
                param('vm', 'VM ref', 'The VM to migrate'),
                param('host', 'host ref', 'The target host'),
                param('options', '(string -> string) map',
                      ('Extra configuration operations: force, live, copy, compress. Each is '
                       "a boolean option, taking 'true' or 'false' as a value. Option "
                       "'compress' controls the use of stream compression during migration.")),
            ],
            errors=[
                'VM_BAD_POWER_STATE', 'OTHER_OPERATION_IN_PROGRESS', 'VM_IS_TEMPLATE',
                'OPERATION_NOT_ALLOWED', 'VM_BAD_POWER_STATE',
            ],
            roles=R_VM_POWER_ADMIN | R_CLIENT_CERT,
            is_async=True,
        ),
        message(
            'resume_on',
            doc=('Awaken the specified VM and resume it on a particular Host.  This can only '
                 'be called when the specified VM is in the Suspended state.'),
            params=[
                param('vm', 'VM ref', 'The VM to resume'),
                param('host', 'host ref', 'The Host on which to resume the VM'),
                param('start_paused', 'bool', 'Resume VM in paused state if set to true.'),
                param('force', 'bool',
                      ('Attempt to force the VM to resume. If this flag is false then the VM '
                       'may fail pre-resume safety checks (for example, if the CPU the VM was '
                       'running on looks substantially different to the current one)')),
            ],
            errors=['VM_BAD_POWER_STATE', 'OPERATION_NOT_ALLOWED', 'VM_IS_TEMPLATE'],
            roles=R_VM_POWER_ADMIN | R_CLIENT_CERT,
            is_async=True,
        ),
        message(
            'resume',
            doc=('Awaken the specified VM and resume it.  This can only be called when the '
                 'specified VM is in the Suspended state.'),
            params=[
                param('vm', 'VM ref', 'The VM to resume'),
                param('start_paused', 'bool', 'Resume VM in paused state if set to true.'),
                param('force', 'bool',
                      ('Attempt to force the VM to resume. If this flag is false then the VM '
                       'may fail pre-resume safety checks (for example, if the CPU the VM was '
                       'running on looks substantially different to the current one)')),
            ],
            errors=['VM_BAD_POWER_STATE', 'OPERATION_NOT_ALLOWED', 'VM_IS_TEMPLATE'],
            roles=R_VM_OP,
            is_async=True,
        ),
        message(
            'suspend',
            doc=('Suspend the specified VM to disk.  This can only be called when the '
                 'specified VM is in the Running state.'),
            params=[
                param('vm', 'VM ref', 'The VM to suspend'),
            ],
            errors=[
                'VM_BAD_POWER_STATE', 'OTHER_OPERATION_IN_PROGRESS', 'OPERATION_NOT_ALLOWED',
                'VM_IS_TEMPLATE',
            ],
            roles=R_VM_OP | R_CLIENT_CERT,
            is_async=True,
        ),
        message(
            'hard_reboot',
            doc=('Stop executing the specified VM without attempting a clean shutdown and '
                 'immediately restart the VM.'),
            params=[
                param('vm', 'VM ref', 'The VM to reboot'),
            ],
            errors=[
                'VM_BAD_POWER_STATE', 'OTHER_OPERATION_IN_PROGRESS', 'OPERATION_NOT_ALLOWED',
                'VM_IS_TEMPLATE',
            ],
            roles=R_VM_OP,
            is_async=True,
        ),
        message(
            'power_state_reset',
            doc=('Reset the power-state of the VM to halted in the database only. (Used to '
                 'recover from slave failures in pooling scenarios by resetting the '
                 'power-states of VMs running on dead slaves to halted.) This is a potentially '
                 'dangerous operation; use with care.'),
            params=[
                param('vm', 'VM ref', 'The VM to reset'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'hard_shutdown',
            doc='Stop executing the specified VM without attempting a clean shutdown.',
            params=[
                param('vm', 'VM ref', 'The VM to destroy'),
            ],
            errors=[
                'VM_BAD_POWER_STATE', 'OTHER_OPERATION_IN_PROGRESS', 'OPERATION_NOT_ALLOWED',
                'VM_IS_TEMPLATE',
            ],
            roles=R_VM_OP,
            is_async=True,
        ),
        message(
            'clean_reboot',
            doc=('Attempt to cleanly shutdown the specified VM (Note: this may not be '
                 'supported, for example, if a guest agent is not installed). This can only be '
                 'called when the specified VM is in the Running state.'),
            params=[
                param('vm', 'VM ref', 'The VM to shutdown'),
            ],
            errors=[
                'VM_BAD_POWER_STATE', 'OTHER_OPERATION_IN_PROGRESS', 'OPERATION_NOT_ALLOWED',
                'VM_IS_TEMPLATE',
            ],
            roles=R_VM_OP,
            is_async=True,
        ),
        message(
            'shutdown',
            doc=('Attempts to first clean shutdown a VM and if it should fail then perform a '
                 'hard shutdown on it.'),
            params=[
                param('vm', 'VM ref', 'The VM to shutdown'),
            ],
            errors=[
                'VM_BAD_POWER_STATE', 'OTHER_OPERATION_IN_PROGRESS', 'OPERATION_NOT_ALLOWED',
                'VM_IS_TEMPLATE',
            ],
            roles=R_VM_OP | R_CLIENT_CERT,
            is_async=True,
        ),
        message(
            'clean_shutdown',
            doc=('Attempt to cleanly shutdown the specified VM. (Note: this may not be '
                 'supported, for example, if a guest agent is not installed). This can only be '
                 'called when the specified VM is in the Running state.'),
            params=[
                param('vm', 'VM ref', 'The VM to shutdown'),
            ],
            errors=[
                'VM_BAD_POWER_STATE', 'OTHER_OPERATION_IN_PROGRESS', 'OPERATION_NOT_ALLOWED',
                'VM_IS_TEMPLATE',
            ],
            roles=R_VM_OP,
            is_async=True,
        ),
        message(
            'unpause',
            doc=('Resume the specified VM. This can only be called when the specified VM is in '
                 'the Paused state.'),
            params=[
                param('vm', 'VM ref', 'The VM to unpause'),
            ],
            errors=['VM_BAD_POWER_STATE', 'OPERATION_NOT_ALLOWED', 'VM_IS_TEMPLATE'],
            roles=R_VM_OP,
            is_async=True,
        ),
        message(
            'pause',
            doc=('Pause the specified VM. This can only be called when the specified VM is in '
                 'the Running state.'),
            params=[
                param('vm', 'VM ref', 'The VM to pause'),
            ],
            errors=[
                'VM_BAD_POWER_STATE', 'OTHER_OPERATION_IN_PROGRESS', 'OPERATION_NOT_ALLOWED',
                'VM_IS_TEMPLATE',
            ],
            roles=R_VM_OP,
            is_async=True,
        ),
        message(
            'start_on',
            doc=('Start the specified VM on a particular host.  This function can only be '
                 'called with the VM is in the Halted State.'),
            params=[
                param('vm', 'VM ref', 'The VM to start'),
                param('host', 'host ref', 'The Host on which to start the VM'),
                param('start_paused', 'bool', 'Instantiate VM in paused state if set to true.'),
                param('force', 'bool',
                      ('Attempt to force the VM to start. If this flag is false then the VM '
                       'may fail pre-boot safety checks (for example, if the CPU the VM last '
                       'booted on looks substantially different to the current one)')),
            ],
            errors=[
                'VM_BAD_POWER_STATE', 'VM_IS_TEMPLATE', 'OTHER_OPERATION_IN_PROGRESS',
                'OPERATION_NOT_ALLOWED', 'BOOTLOADER_FAILED', 'UNKNOWN_BOOTLOADER',
            ],
            roles=R_VM_POWER_ADMIN | R_CLIENT_CERT,
            is_async=True,
        ),
        message(
            'start',
            doc=('Start the specified VM.  This function can only be called with the VM is in '
                 'the Halted State.'),
            params=[
                param('vm', 'VM ref', 'The VM to start'),
                param('start_paused', 'bool', 'Instantiate VM in paused state if set to true.'),
                param('force', 'bool',
                      ('Attempt to force the VM to start. If this flag is false then the VM '
                       'may fail pre-boot safety checks (for example, if the CPU the VM last '
                       'booted on looks substantially different to the current one)')),
            ],
            errors=[
                'VM_BAD_POWER_STATE', 'VM_HVM_REQUIRED', 'VM_IS_TEMPLATE',
                'OTHER_OPERATION_IN_PROGRESS', 'OPERATION_NOT_ALLOWED', 'BOOTLOADER_FAILED',
                'UNKNOWN_BOOTLOADER', 'NO_HOSTS_AVAILABLE', 'LICENCE_RESTRICTION',
            ],
            roles=R_VM_OP,
            is_async=True,
        ),
        message(
            'provision',
            doc=("Inspects the disk configuration contained within the VM's other_config, "
                 'creates VDIs and VBDs and then executes any applicable post-install script.'),
            params=[
                param('vm', 'VM ref', 'The VM to be provisioned'),
            ],
            errors=[
                'VM_BAD_POWER_STATE', 'SR_FULL', 'OPERATION_NOT_ALLOWED', 'LICENCE_RESTRICTION',
            ],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'checkpoint',
            doc=('Checkpoints the specified VM, making a new VM. Checkpoint automatically '
                 'exploits the capabilities of the underlying storage repository in which the '
                 "VM's disk images are stored (for example, Copy on Write) and saves the "
                 'memory image as well.'),
            params=[
                param('vm', 'VM ref', 'The VM to be checkpointed'),
                param('new_name', 'string', 'The name of the checkpointed VM'),
            ],
            result='VM ref',
            result_doc='The reference of the newly created VM.',
            errors=[
                'VM_BAD_POWER_STATE', 'SR_FULL', 'OPERATION_NOT_ALLOWED',
                'VM_CHECKPOINT_SUSPEND_FAILED', 'VM_CHECKPOINT_RESUME_FAILED',
            ],
            roles=R_VM_POWER_ADMIN,
            is_async=True,
        ),
        message(
            'revert',
            doc='Reverts the specified VM to a previous state.',
            params=[
                param('snapshot', 'VM ref', 'The snapshotted state that we revert to'),
            ],
            errors=['VM_BAD_POWER_STATE', 'OPERATION_NOT_ALLOWED', 'SR_FULL', 'VM_REVERT_FAILED'],
            roles=R_VM_POWER_ADMIN,
            is_async=True,
        ),
        message(
            'copy',
            doc=('Copied the specified VM, making a new VM. Unlike clone, copy does not '
                 'exploits the capabilities of the underlying storage repository in which the '
                 "VM's disk images are stored. Instead, copy guarantees that the disk images "
                 "of the newly created VM will be 'full disks' - i.e. not part of a CoW chain. "
                 ' This function can only be called when the VM is in the Halted State.'),
            params=[
                param('vm', 'VM ref', 'The VM to be copied'),
                param('new_name', 'string', 'The name of the copied VM'),
                param('sr', 'SR ref',
                      ("An SR to copy all the VM's disks into (if an invalid reference then "
                       'it uses the existing SRs)')),
            ],
            result='VM ref',
            result_doc='The reference of the newly created VM.',
            errors=[
                'VM_BAD_POWER_STATE', 'SR_FULL', 'OPERATION_NOT_ALLOWED', 'LICENCE_RESTRICTION',
            ],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'clone',
            doc=('Clones the specified VM, making a new VM. Clone automatically exploits the '
                 "capabilities of the underlying storage repository in which the VM's disk "
                 'images are stored (for example, Copy on Write). This function can only be '
                 'called when the VM is in the Halted State.'),
            params=[
                param('vm', 'VM ref', 'The VM to be cloned'),
                param('new_name', 'string', 'The name of the cloned VM'),
            ],
            result='VM ref',
            result_doc='The reference of the newly created VM.',
            errors=[
                'VM_BAD_POWER_STATE', 'SR_FULL', 'OPERATION_NOT_ALLOWED', 'LICENCE_RESTRICTION',
            ],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'snapshot_with_quiesce',
            doc=('Snapshots the specified VM with quiesce, making a new VM. Snapshot '
                 'automatically exploits the capabilities of the underlying storage repository '
                 "in which the VM's disk images are stored (for example, Copy on Write)."),
            params=[
                param('vm', 'VM ref', 'The VM to be snapshotted'),
                param('new_name', 'string', 'The name of the snapshotted VM'),
            ],
            result='VM ref',
            result_doc='The reference of the newly created VM.',
            errors=[
                'VM_BAD_POWER_STATE', 'SR_FULL', 'OPERATION_NOT_ALLOWED',
                'VM_SNAPSHOT_WITH_QUIESCE_FAILED', 'VM_SNAPSHOT_WITH_QUIESCE_TIMEOUT',
                'VM_SNAPSHOT_WITH_QUIESCE_PLUGIN_DEOS_NOT_RESPOND',
                'VM_SNAPSHOT_WITH_QUIESCE_NOT_SUPPORTED',
            ],
            roles=R_VM_POWER_ADMIN,
            is_async=True,
        ),
        message(
            'snapshot',
            doc=('Snapshots the specified VM, making a new VM. Snapshot automatically exploits '
                 "the capabilities of the underlying storage repository in which the VM's disk "
                 'images are stored (for example, Copy on Write).'),
            params=[
                param('vm', 'VM ref', 'The VM to be snapshotted'),
                param('new_name', 'string', 'The name of the snapshotted VM'),
                param('ignore_vdis', 'VDI ref set', 'A list of VDIs to ignore for the snapshot',
                      default=[]),
            ],
            result='VM ref',
            result_doc='The reference of the newly created VM.',
            errors=['VM_BAD_POWER_STATE', 'SR_FULL', 'OPERATION_NOT_ALLOWED'],
            roles=R_VM_POWER_ADMIN,
            is_async=True,
        ),
    ],
    roles=R_VM_ADMIN, constructor=True,
    create_doc=(
        'NOT RECOMMENDED! VM.clone or VM.copy (or VM.import) is a better choice in almost all '
        'situations. The standard way to obtain a new VM is to call VM.clone on a template VM, '
        'then call VM.provision on the new clone. Caution: if VM.create is used and then the new '
        'VM is attached to a virtual disc that has an operating system already installed, then '
        'there is no guarantee that the operating system will boot and run. Any software that '
        'calls VM.create on a future version of this API may fail or give unexpected results. '
        'For example this could happen if an additional parameter were added to VM.create. '
        'VM.create is intended only for use in the automatic creation of the system VM '
        'templates. It creates a new VM instance, and returns its handle.'),
    destroy_doc=(
        'Destroy the specified VM.  The VM is completely removed from the system.  This '
        'function can only be called when the VM is in the Halted State.'),
)
