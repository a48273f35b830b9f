"""Finding SR drivers by type: the built-ins, then the ``xenapi_impl.sr_drivers`` entry points.

Built-ins are registered here in code so they work without installation metadata. A plugin is an
entry point whose name is the SR type and whose object is an ``SRDriver`` subclass with that
``TYPE``; it cannot replace a built-in. Plugins are loaded once and cached; ``reload()`` forgets
the cache (after installing a plugin into a running process, and in tests).
"""
from __future__ import annotations

import importlib.metadata
import inspect
import logging
import threading

from .driver import SRDriver
from .errors import UnknownDriver
from .file_sr import FileSRDriver
from .iso_sr import ISOSRDriver

ENTRY_POINT_GROUP = "xenapi_impl.sr_drivers"
BUILTIN: dict[str, type[SRDriver]] = {FileSRDriver.TYPE: FileSRDriver,
                                      ISOSRDriver.TYPE: ISOSRDriver}

log = logging.getLogger(__name__)
_lock = threading.Lock()
_plugins: dict[str, type[SRDriver]] | None = None


class DriverLoadError(Exception):
    """An entry point that does not name a usable SRDriver subclass."""


def _load(ep: importlib.metadata.EntryPoint) -> type[SRDriver]:
    try:
        obj = ep.load()
    except Exception as e:  # a broken plugin must not take the server down
        raise DriverLoadError(f"SR driver plugin {ep.name!r} ({ep.value}) failed to load: "
                              f"{e!r}") from e
    if not (inspect.isclass(obj) and issubclass(obj, SRDriver)) or inspect.isabstract(obj):
        raise DriverLoadError(f"SR driver plugin {ep.name!r} ({ep.value}) is not a concrete "
                              "SRDriver subclass")
    if obj.TYPE != ep.name:
        raise DriverLoadError(f"SR driver plugin {ep.name!r} ({ep.value}) declares TYPE "
                              f"{obj.TYPE!r}")
    return obj


def _discover() -> dict[str, type[SRDriver]]:
    found: dict[str, type[SRDriver]] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in BUILTIN or ep.name in found:
            log.warning("ignoring SR driver plugin %r (%s): type already provided",
                        ep.name, ep.value)
            continue
        try:
            found[ep.name] = _load(ep)
        except DriverLoadError as e:
            log.error("%s", e)
    return found


def _plugin_drivers() -> dict[str, type[SRDriver]]:
    global _plugins
    with _lock:
        if _plugins is None:
            _plugins = _discover()
        return _plugins


def reload() -> None:
    """Forget discovered plugins; the next lookup scans the entry points again."""
    global _plugins
    with _lock:
        _plugins = None


def drivers() -> dict[str, type[SRDriver]]:
    """Every usable driver by SR type, built-ins first."""
    return {**BUILTIN, **_plugin_drivers()}


def supported_types() -> list[str]:
    """The SR types this host can serve (SR.get_supported_types)."""
    return sorted(drivers())


def get_driver(sr_type: str) -> type[SRDriver]:
    """The driver class for ``sr_type``; UnknownDriver (SR_UNKNOWN_DRIVER) if there is none."""
    if not isinstance(sr_type, str):
        raise UnknownDriver(str(sr_type))
    if sr_type in BUILTIN:
        return BUILTIN[sr_type]
    driver = _plugin_drivers().get(sr_type)
    if driver is None:
        raise UnknownDriver(str(sr_type))
    return driver
