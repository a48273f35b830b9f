"""The SR class (reference: xenapi.json)."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, message, param, RO_CTOR, RO_RUN
from xenapi_impl.model.roles import R_POOL_OP, R_READ_ONLY, R_VM_OP, R_VM_POWER_ADMIN

SR = cls(
    'SR',
    'A storage repository',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('name/label', 'string', RO_CTOR, default='', doc='a human-readable name'),
        field('name/description', 'string', RO_CTOR, default='',
              doc='a notes field containing human-readable description'),
        field('allowed_operations', 'enum storage_operations set', RO_RUN, default=[],
              doc=('list of the operations allowed in this state. This list is advisory only '
                   'and the server state may have changed by the time this field is read by a '
                   'client.')),
        field('current_operations', '(string -> enum storage_operations) map', RO_RUN, default={},
              doc=('links each of the running tasks using this object (by reference) to a '
                   'current_operation enum which describes the nature of the task.')),
        field('VDIs', 'VDI ref set', RO_RUN,
              doc='all virtual disks known to this storage repository'),
        field('PBDs', 'PBD ref set', RO_RUN,
              doc='describes how particular hosts can see this storage repository'),
        field('virtual_allocation', 'int', RO_RUN,
              doc='sum of virtual_sizes of all VDIs in this storage repository (in bytes)'),
        field('physical_utilisation', 'int', RO_RUN,
              doc=('physical space currently utilised on this storage repository (in bytes). '
                   'Note that for sparse disk formats, physical_utilisation may be less than '
                   'virtual_allocation')),
        field('physical_size', 'int', RO_CTOR,
              doc='total physical size of the repository (in bytes)'),
        field('type', 'string', RO_CTOR, doc='type of the storage repository'),
        field('content_type', 'string', RO_CTOR,
              doc="the type of the SR's content, if required (for example, ISOs)"),
        field('shared', 'bool', RO_RUN,
              doc='true if this SR is (capable of being) shared between multiple hosts'),
        field('other_config', '(string -> string) map', doc='additional configuration'),
        field('tags', 'string set', default=[], write_roles=R_VM_OP,
              doc='user-specified tags for categorization purposes'),
        field('sm_config', '(string -> string) map', default={}, doc='SM dependent data'),
        field('blobs', '(string -> blob ref) map', RO_RUN, default={},
              doc='Binary blobs associated with this SR'),
        field('local_cache_enabled', 'bool', RO_RUN, default=False,
              doc='True if this SR is assigned to be the local cache for its host'),
        field('introduced_by', 'DR_task ref', RO_RUN, default='OpaqueRef:NULL',
              doc='The disaster recovery task which introduced this SR'),
        field('clustered', 'bool', RO_RUN, default=False,
              doc='True if the SR is using aggregated local storage'),
        field('is_tools_sr', 'bool', RO_RUN, default=False,
              doc='True if this is the SR that contains the Tools ISO VDIs'),
    ],
    messages=[
        message(
            'forget_data_source_archives',
            doc='Forget the recorded statistics related to the specified data source',
            params=[
                param('sr', 'SR ref', 'The SR'),
                param('data_source', 'string',
                      'The data source whose archives are to be forgotten'),
            ],
            roles=R_POOL_OP,
        ),
        message(
            'query_data_source',
            doc='Query the latest value of the specified data source',
            params=[
                param('sr', 'SR ref', 'The SR'),
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
                param('sr', 'SR ref', 'The SR'),
                param('data_source', 'string', 'The data source to record'),
            ],
            roles=R_POOL_OP,
        ),
        message(
            'get_data_sources',
            doc='',
            params=[
                param('sr', 'SR ref', 'The SR to interrogate'),
            ],
            result='data_source record set',
            result_doc='A set of data sources',
            roles=R_READ_ONLY,
        ),
        message(
            'disable_database_replication',
            doc='',
            params=[
                param('sr', 'SR ref', 'The SR to which metadata should be no longer replicated'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'enable_database_replication',
            doc='',
            params=[
                param('sr', 'SR ref', 'The SR to which metadata should be replicated'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'assert_supports_database_replication',
            doc=('Returns successfully if the given SR supports database replication. '
                 'Otherwise returns an error to explain why not.'),
            params=[
                param('sr', 'SR ref', 'The SR to query'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'assert_can_host_ha_statefile',
            doc=('Returns successfully if the given SR can host an HA statefile. Otherwise '
                 'returns an error to explain why not'),
            params=[
                param('sr', 'SR ref', 'The SR to query'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'set_physical_size',
            doc="Sets the SR's physical_size field",
            params=[
                param('self', 'SR ref', 'The SR to modify'),
                param('value', 'int', "The new value of the SR's physical_size"),
            ],
            roles=R_POOL_OP,
        ),
        message(
            'create_new_blob',
            doc=('Create a placeholder for a named binary blob of data that is associated with '
                 'this SR'),
            params=[
                param('sr', 'SR ref', 'The SR'),
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
            'set_name_description',
            doc='Set the name description of the SR',
            params=[
                param('sr', 'SR ref', 'The SR'),
                param('value', 'string', 'The name description for the SR'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'set_name_label',
            doc='Set the name label of the SR',
            params=[
                param('sr', 'SR ref', 'The SR'),
                param('value', 'string', 'The name label for the SR'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'set_shared',
            doc='Sets the shared flag on the SR',
            params=[
                param('sr', 'SR ref', 'The SR'),
                param('value', 'bool', 'True if the SR is shared'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'probe_ext',
            doc=('Perform a backend-specific scan, using the given device_config.  If the '
                 'device_config is complete, then this will return a list of the SRs present '
                 'of this type on the device, if any.  If the device_config is partial, then a '
                 'backend-specific scan will be performed, returning results that will guide '
                 'the user in improving the device_config.'),
            params=[
                param('host', 'host ref', 'The host to create/make the SR on'),
                param('device_config', '(string -> string) map',
                      'The device config string that will be passed to backend SR driver'),
                param('type', 'string',
                      'The type of the SR; used to specify the SR backend driver to use'),
                param('sm_config', '(string -> string) map',
                      'Storage backend specific configuration options', default={}),
            ],
            result='probe_result record set',
            result_doc='A set of records containing the scan results.',
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'probe',
            doc=('Perform a backend-specific scan, using the given device_config.  If the '
                 'device_config is complete, then this will return a list of the SRs present '
                 'of this type on the device, if any.  If the device_config is partial, then a '
                 'backend-specific scan will be performed, returning results that will guide '
                 'the user in improving the device_config.'),
            params=[
                param('host', 'host ref', 'The host to create/make the SR on'),
                param('device_config', '(string -> string) map',
                      'The device config string that will be passed to backend SR driver'),
                param('type', 'string',
                      'The type of the SR; used to specify the SR backend driver to use'),
                param('sm_config', '(string -> string) map',
                      'Storage backend specific configuration options', default={}),
            ],
            result='string',
            result_doc=('An XML fragment containing the scan results.  These are specific to '
                        'the scan being performed, and the backend.'),
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'scan',
            doc='Refreshes the list of VDIs associated with an SR',
            params=[
                param('sr', 'SR ref', 'The SR to scan'),
            ],
            roles=R_VM_POWER_ADMIN,
            is_async=True,
        ),
        message(
            'get_supported_types',
            doc='Return a set of all the SR types supported by the system',
            result='string set',
            result_doc='the supported SR types',
            roles=R_READ_ONLY,
        ),
        message(
            'update',
            doc='Refresh the fields on the SR object',
            params=[
                param('sr', 'SR ref', 'The SR whose fields should be refreshed'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'forget',
            doc=('Removing specified SR-record from database, without attempting to remove SR '
                 'from disk'),
            params=[
                param('sr', 'SR ref', 'The SR to destroy'),
            ],
            errors=['SR_HAS_PBD'],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'destroy',
            doc=('Destroy specified SR, removing SR-record from database and remove SR from '
                 'disk. (In order to affect this operation the appropriate device_config is '
                 "read from the specified SR's PBD on current host)"),
            params=[
                param('sr', 'SR ref', 'The SR to destroy'),
            ],
            errors=['SR_HAS_PBD'],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'make',
            doc=('Create a new Storage Repository on disk. This call is deprecated: use '
                 'SR.create instead.'),
            params=[
                param('host', 'host ref', 'The host to create/make the SR on'),
                param('device_config', '(string -> string) map',
                      'The device config string that will be passed to backend SR driver'),
                param('physical_size', 'int', 'The physical size of the new storage repository'),
                param('name_label', 'string', 'The name of the new storage repository'),
                param('name_description', 'string',
                      'The description of the new storage repository'),
                param('type', 'string',
                      'The type of the SR; used to specify the SR backend driver to use'),
                param('content_type', 'string',
                      'The type of the new SRs content, if required (for example, ISOs)'),
                param('sm_config', '(string -> string) map',
                      'Storage backend specific configuration options', default={}),
            ],
            result='string',
            result_doc='The uuid of the newly created Storage Repository.',
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'introduce',
            doc='Introduce a new Storage Repository into the managed system',
            params=[
                param('uuid', 'string', 'The uuid assigned to the introduced SR'),
                param('name_label', 'string', 'The name of the new storage repository'),
                param('name_description', 'string',
                      'The description of the new storage repository'),
                param('type', 'string',
                      'The type of the SR; used to specify the SR backend driver to use'),
                param('content_type', 'string',
                      'The type of the new SRs content, if required (for example, ISOs)'),
                param('shared', 'bool',
                      'True if the SR (is capable of) being shared by multiple hosts'),
                param('sm_config', '(string -> string) map',
                      'Storage backend specific configuration options', default={}),
            ],
            result='SR ref',
            result_doc='The reference of the newly introduced Storage Repository.',
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'create',
            doc=('Create a new Storage Repository and introduce it into the managed system, '
                 'creating both SR record and PBD record to attach it to current host (with '
                 'specified device_config parameters)'),
            params=[
                param('host', 'host ref', 'The host to create/make the SR on'),
                param('device_config', '(string -> string) map',
                      'The device config string that will be passed to backend SR driver'),
                param('physical_size', 'int', 'The physical size of the new storage repository'),
                param('name_label', 'string', 'The name of the new storage repository'),
                param('name_description', 'string',
                      'The description of the new storage repository'),
                param('type', 'string',
                      'The type of the SR; used to specify the SR backend driver to use'),
                param('content_type', 'string',
                      'The type of the new SRs content, if required (for example, ISOs)'),
                param('shared', 'bool',
                      'True if the SR (is capable of) being shared by multiple hosts'),
                param('sm_config', '(string -> string) map',
                      'Storage backend specific configuration options', default={}),
            ],
            result='SR ref',
            result_doc='The reference of the newly created Storage Repository.',
            errors=['SR_UNKNOWN_DRIVER'],
            roles=R_POOL_OP,
            is_async=True,
        ),
    ],
    roles=R_POOL_OP,
)
