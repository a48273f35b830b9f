"""Opening the hypervisor backend. `xenlight_py` is imported lazily, here only.

Opening proves the backend is usable, so `--backend xen` on a host without Xen fails at start
with a clear message instead of at the first VM call. `Backend.hypervisor` is what the API
layer calls (xen/hypervisor.py). What the hypervisor reports by itself (domain events through
`xen/pump.py`, metrics through `xen/monitor.py`) goes up through `AgentHooks`, the API layer's
service functions handed over at start: this package never imports the API layer.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any

from .hotplug import Hotplug

log = logging.getLogger(__name__)

BACKENDS = ("sim", "xen")


class BackendUnavailable(Exception):
    """The requested backend cannot be used on this host."""


@dataclass(frozen=True)
class AgentHooks:
    """The API layer's service functions that what the hypervisor reports goes through."""

    #: (kind "shutdown"/"death", domid, libxl shutdown reason name or None)
    domain_event: Callable[[str, int, str | None], Awaitable[None]]
    #: VM refs an operation owns right now (their numbers are the operation's to write)
    busy_vms: Callable[[], Collection[str]]


@dataclass
class Backend(Hotplug):
    kind: str                   # "sim" or "xen"
    context: Any = None         # xenlight_py.Context once the binding is available
    #: seconds a guest has to finish a clean shutdown/reboot (xapi's default)
    clean_timeout: float = 1200.0
    _hypervisor: Any = None

    @property
    def hypervisor(self) -> Any:
        """The asynchronous operations on the context (None without the binding)."""
        if self.context is None:
            return None
        if self._hypervisor is None:
            from .hypervisor import Hypervisor
            self._hypervisor = Hypervisor(self.context, self.kind)
        return self._hypervisor

    _pump: Any = None
    monitor: Any = None

    def start(self, services: Any, hooks: AgentHooks,
              monitor_interval: float | None = None) -> None:
        """Start the background loops on the running event loop: the event pump, and the
        monitor every ``monitor_interval`` seconds (None: no monitor)."""
        self.bind(services)
        if self.hypervisor is None:
            return
        if self._pump is None:
            from .pump import EventPump
            self._pump = EventPump(self.hypervisor, hooks.domain_event)
            self._pump.start()
        if monitor_interval is not None and self.monitor is None:
            from .monitor import Monitor
            self.monitor = Monitor(services, monitor_interval, busy=hooks.busy_vms)
            self.monitor.start()

    @property
    def pump(self) -> Any:
        return self._pump

    def logging_changed(self) -> None:
        """The process's log levels changed: libxl's own messages follow them."""
        refresh = getattr(self.context, "refresh_log_level", None)
        if refresh is not None:
            refresh()

    async def stop(self) -> None:
        monitor, self.monitor = self.monitor, None
        if monitor is not None:
            await monitor.stop()
        pump, self._pump = self._pump, None
        if pump is not None:
            await pump.stop()

    def close(self) -> None:
        ctx, self.context = self.context, None
        close = getattr(ctx, "close", None)
        if close is not None:
            close()


def _xen_present() -> bool:
    return os.path.exists("/proc/xen/capabilities") or os.path.exists("/dev/xen/privcmd")


def open_backend(kind: str) -> Backend:
    if kind not in BACKENDS:
        raise BackendUnavailable(f"unknown backend {kind!r} (choose from {', '.join(BACKENDS)})")
    if kind == "xen" and not _xen_present():
        raise BackendUnavailable(
            "backend 'xen' needs a Xen dom0 (no /proc/xen/capabilities nor /dev/xen/privcmd "
            "on this host); use --backend sim to run on the simulator")
    try:
        import xenlight_py
    except ImportError as exc:
        if kind == "xen":
            raise BackendUnavailable(f"backend 'xen': the xenlight_py binding cannot be "
                                     f"imported: {exc}") from exc
        log.warning("xenlight_py is not importable (%s): the sim backend is recorded only", exc)
        return Backend(kind)
    context_cls = getattr(xenlight_py, "Context", None)
    if context_cls is None:
        if kind == "xen":
            raise BackendUnavailable("backend 'xen': xenlight_py has no Context")
        return Backend(kind)
    try:
        ctx = context_cls(backend=kind)
    except Exception as exc:        # noqa: BLE001 - any failure of the binding is fatal here
        raise BackendUnavailable(f"backend {kind!r} cannot be opened: {exc}") from exc
    return Backend(kind, ctx)
