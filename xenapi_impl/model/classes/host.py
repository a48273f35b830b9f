"""The host class (reference: xenapi.json)."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, message, param, RO_CTOR, RO_RUN
from xenapi_impl.model.roles import (
    R_CLIENT_CERT, R_LOCAL_ROOT_ONLY, R_POOL_ADMIN, R_POOL_OP, R_READ_ONLY, R_VM_OP,
    R_VM_POWER_ADMIN,
)

HOST = cls(
    'host',
    'A physical host',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('name/label', 'string', default='', doc='a human-readable name'),
        field('name/description', 'string', default='',
              doc='a notes field containing human-readable description'),
        field('memory/overhead', 'int', RO_RUN, default=0,
              doc='Virtualization memory overhead (bytes).'),
        field('allowed_operations', 'enum host_allowed_operations set', RO_RUN, default=[],
              doc=('list of the operations allowed in this state. This list is advisory only '
                   'and the server state may have changed by the time this field is read by a '
                   'client.')),
        field('current_operations', '(string -> enum host_allowed_operations) map', RO_RUN,
              default={},
              doc=('links each of the running tasks using this object (by reference) to a '
                   'current_operation enum which describes the nature of the task.')),
        field('API_version/major', 'int', RO_RUN, doc='major version number'),
        field('API_version/minor', 'int', RO_RUN, doc='minor version number'),
        field('API_version/vendor', 'string', RO_RUN, doc='identification of vendor'),
        field('API_version/vendor_implementation', '(string -> string) map', RO_RUN,
              doc='details of vendor implementation'),
        field('enabled', 'bool', RO_RUN, doc='True if the host is currently enabled'),
        field('software_version', '(string -> string) map', RO_CTOR, doc='version strings'),
        field('other_config', '(string -> string) map', doc='additional configuration'),
        field('capabilities', 'string set', RO_CTOR, doc='Xen capabilities'),
        field('cpu_configuration', '(string -> string) map', RO_RUN,
              doc=('The CPU configuration on this host.  May contain keys such as "nr_nodes", '
                   '"sockets_per_node", "cores_per_socket", or "threads_per_core"')),
        field('sched_policy', 'string', RO_RUN,
              doc='Scheduler policy currently in force on this host'),
        field('supported_bootloaders', 'string set', RO_RUN,
              doc='a list of the bootloaders installed on the machine'),
        field('resident_VMs', 'VM ref set', RO_RUN, doc='list of VMs currently resident on host'),
        field('logging', '(string -> string) map', doc='logging configuration'),
        field('PIFs', 'PIF ref set', RO_RUN, doc='physical network interfaces'),
        field('suspend_image_sr', 'SR ref',
              doc='The SR in which VDIs for suspend images are created'),
        field('crash_dump_sr', 'SR ref', doc='The SR in which VDIs for crash dumps are created'),
        field('crashdumps', 'host_crashdump ref set', RO_RUN, doc='Set of host crash dumps'),
        field('patches', 'host_patch ref set', RO_RUN, doc='Set of host patches'),
        field('updates', 'pool_update ref set', RO_RUN, doc='Set of updates'),
        field('PBDs', 'PBD ref set', RO_RUN, doc='physical blockdevices'),
        field('host_CPUs', 'host_cpu ref set', RO_RUN, doc='The physical CPUs on this host'),
        field('cpu_info', '(string -> string) map', RO_RUN, default={},
              doc='Details about the physical CPUs on this host'),
        field('hostname', 'string', doc='The hostname of this host'),
        field('address', 'string',
              doc=('The address by which this host can be contacted from any other host in '
                   'the pool')),
        field('metrics', 'host_metrics ref', RO_RUN, doc='metrics associated with this host'),
        field('license_params', '(string -> string) map', RO_RUN,
              doc='State of the current license'),
        field('ha_statefiles', 'string set', RO_RUN, default=[],
              doc='The set of statefiles accessible from this host'),
        field('ha_network_peers', 'string set', RO_RUN, default=[],
              doc='The set of hosts visible via the network from this host'),
        field('blobs', '(string -> blob ref) map', RO_RUN, default={},
              doc='Binary blobs associated with this host'),
        field('tags', 'string set', default=[], write_roles=R_VM_OP,
              doc='user-specified tags for categorization purposes'),
        field('external_auth_type', 'string', RO_RUN, default='',
              doc='type of external authentication service configured; empty if none configured.'),
        field('external_auth_service_name', 'string', RO_RUN, default='',
              doc='name of external authentication service configured; empty if none configured.'),
        field('external_auth_configuration', '(string -> string) map', RO_RUN, default={},
              doc='configuration specific to external authentication service'),
        field('edition', 'string', RO_RUN, default='', doc='Product edition'),
        field('license_server', '(string -> string) map',
              default={'address': 'localhost', 'port': '27000'},
              doc='Contact information of the license server'),
        field('bios_strings', '(string -> string) map', RO_RUN, default={}, doc='BIOS strings'),
        field('power_on_mode', 'string', RO_RUN, default='', doc='The power on mode'),
        field('power_on_config', '(string -> string) map', RO_RUN, default={},
              doc='The power on config'),
        field('local_cache_sr', 'SR ref', RO_CTOR, default='OpaqueRef:NULL',
              doc='The SR that is used as a local cache'),
        field('chipset_info', '(string -> string) map', RO_RUN, default={},
              doc='Information about chipset features'),
        field('PCIs', 'PCI ref set', RO_RUN, doc='List of PCI devices in the host'),
        field('PGPUs', 'PGPU ref set', RO_RUN, doc='List of physical GPUs in the host'),
        field('PUSBs', 'PUSB ref set', RO_RUN, doc='List of physical USBs in the host'),
        field('ssl_legacy', 'bool', RO_CTOR, default=True,
              doc=('Allow SSLv3 protocol and ciphersuites as used by older server versions. '
                   'This controls both incoming and outgoing connections. When this is set to '
                   'a different value, the host immediately restarts its SSL/TLS listening '
                   'service; typically this takes less than a second but existing connections '
                   'to it will be broken. API login sessions will remain valid.')),
        field('guest_VCPUs_params', '(string -> string) map', default={},
              doc='VCPUs params to apply to all resident guests'),
        field('display', 'enum host_display', default='enabled',
              doc=('indicates whether the host is configured to output its console to a '
                   'physical display device')),
        field('virtual_hardware_platform_versions', 'int set', RO_RUN, default=[0],
              doc=('The set of versions of the virtual hardware platform that the host can '
                   'offer to its guests')),
        field('control_domain', 'VM ref', RO_RUN, default='OpaqueRef:NULL',
              doc='The control domain (domain 0)'),
        field('updates_requiring_reboot', 'pool_update ref set', RO_RUN,
              doc='List of updates which require reboot'),
        field('features', 'Feature ref set', RO_RUN,
              doc='List of features available on this host'),
        field('iscsi_iqn', 'string', RO_CTOR, default='', doc='The initiator IQN for the host'),
        field('multipathing', 'bool', RO_CTOR, default=False,
              doc='Specifies whether multipathing is enabled'),
        field('uefi_certificates', 'string', RO_CTOR, default='',
              doc='The UEFI certificates allowing Secure Boot'),
        field('certificates', 'Certificate ref set', RO_RUN,
              doc='List of certificates installed in the host'),
        field('editions', 'string set', RO_RUN, default=[],
              doc='List of all available product editions'),
        field('pending_guidances', 'enum update_guidances set', RO_RUN, default=[],
              doc=('The set of pending mandatory guidances after applying updates, which must '
                   'be applied, otherwise there may be, for example, VM failures')),
        field('tls_verification_enabled', 'bool', RO_RUN, default=False,
              doc='True if this host has TLS verifcation enabled'),
        field('last_software_update', 'datetime', RO_RUN, default='19700101T00:00:00Z',
              doc='Date and time when the last software update was applied'),
        field('https_only', 'bool', RO_RUN, default=False,
              doc='Reflects whether port 80 is open (false) or not (true)'),
        field('latest_synced_updates_applied', 'enum latest_synced_updates_applied_state', RO_RUN,
              default='unknown',
              doc=("Default as 'unknown', 'yes' if the host is up to date with updates synced "
                   "from remote CDN, otherwise 'no'")),
        field('numa_affinity_policy', 'enum host_numa_affinity_policy', RO_RUN,
              default='default_policy', doc='NUMA-aware VM memory and vCPU placement policy'),
        field('pending_guidances_recommended', 'enum update_guidances set', RO_RUN, default=[],
              doc=('The set of pending recommended guidances after applying updates, which '
                   'most users should follow to make the updates effective, but if not '
                   'followed, will not cause a failure')),
        field('pending_guidances_full', 'enum update_guidances set', RO_RUN, default=[],
              doc=('The set of pending full guidances after applying updates, which a user '
                   'should follow to make some updates, for example, specific hardware '
                   "drivers or CPU features, fully effective, but the 'average user' doesn't "
                   'need to')),
        field('last_update_hash', 'string', RO_RUN, default='',
              doc=('The SHA256 checksum of updateinfo of the most recently applied update on '
                   'the host')),
        field('ssh_enabled', 'bool', RO_RUN, default=True,
              doc='True if SSH access is enabled for the host'),
        field('ssh_enabled_timeout', 'int', RO_RUN, default=0,
              doc=('The timeout in seconds after which SSH access will be automatically '
                   'disabled (0 means never), this setting will be applied every time the SSH '
                   'is enabled by XAPI')),
        field('ssh_expiry', 'datetime', RO_RUN, default='19700101T00:00:00Z',
              doc='The time in UTC after which the SSH access will be automatically disabled'),
        field('console_idle_timeout', 'int', RO_RUN, default=0,
              doc=('The timeout in seconds after which idle console will be automatically '
                   'terminated (0 means never)')),
        field('ssh_auto_mode', 'bool', RO_RUN, default=False,
              doc='Reflects whether SSH auto mode is enabled for the host'),
        field('max_cstate', 'string', RO_RUN, default='',
              doc=('The maximum C-state that the host is allowed to enter, "" means '
                   'unlimited; "N" means limit to CN; "N,M" means limit to CN with max sub '
                   'cstate M.')),
        field('secure_boot', 'bool', RO_RUN, default=False,
              doc='Whether the host has booted in secure boot mode'),
        field('ntp_mode', 'enum host_ntp_mode', RO_RUN, default='Factory',
              doc=('Indicates NTP servers are assigned by DHCP, or configured by user, or the '
                   'factory servers, or NTP is disabled')),
        field('ntp_custom_servers', 'string set', RO_RUN, default=[],
              doc='Custom NTP servers configured by users, used in Custom NTP mode'),
        field('timezone', 'string', RO_RUN, default='UTC',
              doc='The time zone identifier as defined in the IANA Time Zone Database'),
    ],
    messages=[
        message(
            'set_servertime',
            doc="Set the host's system clock when NTP is disabled.",
            params=[
                param('self', 'host ref', 'The host'),
                param('value', 'datetime',
                      'A date/time to be set. When a timezone offset is missing, UTC is assumed.'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'get_ntp_synchronized',
            doc=('Returns true if the system clock on the host is synchronized with the NTP '
                 'servers.'),
            params=[
                param('self', 'host ref', 'The host'),
            ],
            result='bool',
            result_doc=('true if the system clock on the host is synchronized with the NTP '
                        'servers.'),
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'list_timezones',
            doc='List all available timezones on the host.',
            params=[
                param('self', 'host ref', 'The host'),
            ],
            result='string set',
            result_doc='The set of available timezones on the host',
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'set_timezone',
            doc="Set the host's timezone.",
            params=[
                param('self', 'host ref', 'The host'),
                param('value', 'string',
                      'The time zone identifier as defined in the IANA Time Zone Database'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'get_ntp_servers_status',
            doc='Get the NTP servers status on the host',
            params=[
                param('self', 'host ref', 'The host'),
            ],
            result='(string -> string) map',
            result_doc=('The map of NTP server to its status, status may be '
                        'synced/combined/uncombined/error/variable/unreachable/unknown'),
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'set_ntp_custom_servers',
            doc='Set the custom NTP servers for the host',
            params=[
                param('self', 'host ref', 'The host'),
                param('value', 'string set', 'The set of custom NTP servers to configure'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'set_ntp_mode',
            doc='Set the NTP mode for the host',
            params=[
                param('self', 'host ref', 'The host'),
                param('value', 'enum host_ntp_mode', 'The NTP mode to set'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'set_max_cstate',
            doc=("Sets xen's max-cstate on a host. See: "
                 'https://xenbits.xen.org/docs/unstable/misc/xen-command-line.html'
                 '#max_cstate-x86. '
                 '"" means unlimited; "N" means limit to CN; "N,M" means limit to CN with max '
                 'sub cstate M. Note: Only C0, C1, unlimited are supported currently.'),
            params=[
                param('self', 'host ref', 'The host'),
                param('value', 'string', 'The max_cstate to apply to a host'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'get_tracked_user_agents',
            doc=('Get the (name, version) list of tracked user agents on this host. If '
                 'different versions of the same name are seen, keep the last-seen version. '
                 'The oldest entry will be removed if reach the max num. Note that the list is '
                 'cleared after host/XAPI restart'),
            params=[
                param('self', 'host ref', 'The host'),
            ],
            result='(string -> string) map',
            result_doc=('The (name, version) list of user agents that have been tracked on '
                        'this host'),
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'set_ssh_auto_mode',
            doc='Set the SSH auto mode for the host',
            params=[
                param('self', 'host ref', 'The host'),
                param('value', 'bool',
                      ('The SSH auto mode for the host. When true, the SSH port is closed by '
                       "default and it's open only in case the API is unavailable. When "
                       'false, the SSH port is always open.')),
            ],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'set_console_idle_timeout',
            doc='Set the console idle timeout for the host',
            params=[
                param('self', 'host ref', 'The host'),
                param('value', 'int', 'The console idle timeout in seconds'),
            ],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'set_ssh_enabled_timeout',
            doc='Set the SSH service enabled timeout for the host',
            params=[
                param('self', 'host ref', 'The host'),
                param('value', 'int',
                      'The SSH enabled timeout in seconds (0 means no timeout, max 2 days)'),
            ],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'disable_ssh',
            doc=('Disable SSH access on the host. It will stop the service sshd only if it is '
                 'running. It will also disable the service sshd only if it is enabled. A '
                 'newly joined host in the pool or an ejected host from the pool would keep '
                 'the original status.'),
            params=[
                param('self', 'host ref', 'The host'),
            ],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'enable_ssh',
            doc=('Enable SSH access on the host. It will start the service sshd only if it is '
                 'not running. It will also enable the service sshd only if it is not enabled. '
                 'A newly joined host in the pool or an ejected host from the pool would keep '
                 'the original status.'),
            params=[
                param('self', 'host ref', 'The host'),
            ],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'emergency_clear_mandatory_guidance',
            doc='Clear the pending mandatory guidance on this host',
            roles=R_LOCAL_ROOT_ONLY,
        ),
        message(
            'apply_recommended_guidances',
            doc=('apply all recommended guidances both on the host and on all HVM VMs on the '
                 'host after updates are applied on the host'),
            params=[
                param('self', 'host ref', 'The host whose recommended guidances will be applied'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'set_https_only',
            doc='updates the host firewall to open or close port 80 depending on the value',
            params=[
                param('self', 'host ref', 'The Host'),
                param('value', 'bool',
                      'true - http port 80 will be blocked, false - http port 80 will be open'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'rescan_drivers',
            doc='Scan the host and update its driver information.',
            params=[
                param('self', 'host ref', 'The host to be rescanned'),
            ],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'apply_updates',
            doc='apply updates from current enabled repository on a host',
            params=[
                param('self', 'host ref', 'The host where updates will be applied'),
                param('hash', 'string',
                      ('The hash of updateinfo to be applied which is returned by previous '
                       'pool.sync_udpates')),
            ],
            result='string set set',
            result_doc=('The list of results after applying updates, including livepatch apply '
                        'failures and recommended guidances'),
            roles=R_POOL_OP | R_CLIENT_CERT,
            is_async=True,
        ),
        message(
            'emergency_reenable_tls_verification',
            doc=('Reenable TLS verification for this host only, and only after it was '
                 'emergency disabled'),
            roles=R_LOCAL_ROOT_ONLY,
        ),
        message(
            'emergency_disable_tls_verification',
            doc='Disable TLS verification for this host only',
            roles=R_LOCAL_ROOT_ONLY,
        ),
        message(
            'set_numa_affinity_policy',
            doc='Set VM placement NUMA affinity policy',
            params=[
                param('self', 'host ref', 'The host'),
                param('value', 'enum host_numa_affinity_policy',
                      'The NUMA affinity policy to apply to a host'),
            ],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'get_sched_gran',
            doc="Gets xen's sched-gran on a host",
            params=[
                param('self', 'host ref', 'The host'),
            ],
            result='enum host_sched_gran',
            result_doc="The host's sched-gran",
            roles=R_LOCAL_ROOT_ONLY,
            is_async=True,
        ),
        message(
            'set_sched_gran',
            doc=("Sets xen's sched-gran on a host. See: "
                 'https://xenbits.xen.org/docs/unstable/misc/xen-command-line.html#sched-gran-x86'),
            params=[
                param('self', 'host ref', 'The host'),
                param('value', 'enum host_sched_gran', 'The sched-gran to apply to a host'),
            ],
            roles=R_LOCAL_ROOT_ONLY,
            is_async=True,
        ),
        message(
            'set_uefi_certificates',
            doc='Sets the UEFI certificates on a host',
            params=[
                param('host', 'host ref', 'The host'),
                param('value', 'string', 'The certificates to apply to a host'),
            ],
            roles=R_LOCAL_ROOT_ONLY,
            is_async=True,
        ),
        message(
            'set_multipathing',
            doc='Specifies whether multipathing is enabled',
            params=[
                param('host', 'host ref', 'The host'),
                param('value', 'bool', 'Whether multipathing should be enabled'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'set_iscsi_iqn',
            doc='Sets the initiator IQN for the host',
            params=[
                param('host', 'host ref', 'The host'),
                param('value', 'string', 'The value to which the IQN should be set'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'set_ssl_legacy',
            doc=('Enable/disable SSLv3 for interoperability with older server versions. When '
                 'this is set to a different value, the host immediately restarts its SSL/TLS '
                 'listening service; typically this takes less than a second but existing '
                 'connections to it will be broken. API login sessions will remain valid.'),
            params=[
                param('self', 'host ref', 'The host'),
                param('value', 'bool',
                      'True to allow SSLv3 and ciphersuites as used in old XenServer versions'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'disable_display',
            doc='Disable console output to the physical display device next time this host boots',
            params=[
                param('host', 'host ref', 'The host'),
            ],
            result='enum host_display',
            result_doc="This host's physical display usage",
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'enable_display',
            doc='Enable console output to the physical display device next time this host boots',
            params=[
                param('host', 'host ref', 'The host'),
            ],
            result='enum host_display',
            result_doc="This host's physical display usage",
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'declare_dead',
            doc=('Declare that a host is dead. This is a dangerous operation, and should only '
                 'be called if the administrator is absolutely sure the host is definitely dead'),
            params=[
                param('host', 'host ref', 'The Host to declare is dead'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'migrate_receive',
            doc='Prepare to receive a VM, returning a token which can be passed to VM.migrate.',
            params=[
                param('host', 'host ref', 'The target host'),
                param('network', 'network ref',
                      'The network through which migration traffic should be received.'),
                param('options', '(string -> string) map', 'Extra configuration operations'),
            ],
            result='(string -> string) map',
            result_doc='A value which should be passed to VM.migrate',
            roles=R_VM_POWER_ADMIN,
            is_async=True,
        ),
        message(
            'disable_local_storage_caching',
            doc='Disable the use of a local SR for caching purposes',
            params=[
                param('host', 'host ref', 'The host'),
            ],
            roles=R_POOL_OP,
        ),
        message(
            'enable_local_storage_caching',
            doc='Enable the use of a local SR for caching purposes',
            params=[
                param('host', 'host ref', 'The host'),
                param('sr', 'SR ref', 'The SR to use as a local cache'),
            ],
            roles=R_POOL_OP,
        ),
        message(
            'reset_cpu_features',
            doc=('Remove the feature mask, such that after a reboot all features of the CPU '
                 'are enabled.'),
            params=[
                param('host', 'host ref', 'The host'),
            ],
            roles=R_POOL_OP,
        ),
        message(
            'set_cpu_features',
            doc=('Set the CPU features to be used after a reboot, if the given features string '
                 'is valid.'),
            params=[
                param('host', 'host ref', 'The host'),
                param('features', 'string', 'The features string (32 hexadecimal digits)'),
            ],
            roles=R_POOL_OP,
        ),
        message(
            'set_power_on_mode',
            doc='Set the power-on-mode, host, user and password',
            params=[
                param('self', 'host ref', 'The host'),
                param('power_on_mode', 'string',
                      'power-on-mode can be empty, wake-on-lan, IPMI or other'),
                param('power_on_config', '(string -> string) map', 'Power on config'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'refresh_pack_info',
            doc='Refresh the list of installed Supplemental Packs.',
            params=[
                param('host', 'host ref', 'The Host to modify'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'apply_edition',
            doc=('Change to another edition, or reactivate the current edition after a license '
                 'has expired. This may be subject to the successful checkout of an '
                 'appropriate license.'),
            params=[
                param('host', 'host ref', 'The host'),
                param('edition', 'string', 'The requested edition'),
                param('force', 'bool', 'Update the license params even if the apply call fails',
                      default=False),
            ],
            roles=R_POOL_OP,
        ),
        message(
            'reset_server_certificate',
            doc=('Delete the current TLS server certificate and replace by a new, self-signed '
                 'one. This should only be used with extreme care.'),
            params=[
                param('host', 'host ref', 'The host'),
            ],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'emergency_reset_server_certificate',
            doc=('Delete the current TLS server certificate and replace by a new, self-signed '
                 'one. This should only be used with extreme care.'),
            roles=R_LOCAL_ROOT_ONLY,
        ),
        message(
            'install_server_certificate',
            doc='Install the TLS server certificate.',
            params=[
                param('host', 'host ref', 'The host'),
                param('certificate', 'string', 'The server certificate, in PEM form'),
                param('private_key', 'string',
                      'The unencrypted private key used to sign the certificate, in PKCS#8 form'),
                param('certificate_chain', 'string', 'The certificate chain, in PEM form',
                      default=''),
            ],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'refresh_server_certificate',
            doc='Replace the internal self-signed host certficate with a new one.',
            params=[
                param('host', 'host ref', 'The host'),
            ],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'get_server_certificate',
            doc='Get the installed server public TLS certificate.',
            params=[
                param('host', 'host ref', 'The host'),
            ],
            result='string',
            result_doc='The installed server public TLS certificate, in PEM form.',
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'retrieve_wlb_evacuate_recommendations',
            doc=('Retrieves recommended host migrations to perform when evacuating the host '
                 'from the wlb server. If a VM cannot be migrated from the host the reason is '
                 'listed instead of a recommendation.'),
            params=[
                param('self', 'host ref', 'The host to query'),
            ],
            result='(VM ref -> string set) map',
            result_doc=('VMs and the reasons why they would block evacuation, or their target '
                        'host recommended by the wlb server'),
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'external_auth_set_ldaps',
            doc='This call enables or disables LDAPS for external authentication on the host',
            params=[
                param('host', 'host ref', 'The host whose LDAPS configuration should be set'),
                param('ldaps', 'bool', 'Whether to enable or disable LDAPS'),
                param('force', 'bool', 'Force the operation even if already in the desired state',
                      default=False),
            ],
            roles=R_POOL_ADMIN,
        ),
        message(
            'disable_external_auth',
            doc='This call disables external authentication on the local host',
            params=[
                param('host', 'host ref',
                      'The host whose external authentication should be disabled'),
                param('config', '(string -> string) map',
                      ('Optional parameters as a list of key-values containing the '
                       'configuration data'),
                      default={}),
                param('force', 'bool', 'Disable external auth even when not enabled',
                      default=False),
            ],
            roles=R_POOL_ADMIN,
        ),
        message(
            'enable_external_auth',
            doc='This call enables external authentication on a host',
            params=[
                param('host', 'host ref',
                      'The host whose external authentication should be enabled'),
                param('config', '(string -> string) map',
                      'A list of key-values containing the configuration data'),
                param('service_name', 'string', 'The name of the service'),
                param('auth_type', 'string',
                      'The type of authentication (for example, AD for Active Directory)'),
            ],
            roles=R_POOL_ADMIN,
        ),
        message(
            'get_server_localtime',
            doc=("This call queries the host's clock for the current time in the host's local "
                 'timezone'),
            params=[
                param('host', 'host ref', 'The host whose clock should be queried'),
            ],
            result='datetime',
            result_doc='The current local time',
            roles=R_READ_ONLY,
        ),
        message(
            'get_servertime',
            doc="This call queries the host's clock for the current time",
            params=[
                param('host', 'host ref', 'The host whose clock should be queried'),
            ],
            result='datetime',
            result_doc='The current time',
            roles=R_READ_ONLY,
        ),
        message(
            'call_extension',
            doc='Call an API extension on this host',
            params=[
                param('host', 'host ref', 'The host'),
                param('call', 'string', 'Rpc call for the extension'),
            ],
            result='string',
            result_doc='Result from the extension',
            roles=R_POOL_ADMIN,
        ),
        message(
            'has_extension',
            doc='Return true if the extension is available on the host',
            params=[
                param('host', 'host ref', 'The host'),
                param('name', 'string', 'The name of the API call'),
            ],
            result='bool',
            result_doc='True if the extension exists, false otherwise',
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'call_plugin',
            doc='Call an API plugin on this host',
            params=[
                param('host', 'host ref', 'The host'),
                param('plugin', 'string', 'The name of the plugin'),
                param('fn', 'string', 'The name of the function within the plugin'),
                param('args', '(string -> string) map', 'Arguments for the function'),
            ],
            result='string',
            result_doc='Result from the plugin',
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'create_new_blob',
            doc=('Create a placeholder for a named binary blob of data that is associated with '
                 'this host'),
            params=[
                param('host', 'host ref', 'The host'),
                param('name', 'string', 'The name associated with the blob'),
                param('mime_type', 'string',
                      ('The mime type for the data. Empty string translates to '
                       'application/octet-stream')),
                param('public', 'bool', 'True if the blob should be publicly available',
                      default=False),
            ],
            result='blob ref',
            result_doc='The reference of the blob, needed for populating its data',
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'backup_rrds',
            doc='This causes the RRDs to be backed up to the master',
            params=[
                param('host', 'host ref', 'Schedule a backup of the RRDs of this host'),
                param('delay', 'float',
                      'Delay in seconds from when the call is received to perform the backup'),
            ],
            roles=R_POOL_ADMIN,
        ),
        message(
            'sync_data',
            doc=('This causes the synchronisation of the non-database data (messages, RRDs and '
                 'so on) stored on the master to be synchronised with the host'),
            params=[
                param('host', 'host ref', 'The host to whom the data should be sent'),
            ],
            roles=R_POOL_ADMIN,
        ),
        message(
            'compute_memory_overhead',
            doc='Computes the virtualization memory overhead of a host.',
            params=[
                param('host', 'host ref', 'The host for which to compute the memory overhead'),
            ],
            result='int',
            result_doc='the virtualization memory overhead of the host.',
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'compute_free_memory',
            doc='Computes the amount of free memory on the host.',
            params=[
                param('host', 'host ref', 'The host to send the request to'),
            ],
            result='int',
            result_doc='the amount of free memory on the host.',
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'set_hostname_live',
            doc=('Sets the host name to the specified string.  Both the API and lower-level '
                 'system hostname are changed immediately.'),
            params=[
                param('host', 'host ref', 'The host whose host name to set'),
                param('hostname', 'string', 'The new host name'),
            ],
            errors=['HOST_NAME_INVALID'],
            roles=R_POOL_OP,
        ),
        message(
            'shutdown_agent',
            doc=('Shuts the agent down after a 10 second pause. WARNING: this is a dangerous '
                 'operation. Any operations in progress will be aborted, and unrecoverable '
                 'data loss may occur. The caller is responsible for ensuring that there are '
                 'no operations in progress when this method is called.'),
            roles=R_POOL_OP,
        ),
        message(
            'restart_agent',
            doc=('Restarts the agent after a 10 second pause. WARNING: this is a dangerous '
                 'operation. Any operations in progress will be aborted, and unrecoverable '
                 'data loss may occur. The caller is responsible for ensuring that there are '
                 'no operations in progress when this method is called.'),
            params=[
                param('host', 'host ref', 'The Host on which you want to restart the agent'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'get_system_status_capabilities',
            doc='',
            params=[
                param('host', 'host ref', 'The host to interrogate'),
            ],
            result='string',
            result_doc='An XML fragment containing the system status capabilities.',
            roles=R_READ_ONLY,
        ),
        message(
            'get_management_interface',
            doc='Returns the management interface for the specified host',
            params=[
                param('host', 'host ref', "Which host's management interface is required"),
            ],
            result='PIF ref',
            result_doc='The management interface for the host',
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'management_disable',
            doc='Disable the management network interface',
            roles=R_POOL_OP,
        ),
        message(
            'local_management_reconfigure',
            doc=('Reconfigure the management network interface. Should only be used if '
                 'Host.management_reconfigure is impossible because the network configuration '
                 'is broken.'),
            params=[
                param('interface', 'string',
                      'name of the interface to use as a management interface'),
            ],
            roles=R_POOL_OP,
        ),
        message(
            'management_reconfigure',
            doc='Reconfigure the management network interface',
            params=[
                param('pif', 'PIF ref',
                      'reference to a PIF object corresponding to the management interface'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'syslog_reconfigure',
            doc='Re-configure syslog logging',
            params=[
                param('host', 'host ref',
                      ('Tell the host to reread its Host.logging parameters and reconfigure '
                       'itself accordingly')),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'evacuate',
            doc='Migrate all VMs off of this host, where possible.',
            params=[
                param('host', 'host ref', 'The host to evacuate'),
                param('network', 'network ref', 'Optional preferred network for migration',
                      default='OpaqueRef:NULL'),
                param('evacuate_batch_size', 'int',
                      ('The maximum number of VMs to be migrated per batch 0 will use the '
                       'value `evacuation-batch-size` defined in xapi.conf'),
                      default=0),
            ],
            roles=R_POOL_OP | R_CLIENT_CERT,
            is_async=True,
        ),
        message(
            'get_uncooperative_resident_VMs',
            doc=("Return a set of VMs which are not co-operating with the host's memory "
                 'control system'),
            params=[
                param('self', 'host ref', 'The host to query'),
            ],
            result='VM ref set',
            result_doc='VMs which are not co-operating',
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'get_vms_which_prevent_evacuation',
            doc=('Return a set of VMs which prevent the host being evacuated, with per-VM '
                 'error codes'),
            params=[
                param('self', 'host ref', 'The host to query'),
            ],
            result='(VM ref -> string set) map',
            result_doc='VMs which block evacuation together with reasons',
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'assert_can_evacuate',
            doc='Check this host can be evacuated.',
            params=[
                param('host', 'host ref', 'The host to evacuate'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'forget_data_source_archives',
            doc='Forget the recorded statistics related to the specified data source',
            params=[
                param('host', 'host ref', 'The host'),
                param('data_source', 'string',
                      'The data source whose archives are to be forgotten'),
            ],
            roles=R_POOL_OP,
        ),
        message(
            'query_data_source',
            doc='Query the latest value of the specified data source',
            params=[
                param('host', 'host ref', 'The host'),
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
                param('host', 'host ref', 'The host'),
                param('data_source', 'string', 'The data source to record'),
            ],
            roles=R_POOL_OP,
        ),
        message(
            'get_data_sources',
            doc='',
            params=[
                param('host', 'host ref', 'The host to interrogate'),
            ],
            result='data_source record set',
            result_doc='A set of data sources',
            roles=R_READ_ONLY,
        ),
        message(
            'emergency_ha_disable',
            doc=('This call disables HA on the local host. This should only be used with '
                 'extreme care.'),
            params=[
                param('soft', 'bool',
                      ('Disable HA temporarily, revert upon host reboot or further changes, '
                       'idempotent'),
                      default=False),
            ],
            roles=R_POOL_OP,
        ),
        message(
            'power_on',
            doc='Attempt to power-on the host (if the capability exists).',
            params=[
                param('host', 'host ref', 'The Host to power on'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'destroy',
            doc='Destroy specified host record in database',
            params=[
                param('self', 'host ref', 'The host record to remove'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'license_remove',
            doc=('Remove any license file from the specified host, and switch that host to the '
                 'unlicensed edition'),
            params=[
                param('host', 'host ref', 'The host from which any license will be removed'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'license_add',
            doc='Apply a new license to a host',
            params=[
                param('host', 'host ref', 'The host to upload the license to'),
                param('contents', 'string', 'The contents of the license file, base64 encoded'),
            ],
            errors=['LICENSE_PROCESSING_ERROR'],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'license_apply',
            doc='Apply a new license to a host',
            params=[
                param('host', 'host ref', 'The host to upload the license to'),
                param('contents', 'string', 'The contents of the license file, base64 encoded'),
            ],
            errors=['LICENSE_PROCESSING_ERROR'],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'list_methods',
            doc='List all supported methods',
            result='string set',
            result_doc='The name of every supported method.',
            roles=R_READ_ONLY,
        ),
        message(
            'bugreport_upload',
            doc='Run xen-bugtool --yestoall and upload the output to support',
            params=[
                param('host', 'host ref', 'The host on which to run xen-bugtool'),
                param('url', 'string', 'The URL to upload to'),
                param('options', '(string -> string) map', 'Extra configuration operations'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'send_debug_keys',
            doc='Inject the given string as debugging keys into Xen',
            params=[
                param('host', 'host ref', 'The host'),
                param('keys', 'string', 'The keys to send'),
            ],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'get_log',
            doc="Get the host's log file",
            params=[
                param('host', 'host ref', 'The Host to query'),
            ],
            result='string',
            result_doc="The contents of the host's primary log file",
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'dmesg_clear',
            doc='Get the host xen dmesg, and clear the buffer.',
            params=[
                param('host', 'host ref', 'The Host to query'),
            ],
            result='string',
            result_doc='dmesg string',
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'dmesg',
            doc='Get the host xen dmesg.',
            params=[
                param('host', 'host ref', 'The Host to query'),
            ],
            result='string',
            result_doc='dmesg string',
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'reboot',
            doc=('Reboot the host. (This function can only be called if there are no currently '
                 'running VMs on the host and it is disabled.)'),
            params=[
                param('host', 'host ref', 'The Host to reboot'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'shutdown',
            doc=('Shutdown the host. (This function can only be called if there are no '
                 'currently running VMs on the host and it is disabled.)'),
            params=[
                param('host', 'host ref', 'The Host to shutdown'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'enable',
            doc='Puts the host into a state in which new VMs can be started.',
            params=[
                param('host', 'host ref', 'The Host to enable'),
            ],
            roles=R_POOL_OP | R_CLIENT_CERT,
            is_async=True,
        ),
        message(
            'disable',
            doc=('Puts the host into a state in which no new VMs can be started. Currently '
                 'active VMs on the host continue to execute.'),
            params=[
                param('host', 'host ref', 'The Host to disable'),
                param('auto_enable', 'bool',
                      ('If true (default), the host will be re-enabled after a toolstack '
                       'restart automatically. If false, the host will be disabled '
                       'indefinitely, across toolstack restarts and host reboots, until '
                       're-enabled explicitly with Host.enable.'),
                      default=True),
            ],
            roles=R_POOL_OP | R_CLIENT_CERT,
            is_async=True,
        ),
    ],
    roles=R_POOL_OP,
)
