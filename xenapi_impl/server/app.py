"""Wiring: the services a call can reach (store, sessions, tasks, events, backend) and their
life cycle (open, seed, periodic maintenance, close)."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from ..api.agent_hooks import agent_hooks
from ..api.pool_links import PoolLinks
from ..model.types import EPOCH
from ..store import NULL_REF, Store
from ..wire import xmlrpc
from ..wire.prewarm import Prewarmer
from .events import EventService
from .sessions import SessionManager
from .tasks import TaskManager
from .useragents import UserAgents

log = logging.getLogger(__name__)

MAINTENANCE_INTERVAL = 60.0
class Services:
    """What message implementations reach through `ctx.services`."""

    epoch = EPOCH

    def __init__(self, model: Any, store: Store, *, backend: Any = None,
                 auth_failure_delay: float = 1.0) -> None:
        self.model = model
        self.store = store
        self.backend = backend
        #: encodes the new versions of records clients read right after they are written
        self.prewarmer = Prewarmer()
        store.replaced_listeners.append(self.prewarmer.replaced)
        self.store_classes = frozenset(store.classes())
        self.event_classes = sorted(self.store_classes)
        self.event_class_set = self.store_classes
        self.host_ref = NULL_REF
        self.host_uuid = ""
        #: this host's management address (host.address; HOST_IS_SLAVE names the master's)
        self.address = "127.0.0.1"
        self.host_name = ""             # name_label of a new host record ("" = hostname)
        #: the pool role (api/pool_role.py): master or slave, leases, heartbeat
        self.pool_role: Any = None
        #: the kept HTTPS connections to the pool's other hosts (host_agent.RemoteAgent)
        self.pool_links = PoolLinks()
        #: runs the snapshot schedules (api/vmss.py), started with the server
        self.vmss_scheduler: Any = None
        #: seconds a lease (master role, a host's liveness) lasts without renewal
        self.lease_seconds = 15.0
        #: set when the server must stop by itself (fenced: another host took its role)
        self.stop_requested = asyncio.Event()
        self.exit_status = 0
        #: this host's own files are named after it (`<state_base>.inventory`, `.pool`...)
        self.state_base: str | None = None
        self.https_port: int | None = None
        #: the HTTPS certificate served (server/tls.py ServedCertificate; None without HTTPS)
        self.tls: Any = None
        #: where dom0 settings (timezone, NTP, ssh...) are applied (hostconfig.py)
        self.host_config: Any = None
        #: the clients' User-Agents seen by the HTTP server (server/useragents.py)
        self.user_agents = UserAgents()
        #: the database URL as given (pool.join hands a pool's to a joining host)
        self.db_url = ""
        self.pool_ref = NULL_REF
        self.sessions = SessionManager(self, auth_failure_delay=auth_failure_delay)
        self.tasks = TaskManager(self)
        self.events = EventService(self)
        self.dispatcher: Any = None     # set by the Dispatcher built on these services
        self._maintenance: asyncio.Task[None] | None = None
        #: more periodic work, run by the maintenance loop: async fn(services)
        self.periodic_jobs: list[Any] = []
        #: seconds between metrics rounds; the backend runs the monitor (xen/monitor.py)
        self.monitor_interval = 5.0
        self.monitor: Any = None
        #: VM ref -> [(SR driver, VDI uuid)] attached for its running domain (released at halt)
        self.vm_devices: dict[str, list[tuple[Any, str]]] = {}

    def transaction(self) -> Any:
        """A store transaction whose writes keep the model's relation sets (VM.VBDs...)
        current; usable as `async with` or with explicit commit/rollback."""
        return self.model.relations.wrap(self.store.transaction())

    def default_record(self, cls: str) -> dict[str, Any]:
        return self.model.classes[cls].default_record()

    @staticmethod
    def value_fragment(value: Any) -> str:
        return xmlrpc.value_fragment(value)

    def user_ref(self, name: str) -> str:
        """The `user` object of a local user, or the null reference."""
        if "user" not in self.store_classes:
            return NULL_REF
        for ref, rec in self.store.records("user").items():
            if rec.get("short_name") == name:
                return ref
        return NULL_REF

    # --- life cycle ------------------------------------------------------------------------
    def start_maintenance(self, interval: float = MAINTENANCE_INTERVAL) -> None:
        self._maintenance = asyncio.get_running_loop().create_task(self._maintain(interval))
        start = getattr(self.backend, "start", None)
        if start is not None:
            # the hypervisor's event pump and monitor, reporting through the API layer
            start(self, agent_hooks(self), self.monitor_interval)
            self.monitor = getattr(self.backend, "monitor", None)

    async def _maintain(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sessions.expire_idle()
                await self.tasks.gc()
                for job in self.periodic_jobs:
                    await job(self)
            except Exception:       # noqa: BLE001 - keep maintaining; say why it failed
                log.exception("maintenance failed")

    async def close(self, grace: float = 10.0) -> None:
        if self._maintenance is not None:
            self._maintenance.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._maintenance
        if self.vmss_scheduler is not None:
            await self.vmss_scheduler.stop()
        if self.pool_role is not None:
            await self.pool_role.stop()
        stop = getattr(self.backend, "stop", None)
        if stop is not None:
            await stop()
        left = await self.tasks.drain(grace)
        if left:
            log.warning("%d task(s) still running at shutdown", left)
        await self.pool_links.close()
        await self.store.close()
        if self.backend is not None:
            close = getattr(self.backend, "close", None)
            if close is not None:
                close()
