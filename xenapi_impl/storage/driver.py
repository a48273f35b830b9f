"""The SR driver interface.

``SRDriver`` holds everything every driver must do the same way: argument checks, capability
checks, the attached-state rule, device_config validation, and a generic ``vdi_copy`` that works
between any two drivers through their attach paths. A driver subclass describes itself in class
attributes and implements the ``_hooks`` for the capabilities it declares; an operation whose
capability it does not declare fails with ``NotSupported`` before reaching the driver.
"""
from __future__ import annotations

import abc
import errno
import inspect
import logging
import os
import uuid as _uuid
from collections.abc import Collection, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import ClassVar

from . import sparse
from .errors import (
    BackendFailure, DeviceConfigInvalid, InvalidArgument, InvalidSize, NoSpace, NotSupported,
    SRNotAttached, StorageError, VDINotFound,
)
from .info import AttachInfo, DriverInfo, ProbeResult, ScanResult, SRStat, VDIInfo
from .locking import DEFAULT_TIMEOUT

# Capability names, as xapi's SM.capabilities spells them.
SR_PROBE = "SR_PROBE"
SR_CREATE = "SR_CREATE"
SR_DELETE = "SR_DELETE"
SR_ATTACH = "SR_ATTACH"
SR_DETACH = "SR_DETACH"
SR_SCAN = "SR_SCAN"
SR_UPDATE = "SR_UPDATE"
VDI_CREATE = "VDI_CREATE"
VDI_DELETE = "VDI_DELETE"
VDI_ATTACH = "VDI_ATTACH"
VDI_DETACH = "VDI_DETACH"
VDI_RESIZE = "VDI_RESIZE"
VDI_CLONE = "VDI_CLONE"
VDI_SNAPSHOT = "VDI_SNAPSHOT"
VDI_UPDATE = "VDI_UPDATE"
THIN_PROVISIONING = "THIN_PROVISIONING"

log = logging.getLogger(__name__)

INT64_MAX = (1 << 63) - 1
SECTOR = 512


def check_size(field: str, value: object) -> int:
    """A size in bytes, rounded up to whole 512-byte sectors (what a block device can expose)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidSize(field, value)
    rounded = -(-value // SECTOR) * SECTOR
    if rounded > INT64_MAX:
        raise InvalidSize(field, value)
    return rounded


def canonical_uuid(value: object) -> str | None:
    """``value`` if it is a uuid in canonical lower-case form, else None.

    Only the canonical form is accepted: uuids become file names, so "../x" or a second spelling
    of the same uuid must never reach the file system."""
    if not isinstance(value, str):
        return None
    try:
        parsed = _uuid.UUID(value)
    except ValueError:
        return None
    return value if str(parsed) == value else None


def free_space(path: str) -> int:
    """Bytes an unprivileged writer may still use on the file system holding ``path``."""
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


@contextmanager
def os_errors(what: str, requested: int = 0, free: int | None = None,
              path: str | None = None) -> Iterator[None]:
    """Turn OSError into the storage hierarchy: ENOSPC/EDQUOT -> NoSpace (with ``free``, or
    the free space at ``path`` when not given), anything else -> BackendFailure."""
    try:
        yield
    except StorageError:
        raise
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            if free is None:
                try:
                    free = free_space(path) if path else 0
                except OSError:
                    free = 0
            raise NoSpace(requested, free) from e
        name = errno.errorcode.get(e.errno or 0, "EIO")
        raise BackendFailure(name, f"{what}: {e.strerror or e}") from e


class SRDriver(abc.ABC):
    """One SR as seen by one host. Construct with the SR's uuid and its PBD's device_config."""

    # -- what a driver describes about itself (the SM record) --------------------------------
    TYPE: ClassVar[str] = ""
    NAME: ClassVar[str] = ""
    DESCRIPTION: ClassVar[str] = ""
    VENDOR: ClassVar[str] = ""
    COPYRIGHT: ClassVar[str] = ""
    VERSION: ClassVar[str] = "1.0"
    REQUIRED_API_VERSION: ClassVar[str] = "1.0"
    CAPABILITIES: ClassVar[frozenset[str]] = frozenset()
    CONFIGURATION: ClassVar[dict[str, str]] = {}     # device_config key -> description
    REQUIRED_CONFIG: ClassVar[frozenset[str]] = frozenset()
    CONTENT_TYPE: ClassVar[str] = ""

    def __init__(self, sr_uuid: str, device_config: Mapping[str, str], *,
                 lock_timeout: float = DEFAULT_TIMEOUT) -> None:
        uuid = canonical_uuid(sr_uuid)
        if uuid is None:
            raise InvalidArgument("sr_uuid", sr_uuid, "not a canonical uuid")
        self.sr_uuid = uuid
        self.device_config = self.validate_device_config(device_config)
        self.lock_timeout = lock_timeout
        self.attached = False
        #: who holds the attachments this driver makes (a host's uuid): on an SR shared by
        #: the hosts of a pool each host sees, and releases, only its own (`attachments`)
        self.holder = ""

    # -- description -------------------------------------------------------------------------
    @classmethod
    def info(cls) -> DriverInfo:
        return DriverInfo(
            type=cls.TYPE, name_label=cls.NAME, name_description=cls.DESCRIPTION,
            vendor=cls.VENDOR, copyright=cls.COPYRIGHT, version=cls.VERSION,
            required_api_version=cls.REQUIRED_API_VERSION,
            capabilities=frozenset(cls.CAPABILITIES), configuration=dict(cls.CONFIGURATION),
            required_config=frozenset(cls.REQUIRED_CONFIG), content_type=cls.CONTENT_TYPE,
            driver_filename=inspect.getfile(cls),
        )

    @property
    def capabilities(self) -> frozenset[str]:
        return self.CAPABILITIES

    @classmethod
    def validate_device_config(cls, device_config: Mapping[str, str]) -> dict[str, str]:
        """A copy of ``device_config`` once every required key is present and sane.

        Keys the driver does not know are kept: xapi passes extra keys (e.g. SRmaster)."""
        if not isinstance(device_config, Mapping):
            raise DeviceConfigInvalid("", "device_config must be a string -> string map")
        config: dict[str, str] = {}
        for key, value in device_config.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise DeviceConfigInvalid(str(key), f"device_config {key!r} must map a string "
                                                    "to a string")
            config[key] = value
        for key in sorted(cls.REQUIRED_CONFIG):
            if not config.get(key):
                raise DeviceConfigInvalid(
                    key, f"device_config is missing the required key {key!r} "
                         f"({cls.CONFIGURATION.get(key, '')})")
        cls._check_device_config(config)
        return config

    @classmethod
    def _check_device_config(cls, config: dict[str, str]) -> None:
        """Driver hook: reject unusable values (raise DeviceConfigInvalid)."""
        return None

    # -- guards ------------------------------------------------------------------------------
    def _require(self, capability: str, operation: str) -> None:
        if capability not in self.CAPABILITIES:
            raise NotSupported(self.sr_uuid, operation)

    def _require_attached(self) -> None:
        if not self.attached:
            raise SRNotAttached(self.sr_uuid)

    def _guard(self) -> AbstractContextManager[None]:
        """Safety net around every driver hook: no OSError leaves the layer raw."""
        return os_errors(f"SR {self.sr_uuid}")

    def _vdi_uuid(self, vdi: object) -> str:
        uuid = canonical_uuid(vdi)
        if uuid is None:
            raise VDINotFound(self.sr_uuid, str(vdi))
        return uuid

    # -- SR operations -----------------------------------------------------------------------
    @classmethod
    def probe(cls, device_config: Mapping[str, str]) -> list[ProbeResult]:
        """SRs (or places for a new SR) at ``device_config``; needs no SR uuid."""
        if SR_PROBE not in cls.CAPABILITIES:
            raise NotSupported("", "probe")
        config = cls.validate_device_config(device_config)
        with os_errors(f"probe of {cls.TYPE} SR"):
            return cls._probe(config)

    def create(self, physical_size: int = 0) -> None:
        """Initialise new storage for this SR (physical_size is advisory for sized backends)."""
        self._require(SR_CREATE, "create")
        with self._guard():
            self._create(check_size("physical_size", physical_size))

    def destroy(self) -> None:
        """Delete the SR's storage; it must hold no VDIs. The SR ends detached."""
        self._require(SR_DELETE, "destroy")
        with self._guard():
            self._destroy()
        self.attached = False

    def attach(self) -> None:
        if self.attached:
            return
        with self._guard():
            self._attach()
        self.attached = True

    def detach(self) -> None:
        if not self.attached:
            return
        with self._guard():
            self._detach()
        self.attached = False

    def scan(self, known: Collection[str] = ()) -> ScanResult:
        """What is on the SR now. ``known``: VDI uuids the caller holds records for."""
        self._require(SR_SCAN, "scan")
        self._require_attached()
        uuids = frozenset(known)
        if not all(isinstance(u, str) for u in uuids):
            raise InvalidArgument("known", sorted(map(repr, uuids)), "VDI uuids are strings")
        with self._guard():
            return self._scan(uuids)

    def stat(self) -> SRStat:
        self._require_attached()
        with self._guard():
            return self._stat()

    # -- VDI operations ----------------------------------------------------------------------
    def vdi_create(self, size: int, *, read_only: bool = False, name_label: str = "") -> VDIInfo:
        self._require(VDI_CREATE, "vdi_create")
        self._require_attached()
        with self._guard():
            return self._vdi_create(check_size("virtual_size", size), bool(read_only), name_label)

    def vdi_delete(self, vdi: str) -> None:
        self._require(VDI_DELETE, "vdi_delete")
        self._require_attached()
        with self._guard():
            self._vdi_delete(self._vdi_uuid(vdi))

    def vdi_resize(self, vdi: str, size: int) -> VDIInfo:
        """Grow ``vdi`` to ``size`` bytes (shrinking is refused: VDITooSmall)."""
        self._require(VDI_RESIZE, "vdi_resize")
        self._require_attached()
        with self._guard():
            return self._vdi_resize(self._vdi_uuid(vdi), check_size("size", size))

    def vdi_clone(self, vdi: str) -> VDIInfo:
        """A new writable VDI with the same content."""
        self._require(VDI_CLONE, "vdi_clone")
        self._require_attached()
        with self._guard():
            return self._vdi_clone(self._vdi_uuid(vdi), snapshot=False)

    def vdi_snapshot(self, vdi: str) -> VDIInfo:
        """A new read-only VDI with the same content, marked as a snapshot of ``vdi``."""
        self._require(VDI_SNAPSHOT, "vdi_snapshot")
        self._require_attached()
        with self._guard():
            return self._vdi_clone(self._vdi_uuid(vdi), snapshot=True)

    def vdi_attach(self, vdi: str, writable: bool = True, *,
                   handover: bool = False) -> AttachInfo:
        """``handover``: the destination of a live migration attaches a disk the source's
        domain still holds read-write; the source releases its attachment once its copy is
        gone, and from then on the destination holds it alone."""
        self._require(VDI_ATTACH, "vdi_attach")
        self._require_attached()
        with self._guard():
            if handover:
                return self._vdi_attach(self._vdi_uuid(vdi), bool(writable), handover=True)
            return self._vdi_attach(self._vdi_uuid(vdi), bool(writable))

    def vdi_detach(self, vdi: str, *, all_attachments: bool = False) -> None:
        """Release one attachment of ``vdi`` (every one with ``all_attachments``: resync after
        a restart, when the domains that used it are gone). A VDI not attached is left alone."""
        self._require(VDI_DETACH, "vdi_detach")
        self._require_attached()
        with self._guard():
            self._vdi_detach(self._vdi_uuid(vdi), all_attachments)

    def attachments(self) -> dict[str, int]:
        """VDI uuid -> number of current attachments (1 for a read-write one)."""
        self._require_attached()
        with self._guard():
            return self._attachments()

    def vdi_stat(self, vdi: str) -> VDIInfo:
        self._require_attached()
        with self._guard():
            return self._vdi_stat(self._vdi_uuid(vdi))

    def vdi_revert(self, vdi: str, snapshot: str) -> VDIInfo:
        """Give ``vdi`` the content and size of ``snapshot`` (a VDI of this SR), through the
        attach paths of both: ``vdi`` must be neither attached (VDIInUse) nor read-only."""
        self._require(VDI_ATTACH, "vdi_revert")
        self._require_attached()
        snap = self.vdi_stat(snapshot)
        source = self.vdi_attach(snap.uuid, writable=False)
        try:
            target = self.vdi_attach(vdi, writable=True)
            try:
                with os_errors(f"reverting VDI {vdi}", snap.physical_utilisation):
                    _copy_file(source.pdev_path, target.pdev_path, snap.virtual_size,
                               snap.virtual_size)
            finally:
                self.vdi_detach(vdi)
        finally:
            self.vdi_detach(snap.uuid)
        return self.vdi_stat(vdi)

    def vdi_copy(self, vdi: str, dest: SRDriver) -> VDIInfo:
        """Copy ``vdi`` into a new VDI of ``dest`` (any driver, this one included), sparsely.

        Works through the attach paths of both sides, so any pair of drivers can copy. The new
        VDI is removed again if the copy fails."""
        self._require(VDI_ATTACH, "vdi_copy")
        dest._require(VDI_CREATE, "vdi_copy")
        dest._require(VDI_ATTACH, "vdi_copy")
        self._require_attached()
        dest._require_attached()
        src = self.vdi_stat(vdi)
        source = self.vdi_attach(src.uuid, writable=False)
        try:
            free = dest.stat().free_space
            if src.physical_utilisation > free:
                raise NoSpace(src.physical_utilisation, free)
            new = dest.vdi_create(src.virtual_size)
            try:
                target = dest.vdi_attach(new.uuid, writable=True)
                try:
                    with os_errors(f"copying VDI {src.uuid}", src.physical_utilisation, free):
                        _copy_file(source.pdev_path, target.pdev_path, src.virtual_size,
                                   new.virtual_size)
                except BaseException:
                    # Give the space back first: on a full SR the cleanup below needs room.
                    _discard(target.pdev_path)
                    raise
                finally:
                    dest.vdi_detach(new.uuid)
            except BaseException:
                try:
                    dest.vdi_delete(new.uuid)
                except StorageError as e:
                    log.error("could not delete the partial copy %s on SR %s: %s",
                              new.uuid, dest.sr_uuid, e)
                raise
        finally:
            self.vdi_detach(src.uuid)
        return dest.vdi_stat(new.uuid)

    # -- driver hooks ------------------------------------------------------------------------
    @classmethod
    def _probe(cls, config: dict[str, str]) -> list[ProbeResult]:
        raise NotSupported("", "probe")

    def _create(self, physical_size: int) -> None:
        raise NotSupported(self.sr_uuid, "create")

    def _destroy(self) -> None:
        raise NotSupported(self.sr_uuid, "destroy")

    @abc.abstractmethod
    def _attach(self) -> None:
        """Check the storage is there and usable; raise SRNotFound otherwise."""

    def _detach(self) -> None:
        """Release what attach took (default: nothing)."""
        return None

    def _scan(self, known: frozenset[str]) -> ScanResult:
        raise NotSupported(self.sr_uuid, "scan")

    @abc.abstractmethod
    def _stat(self) -> SRStat: ...

    def _vdi_create(self, size: int, read_only: bool, name_label: str) -> VDIInfo:
        raise NotSupported(self.sr_uuid, "vdi_create")

    def _vdi_delete(self, vdi: str) -> None:
        raise NotSupported(self.sr_uuid, "vdi_delete")

    def _vdi_resize(self, vdi: str, size: int) -> VDIInfo:
        raise NotSupported(self.sr_uuid, "vdi_resize")

    def _vdi_clone(self, vdi: str, snapshot: bool) -> VDIInfo:
        raise NotSupported(self.sr_uuid, "vdi_snapshot" if snapshot else "vdi_clone")

    def _vdi_attach(self, vdi: str, writable: bool) -> AttachInfo:
        raise NotSupported(self.sr_uuid, "vdi_attach")

    def _vdi_detach(self, vdi: str, all_attachments: bool) -> None:
        raise NotSupported(self.sr_uuid, "vdi_detach")

    def _attachments(self) -> dict[str, int]:
        return {}

    @abc.abstractmethod
    def _vdi_stat(self, vdi: str) -> VDIInfo: ...


def _discard(path: str) -> None:
    """Drop the data of a regular file (a partial copy); other kinds of target are left."""
    try:
        if os.path.isfile(path):
            os.truncate(path, 0)
    except OSError as e:
        log.error("could not discard %s: %s", path, e)


def _copy_file(src_path: str, dst_path: str, size: int, dst_size: int) -> None:
    src = os.open(src_path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        dst = os.open(dst_path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            sparse.copy_sparse(src, dst, size, dst_size)
        finally:
            os.close(dst)
    finally:
        os.close(src)
