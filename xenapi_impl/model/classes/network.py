"""The network class (reference: xenapi.json)."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, message, param, RO_CTOR, RO_RUN
from xenapi_impl.model.roles import R_POOL_ADMIN, R_POOL_OP, R_VM_ADMIN, R_VM_OP

NETWORK = cls(
    'network',
    'A virtual network',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('name/label', 'string', default='', write_roles=R_POOL_OP,
              doc='a human-readable name'),
        field('name/description', 'string', default='', write_roles=R_POOL_OP,
              doc='a notes field containing human-readable description'),
        field('allowed_operations', 'enum network_operations set', RO_RUN, default=[],
              doc=('list of the operations allowed in this state. This list is advisory only '
                   'and the server state may have changed by the time this field is read by a '
                   'client.')),
        field('current_operations', '(string -> enum network_operations) map', RO_RUN, default={},
              doc=('links each of the running tasks using this object (by reference) to a '
                   'current_operation enum which describes the nature of the task.')),
        field('VIFs', 'VIF ref set', RO_RUN, doc='list of connected vifs'),
        field('PIFs', 'PIF ref set', RO_RUN, doc='list of connected pifs'),
        field('MTU', 'int', default=1500, doc='MTU in octets'),
        field('other_config', '(string -> string) map', write_roles=R_POOL_OP,
              doc='additional configuration'),
        field('bridge', 'string', RO_CTOR, default='',
              doc='name of the bridge corresponding to this network on the local host'),
        field('managed', 'bool', RO_CTOR, default=True,
              doc='true if the bridge is managed by xapi'),
        field('blobs', '(string -> blob ref) map', RO_RUN, default={},
              doc='Binary blobs associated with this network'),
        field('tags', 'string set', default=[], write_roles=R_VM_OP,
              doc='user-specified tags for categorization purposes'),
        field('default_locking_mode', 'enum network_default_locking_mode', RO_RUN,
              default='unlocked',
              doc=('The network will use this value to determine the behaviour of all VIFs '
                   'where locking_mode = default')),
        field('assigned_ips', '(VIF ref -> string) map', RO_RUN, default={},
              doc=('The IP addresses assigned to VIFs on networks that have active '
                   'xapi-managed DHCP')),
        field('purpose', 'enum network_purpose set', RO_RUN, default=[],
              doc='Set of purposes for which the server will use this network'),
    ],
    messages=[
        message(
            'remove_purpose',
            doc='Remove a purpose from a network (if present)',
            params=[
                param('self', 'network ref', 'The network'),
                param('value', 'enum network_purpose', 'The purpose to remove'),
            ],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'add_purpose',
            doc='Give a network a new purpose (if not present already)',
            params=[
                param('self', 'network ref', 'The network'),
                param('value', 'enum network_purpose', 'The purpose to add'),
            ],
            errors=['NETWORK_INCOMPATIBLE_PURPOSES'],
            roles=R_POOL_ADMIN,
            is_async=True,
        ),
        message(
            'set_default_locking_mode',
            doc='Set the default locking mode for VIFs attached to this network',
            params=[
                param('network', 'network ref', 'The network'),
                param('value', 'enum network_default_locking_mode',
                      'The default locking mode for VIFs attached to this network.'),
            ],
            roles=R_POOL_OP,
            is_async=True,
        ),
        message(
            'create_new_blob',
            doc=('Create a placeholder for a named binary blob of data that is associated with '
                 'this pool'),
            params=[
                param('network', 'network ref', 'The network'),
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
    ],
    roles=R_VM_ADMIN, constructor=True,
)
