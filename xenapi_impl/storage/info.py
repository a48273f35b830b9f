"""Plain values the drivers return: no store records, no XenAPI refs (uuids only)."""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class DriverInfo:
    """What a driver says about itself; ``sm_record()`` gives the SM class fields it owns."""

    type: str
    name_label: str
    name_description: str
    vendor: str
    copyright: str
    version: str
    required_api_version: str
    capabilities: frozenset[str]
    configuration: dict[str, str]          # device_config key -> description
    required_config: frozenset[str]        # the keys of ``configuration`` that must be given
    content_type: str                      # the SR content_type it serves ("" or "iso")
    driver_filename: str
    supported_image_formats: tuple[str, ...] = ("raw",)

    def sm_record(self) -> dict[str, object]:
        """The SM record fields a driver determines (uuid and other_config are the API layer's).

        ``features`` carries each capability with version 1 (xapi's "NAME/version" form is only
        used for versions above 1).
        """
        return {
            "name_label": self.name_label,
            "name_description": self.name_description,
            "type": self.type,
            "vendor": self.vendor,
            "copyright": self.copyright,
            "version": self.version,
            "required_api_version": self.required_api_version,
            "configuration": dict(self.configuration),
            "capabilities": sorted(self.capabilities),
            "features": {c: 1 for c in sorted(self.capabilities)},
            "driver_filename": self.driver_filename,
            "required_cluster_stack": [],
            "supported_image_formats": list(self.supported_image_formats),
        }


@dataclass(frozen=True)
class SRStat:
    physical_size: int           # bytes of the backing file system
    physical_utilisation: int    # bytes the SR's VDIs really occupy (sparse files count blocks)
    virtual_allocation: int      # sum of the VDIs' virtual sizes
    free_space: int              # bytes still writable by this process (statvfs f_bavail)


@dataclass(frozen=True)
class VDIInfo:
    uuid: str
    location: str                # driver-specific name of the image (file SR: the uuid)
    virtual_size: int
    physical_utilisation: int
    read_only: bool
    is_a_snapshot: bool = False
    snapshot_of: str | None = None           # uuid of the VDI this snapshot was taken from
    snapshot_time: _dt.datetime | None = None
    name_label: str = ""                     # a suggestion for new VDIs found by scan
    sm_config: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ScanResult:
    vdis: list[VDIInfo]          # every VDI present now
    new: list[VDIInfo]           # present, and neither in ``known`` nor in the driver's metadata
    missing: list[str]           # uuids known (to the caller or the driver) whose image is gone


@dataclass(frozen=True)
class AttachInfo:
    """What libxl needs for a disk backed by this VDI (libxl_device_disk fields)."""

    pdev_path: str
    format: str                  # "raw"
    readwrite: bool
    is_cdrom: bool = False


@dataclass(frozen=True)
class ProbeResult:
    """One SR found at a device_config (fields of the probe_result class)."""

    configuration: dict[str, str]
    complete: bool
    sr_uuid: str | None
    extra_info: dict[str, str] = field(default_factory=dict)
