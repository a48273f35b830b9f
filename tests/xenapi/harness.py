"""An in-process server (real model, store, dispatcher; no HTTP) for dispatch-level tests."""
from __future__ import annotations

import asyncio
from typing import Any

from xenapi_impl import api
from xenapi_impl.api.caller import Caller
from xenapi_impl.model import MODEL
from xenapi_impl.server.app import Services
from xenapi_impl.server.dispatch import Dispatcher
from xenapi_impl.server.seed import add_user, seed
from xenapi_impl.store import MemoryStore, Store, open_store, store_specs

HTTP = Caller("http", "127.0.0.1:1")
UNIX_ROOT = Caller("unix", "uid=0 pid=1", local_superuser=True)
PASSWORD = "s3cret-pw"

VM_REQUIRED = {
    "name_label": "vm", "user_version": "1", "is_a_template": False,
    "affinity": "OpaqueRef:NULL", "memory_static_max": "268435456",
    "memory_dynamic_max": "268435456", "memory_dynamic_min": "134217728",
    "memory_static_min": "134217728", "VCPUs_params": {}, "VCPUs_max": "2",
    "VCPUs_at_startup": "1", "actions_after_shutdown": "destroy",
    "actions_after_reboot": "restart", "actions_after_crash": "restart", "PV_bootloader": "",
    "PV_kernel": "", "PV_ramdisk": "", "PV_args": "", "PV_bootloader_args": "",
    "PV_legacy_args": "", "HVM_boot_policy": "", "HVM_boot_params": {}, "platform": {},
    "PCI_bus": "", "other_config": {}, "recommendations": "",
}


class Harness:
    def __init__(self, path: str | None = None, *, users: dict[str, str] | None = None,
                 store: Store | None = None) -> None:
        api.load_all()
        specs = store_specs(MODEL)
        if store is not None:       # e.g. a PostgresStore (opened by the test: it is async)
            self.store = store
        else:
            self.store = open_store(path, specs) if path else MemoryStore(specs)
        self.services = Services(MODEL, self.store, auth_failure_delay=0.01)
        self.users = {"root": "pool-admin", **(users or {})}
        self.dispatcher: Dispatcher | None = None

    async def start(self) -> "Harness":
        await seed(self.services, backend="sim", db_path=None)
        for name, role in self.users.items():
            await add_user(self.services, name, PASSWORD, role)
        self.dispatcher = Dispatcher(self.services)
        return self

    async def call(self, method: str, *params: Any, caller: Caller = HTTP) -> Any:
        assert self.dispatcher is not None
        return await self.dispatcher.call(method, list(params), caller)

    async def login(self, user: str = "root", password: str = PASSWORD,
                    originator: str | None = None) -> str:
        extra = ["1.0", originator] if originator is not None else []
        return await self.call("session.login_with_password", user, password, *extra)

    async def close(self) -> None:
        await self.services.close(grace=1)


def run(coro_fn, *args: Any, **kw: Any) -> Any:
    """asyncio.run a test body that receives a started Harness."""
    async def main() -> Any:
        h = await Harness(*args, **kw).start()
        try:
            return await coro_fn(h)
        finally:
            await h.close()
    return asyncio.run(main())
