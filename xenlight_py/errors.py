"""Exceptions: every negative libxl return code becomes one of these, at one check point.

``check(rc, ...)`` is the only place that maps codes to classes. Each exception carries the
code (``rc``), libxl's own name for it (``name``, from ``libxl_error_to_string``), the libxl
function that failed (``function``) and the log lines libxl emitted in this thread during the
failing call (``log``): libxl has no "last error" call, its log is the only error text.
"""
from __future__ import annotations

from typing import Iterable

# libxl_error values (stable ABI, identical in every Xen release since they were added).
ERROR_NONSPECIFIC = -1
ERROR_VERSION = -2
ERROR_FAIL = -3
ERROR_NI = -4
ERROR_NOMEM = -5
ERROR_INVAL = -6
ERROR_BADFAIL = -7
ERROR_GUEST_TIMEDOUT = -8
ERROR_TIMEDOUT = -9
ERROR_NOPARAVIRT = -10
ERROR_NOT_READY = -11
ERROR_OSEVENT_REG_FAIL = -12
ERROR_BUFFERFULL = -13
ERROR_UNKNOWN_CHILD = -14
ERROR_LOCK_FAIL = -15
ERROR_JSON_CONFIG_EMPTY = -16
ERROR_DEVICE_EXISTS = -17
ERROR_DOMAIN_NOTFOUND = -21
ERROR_ABORTED = -22
ERROR_NOTFOUND = -23
ERROR_DOMAIN_DESTROYED = -24
ERROR_FEATURE_REMOVED = -25


class XenlightError(Exception):
    """A libxl call failed (or a request was refused before reaching libxl)."""

    def __init__(self, rc: int, name: str, message: str, function: str | None = None,
                 log: Iterable[str] = ()) -> None:
        self.rc = rc
        self.name = name
        self.function = function
        self.log: tuple[str, ...] = tuple(log)
        self.message = message
        super().__init__(rc, name, message)

    def __str__(self) -> str:
        where = f"{self.function}: " if self.function else ""
        text = f"{where}{self.message} (libxl error {self.rc}, {self.name})"
        extra = [line for line in self.log if line not in self.message]
        if extra:
            text += "; libxl log: " + " | ".join(extra)
        return text


class DomainNotFound(XenlightError, LookupError):
    """ERROR_DOMAIN_NOTFOUND: no domain with that domid (or name)."""


class NotFound(XenlightError, LookupError):
    """ERROR_NOTFOUND: the device or object named does not exist."""


class InvalidArgument(XenlightError, ValueError):
    """ERROR_INVAL: libxl (or the binding, before calling it) refused an argument."""


class ConfigError(InvalidArgument):
    """A DomainConfig/DiskConfig/NicConfig or xl config file is invalid (nothing was done)."""


class OutOfMemory(XenlightError, MemoryError):
    """ERROR_NOMEM: the host (or libxl) ran out of memory."""


class FunctionNotImplemented(XenlightError, NotImplementedError):
    """ERROR_NI: libxl does not implement this operation for this domain or host."""


class Timeout(XenlightError, TimeoutError):
    """ERROR_TIMEDOUT / ERROR_GUEST_TIMEDOUT: an operation or the guest did not answer."""


class NotReady(XenlightError):
    """ERROR_NOT_READY: nothing is available yet (e.g. no pending event)."""


class DeviceExists(XenlightError):
    """ERROR_DEVICE_EXISTS: a device with that identity is already attached."""


class DomainDestroyed(XenlightError):
    """ERROR_DOMAIN_DESTROYED: the domain went away during the operation."""


class Aborted(XenlightError):
    """ERROR_ABORTED: the operation was aborted."""


class LockFailed(XenlightError):
    """ERROR_LOCK_FAIL: libxl could not take a lock it needs."""


class VersionMismatch(XenlightError):
    """ERROR_VERSION: libxl and the binding disagree on the API version."""


class NoParavirt(XenlightError):
    """ERROR_NOPARAVIRT: the guest has no PV drivers for the requested operation."""


class FeatureRemoved(XenlightError):
    """ERROR_FEATURE_REMOVED: the feature is no longer supported by libxl."""


class BackendUnavailable(XenlightError):
    """The requested backend cannot be used here (not built, or no hypervisor)."""


_CLASSES: dict[int, type[XenlightError]] = {
    ERROR_DOMAIN_NOTFOUND: DomainNotFound,
    ERROR_NOTFOUND: NotFound,
    ERROR_INVAL: InvalidArgument,
    ERROR_NOMEM: OutOfMemory,
    ERROR_NI: FunctionNotImplemented,
    ERROR_TIMEDOUT: Timeout,
    ERROR_GUEST_TIMEDOUT: Timeout,
    ERROR_NOT_READY: NotReady,
    ERROR_DEVICE_EXISTS: DeviceExists,
    ERROR_DOMAIN_DESTROYED: DomainDestroyed,
    ERROR_ABORTED: Aborted,
    ERROR_LOCK_FAIL: LockFailed,
    ERROR_VERSION: VersionMismatch,
    ERROR_NOPARAVIRT: NoParavirt,
    ERROR_FEATURE_REMOVED: FeatureRemoved,
}


def error_class(rc: int) -> type[XenlightError]:
    """The exception class for a libxl return code (XenlightError for the generic ones)."""
    return _CLASSES.get(rc, XenlightError)


def make_error(rc: int, name: str, function: str | None, log: Iterable[str] = (),
               message: str | None = None) -> XenlightError:
    log = tuple(log)
    if message is None:
        message = log[-1] if log else f"libxl call failed with {name}"
    return error_class(rc)(rc, name, message, function, log)


def invalid(message: str, function: str | None = None) -> ConfigError:
    """A refusal made by the binding itself (before any libxl call), as ERROR_INVAL."""
    return ConfigError(ERROR_INVAL, "inval", message, function)
