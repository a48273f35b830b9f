"""The PIF_metrics class (reference: xenapi.json)."""
from __future__ import annotations

from xenapi_impl.model.dsl import cls, field, RO_RUN
from xenapi_impl.model.roles import R_POOL_OP

PIF_METRICS = cls(
    'PIF_metrics',
    'The metrics associated with a physical network interface',
    fields=[
        field('uuid', 'string', RO_RUN, doc='Unique identifier/object reference'),
        field('io/read_kbs', 'float', RO_RUN, default=0.0, doc='Read bandwidth (KiB/s)'),
        field('io/write_kbs', 'float', RO_RUN, default=0.0, doc='Write bandwidth (KiB/s)'),
        field('carrier', 'bool', RO_RUN, doc='Report if the PIF got a carrier or not'),
        field('vendor_id', 'string', RO_RUN, doc='Report vendor ID'),
        field('vendor_name', 'string', RO_RUN, doc='Report vendor name'),
        field('device_id', 'string', RO_RUN, doc='Report device ID'),
        field('device_name', 'string', RO_RUN, doc='Report device name'),
        field('speed', 'int', RO_RUN, doc='Speed of the link in Mbit/s (if available)'),
        field('duplex', 'bool', RO_RUN, doc='Full duplex capability of the link (if available)'),
        field('pci_bus_path', 'string', RO_RUN, doc='PCI bus path of the pif (if available)'),
        field('last_updated', 'datetime', RO_RUN,
              doc='Time at which this information was last updated'),
        field('other_config', '(string -> string) map', default={},
              doc='additional configuration'),
    ],
    roles=R_POOL_OP,
)
