"""Storage failures, each carrying the XenAPI error it maps to.

Every class names its XenAPI code (from xenapi-errors.json) in ``code`` and fills ``params`` with
exactly the parameters that code declares, so the API layer maps them mechanically:
``raise XenAPIError(exc.code, *exc.params)`` (or ``exc.to_xenapi()``).

Failures of the backing storage itself (I/O errors, a directory that is not an SR) use
``SR_BACKEND_FAILURE [status, stdout, stderr]`` the way xapi reports storage-manager failures:
``status`` is a short machine-readable reason, ``stdout`` the human-readable message.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from xenapi_impl.errors import XenAPIError


class StorageError(Exception):
    """Base of every storage failure: a backend failure unless a subclass says otherwise."""

    code: ClassVar[str] = "SR_BACKEND_FAILURE"

    def __init__(self, message: str, *params: object) -> None:
        super().__init__(message)
        self.message = message
        self.params: list[str] = [p if isinstance(p, str) else str(p) for p in params]

    def to_xenapi(self) -> XenAPIError:
        from xenapi_impl.errors import XenAPIError

        return XenAPIError(self.code, *self.params)


class BackendFailure(StorageError):
    """The storage itself failed: SR_BACKEND_FAILURE [status, stdout, stderr]."""

    def __init__(self, status: str, message: str, detail: str = "") -> None:
        super().__init__(message, status, message, detail)
        self.status = status


class DeviceConfigInvalid(BackendFailure):
    """device_config lacks a required key or holds an unusable value."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__("DeviceConfigInvalid", message)
        self.key = key


class SRNotFound(BackendFailure):
    """The location named by device_config holds no SR (or not the expected one)."""

    def __init__(self, location: str, message: str) -> None:
        super().__init__("SRUnavailable", message)
        self.location = location


class SRExists(BackendFailure):
    """create() on a location that already holds an SR."""

    def __init__(self, location: str, existing_uuid: str) -> None:
        super().__init__("SRInUse", f"{location} already holds SR {existing_uuid}")
        self.location = location
        self.existing_uuid = existing_uuid


class UnknownDriver(StorageError):
    code = "SR_UNKNOWN_DRIVER"

    def __init__(self, driver: str) -> None:
        super().__init__(f"no SR driver of type {driver!r}", driver)
        self.driver = driver


class SRNotAttached(StorageError):
    code = "SR_NOT_ATTACHED"

    def __init__(self, sr: str) -> None:
        super().__init__(f"SR {sr} is not attached", sr)
        self.sr = sr


class NotSupported(StorageError):
    """The driver does not offer this operation (its capabilities lack it)."""

    code = "SR_OPERATION_NOT_SUPPORTED"

    def __init__(self, sr: str, operation: str) -> None:
        super().__init__(f"SR {sr} does not support {operation}", sr)
        self.sr = sr
        self.operation = operation


class SRNotEmpty(StorageError):
    code = "SR_NOT_EMPTY"

    def __init__(self, sr: str, count: int) -> None:
        super().__init__(f"SR {sr} still holds {count} VDI(s)")
        self.sr = sr
        self.count = count


class SRBusy(StorageError):
    """The SR lock could not be taken in time (another thread or process holds it)."""

    code = "SR_VDI_LOCKING_FAILED"

    def __init__(self, sr: str, waited: float) -> None:
        super().__init__(f"SR {sr} is locked by another operation (waited {waited:g}s)")
        self.sr = sr


class VDINotFound(StorageError):
    code = "VDI_MISSING"

    def __init__(self, sr: str, vdi: str) -> None:
        super().__init__(f"VDI {vdi} is not present in SR {sr}", sr, vdi)
        self.sr = sr
        self.vdi = vdi


class VDIInUse(StorageError):
    code = "VDI_IN_USE"

    def __init__(self, vdi: str, operation: str) -> None:
        super().__init__(f"VDI {vdi} is attached: cannot {operation}", vdi, operation)
        self.vdi = vdi
        self.operation = operation


class VDIReadOnly(StorageError):
    code = "VDI_READONLY"

    def __init__(self, vdi: str) -> None:
        super().__init__(f"VDI {vdi} is read-only", vdi)
        self.vdi = vdi


class InvalidArgument(StorageError):
    """An argument outside its domain (not a uuid, not a size ...)."""

    code = "INVALID_VALUE"

    def __init__(self, field: str, value: object, reason: str = "") -> None:
        super().__init__(f"invalid {field} {value!r}" + (f": {reason}" if reason else ""),
                         field, value)
        self.field = field
        self.value = value


class InvalidSize(InvalidArgument):
    """A size that is not a non-negative int64."""

    def __init__(self, field: str, value: object) -> None:
        super().__init__(field, value, "must be an integer between 0 and 2^63-1")


class VDITooSmall(InvalidSize):
    """Resize below the current size (raw images are never shrunk: it would cut data off)."""

    code = "VDI_TOO_SMALL"

    def __init__(self, vdi: str, minimum: int, requested: int) -> None:
        StorageError.__init__(self, f"VDI {vdi} cannot shrink to {requested} bytes "
                              f"(its size is {minimum})", vdi, minimum)
        self.field, self.value = "size", requested
        self.vdi = vdi
        self.minimum = minimum


class VDITooLarge(InvalidSize):
    """The backing file system refuses a file this large."""

    code = "VDI_TOO_LARGE"

    def __init__(self, vdi: str, maximum: int, requested: int) -> None:
        StorageError.__init__(self, f"VDI {vdi} cannot grow to {requested} bytes: "
                              f"this SR allows at most {maximum}", vdi, maximum)
        self.field, self.value = "size", requested
        self.vdi = vdi
        self.maximum = maximum


class NoSpace(StorageError):
    """Not enough free space on the SR for the data an operation must write."""

    code = "SR_FULL"

    def __init__(self, requested: int, maximum: int) -> None:
        super().__init__(f"SR full: {requested} bytes needed, {maximum} available",
                         requested, maximum)
        self.requested = requested
        self.maximum = maximum
