"""The Certificate class (reference: xenapi.json): the host's TLS server certificate and the
pool's trusted (CA and pinned) certificates. Records are made by the server (api/certificates.py),
never by clients: no constructor, every field read-only."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, RO_CTOR, RO_RUN
from xenapi_impl.model.roles import R_POOL_OP

CERTIFICATE = cls(
    'Certificate',
    'An X509 certificate used for TLS connections',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('name', 'string', RO_RUN, default='',
              doc="The name of the certificate, only present on certificates of type 'ca'"),
        field('type', 'enum certificate_type', RO_RUN, default='host',
              doc="The type of the certificate, either 'ca', 'host' or 'host_internal'"),
        field('host', 'host ref', RO_CTOR, default='OpaqueRef:NULL',
              doc='The host where the certificate is installed'),
        field('not_before', 'datetime', RO_CTOR, default='19700101T00:00:00Z',
              doc='Date after which the certificate is valid'),
        field('not_after', 'datetime', RO_CTOR, default='19700101T00:00:00Z',
              doc='Date before which the certificate is valid'),
        field('fingerprint', 'string', RO_CTOR, default='', doc='Use fingerprint_sha256 instead'),
        field('fingerprint_sha256', 'string', RO_CTOR, default='',
              doc="The certificate's SHA256 fingerprint / hash"),
        field('fingerprint_sha1', 'string', RO_CTOR, default='',
              doc="The certificate's SHA1 fingerprint / hash"),
        field('purpose', 'enum certificate_purpose set', RO_CTOR, default=[],
              doc='The purposes of the certificate'),
    ],
    roles=R_POOL_OP,
)
