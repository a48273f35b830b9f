"""Every enum the declared classes use, declared once (values as the reference spells them)."""
from __future__ import annotations

from xenapi_impl.model.types import declare_enum

declare_enum('bond_mode', [
    ('balance-slb', 'Source-level balancing'),
    ('active-backup', 'Active/passive bonding: only one NIC is carrying traffic'),
    ('lacp', 'Link aggregation control protocol'),
])
declare_enum('certificate_purpose', [
    ('licensing', 'Trusted certificates that are for licensing purpose.'),
    ('ldaps',
     'Trusted certificates that are for LDAPS connections to external authentication services.'),
])
declare_enum('certificate_type', [
    ('ca', 'Certificate that is trusted by the whole pool'),
    ('host', 'Certificate that identifies a single host to entities outside the pool'),
    ('host_internal', 'Certificate that identifies a single host to other pool members'),
    ('pinned', 'Pinned leaf certificate that is trusted by the whole pool'),
])
declare_enum('cls', [
    ('VM', 'VM'),
    ('Host', 'Host'),
    ('SR', 'SR'),
    ('Pool', 'Pool'),
    ('VMPP', 'VMPP'),
    ('VMSS', 'VMSS'),
    ('PVS_proxy', 'PVS_proxy'),
    ('VDI', 'VDI'),
    ('Certificate', 'Certificate'),
])
declare_enum('console_protocol', [
    ('vt100', 'VT100 terminal'),
    ('rfb', 'Remote FrameBuffer protocol (as used in VNC)'),
    ('rdp', 'Remote Desktop Protocol'),
])
declare_enum('domain_type', [
    ('hvm', 'HVM; Fully Virtualised'),
    ('pv', 'PV: Paravirtualised'),
    ('pv_in_pvh', 'PV inside a PVH container'),
    ('pvh', 'PVH'),
    ('unspecified', 'Not specified or unknown domain type'),
])
declare_enum('event_operation', [
    ('add', 'An object has been created'),
    ('del', 'An object has been deleted'),
    ('mod', 'An object has been modified'),
])
declare_enum('host_allowed_operations', [
    ('provision', 'Indicates this host is able to provision another VM'),
    ('evacuate', 'Indicates this host is evacuating'),
    ('shutdown', 'Indicates this host is in the process of shutting itself down'),
    ('reboot', 'Indicates this host is in the process of rebooting'),
    ('power_on', 'Indicates this host is in the process of being powered on'),
    ('vm_start', 'This host is starting a VM'),
    ('vm_resume', 'This host is resuming a VM'),
    ('vm_migrate', 'This host is the migration target of a VM'),
    ('apply_updates', 'Indicates this host is being updated'),
    ('enable', 'Indicates this host is in the process of enabling'),
])
declare_enum('host_display', [
    ('enabled', 'This host is outputting its console to a physical display device'),
    ('disable_on_reboot',
     'The host will stop outputting its console to a physical display device on next boot'),
    ('disabled', 'This host is not outputting its console to a physical display device'),
    ('enable_on_reboot',
     'The host will start outputting its console to a physical display device on next boot'),
])
declare_enum('host_ntp_mode', [
    ('DHCP', 'Using NTP servers assigned by DHCP to sync time'),
    ('Custom', 'Using custom NTP servers configured by user to sync time'),
    ('Factory', 'Using built-in NTP servers to sync time'),
    ('Disabled', 'NTP is disabled on the host'),
])
declare_enum('host_numa_affinity_policy', [
    ('any', 'VMs are spread across all available NUMA nodes'),
    ('best_effort',
     ('VMs are placed on the smallest number of NUMA nodes that they fit using soft-pinning, '
      "but the policy doesn't guarantee a balanced placement, falling back to the 'any' "
      'policy.')),
    ('default_policy', 'Use the NUMA affinity policy that is the default for the current version'),
])
declare_enum('host_sched_gran', [
    ('core', 'core scheduling'),
    ('cpu', 'CPU scheduling'),
    ('socket', 'socket scheduling'),
])
declare_enum('ip_configuration_mode', [
    ('None', 'Do not acquire an IP address'),
    ('DHCP', 'Acquire an IP address by DHCP'),
    ('Static', 'Static IP address configuration'),
])
declare_enum('ipv6_configuration_mode', [
    ('None', 'Do not acquire an IPv6 address'),
    ('DHCP', 'Acquire an IPv6 address by DHCP'),
    ('Static', 'Static IPv6 address configuration'),
    ('Autoconf', 'Router assigned prefix delegation IPv6 allocation'),
])
declare_enum('latest_synced_updates_applied_state', [
    ('yes', 'The host is up to date with the latest updates synced from remote CDN'),
    ('no', 'The host is outdated with the latest updates synced from remote CDN'),
    ('unknown',
     'If the host is up to date with the latest updates synced from remote CDN is unknown'),
])
declare_enum('network_default_locking_mode', [
    ('unlocked',
     ("Treat all VIFs on this network with locking_mode = 'default' as if they have "
      "locking_mode = 'unlocked'")),
    ('disabled',
     ("Treat all VIFs on this network with locking_mode = 'default' as if they have "
      "locking_mode = 'disabled'")),
])
declare_enum('network_operations', [
    ('attaching', 'Indicates this network is attaching to a VIF or PIF'),
])
declare_enum('network_purpose', [
    ('nbd', 'Network Block Device service using TLS'),
    ('insecure_nbd',
     'Network Block Device service without integrity or confidentiality: NOT RECOMMENDED'),
])
declare_enum('on_boot', [
    ('reset',
     ('When a VM containing this VDI is started, the contents of the VDI are reset to the '
      'state they were in when this flag was last set.')),
    ('persist', 'Standard behaviour.'),
])
declare_enum('on_crash_behaviour', [
    ('destroy', 'destroy the VM state'),
    ('coredump_and_destroy', 'record a coredump and then destroy the VM state'),
    ('restart', 'restart the VM'),
    ('coredump_and_restart', 'record a coredump and then restart the VM'),
    ('preserve', 'leave the crashed VM paused'),
    ('rename_restart', 'rename the crashed VM and start a new copy'),
])
declare_enum('on_normal_exit', [
    ('destroy', 'destroy the VM state'),
    ('restart', 'restart the VM'),
])
declare_enum('on_softreboot_behavior', [
    ('soft_reboot', 'perform soft-reboot'),
    ('destroy', 'destroy the VM state'),
    ('restart', 'restart the VM'),
    ('preserve', 'leave the VM paused'),
])
declare_enum('pif_igmp_status', [
    ('enabled', "IGMP Snooping is enabled in the corresponding backend bridge.'"),
    ('disabled', "IGMP Snooping is disabled in the corresponding backend bridge.'"),
    ('unknown',
     ('IGMP snooping status is unknown. If this is a VLAN master, then please consult the '
      'underlying VLAN slave PIF.')),
])
declare_enum('placement_policy', [
    ('anti_affinity', 'Anti-affinity placement policy'),
    ('normal', 'Default placement policy'),
])
declare_enum('pool_allowed_operations', [
    ('ha_enable', 'Indicates this pool is in the process of enabling HA'),
    ('ha_disable', 'Indicates this pool is in the process of disabling HA'),
    ('cluster_create', 'Indicates this pool is in the process of creating a cluster'),
    ('designate_new_master', 'Indicates this pool is in the process of changing master'),
    ('configure_repositories',
     'Indicates this pool is in the process of configuring repositories'),
    ('sync_updates', 'Indicates this pool is in the process of syncing updates'),
    ('sync_bundle', 'Indicates this pool is in the process of syncing bundle'),
    ('get_updates', 'Indicates this pool is in the process of getting updates'),
    ('apply_updates', 'Indicates this pool is in the process of applying updates'),
    ('tls_verification_enable',
     'Indicates this pool is in the process of enabling TLS verification'),
    ('cert_refresh', 'A certificate refresh and distribution is in progress'),
    ('exchange_certificates_on_join',
     'Indicates this pool is exchanging internal certificates with a new joiner'),
    ('exchange_ca_certificates_on_join',
     'Indicates this pool is exchanging ca certificates with a new joiner'),
    ('copy_primary_host_certs',
     'Indicates the primary host is sending its certificates to another host'),
    ('eject', 'Ejection of a host from the pool is under way'),
    ('exchange_crls_on_join', 'Indicates this pool is exchanging CRLs with a new joiner'),
])
declare_enum('pool_guest_secureboot_readiness', [
    ('ready', 'Pool is ready for SecureBoot, all auth files are present'),
    ('ready_no_dbx', 'Pool is ready for SecureBoot, but there is no dbx auth file'),
    ('not_ready', 'Pool is not ready for SecureBoot, mandatory auth files are missing'),
])
declare_enum('primary_address_type', [
    ('IPv4', 'Primary address is the IPv4 address'),
    ('IPv6', 'Primary address is the IPv6 address'),
])
declare_enum('storage_operations', [
    ('scan', 'Scanning backends for new or deleted VDIs'),
    ('destroy', 'Destroying the SR'),
    ('forget', 'Forgetting about SR'),
    ('plug', 'Plugging a PBD into this SR'),
    ('unplug', 'Unplugging a PBD from this SR'),
    ('update', 'Refresh the fields on the SR'),
    ('vdi_create', 'Creating a new VDI'),
    ('vdi_introduce', 'Introducing a new VDI'),
    ('vdi_destroy', 'Destroying a VDI'),
    ('vdi_resize', 'Resizing a VDI'),
    ('vdi_clone', 'Cloneing a VDI'),
    ('vdi_snapshot', 'Snapshotting a VDI'),
    ('vdi_mirror', 'Mirroring a VDI'),
    ('vdi_enable_cbt', 'Enabling changed block tracking for a VDI'),
    ('vdi_disable_cbt', 'Disabling changed block tracking for a VDI'),
    ('vdi_data_destroy', 'Deleting the data of the VDI'),
    ('vdi_list_changed_blocks',
     'Exporting a bitmap that shows the changed blocks between two VDIs'),
    ('vdi_set_on_boot', 'Setting the on_boot field of the VDI'),
    ('vdi_blocked', 'Blocking other operations for a VDI'),
    ('vdi_copy', 'Copying the VDI'),
    ('vdi_force_unlock', 'Forcefully unlocking the VDI'),
    ('vdi_forget', 'Forgetting about the VDI'),
    ('vdi_generate_config', 'Generating the configuration of the VDI'),
    ('vdi_resize_online', 'Resizing the VDI online'),
    ('vdi_update', 'Refreshing the fields on the VDI'),
    ('vdi_revert', 'Reverting a VDI to the snapshot'),
    ('pbd_create', 'Creating a PBD for this SR'),
    ('pbd_destroy', "Destroying one of this SR's PBDs"),
])
declare_enum('task_allowed_operations', [
    ('cancel', 'refers to the operation "cancel"'),
    ('destroy', 'refers to the operation "destroy"'),
])
declare_enum('task_status_type', [
    ('pending', 'task is in progress'),
    ('success', 'task was completed successfully'),
    ('failure', 'task has failed'),
    ('cancelling', 'task is being cancelled'),
    ('cancelled', 'task has been cancelled'),
])
declare_enum('telemetry_frequency', [
    ('daily', 'Run telemetry task daily'),
    ('weekly', 'Run telemetry task weekly'),
    ('monthly', 'Run telemetry task monthly'),
])
declare_enum('tristate_type', [
    ('yes', 'Known to be true'),
    ('no', 'Known to be false'),
    ('unspecified', 'Unknown or unspecified'),
])
declare_enum('tunnel_protocol', [
    ('gre', 'GRE protocol'),
    ('vxlan', 'VxLAN Protocol'),
])
declare_enum('update_guidances', [
    ('reboot_host', 'Indicates the updated host should reboot as soon as possible'),
    ('reboot_host_on_livepatch_failure',
     ('Indicates the updated host should reboot as soon as possible since one or more '
      'livepatch(es) failed to be applied.')),
    ('reboot_host_on_kernel_livepatch_failure',
     ('Indicates the updated host should reboot as soon as possible since one or more kernel '
      'livepatch(es) failed to be applied.')),
    ('reboot_host_on_xen_livepatch_failure',
     ('Indicates the updated host should reboot as soon as possible since one or more xen '
      'livepatch(es) failed to be applied.')),
    ('restart_toolstack',
     'Indicates the Toolstack running on the updated host should restart as soon as possible'),
    ('restart_device_model',
     'Indicates the device model of a running VM should restart as soon as possible'),
    ('restart_vm', 'Indicates the VM should restart as soon as possible'),
])
declare_enum('update_sync_frequency', [
    ('daily', 'The update synchronizations happen every day'),
    ('weekly', 'The update synchronizations happen every week on the chosen day'),
])
declare_enum('vbd_mode', [
    ('RO', 'only read-only access will be allowed'),
    ('RW', 'read-write access will be allowed'),
])
declare_enum('vbd_operations', [
    ('attach', 'Attempting to attach this VBD to a VM'),
    ('eject', 'Attempting to eject the media from this VBD'),
    ('insert', 'Attempting to insert new media into this VBD'),
    ('plug', 'Attempting to hotplug this VBD'),
    ('unplug', 'Attempting to hot unplug this VBD'),
    ('unplug_force', 'Attempting to forcibly unplug this VBD'),
    ('pause', 'Attempting to pause a block device backend'),
    ('unpause', 'Attempting to unpause a block device backend'),
])
declare_enum('vbd_type', [
    ('CD', 'VBD will appear to guest as CD'),
    ('Disk', 'VBD will appear to guest as disk'),
    ('Floppy', 'VBD will appear as a floppy'),
])
declare_enum('vdi_operations', [
    ('clone', 'Cloning the VDI'),
    ('copy', 'Copying the VDI'),
    ('resize', 'Resizing the VDI'),
    ('resize_online', 'Resizing the VDI which may or may not be online'),
    ('snapshot', 'Snapshotting the VDI'),
    ('mirror', 'Mirroring the VDI'),
    ('destroy', 'Destroying the VDI'),
    ('forget', 'Forget about the VDI'),
    ('update', 'Refreshing the fields of the VDI'),
    ('force_unlock', 'Forcibly unlocking the VDI'),
    ('generate_config', 'Generating static configuration'),
    ('enable_cbt', 'Enabling changed block tracking for a VDI'),
    ('disable_cbt', 'Disabling changed block tracking for a VDI'),
    ('data_destroy', 'Deleting the data of the VDI'),
    ('list_changed_blocks', 'Exporting a bitmap that shows the changed blocks between two VDIs'),
    ('set_on_boot', 'Setting the on_boot field of the VDI'),
    ('blocked', 'Operations on this VDI are temporarily blocked'),
    ('revert_to', 'Reverting a VDI to a clone of this snapshot'),
    ('revert_from', 'Reverting this VDI to a clone of a snapshot'),
])
declare_enum('vdi_type', [
    ('system', 'a disk that may be replaced on upgrade'),
    ('user', 'a disk that is always preserved on upgrade'),
    ('ephemeral', 'a disk that may be reformatted on upgrade'),
    ('suspend', 'a disk that stores a suspend image'),
    ('crashdump', 'a disk that stores VM crashdump information'),
    ('ha_statefile', 'a disk used for HA storage heartbeating'),
    ('metadata', 'a disk used for HA Pool metadata'),
    ('redo_log', 'a disk used for a general metadata redo-log'),
    ('rrd', 'a disk that stores SR-level RRDs'),
    ('pvs_cache', 'a disk that stores PVS cache data'),
    ('cbt_metadata',
     ('Metadata about a snapshot VDI that has been deleted: the set of blocks that changed '
      'between some previous version of the disk and the version tracked by the snapshot.')),
])
declare_enum('vif_ipv4_configuration_mode', [
    ('None', 'Follow the default IPv4 configuration of the guest (this is guest-dependent)'),
    ('Static', 'Static IPv4 address configuration'),
    ('DHCP', 'Acquire an IP address by DHCP'),
])
declare_enum('vif_ipv6_configuration_mode', [
    ('None', 'Follow the default IPv6 configuration of the guest (this is guest-dependent)'),
    ('Static', 'Static IPv6 address configuration'),
    ('Autoconf', 'Acquire an IPv6 address automatically'),
])
declare_enum('vif_locking_mode', [
    ('network_default', 'No specific configuration set - default network policy applies'),
    ('locked', 'Only traffic to a specific MAC and a list of IPv4 or IPv6 addresses is permitted'),
    ('unlocked', 'All traffic is permitted'),
    ('disabled', 'No traffic is permitted'),
])
declare_enum('vif_operations', [
    ('attach', 'Attempting to attach this VIF to a VM'),
    ('plug', 'Attempting to hotplug this VIF'),
    ('unplug', 'Attempting to hot unplug this VIF'),
])
declare_enum('vm_appliance_operation', [
    ('start', 'Start'),
    ('clean_shutdown', 'Clean shutdown'),
    ('hard_shutdown', 'Hard shutdown'),
    ('shutdown', 'Shutdown'),
])
declare_enum('vm_operations', [
    ('snapshot', 'refers to the operation "snapshot"'),
    ('clone', 'refers to the operation "clone"'),
    ('copy', 'refers to the operation "copy"'),
    ('create_template', 'refers to the operation "create_template"'),
    ('revert', 'refers to the operation "revert"'),
    ('checkpoint', 'refers to the operation "checkpoint"'),
    ('snapshot_with_quiesce', 'refers to the operation "snapshot_with_quiesce"'),
    ('provision', 'refers to the operation "provision"'),
    ('start', 'refers to the operation "start"'),
    ('start_on', 'refers to the operation "start_on"'),
    ('pause', 'refers to the operation "pause"'),
    ('unpause', 'refers to the operation "unpause"'),
    ('clean_shutdown', 'refers to the operation "clean_shutdown"'),
    ('clean_reboot', 'refers to the operation "clean_reboot"'),
    ('hard_shutdown', 'refers to the operation "hard_shutdown"'),
    ('power_state_reset', 'refers to the operation "power_state_reset"'),
    ('hard_reboot', 'refers to the operation "hard_reboot"'),
    ('suspend', 'refers to the operation "suspend"'),
    ('csvm', 'refers to the operation "csvm"'),
    ('resume', 'refers to the operation "resume"'),
    ('resume_on', 'refers to the operation "resume_on"'),
    ('pool_migrate', 'refers to the operation "pool_migrate"'),
    ('migrate_send', 'refers to the operation "migrate_send"'),
    ('get_boot_record', 'refers to the operation "get_boot_record"'),
    ('send_sysrq', 'refers to the operation "send_sysrq"'),
    ('send_trigger', 'refers to the operation "send_trigger"'),
    ('query_services', 'refers to the operation "query_services"'),
    ('shutdown', 'refers to the operation "shutdown"'),
    ('call_plugin', 'refers to the operation "call_plugin"'),
    ('changing_memory_live', 'Changing the memory settings'),
    ('awaiting_memory_live', 'Waiting for the memory settings to change'),
    ('changing_dynamic_range', 'Changing the memory dynamic range'),
    ('changing_static_range', 'Changing the memory static range'),
    ('changing_memory_limits', 'Changing the memory limits'),
    ('changing_shadow_memory', 'Changing the shadow memory for a halted VM.'),
    ('changing_shadow_memory_live', 'Changing the shadow memory for a running VM.'),
    ('changing_VCPUs', 'Changing VCPU settings for a halted VM.'),
    ('changing_VCPUs_live', 'Changing VCPU settings for a running VM.'),
    ('changing_NVRAM', 'Changing NVRAM for a halted VM.'),
    ('assert_operation_valid', ''),
    ('data_source_op', 'Add, remove, query or list data sources'),
    ('update_allowed_operations', ''),
    ('make_into_template', 'Turning this VM into a template'),
    ('import', 'importing a VM from a network stream'),
    ('export', 'exporting a VM to a network stream'),
    ('metadata_export', 'exporting VM metadata to a network stream'),
    ('reverting', 'Reverting the VM to a previous snapshotted state'),
    ('destroy', 'refers to the act of uninstalling the VM'),
    ('create_vtpm', 'Creating and adding a VTPM to this VM'),
    ('sysprep', 'Performing a Windows sysprep on this VM'),
])
declare_enum('vm_power_state', [
    ('Halted', 'VM is offline and not using any resources'),
    ('Paused',
     ('All resources have been allocated but the VM itself is paused and its vCPUs are not '
      'running')),
    ('Running', 'Running'),
    ('Suspended',
     ('VM state has been saved to disk and it is nolonger running. Note that disks remain '
      'in-use while the VM is suspended.')),
])
declare_enum('vm_secureboot_certificates_state', [
    ('ok',
     ("The VM's certificates do not need to be updated (including the case where Secure Boot "
      'does not apply to this VM, e.g. BIOS VM).')),
    ('update_available',
     'The Secure Boot certificates are due to expire or have already expired.'),
    ('update_on_boot',
     ('An update of the certificates will be triggered whenever the VM boots. This includes '
      'VM.start, VM.reboot and a guest-triggered reboot.')),
])
declare_enum('vm_secureboot_readiness', [
    ('not_supported', "VM's firmware is not UEFI"),
    ('disabled', 'Secureboot is disabled on this VM'),
    ('first_boot', 'Secured boot is enabled on this VM and its NVRAM.EFI-variables are empty'),
    ('ready',
     ('Secured boot is enabled on this VM and PK, KEK, db and dbx are defined in its EFI '
      'variables')),
    ('ready_no_dbx',
     ('Secured boot is enabled on this VM and PK, KEK, db but not dbx are defined in its EFI '
      'variables')),
    ('setup_mode',
     'Secured boot is enabled on this VM and PK is not defined in its EFI variables'),
    ('certs_incomplete',
     ('Secured boot is enabled on this VM and the certificates defined in its EFI variables '
      'are incomplete')),
])
declare_enum('vm_uefi_mode', [
    ('setup', "clears a VM's EFI variables related to Secure Boot and places it into Setup Mode"),
    ('user',
     ("resets a VM's EFI variables related to Secure Boot to the defaults, placing it into "
      'User Mode')),
])
declare_enum('vmss_frequency', [
    ('hourly', 'Hourly snapshots'),
    ('daily', 'Daily snapshots'),
    ('weekly', 'Weekly snapshots'),
])
declare_enum('vmss_type', [
    ('snapshot', 'The snapshot is a disk snapshot'),
    ('checkpoint', 'The snapshot is a checkpoint'),
    ('snapshot_with_quiesce', 'Support for VSS has been removed.'),
])
