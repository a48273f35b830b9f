"""The blob class (reference: xenapi.json): named binary data attached to a pool, host, VM,
network or SR (`<class>.create_new_blob`), its bytes moved over HTTP at /blob."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, message, param, RO_CTOR, RO_RUN, RW
from xenapi_impl.model.roles import R_POOL_OP

BLOB = cls(
    'blob',
    'A placeholder for a binary blob',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('name/label', 'string', RW, default='', doc='a human-readable name'),
        field('name/description', 'string', RW, default='',
              doc='a notes field containing human-readable description'),
        field('size', 'int', RO_RUN, doc='Size of the binary data, in bytes'),
        field('public', 'bool', RW, default=False,
              doc='True if the blob is publicly accessible'),
        field('last_updated', 'datetime', RO_CTOR,
              doc='Time at which the data in the blob was last updated'),
        field('mime_type', 'string', RO_CTOR,
              doc=("The mime type associated with this object. Defaults to "
                   "'application/octet-stream' if the empty string is supplied")),
    ],
    messages=[
        message(
            'destroy',
            doc='',
            params=[
                param('self', 'blob ref', 'The reference of the blob to destroy'),
            ],
            roles=R_POOL_OP,
        ),
        message(
            'create',
            doc='Create a placeholder for a binary blob',
            params=[
                param('mime_type', 'string',
                      ("The mime-type of the blob. Defaults to 'application/octet-stream' if "
                       "the empty string is supplied")),
                param('public', 'bool', 'True if the blob should be publicly available',
                      default=False),
            ],
            result='blob ref',
            result_doc='The reference of the created blob',
            roles=R_POOL_OP,
        ),
    ],
    roles=R_POOL_OP,
)
