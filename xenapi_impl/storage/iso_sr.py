"""The ``iso`` SR: a directory of ``.iso`` files offered as read-only CD images.

The library belongs to whoever fills it (it may be a read-only mount), so this driver writes
nothing there: no metadata, no lock file. A VDI's uuid is derived from the SR uuid and the file
name, which keeps it stable across scans and server restarts without any stored state.
Attachments are counted in memory only: ISO VDIs are never written, so there is nothing for
another process to corrupt.
"""
from __future__ import annotations

import os
import threading
import uuid as _uuid
from typing import Any

from . import sparse
from .driver import (
    SR_ATTACH, SR_CREATE, SR_DELETE, SR_DETACH, SR_PROBE, SR_SCAN, VDI_ATTACH, VDI_DETACH,
    SRDriver, os_errors,
)
from .errors import BackendFailure, DeviceConfigInvalid, SRNotFound, VDIInUse, VDINotFound, \
    VDIReadOnly
from .info import AttachInfo, ProbeResult, ScanResult, SRStat, VDIInfo

# Namespace of the name-based (uuid5) VDI uuids of ISO SRs.
ISO_NAMESPACE = _uuid.UUID("0046a13a-7975-4e00-aff1-54045a6802e6")


class ISOSRDriver(SRDriver):
    TYPE = "iso"
    NAME = "ISO library"
    DESCRIPTION = "Read-only CD images: the .iso files of a local directory"
    VENDOR = "xen-py-toolstack"
    COPYRIGHT = "(C) xen-py-toolstack contributors, LGPL-2.1-only"
    VERSION = "1.0"
    CAPABILITIES = frozenset({SR_PROBE, SR_CREATE, SR_DELETE, SR_ATTACH, SR_DETACH, SR_SCAN,
                              VDI_ATTACH, VDI_DETACH})
    CONFIGURATION = {"location": "absolute path of the directory that holds the .iso files"}
    REQUIRED_CONFIG = frozenset({"location"})
    CONTENT_TYPE = "iso"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.path = os.path.normpath(self.device_config["location"])
        self._seen: set[str] = set()
        self._attached: dict[str, int] = {}
        self._mutex = threading.Lock()

    @classmethod
    def _check_device_config(cls, config: dict[str, str]) -> None:
        path = config["location"]
        if "\0" in path or not os.path.isabs(path):
            raise DeviceConfigInvalid("location", f"device_config location must be an absolute "
                                                  f"path, got {path!r}")

    def vdi_uuid(self, name: str) -> str:
        """The uuid this SR gives the ISO file ``name``."""
        return str(_uuid.uuid5(ISO_NAMESPACE, f"{self.sr_uuid}/{name}"))

    def _isos(self) -> dict[str, tuple[str, os.stat_result]]:
        """uuid -> (file name, stat) of every readable regular ``*.iso`` file (symlinks are
        followed: libraries are often links into a download area)."""
        found: dict[str, tuple[str, os.stat_result]] = {}
        with os_errors(f"listing ISO library {self.path}"), os.scandir(self.path) as it:
            for e in it:
                if e.name.startswith(".") or not e.name.lower().endswith(".iso"):
                    continue
                try:
                    st = e.stat()
                except OSError:               # dangling link, or removed while listing
                    continue
                if os.path.isfile(e.path) and os.access(e.path, os.R_OK):
                    found[self.vdi_uuid(e.name)] = (e.name, st)
        return found

    def _info(self, vdi: str, name: str, st: os.stat_result) -> VDIInfo:
        return VDIInfo(uuid=vdi, location=name, virtual_size=st.st_size,
                       physical_utilisation=sparse.allocated_bytes(st), read_only=True,
                       name_label=name)

    def _check_dir(self) -> None:
        if not os.path.isdir(self.path):
            raise SRNotFound(self.path, f"{self.path} is not a directory")
        if not os.access(self.path, os.R_OK | os.X_OK):
            raise BackendFailure("SRUnreadable", f"{self.path} is not readable")

    # -- SR operations -----------------------------------------------------------------------
    @classmethod
    def _probe(cls, config: dict[str, str]) -> list[ProbeResult]:
        path = os.path.normpath(config["location"])
        if not os.path.isdir(path):
            return []
        return [ProbeResult(configuration={"location": path}, complete=True, sr_uuid=None)]

    def _create(self, physical_size: int) -> None:
        # Making an ISO SR only records an existing library: nothing is written to it.
        self._check_dir()

    def _destroy(self) -> None:
        # The ISO files are the user's: destroying the SR forgets them, never deletes them.
        with self._mutex:
            if self._attached:
                raise VDIInUse(sorted(self._attached)[0], "sr_destroy")

    def _attach(self) -> None:
        self._check_dir()

    def _detach(self) -> None:
        with self._mutex:
            if self._attached:
                raise VDIInUse(sorted(self._attached)[0], "sr_detach")

    def _scan(self, known: frozenset[str]) -> ScanResult:
        isos = self._isos()
        with self._mutex:
            new = sorted(set(isos) - known - self._seen)
            self._seen = set(isos)
        infos = {u: self._info(u, name, st) for u, (name, st) in isos.items()}
        return ScanResult(vdis=[infos[u] for u in sorted(infos)], new=[infos[u] for u in new],
                          missing=sorted(known - set(isos)))

    def _stat(self) -> SRStat:
        with os_errors(f"stat of ISO library {self.path}"):
            fs = os.statvfs(self.path)
        isos = self._isos()
        return SRStat(physical_size=fs.f_blocks * fs.f_frsize,
                      physical_utilisation=sum(sparse.allocated_bytes(st)
                                               for _, st in isos.values()),
                      virtual_allocation=sum(st.st_size for _, st in isos.values()),
                      free_space=fs.f_bavail * fs.f_frsize)

    # -- VDI operations ----------------------------------------------------------------------
    def _find(self, vdi: str) -> tuple[str, os.stat_result]:
        found = self._isos().get(vdi)
        if found is None:
            raise VDINotFound(self.sr_uuid, vdi)
        return found

    def _vdi_attach(self, vdi: str, writable: bool) -> AttachInfo:
        name, _ = self._find(vdi)
        if writable:
            raise VDIReadOnly(vdi)
        with self._mutex:
            self._attached[vdi] = self._attached.get(vdi, 0) + 1
        return AttachInfo(pdev_path=os.path.join(self.path, name), format="raw",
                          readwrite=False, is_cdrom=True)

    def _vdi_detach(self, vdi: str, all_attachments: bool) -> None:
        with self._mutex:
            count = self._attached.get(vdi, 0)
            if count > 1 and not all_attachments:
                self._attached[vdi] = count - 1
            else:
                self._attached.pop(vdi, None)

    def _attachments(self) -> dict[str, int]:
        with self._mutex:
            return dict(self._attached)

    def _vdi_stat(self, vdi: str) -> VDIInfo:
        name, st = self._find(vdi)
        return self._info(vdi, name, st)

