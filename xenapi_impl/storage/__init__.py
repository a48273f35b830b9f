"""Storage drivers for SRs: plain operations on disk, no XenAPI records or dispatch.

    from xenapi_impl.storage import get_driver
    sr = get_driver("file")(sr_uuid, {"path": "/srv/sr1"})
    sr.create(); sr.attach()
    vdi = sr.vdi_create(10 << 30)
    disk = sr.vdi_attach(vdi.uuid)          # disk.pdev_path, disk.format == "raw"

Failures are ``StorageError`` subclasses, each carrying its XenAPI ``code`` and ``params``.
See README.md in this directory.
"""
from .driver import SRDriver, canonical_uuid, check_size
from .errors import (
    BackendFailure, DeviceConfigInvalid, InvalidArgument, InvalidSize, NoSpace, NotSupported,
    SRBusy, SRExists, SRNotAttached, SRNotEmpty, SRNotFound, StorageError, UnknownDriver,
    VDIInUse, VDINotFound, VDIReadOnly, VDITooLarge, VDITooSmall,
)
from .file_sr import FileSRDriver
from .info import AttachInfo, DriverInfo, ProbeResult, ScanResult, SRStat, VDIInfo
from .iso_sr import ISOSRDriver
from .registry import ENTRY_POINT_GROUP, drivers, get_driver, reload, supported_types

__all__ = [
    "SRDriver", "FileSRDriver", "ISOSRDriver", "canonical_uuid", "check_size",
    "get_driver", "drivers", "supported_types", "reload", "ENTRY_POINT_GROUP",
    "AttachInfo", "DriverInfo", "ProbeResult", "ScanResult", "SRStat", "VDIInfo",
    "StorageError", "BackendFailure", "DeviceConfigInvalid", "InvalidArgument", "InvalidSize",
    "NoSpace", "NotSupported", "SRBusy", "SRExists", "SRNotAttached", "SRNotEmpty",
    "SRNotFound", "UnknownDriver", "VDIInUse", "VDINotFound", "VDIReadOnly", "VDITooLarge",
    "VDITooSmall",
]
