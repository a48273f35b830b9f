"""The pool class (reference: xenapi.json)."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, message, param, RO_CTOR, RO_RUN
from xenapi_impl.model.roles import R_CLIENT_CERT, R_POOL_ADMIN, R_POOL_OP, R_READ_ONLY, R_VM_OP

POOL = cls(
    'pool',
    'Pool-wide information',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('name_label', 'string', doc='Short name'),
        field('name_description', 'string', doc='Description'),
        field('master', 'host ref', RO_RUN, doc='The host that is pool master'),
        field('default_SR', 'SR ref', doc='Default SR for VDIs'),
        field('suspend_image_SR', 'SR ref',
              doc='The SR in which VDIs for suspend images are created'),
        field('crash_dump_SR', 'SR ref', doc='The SR in which VDIs for crash dumps are created'),
        field('other_config', '(string -> string) map', doc='additional configuration'),
        field('ha_enabled', 'bool', RO_RUN, default=False,
              doc='true if HA is enabled on the pool, false otherwise'),
        field('ha_configuration', '(string -> string) map', RO_RUN, default={},
              doc='The current HA configuration'),
        field('ha_statefiles', 'string set', RO_RUN, default=[], doc='HA statefile VDIs in use'),
        field('ha_host_failures_to_tolerate', 'int', RO_RUN, default=0,
              doc=('Number of host failures to tolerate before the Pool is declared to be '
                   'overcommitted')),
        field('ha_plan_exists_for', 'int', RO_RUN, default=0,
              doc=('Number of future host failures we have managed to find a plan for. Once '
                   'this reaches zero any future host failures will cause the failure of '
                   'protected VMs.')),
        field('ha_allow_overcommit', 'bool', default=False,
              doc=('If set to false then operations which would cause the Pool to become '
                   'overcommitted will be blocked.')),
        field('ha_overcommitted', 'bool', RO_RUN, default=False,
              doc=('True if the Pool is considered to be overcommitted i.e. if there exist '
                   'insufficient physical resources to tolerate the configured number of host '
                   'failures')),
        field('blobs', '(string -> blob ref) map', RO_RUN, default={},
              doc='Binary blobs associated with this pool'),
        field('tags', 'string set', default=[], write_roles=R_VM_OP,
              doc='user-specified tags for categorization purposes'),
        field('gui_config', '(string -> string) map', default={}, write_roles=R_VM_OP,
              doc='gui-specific configuration for pool'),
        field('health_check_config', '(string -> string) map', default={},
              doc='Configuration for the automatic health check feature'),
        field('wlb_url', 'string', RO_RUN, default='',
              doc='Url for the configured workload balancing host'),
        field('wlb_username', 'string', RO_RUN, default='',
              doc='Username for accessing the workload balancing host'),
        field('wlb_enabled', 'bool', default=False, write_roles=R_POOL_OP | R_CLIENT_CERT,
              doc='true if workload balancing is enabled on the pool, false otherwise'),
        field('wlb_verify_cert', 'bool', default=False,
              doc=('true if communication with the WLB server should enforce TLS certificate '
                   'verification.')),
        field('redo_log_enabled', 'bool', RO_RUN, default=False,
              doc='true a redo-log is to be used other than when HA is enabled, false otherwise'),
        field('redo_log_vdi', 'VDI ref', RO_RUN, default='OpaqueRef:NULL',
              doc='indicates the VDI to use for the redo-log other than when HA is enabled'),
        field('vswitch_controller', 'string', RO_RUN, default='',
              doc='address of the vswitch controller'),
        field('restrictions', '(string -> string) map', RO_RUN, default={},
              doc='Pool-wide restrictions currently in effect'),
        field('metadata_VDIs', 'VDI ref set', RO_RUN,
              doc='The set of currently known metadata VDIs for this pool'),
        field('ha_cluster_stack', 'string', RO_RUN, default='',
              doc='The HA cluster stack that is currently in use. Only valid when HA is enabled.'),
        field('allowed_operations', 'enum pool_allowed_operations set', RO_RUN, default=[],
              doc=('list of the operations allowed in this state. This list is advisory only '
                   'and the server state may have changed by the time this field is read by a '
                   'client.')),
        field('current_operations', '(string -> enum pool_allowed_operations) map', RO_RUN,
              default={},
              doc=('links each of the running tasks using this object (by reference) to a '
                   'current_operation enum which describes the nature of the task.')),
        field('guest_agent_config', '(string -> string) map', RO_RUN, default={},
              doc='Pool-wide guest agent configuration information'),
        field('cpu_info', '(string -> string) map', RO_RUN, default={},
              doc='Details about the physical CPUs on the pool'),
        field('policy_no_vendor_device', 'bool', default=False,
              doc=('This field was consulted when VM.create did not specify a value for '
                   "'has_vendor_device'; VM.create now uses a simple default and no longer "
                   'consults this value.')),
        field('live_patching_disabled', 'bool', default=False,
              doc='The pool-wide flag to show if the live patching feauture is disabled or not.'),
        field('igmp_snooping_enabled', 'bool', RO_RUN, default=False,
              doc='true if IGMP snooping is enabled in the pool, false otherwise.'),
        field('uefi_certificates', 'string', RO_CTOR, default='',
              doc='The UEFI certificates allowing Secure Boot'),
        field('custom_uefi_certificates', 'string', RO_CTOR, default='',
              doc='Custom UEFI certificates allowing Secure Boot'),
        field('is_psr_pending', 'bool', default=False,
              doc='True if either a PSR is running or we are waiting for a PSR to be re-run'),
        field('tls_verification_enabled', 'bool', RO_RUN, default=False,
              doc='True iff TLS certificate verification is enabled'),
        field('repositories', 'Repository ref set', RO_RUN, default=[],
              doc='The set of currently enabled repositories'),
        field('client_certificate_auth_enabled', 'bool', RO_RUN, default=False,
              doc='True if authentication by TLS client certificates is enabled'),
        field('client_certificate_auth_name', 'string', RO_RUN, default='',
              doc=('The name (CN/SAN) that an incoming client certificate must have to allow '
                   'authentication')),
        field('repository_proxy_url', 'string', RO_RUN, default='',
              doc='Url of the proxy used in syncing with the enabled repositories'),
        field('repository_proxy_username', 'string', RO_RUN, default='',
              doc=('Username for the authentication of the proxy used in syncing with the '
                   'enabled repositories')),
        field('repository_proxy_password', 'secret ref', RO_RUN, default='OpaqueRef:NULL',
              doc=('Password for the authentication of the proxy used in syncing with the '
                   'enabled repositories')),
        field('migration_compression', 'bool', default=False,
              doc='Default behaviour during migration, True if stream compression should be used'),
        field('coordinator_bias', 'bool', default=True,
              doc=('true if bias against pool master when scheduling vms is enabled, false '
                   'otherwise')),
        field('local_auth_max_threads', 'int', RO_CTOR, default=8,
              doc='Maximum number of threads to use for PAM authentication'),
        field('ext_auth_max_threads', 'int', RO_CTOR, default=1,
              doc='Maximum number of threads to use for external (AD) authentication'),
        field('ext_auth_cache_enabled', 'bool', RO_RUN, default=True,
              doc=('Specifies whether external authentication caching is enabled for this '
                   'pool or not')),
        field('ext_auth_cache_size', 'int', RO_RUN, default=50,
              doc='Maximum capacity of external authentication cache'),
        field('ext_auth_cache_expiry', 'int', RO_RUN, default=300,
              doc=('Specifies how long external authentication entries should be cached for '
                   '(seconds)')),
        field('telemetry_uuid', 'secret ref', RO_RUN, default='OpaqueRef:NULL',
              doc='The UUID of the pool for identification of telemetry data'),
        field('telemetry_frequency', 'enum telemetry_frequency', RO_RUN, default='weekly',
              doc='How often the telemetry collection will be carried out'),
        field('telemetry_next_collection', 'datetime', RO_RUN, default='19700101T00:00:00Z',
              doc=('The earliest timestamp (in UTC) when the next round of telemetry '
                   'collection can be carried out')),
        field('last_update_sync', 'datetime', RO_RUN, default='19700101T00:00:00Z',
              doc='time of the last update sychronization'),
        field('update_sync_frequency', 'enum update_sync_frequency', RO_RUN, default='weekly',
              doc=('The frequency at which updates are synchronized from a remote CDN: daily '
                   'or weekly.')),
        field('update_sync_day', 'int', RO_RUN, default=0,
              doc=('The day of the week the update synchronizations will be scheduled, based '
                   "on pool's local timezone. Ignored when update_sync_frequency is daily")),
        field('update_sync_enabled', 'bool', RO_RUN, default=False,
              doc='Whether periodic update synchronization is enabled or not'),
        field('recommendations', '(string -> string) map', RO_RUN, default={},
              doc=('The recommended pool properties for clients to respect for optimal '
                   'performance. For example, max-vm-group=5')),
        field('license_server', '(string -> string) map', default={},
              doc='Licensing data shared within the whole pool'),
        field('ha_reboot_vm_on_internal_shutdown', 'bool', default=True,
              doc=('Indicates whether an HA-protected VM that is shut down from inside (not '
                   'through the API) should be automatically rebooted when HA is enabled')),
        field('limit_console_sessions', 'bool', default=False,
              doc=('When true, only one console connection per VM/host in the pool is '
                   "accepted. Otherwise every connection for a VM/host's console is accepted. "
                   'Note: when true, connection attempts via websocket will be rejected.')),
        field('vm_console_idle_timeout', 'int', default=0,
              doc=("The maximum time (in seconds) that a VM's console can be idle before it "
                   'is automatically disconnected. The default value 0 means never timeout. '
                   'This setting applies only to VM consoles; for host consoles, use the '
                   "separate parameter 'host.console_idle_timeout'.")),
        field('auto_update_vm_secureboot_certificates', 'bool', default=False,
              doc=('When true, at VM.create time the pool automatically marks a newly created '
                   'VM whose Secure Boot certificates are due to expire by setting '
                   'VM.secureboot_certificates_state to update_on_boot (the same effect as '
                   'VM.update_secureboot_certificates_on_boot), so the certificates are '
                   "updated on the VM's next boot. This applies to VMs created by VM.create, "
                   'including those created by operations that internally call it: the '
                   'HTTP(s) PUT /import and /import_metadata calls and disaster recovery '
                   '(VM.recover and VM_appliance.recover); it does not apply to VM.clone or '
                   "VM.copy, which inherit the source VM's state.")),
    ],
    messages=[
        message(
            'sync_trusted_certificates_from',
            doc=('Download trusted TLS certificates from a remote pool and install them in '
                 'this pool. Certificates already present locally (matched by fingerprint and '
                 'purpose) are skipped.'),
            params=[
                param('self', 'pool ref', 'The pool'),
                param('remote_pool', 'string',
                      ('The hostname or IP address of the coordinator of the remote pool from '
                       'which the certificates are downloaded')),
                param('remote_session', 'session ref',
                      ('A session obtained from the remote pool, used to authenticate the '
                       'download')),
                param('remote_certificate', 'string',
                      ("The PEM-encoded TLS certificate of the remote pool's coordinator, "
                       'used to verify the TLS connection to the remote pool.')),
                param('ca', 'bool', "true for 'ca' or false for 'pinned'"),
            ],
            result='Certificate ref set',
            result_doc='The references of certificates synced.',
            roles=R_POOL_OP | R_CLIENT_CERT,
            is_async=True,
        ),
        message(
            'uninstall_trusted_certificate',
            doc='Uninstall a trusted TLS certificate, pool-wide.',
            params=[
                param('self', 'pool ref', 'The pool'),
                param('certificate', 'Certificate ref',
                      'The reference of the trusted certificate to be uninstalled'),
            ],
            roles=R_POOL_OP | R_CLIENT_CERT,
            is_async=True,
        ),
        message(
            'install_trusted_certificate',
            doc='Install a trusted TLS certificate, pool-wide.',
            params=[
                param('self', 'pool ref', 'The pool'),
                param('ca', 'bool',
                      ('The trusted certificate is a root CA certificate used to verify a '
                       'chain (true), or a leaf certificate used for certificate pinning '
                       '(false)')),
                param('cert', 'string', 'The certificate in PEM format'),
                param('purpose', 'enum certificate_purpose set', 'The purpose of the certificate'),
            ],
            roles=R_POOL_OP | R_CLIENT_CERT,
            is_async=True,
        ),
        message(
            'set_ssh_auto_mode',
            doc='Set the SSH auto mode for all hosts in the pool',
            params=[
                param('self', 'pool ref', 'The pool'),
                param('value', 'bool',
                      ('The SSH auto mode for all hosts in the pool. When true, the SSH port '
                       "is closed by default and it's open only in case the API is "
                       'unavailable. When false, the SSH port is always open.')),
            ],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'set_console_idle_timeout',
            doc='Set the console idle timeout for all hosts in the pool',
            params=[
                param('self', 'pool ref', 'The pool'),
                param('value', 'int',
                      ('The idle SSH/VNC session timeout in seconds. A value of 0 means no '
                       'timeout.')),
            ],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'set_ssh_enabled_timeout',
            doc='Set the SSH enabled timeout for all hosts in the pool',
            params=[
                param('self', 'pool ref', 'The pool'),
                param('value', 'int',
                      'The SSH enabled timeout in seconds. (0 means no timeout, max 2 days)'),
            ],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'disable_ssh',
            doc=("Disable SSH access on all hosts in the pool. It's a helper which calls "
                 'host.disable_ssh for all the hosts in the pool.'),
            params=[
                param('self', 'pool ref', 'The pool'),
            ],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'enable_ssh',
            doc=("Enable SSH access on all hosts in the pool. It's a helper which calls "
                 'host.enable_ssh for all the hosts in the pool.'),
            params=[
                param('self', 'pool ref', 'The pool'),
            ],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'get_guest_secureboot_readiness',
            doc='',
            params=[
                param('self', 'pool ref', 'The pool'),
            ],
            result='enum pool_guest_secureboot_readiness',
            result_doc='The readiness of the pool',
            roles=R_POOL_OP,
        ),
        message(
            'set_ext_auth_cache_expiry',
            doc='',
            params=[
                param('self', 'pool ref', 'The pool'),
                param('value', 'int',
                      ('The expiry time of entries in the external authentication cache (in '
                       'seconds - 300 seconds, i.e. 5 minutes, is the default value)')),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'set_ext_auth_cache_size',
            doc='',
            params=[
                param('self', 'pool ref', 'The pool'),
                param('value', 'int', 'The capacity of the external authentication cache'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'set_ext_auth_cache_enabled',
            doc='',
            params=[
                param('self', 'pool ref', 'The pool'),
                param('value', 'bool',
                      'Specifies whether caching is enabled for external authentication'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'set_ext_auth_max_threads',
            doc='',
            params=[
                param('self', 'pool ref', 'The pool'),
                param('value', 'int', 'The new maximum'),
            ],
            roles=R_POOL_OP,
        ),
        message(
            'set_local_auth_max_threads',
            doc='',
            params=[
                param('self', 'pool ref', 'The pool'),
                param('value', 'int', 'The new maximum'),
            ],
            roles=R_POOL_OP,
        ),
        message(
            'set_update_sync_enabled',
            doc='enable or disable periodic update synchronization depending on the value',
            params=[
                param('self', 'pool ref', 'The pool'),
                param('value', 'bool',
                      'true - enable periodic update synchronization, false - disable it'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'configure_update_sync',
            doc=('Configure periodic update synchronization to synchronize updates from a '
                 'remote CDN'),
            params=[
                param('self', 'pool ref', 'The pool'),
                param('update_sync_frequency', 'enum update_sync_frequency',
                      ('The frequency at which updates are synchronized from a remote CDN: '
                       'daily or weekly.')),
                param('update_sync_day', 'int',
                      ('The day of the week the update synchronization will happen, based on '
                       "pool's local timezone. Valid values are 0 to 6, 0 being Sunday. For "
                       "'daily' schedule, the value is ignored.")),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'reset_telemetry_uuid',
            doc='Assign a new UUID to telemetry data.',
            params=[
                param('self', 'pool ref', 'The pool'),
            ],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'set_telemetry_next_collection',
            doc='Set the timestamp for the next telemetry data collection.',
            params=[
                param('self', 'pool ref', 'The pool'),
                param('value', 'datetime',
                      ('The earliest timestamp (in UTC) when the next round of telemetry '
                       'collection can be carried out.')),
            ],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'set_https_only',
            doc=('updates all the host firewalls in the pool to open or close port 80 '
                 'depending on the value'),
            params=[
                param('self', 'pool ref', 'The pool'),
                param('value', 'bool',
                      ('true - http port 80 will be blocked, false - http port 80 will be '
                       'open for the hosts in the pool')),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'set_custom_uefi_certificates',
            doc=('Set custom UEFI certificates for a pool and all its hosts. Need '
                 '`allow-custom-uefi-certs` set to true in conf. If empty: default back to '
                 'Pool.uefi_certificates'),
            params=[
                param('self', 'pool ref', 'The pool'),
                param('value', 'string', 'The certificates to apply to the pool and its hosts'),
            ],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'set_uefi_certificates',
            doc=('Set the UEFI certificates for a pool and all its hosts. Deprecated: use '
                 'set_custom_uefi_certificates instead'),
            params=[
                param('self', 'pool ref', 'The pool'),
                param('value', 'string', 'The certificates to apply to the pool and its hosts'),
            ],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'disable_repository_proxy',
            doc='Disable the proxy for RPM package repositories.',
            params=[
                param('self', 'pool ref', 'The pool'),
            ],
            roles=R_POOL_OP | R_CLIENT_CERT,
            is_async=True,
        ),
        message(
            'configure_repository_proxy',
            doc='Configure proxy for RPM package repositories.',
            params=[
                param('self', 'pool ref', 'The pool'),
                param('url', 'string', 'The URL of the proxy server'),
                param('username', 'string',
                      'The username used to authenticate with the proxy server'),
                param('password', 'string',
                      'The password used to authenticate with the proxy server'),
            ],
            roles=R_POOL_OP | R_CLIENT_CERT,
            is_async=True,
        ),
        message(
            'disable_client_certificate_auth',
            doc='Disable client certificate authentication on the pool',
            params=[
                param('self', 'pool ref', 'The pool'),
            ],
            roles=R_POOL_OP | R_CLIENT_CERT,
            is_async=True,
        ),
        message(
            'enable_client_certificate_auth',
            doc='Enable client certificate authentication on the pool',
            params=[
                param('self', 'pool ref', 'The pool'),
                param('name', 'string',
                      ('The name (CN/SAN) that an incoming client certificate must have to '
                       'allow authentication')),
            ],
            roles=R_POOL_OP | R_CLIENT_CERT,
            is_async=True,
        ),
        message(
            'check_update_readiness',
            doc='Check if the pool is ready to be updated. If not, report the reasons.',
            params=[
                param('self', 'pool ref', 'The pool'),
                param('requires_reboot', 'bool',
                      'Assume that the update will require host reboots'),
            ],
            result='string set set',
            result_doc=('A set of error codes with arguments, if the pool is\n        not '
                        'ready to update. An empty list means the pool can be updated.'),
            roles=R_POOL_OP | R_CLIENT_CERT,
            is_async=True,
        ),
        message(
            'sync_updates',
            doc='Sync with the enabled repository',
            params=[
                param('self', 'pool ref', 'The pool'),
                param('force', 'bool',
                      'If true local mirroring repo will be removed before syncing'),
                param('token', 'string', 'The token for repository client authentication',
                      default=''),
                param('token_id', 'string', 'The ID of the token', default=''),
                param('username', 'string', 'The username of the remote pool', default=''),
                param('password', 'string', 'The password of the remote pool', default=''),
            ],
            result='string',
            result_doc='The SHA256 hash of updateinfo.xml.gz',
            roles=R_POOL_OP | R_CLIENT_CERT,
            is_async=True,
        ),
        message(
            'remove_repository',
            doc='Remove a repository from the enabled set',
            params=[
                param('self', 'pool ref', 'The pool'),
                param('value', 'Repository ref', 'The repository to be removed'),
            ],
            roles=R_POOL_OP | R_CLIENT_CERT,
            is_async=True,
        ),
        message(
            'add_repository',
            doc='Add a repository to the enabled set',
            params=[
                param('self', 'pool ref', 'The pool'),
                param('value', 'Repository ref', 'The repository to be added to the enabled set'),
            ],
            roles=R_POOL_OP | R_CLIENT_CERT,
            is_async=True,
        ),
        message(
            'set_repositories',
            doc='Set enabled set of repositories',
            params=[
                param('self', 'pool ref', 'The pool'),
                param('value', 'Repository ref set', 'The set of repositories to be enabled'),
            ],
            roles=R_POOL_OP | R_CLIENT_CERT,
            is_async=True,
        ),
        message(
            'rotate_secret',
            doc='',
            errors=[
                'INTERNAL_ERROR', 'HOST_IS_SLAVE', 'CANNOT_CONTACT_HOST', 'HA_IS_ENABLED',
                'NOT_SUPPORTED_DURING_UPGRADE',
            ],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'remove_from_guest_agent_config',
            doc='Remove a key-value pair from the pool-wide guest agent configuration',
            params=[
                param('self', 'pool ref', 'The pool'),
                param('key', 'string', 'The key to remove'),
            ],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'add_to_guest_agent_config',
            doc='Add a key-value pair to the pool-wide guest agent configuration',
            params=[
                param('self', 'pool ref', 'The pool'),
                param('key', 'string', 'The key to add'),
                param('value', 'string', 'The value to add'),
            ],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'has_extension',
            doc='Return true if the extension is available on the pool',
            params=[
                param('self', 'pool ref', 'The pool'),
                param('name', 'string', 'The name of the API call'),
            ],
            result='bool',
            result_doc='True if the extension exists, false otherwise',
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'set_igmp_snooping_enabled',
            doc='Enable or disable IGMP Snooping on the pool.',
            params=[
                param('self', 'pool ref', 'The pool'),
                param('value', 'bool', 'Enable or disable IGMP Snooping on the pool'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'disable_ssl_legacy',
            doc=('Sets ssl_legacy false on each host, pool-master last. See Host.ssl_legacy '
                 'and Host.set_ssl_legacy.'),
            params=[
                param('self', 'pool ref', '(ignored)'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'enable_ssl_legacy',
            doc=('Sets ssl_legacy true on each host, pool-master last. See Host.ssl_legacy and '
                 'Host.set_ssl_legacy.'),
            params=[
                param('self', 'pool ref', '(ignored)'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'apply_edition',
            doc='Apply an edition to all hosts in the pool',
            params=[
                param('self', 'pool ref', 'Reference to the pool'),
                param('edition', 'string', 'The requested edition'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'get_license_state',
            doc='This call returns the license state for the pool',
            params=[
                param('self', 'pool ref', 'Reference to the pool'),
            ],
            result='(string -> string) map',
            result_doc="The pool's license state",
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'disable_local_storage_caching',
            doc='This call disables pool-wide local storage caching',
            params=[
                param('self', 'pool ref', 'Reference to the pool'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'enable_local_storage_caching',
            doc='This call attempts to enable pool-wide local storage caching',
            params=[
                param('self', 'pool ref', 'Reference to the pool'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'test_archive_target',
            doc='This call tests if a location is valid',
            params=[
                param('self', 'pool ref', 'Reference to the pool'),
                param('config', '(string -> string) map', 'Location config settings to test'),
            ],
            result='string',
            result_doc='An XMLRPC result',
            roles=R_POOL_OP,
        ),
        message(
            'set_vswitch_controller',
            doc='Set the IP address of the vswitch controller.',
            params=[
                param('address', 'string', 'IP address of the vswitch controller.'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'disable_redo_log',
            doc='Disable the redo log if in use, unless HA is enabled.',
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'enable_redo_log',
            doc='Enable the redo log on the given SR and start using it, unless HA is enabled.',
            params=[
                param('sr', 'SR ref', 'SR to hold the redo log.'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'enable_tls_verification',
            doc='Enable TLS server certificate verification',
            roles=R_POOL_ADMIN,
        ),
        message(
            'certificate_sync',
            doc='Copy the TLS CA certificates and CRLs of the master to all slaves.',
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'crl_list',
            doc='List the names of all installed TLS CA-issued Certificate Revocation Lists.',
            result='string set',
            result_doc='The names of all installed CRLs',
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'crl_uninstall',
            doc='Remove a pool-wide TLS CA-issued Certificate Revocation List.',
            params=[
                param('name', 'string', 'The CRL name'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'crl_install',
            doc='Install a TLS CA-issued Certificate Revocation List, pool-wide.',
            params=[
                param('name', 'string', 'A name to give the CRL'),
                param('cert', 'string', 'The CRL'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'uninstall_ca_certificate',
            doc='Remove a pool-wide TLS CA certificate.',
            params=[
                param('name', 'string', 'The certificate name'),
                param('force', 'bool', 'Remove the DB entry even if the file is non-existent',
                      default=False),
            ],
            roles=R_POOL_OP | R_CLIENT_CERT,
            is_async=True,
        ),
        message(
            'install_ca_certificate',
            doc='Install a TLS CA certificate, pool-wide.',
            params=[
                param('name', 'string', 'A name to give the certificate'),
                param('cert', 'string', 'The certificate in PEM format'),
            ],
            roles=R_POOL_OP | R_CLIENT_CERT,
            is_async=True,
        ),
        message(
            'certificate_list',
            doc='List the names of all installed TLS CA certificates.',
            result='string set',
            result_doc='All installed certificates',
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'certificate_uninstall',
            doc='Remove a pool-wide TLS CA certificate.',
            params=[
                param('name', 'string', 'The certificate name'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'certificate_install',
            doc='Install a TLS CA certificate, pool-wide.',
            params=[
                param('name', 'string', 'A name to give the certificate'),
                param('cert', 'string', 'The certificate in PEM format'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'send_test_post',
            doc=('Send the given body to the given host and port, using HTTPS, and print the '
                 'response.  This is used for debugging the SSL layer.'),
            params=[
                param('host', 'string', ''),
                param('port', 'int', ''),
                param('body', 'string', ''),
            ],
            result='string',
            result_doc='The response',
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'retrieve_wlb_recommendations',
            doc=('Retrieves vm migrate recommendations for the pool from the workload '
                 'balancing server'),
            result='(VM ref -> string set) map',
            result_doc='The list of vm migration recommendations',
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'retrieve_wlb_configuration',
            doc='Retrieves the pool optimization criteria from the workload balancing server',
            result='(string -> string) map',
            result_doc='The configuration used in optimizing this pool',
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'send_wlb_configuration',
            doc='Sets the pool optimization criteria for the workload balancing server',
            params=[
                param('config', '(string -> string) map',
                      'The configuration to use in optimizing this pool'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'deconfigure_wlb',
            doc='Permanently deconfigures workload balancing monitoring on this pool',
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'initialize_wlb',
            doc=('Initializes workload balancing monitoring on this pool with the specified '
                 'wlb server'),
            params=[
                param('wlb_url', 'string',
                      'The ip address and port to use when accessing the wlb server'),
                param('wlb_username', 'string',
                      'The username used to authenticate with the wlb server'),
                param('wlb_password', 'string',
                      'The password used to authenticate with the wlb server'),
                param('xenserver_username', 'string',
                      'The username used by the wlb server to authenticate with the xenserver'),
                param('xenserver_password', 'string',
                      'The password used by the wlb server to authenticate with the xenserver'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'detect_nonhomogeneous_external_auth',
            doc=('This call asynchronously detects if the external authentication '
                 'configuration in any slave is different from that in the master and raises '
                 'appropriate alerts'),
            params=[
                param('pool', 'pool ref',
                      ('The pool where to detect non-homogeneous external authentication '
                       'configuration')),
            ],
            roles=R_POOL_OP,
        ),
        message(
            'external_auth_set_ldaps',
            doc=('This call enables or disables LDAPS for external authentication on all hosts '
                 'in the pool'),
            params=[
                param('pool', 'pool ref', 'The pool whose LDAPS configuration should be set'),
                param('ldaps', 'bool', 'Whether to enable or disable LDAPS'),
                param('force', 'bool', 'Force the operation even if already in the desired state',
                      default=False),
            ],
            roles=R_POOL_ADMIN,
        ),
        message(
            'disable_external_auth',
            doc='This call disables external authentication on all the hosts of the pool',
            params=[
                param('pool', 'pool ref',
                      'The pool whose external authentication should be disabled'),
                param('config', '(string -> string) map',
                      ('Optional parameters as a list of key-values containing the '
                       'configuration data'),
                      default={}),
            ],
            roles=R_POOL_ADMIN,
        ),
        message(
            'enable_external_auth',
            doc='This call enables external authentication on all the hosts of the pool',
            params=[
                param('pool', 'pool ref',
                      'The pool whose external authentication should be enabled'),
                param('config', '(string -> string) map',
                      'A list of key-values containing the configuration data'),
                param('service_name', 'string', 'The name of the service'),
                param('auth_type', 'string',
                      'The type of authentication (for example, AD for Active Directory)'),
            ],
            roles=R_POOL_ADMIN,
        ),
        message(
            'create_new_blob',
            doc=('Create a placeholder for a named binary blob of data that is associated with '
                 'this pool'),
            params=[
                param('pool', 'pool ref', 'The pool'),
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
            'set_ha_host_failures_to_tolerate',
            doc='Set the maximum number of host failures to consider in the HA VM restart planner',
            params=[
                param('self', 'pool ref', 'The pool'),
                param('value', 'int', 'New number of host failures to consider'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'ha_compute_vm_failover_plan',
            doc='Return a VM failover plan assuming a given subset of hosts fail',
            params=[
                param('failed_hosts', 'host ref set', 'The set of hosts to assume have failed'),
                param('failed_vms', 'VM ref set', 'The set of VMs to restart'),
            ],
            result='(VM ref -> (string -> string) map) map',
            result_doc='VM failover plan: a map of VM to host to restart the host on',
            roles=R_POOL_OP,
        ),
        message(
            'ha_compute_hypothetical_max_host_failures_to_tolerate',
            doc=('Returns the maximum number of host failures we could tolerate before we '
                 'would be unable to restart the provided VMs'),
            params=[
                param('configuration', '(VM ref -> string) map',
                      'Map of protected VM reference to restart priority'),
            ],
            result='int',
            result_doc=('maximum value for ha_host_failures_to_tolerate given provided '
                        'configuration'),
            roles=R_READ_ONLY,
        ),
        message(
            'ha_compute_max_host_failures_to_tolerate',
            doc=('Returns the maximum number of host failures we could tolerate before we '
                 'would be unable to restart configured VMs'),
            result='int',
            result_doc=('maximum value for ha_host_failures_to_tolerate given current '
                        'configuration'),
            roles=R_POOL_OP,
        ),
        message(
            'ha_failover_plan_exists',
            doc="Returns true if a VM failover plan exists for up to 'n' host failures",
            params=[
                param('n', 'int', 'The number of host failures to plan for'),
            ],
            result='bool',
            result_doc='true if a failover plan exists for the supplied number of host failures',
            roles=R_POOL_OP,
        ),
        message(
            'ha_prevent_restarts_for',
            doc=('When this call returns the VM restart logic will not run for the requested '
                 'number of seconds. If the argument is zero then the restart thread is '
                 'immediately unblocked'),
            params=[
                param('seconds', 'int', 'The number of seconds to block the restart thread for'),
            ],
            roles=R_POOL_OP,
        ),
        message(
            'designate_new_master',
            doc='Perform an orderly handover of the role of master to the referenced host.',
            params=[
                param('host', 'host ref', 'The host who should become the new master'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'sync_database',
            doc='Forcibly synchronise the database now',
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'disable_ha',
            doc='Turn off High Availability mode',
            roles=R_POOL_OP | R_CLIENT_CERT,
            is_async=True,
        ),
        message(
            'enable_ha',
            doc='Turn on High Availability mode',
            params=[
                param('heartbeat_srs', 'SR ref set', 'Set of SRs to use for storage heartbeating'),
                param('configuration', '(string -> string) map',
                      'Detailed HA configuration to apply'),
            ],
            roles=R_POOL_OP | R_CLIENT_CERT,
            is_async=True,
        ),
        message(
            'create_VLAN_from_PIF',
            doc='Create a pool-wide VLAN by taking the PIF.',
            params=[
                param('pif', 'PIF ref',
                      ('physical interface on any particular host, that identifies the PIF on '
                       'which to create the (pool-wide) VLAN interface')),
                param('network', 'network ref',
                      'network to which this interface should be connected'),
                param('VLAN', 'int', 'VLAN tag for the new interface'),
            ],
            result='PIF ref set',
            result_doc='The references of the created PIF objects',
            errors=['VLAN_TAG_INVALID'],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'management_reconfigure',
            doc='Reconfigure the management network interface for all Hosts in the Pool',
            params=[
                param('network', 'network ref', 'The network'),
            ],
            errors=[
                'HA_IS_ENABLED', 'PIF_NOT_PRESENT', 'CANNOT_PLUG_BOND_SLAVE',
                'PIF_INCOMPATIBLE_PRIMARY_ADDRESS_TYPE', 'PIF_HAS_NO_NETWORK_CONFIGURATION',
                'PIF_HAS_NO_V6_NETWORK_CONFIGURATION',
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'create_VLAN',
            doc=('Create PIFs, mapping a network to the same physical interface/VLAN on each '
                 'host. This call is deprecated: use Pool.create_VLAN_from_PIF instead.'),
            params=[
                param('device', 'string',
                      'physical interface on which to create the VLAN interface'),
                param('network', 'network ref',
                      'network to which this interface should be connected'),
                param('VLAN', 'int', 'VLAN tag for the new interface'),
            ],
            result='PIF ref set',
            result_doc='The references of the created PIF objects',
            errors=['VLAN_TAG_INVALID'],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'recover_slaves',
            doc=('Instruct a pool master, M, to try and contact its slaves and, if slaves are '
                 'in emergency mode, reset their master address to M.'),
            result='host ref set',
            result_doc='list of hosts whose master address were successfully reset',
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'emergency_reset_master',
            doc='Instruct a slave already in a pool that the master has changed',
            params=[
                param('master_address', 'string', 'The hostname of the master'),
            ],
            roles=R_POOL_OP,
        ),
        message(
            'emergency_transition_to_master',
            doc="Instruct host that's currently a slave to transition to being master",
            roles=R_POOL_OP,
        ),
        message(
            'eject',
            doc='Instruct a pool master to eject a host from the pool',
            params=[
                param('host', 'host ref', 'The host to eject'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'join_force',
            doc='Instruct host to join a new pool',
            params=[
                param('master_address', 'string',
                      'The hostname of the master of the pool to join'),
                param('master_username', 'string',
                      'The username of the master (for initial authentication)'),
                param('master_password', 'string',
                      'The password for the master (for initial authentication)'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'join',
            doc='Instruct host to join a new pool',
            params=[
                param('master_address', 'string',
                      'The hostname of the master of the pool to join'),
                param('master_username', 'string',
                      'The username of the master (for initial authentication)'),
                param('master_password', 'string',
                      'The password for the master (for initial authentication)'),
            ],
            errors=['JOINING_HOST_CANNOT_CONTAIN_SHARED_SRS'],
            roles=R_POOL_OP,
            is_async=True,
        ),
    ],
    roles=R_POOL_OP,
)
