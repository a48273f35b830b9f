"""xenlight_py: a cffi binding of libxenlight (Xen 4.17), with a simulator backend.

    from xenlight_py import Context, DomainConfig
    with Context(backend="sim") as ctx:
        domid = ctx.create_domain(DomainConfig(name="vm1", kernel="/boot/vmlinuz", memory=256))
        print(ctx.domain_info(domid).state)
"""
from .context import Context
from .errors import (Aborted, BackendUnavailable, ConfigError, DeviceExists, DomainDestroyed,
                     DomainNotFound, FeatureRemoved, FunctionNotImplemented, InvalidArgument,
                     LockFailed, NoParavirt, NotFound, NotReady, OutOfMemory, Timeout,
                     VersionMismatch, XenlightError)
from .events import AsyncEventStream, EventStream
from .migration import MigrationFailed, MigrationUndefined, migrate, migrate_receive, migrate_send
from .types import (CpupoolInfo, CpuTopology, NumaNode, SchedCreditParams, DiskBackend, DiskConfig, DiskFormat, DiskInfo, DomainConfig, DomainEvent, DomainInfo,
                    DomainType, NicConfig, NicInfo, PhysInfo, SchedParams, ShutdownAction, ShutdownReason,
                    VcpuInfo,
                    VersionInfo)

__all__ = [
    "Context", "EventStream", "AsyncEventStream",
    "DomainInfo", "VcpuInfo", "PhysInfo", "VersionInfo", "DomainEvent",
    "CpupoolInfo", "CpuTopology", "NumaNode", "SchedCreditParams",
    "DomainConfig", "DiskConfig", "NicConfig", "DiskInfo", "NicInfo", "SchedParams",
    "DomainType", "ShutdownReason", "ShutdownAction", "DiskFormat", "DiskBackend",
    "XenlightError", "DomainNotFound", "NotFound", "InvalidArgument", "ConfigError",
    "OutOfMemory", "FunctionNotImplemented", "Timeout", "NotReady", "DeviceExists",
    "DomainDestroyed", "Aborted", "LockFailed", "VersionMismatch", "NoParavirt",
    "FeatureRemoved", "BackendUnavailable",
    "MigrationFailed", "MigrationUndefined", "migrate", "migrate_send", "migrate_receive",
]
