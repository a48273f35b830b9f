"""The VDI class (reference: xenapi.json)."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, message, param, RO_CTOR, RO_RUN
from xenapi_impl.model.roles import R_POOL_OP, R_READ_ONLY, R_VM_ADMIN, R_VM_OP, R_VM_POWER_ADMIN

VDI = cls(
    'VDI',
    'A virtual disk image',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('name/label', 'string', RO_CTOR, default='', doc='a human-readable name'),
        field('name/description', 'string', RO_CTOR, default='',
              doc='a notes field containing human-readable description'),
        field('allowed_operations', 'enum vdi_operations set', RO_RUN, default=[],
              doc=('list of the operations allowed in this state. This list is advisory only '
                   'and the server state may have changed by the time this field is read by a '
                   'client.')),
        field('current_operations', '(string -> enum vdi_operations) map', RO_RUN, default={},
              doc=('links each of the running tasks using this object (by reference) to a '
                   'current_operation enum which describes the nature of the task.')),
        field('SR', 'SR ref', RO_CTOR, doc='storage repository in which the VDI resides'),
        field('VBDs', 'VBD ref set', RO_RUN, doc='list of vbds that refer to this disk'),
        field('crash_dumps', 'crashdump ref set', RO_RUN,
              doc='list of crash dumps that refer to this disk'),
        field('virtual_size', 'int', RO_CTOR,
              doc=('size of disk as presented to the guest (in bytes). Note that, depending '
                   'on storage backend type, requested size may not be respected exactly')),
        field('physical_utilisation', 'int', RO_RUN,
              doc=('amount of physical space that the disk image is currently taking up on '
                   'the storage repository (in bytes)')),
        field('type', 'enum vdi_type', RO_CTOR, doc='type of the VDI'),
        field('sharable', 'bool', RO_CTOR, doc='true if this disk may be shared'),
        field('read_only', 'bool', RO_CTOR, doc='true if this disk may ONLY be mounted read-only'),
        field('other_config', '(string -> string) map', doc='additional configuration'),
        field('storage_lock', 'bool', RO_RUN,
              doc='true if this disk is locked at the storage level'),
        field('location', 'string', RO_RUN, default='', doc='location information'),
        field('managed', 'bool', RO_RUN, doc=''),
        field('missing', 'bool', RO_RUN,
              doc='true if SR scan operation reported this VDI as not present on disk'),
        field('parent', 'VDI ref', RO_RUN, doc='This field is always null. Deprecated'),
        field('xenstore_data', '(string -> string) map', default={},
              doc=('data to be inserted into the xenstore tree '
                   '(/local/domain/0/backend/vbd/<domid>/<device-id>/sm-data) after the VDI '
                   'is attached. This is generally set by the SM backends on vdi_attach.')),
        field('sm_config', '(string -> string) map', default={}, doc='SM dependent data'),
        field('is_a_snapshot', 'bool', RO_RUN, default=False, doc='true if this is a snapshot.'),
        field('snapshot_of', 'VDI ref', RO_RUN, default='OpaqueRef:NULL',
              doc='Ref pointing to the VDI this snapshot is of.'),
        field('snapshots', 'VDI ref set', RO_RUN, doc='List pointing to all the VDIs snapshots.'),
        field('snapshot_time', 'datetime', RO_RUN, default='19700101T00:00:00Z',
              doc='Date/time when this snapshot was created.'),
        field('tags', 'string set', default=[], write_roles=R_VM_OP,
              doc='user-specified tags for categorization purposes'),
        field('allow_caching', 'bool', RO_RUN, default=False,
              doc='true if this VDI is to be cached in the local cache SR'),
        field('on_boot', 'enum on_boot', RO_RUN, default='persist',
              doc='The behaviour of this VDI on a VM boot'),
        field('metadata_of_pool', 'pool ref', RO_RUN, default='OpaqueRef:NULL',
              doc='The pool whose metadata is contained in this VDI'),
        field('metadata_latest', 'bool', RO_RUN, default=False,
              doc='Whether this VDI contains the latest known accessible metadata for the pool'),
        field('is_tools_iso', 'bool', RO_RUN, default=False,
              doc='Whether this VDI is a Tools ISO'),
        field('cbt_enabled', 'bool', RO_RUN, default=False,
              doc='True if changed blocks are tracked for this VDI'),
    ],
    messages=[
        message(
            'revert',
            doc=("Copy the contents of a snapshot to the VDI it's related to. The original "
                 'contents of the VDI are lost.'),
            params=[
                param('snapshot', 'VDI ref', 'The snapshot to which we want to revert'),
            ],
            errors=['UNIMPLEMENTED_IN_SM_BACKEND'],
            roles=R_VM_POWER_ADMIN,
            is_async=True,
        ),
        message(
            'get_nbd_info',
            doc=('Get details specifying how to access this VDI via a Network Block Device '
                 'server. For each of a set of NBD server addresses on which the VDI is '
                 'available, the return value set contains a vdi_nbd_server_info object that '
                 'contains an exportname to request once the NBD connection is established, '
                 'and connection details for the address. An empty list is returned if there '
                 'is no network that has a PIF on a host with access to the relevant SR, or if '
                 'no such network has been assigned an NBD-related purpose in its purpose '
                 'field. To access the given VDI, any of the vdi_nbd_server_info objects can '
                 'be used to make a connection to a server, and then the VDI will be available '
                 'by requesting the exportname.'),
            params=[
                param('self', 'VDI ref', 'The VDI to access via Network Block Device protocol'),
            ],
            result='vdi_nbd_server_info record set',
            result_doc=('The details necessary for connecting to the VDI over NBD. This '
                        'includes an authentication token, so must be treated as sensitive '
                        'material and must not be sent over insecure networks.'),
            errors=['VDI_INCOMPATIBLE_TYPE'],
            roles=R_VM_ADMIN,
        ),
        message(
            'list_changed_blocks',
            doc=('Compare two VDIs in 64k block increments and report which blocks differ. '
                 'This operation is not allowed when vdi_to is attached to a VM.'),
            params=[
                param('vdi_from', 'VDI ref', 'The first VDI.'),
                param('vdi_to', 'VDI ref', 'The second VDI.'),
            ],
            result='string',
            result_doc=('A base64 string-encoding of the bitmap showing which blocks differ in '
                        'the two VDIs.'),
            errors=[
                'SR_OPERATION_NOT_SUPPORTED', 'VDI_MISSING', 'SR_NOT_ATTACHED', 'SR_HAS_NO_PBDS',
                'VDI_IN_USE',
            ],
            roles=R_VM_OP,
            is_async=True,
        ),
        message(
            'data_destroy',
            doc=('Delete the data of the snapshot VDI, but keep its changed block tracking '
                 'metadata. When successful, this call changes the type of the VDI to '
                 'cbt_metadata. This operation is idempotent: calling it on a VDI of type '
                 'cbt_metadata results in a no-op, and no error will be thrown.'),
            params=[
                param('self', 'VDI ref', 'The VDI whose data should be deleted.'),
            ],
            errors=[
                'SR_OPERATION_NOT_SUPPORTED', 'VDI_MISSING', 'SR_NOT_ATTACHED', 'SR_HAS_NO_PBDS',
                'OPERATION_NOT_ALLOWED', 'VDI_INCOMPATIBLE_TYPE', 'VDI_NO_CBT_METADATA',
                'VDI_IN_USE', 'VDI_IS_A_PHYSICAL_DEVICE',
            ],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'disable_cbt',
            doc=('Disable changed block tracking for the VDI. This call is only allowed on '
                 'VDIs that support enabling CBT. It is an idempotent operation - disabling '
                 'CBT for a VDI for which CBT is not enabled results in a no-op, and no error '
                 'will be thrown.'),
            params=[
                param('self', 'VDI ref', 'The VDI for which CBT should be disabled'),
            ],
            errors=[
                'SR_OPERATION_NOT_SUPPORTED', 'VDI_MISSING', 'SR_NOT_ATTACHED', 'SR_HAS_NO_PBDS',
                'OPERATION_NOT_ALLOWED', 'VDI_INCOMPATIBLE_TYPE',
                'VDI_ON_BOOT_MODE_INCOMPATIBLE_WITH_OPERATION',
            ],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'enable_cbt',
            doc=('Enable changed block tracking for the VDI. This call is idempotent - '
                 'enabling CBT for a VDI for which CBT is already enabled results in a no-op, '
                 'and no error will be thrown.'),
            params=[
                param('self', 'VDI ref', 'The VDI for which CBT should be enabled'),
            ],
            errors=[
                'SR_OPERATION_NOT_SUPPORTED', 'VDI_MISSING', 'SR_NOT_ATTACHED', 'SR_HAS_NO_PBDS',
                'OPERATION_NOT_ALLOWED', 'VDI_INCOMPATIBLE_TYPE',
                'VDI_ON_BOOT_MODE_INCOMPATIBLE_WITH_OPERATION',
            ],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'pool_migrate',
            doc=('Migrate a VDI, which may be attached to a running guest, to a different SR. '
                 'The destination SR must be visible to the guest.'),
            params=[
                param('vdi', 'VDI ref', 'The VDI to migrate'),
                param('sr', 'SR ref', 'The destination SR'),
                param('options', '(string -> string) map',
                      ('Extra parameters. Supports: "dest-img-format" (raw|vhd|qcow2) to '
                       'specify the image format to use on the destination SR.')),
            ],
            result='VDI ref',
            result_doc='The new reference of the migrated VDI.',
            roles=R_VM_POWER_ADMIN,
            is_async=True,
        ),
        message(
            'read_database_pool_uuid',
            doc='Check the VDI cache for the pool UUID of the database on this VDI.',
            params=[
                param('self', 'VDI ref', 'The metadata VDI to look up in the cache.'),
            ],
            result='string',
            result_doc='The cached pool UUID of the database on the VDI.',
            roles=R_READ_ONLY,
            is_async=True,
        ),
        message(
            'open_database',
            doc=('Load the metadata found on the supplied VDI and return a session reference '
                 'which can be used in API calls to query its contents.'),
            params=[
                param('self', 'VDI ref', 'The VDI which contains the database to open'),
            ],
            result='session ref',
            result_doc='A session which can be used to query the database',
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'set_allow_caching',
            doc=('Set the value of the allow_caching parameter. This value can only be changed '
                 'when the VDI is not attached to a running VM. The caching behaviour is only '
                 'affected by this flag for VHD-based VDIs that have one parent and no child '
                 'VHDs. Moreover, caching only takes place when the host running the VM '
                 'containing this VDI has a nominated SR for local caching.'),
            params=[
                param('self', 'VDI ref', 'The VDI to modify'),
                param('value', 'bool', 'The value to set'),
            ],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'set_on_boot',
            doc=('Set the value of the on_boot parameter. This value can only be changed when '
                 'the VDI is not attached to a running VM.'),
            params=[
                param('self', 'VDI ref', 'The VDI to modify'),
                param('value', 'enum on_boot', 'The value to set'),
            ],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'set_name_description',
            doc=('Set the name description of the VDI. This can only happen when its SR is '
                 'currently attached.'),
            params=[
                param('self', 'VDI ref', 'The VDI to modify'),
                param('value', 'string', 'The name description for the VDI'),
            ],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'set_name_label',
            doc=('Set the name label of the VDI. This can only happen when then its SR is '
                 'currently attached.'),
            params=[
                param('self', 'VDI ref', 'The VDI to modify'),
                param('value', 'string', 'The name lable for the VDI'),
            ],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'set_read_only',
            doc="Sets the VDI's read_only field",
            params=[
                param('self', 'VDI ref', 'The VDI to modify'),
                param('value', 'bool', "The new value of the VDI's read_only field"),
            ],
            roles=R_VM_ADMIN,
        ),
        message(
            'set_sharable',
            doc="Sets the VDI's sharable field",
            params=[
                param('self', 'VDI ref', 'The VDI to modify'),
                param('value', 'bool', "The new value of the VDI's sharable field"),
            ],
            roles=R_VM_ADMIN,
        ),
        message(
            'forget',
            doc='Removes a VDI record from the database',
            params=[
                param('vdi', 'VDI ref', 'The VDI to forget about'),
            ],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'copy',
            doc=('Copy either a full VDI or the block differences between two VDIs into either '
                 'a fresh VDI or an existing VDI.'),
            params=[
                param('vdi', 'VDI ref', 'The VDI to copy'),
                param('sr', 'SR ref',
                      'The destination SR (only required if the destination VDI is not specified',
                      default='OpaqueRef:NULL'),
                param('base_vdi', 'VDI ref',
                      ('The base VDI (only required if copying only changed blocks, by default '
                       'all blocks will be copied)'),
                      default='OpaqueRef:NULL'),
                param('into_vdi', 'VDI ref',
                      ('The destination VDI to copy blocks into (if omitted then a destination '
                       'SR must be provided and a fresh VDI will be created)'),
                      default='OpaqueRef:NULL'),
            ],
            result='VDI ref',
            result_doc='The reference of the VDI where the blocks were written.',
            errors=['VDI_READONLY', 'VDI_TOO_SMALL', 'VDI_NOT_SPARSE'],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'update',
            doc='Ask the storage backend to refresh the fields in the VDI object',
            params=[
                param('vdi', 'VDI ref', 'The VDI whose stats (eg size) should be updated'),
            ],
            errors=['SR_OPERATION_NOT_SUPPORTED'],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'introduce',
            doc='Create a new VDI record in the database only',
            params=[
                param('uuid', 'string', 'The uuid of the disk to introduce'),
                param('name_label', 'string', 'The name of the disk record'),
                param('name_description', 'string', 'The description of the disk record'),
                param('SR', 'SR ref', 'The SR that the VDI is in'),
                param('type', 'enum vdi_type', 'The type of the VDI'),
                param('sharable', 'bool', 'true if this disk may be shared'),
                param('read_only', 'bool', 'true if this disk may ONLY be mounted read-only'),
                param('other_config', '(string -> string) map', 'additional configuration'),
                param('location', 'string', 'location information'),
                param('xenstore_data', '(string -> string) map', 'Data to insert into xenstore',
                      default={}),
                param('sm_config', '(string -> string) map', 'Storage-specific config',
                      default={}),
                param('managed', 'bool', 'Storage-specific config', default=True),
                param('virtual_size', 'int', 'Storage-specific config', default=0),
                param('physical_utilisation', 'int', 'Storage-specific config', default=0),
                param('metadata_of_pool', 'pool ref', 'Storage-specific config',
                      default='OpaqueRef:NULL'),
                param('is_a_snapshot', 'bool', 'Storage-specific config', default=False),
                param('snapshot_time', 'datetime',
                      'Storage-specific config. When the timezone is missing, UTC is assumed',
                      default='19700101T00:00:00Z'),
                param('snapshot_of', 'VDI ref', 'Storage-specific config',
                      default='OpaqueRef:NULL'),
            ],
            result='VDI ref',
            result_doc='The ref of the newly created VDI record.',
            errors=['SR_OPERATION_NOT_SUPPORTED'],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'resize_online',
            doc='Resize the VDI which may or may not be attached to running guests.',
            params=[
                param('vdi', 'VDI ref', 'The VDI to resize'),
                param('size', 'int', 'The new size of the VDI'),
            ],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'resize',
            doc='Resize the VDI.',
            params=[
                param('vdi', 'VDI ref', 'The VDI to resize'),
                param('size', 'int', 'The new size of the VDI'),
            ],
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'clone',
            doc=('Take an exact copy of the VDI and return a reference to the new disk. If any '
                 'driver_params are specified then these are passed through to the '
                 'storage-specific substrate driver that implements the clone operation. NB '
                 'the clone lives in the same Storage Repository as its parent.'),
            params=[
                param('vdi', 'VDI ref', 'The VDI to clone'),
                param('driver_params', '(string -> string) map',
                      ('Optional parameters that are passed through to the backend driver in '
                       'order to specify storage-type-specific clone options'),
                      default={}),
            ],
            result='VDI ref',
            result_doc='The ID of the newly created VDI.',
            roles=R_VM_ADMIN,
            is_async=True,
        ),
        message(
            'snapshot',
            doc=('Take a read-only snapshot of the VDI, returning a reference to the snapshot. '
                 'If any driver_params are specified then these are passed through to the '
                 'storage-specific substrate driver that takes the snapshot. NB the snapshot '
                 'lives in the same Storage Repository as its parent.'),
            params=[
                param('vdi', 'VDI ref', 'The VDI to snapshot'),
                param('driver_params', '(string -> string) map',
                      ('Optional parameters that can be passed through to backend driver in '
                       'order to specify storage-type-specific snapshot options'),
                      default={}),
            ],
            result='VDI ref',
            result_doc='The ID of the newly created VDI.',
            roles=R_VM_ADMIN,
            is_async=True,
        ),
    ],
    roles=R_VM_ADMIN, constructor=True,
)
