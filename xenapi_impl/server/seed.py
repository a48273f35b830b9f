"""First start (and every start): the pool, this host, the roles, the first administrator."""
from __future__ import annotations

import logging
import os
import platform
import socket
from typing import Any

from ..api.host import refresh_from_hypervisor
from ..api.licensing import seed_edition
from ..api.pif import seed_pifs
from ..api.pool_role import role_of
from ..api.resync import resync
from ..api.sr import seed_storage
from ..api.templates import seed_templates
from ..logconfig import apply_stored
from ..model import roles as _roles
from ..passwords import generate_password, hash_password_async
from ..store import NULL_REF, Credential, DuplicateRef, DuplicateUuid, new_ref, new_uuid
from ..store.retry import again_if_stale
from .app import Services

log = logging.getLogger(__name__)

API_VERSION_MAJOR = 2
API_VERSION_MINOR = 21          # xapi's API version for the release the reference describes
ADMIN_USER = "root"


def _fit(services: Services, cls: str, values: dict[str, Any]) -> dict[str, Any]:
    rec = services.default_record(cls)
    fields = services.model.classes[cls].fields
    rec.update({k: v for k, v in values.items() if k in fields})
    return rec


async def seed(services: Services, *, backend: str, db_path: str | None) -> str | None:
    """Create what a fresh database lacks; returns the path of a generated password file.
    A pool's hosts may start at the same time: a step whose commit another host's start beat
    runs again on what that host wrote (`again`)."""
    async def again(step: Any) -> None:
        await again_if_stale(services.store, lambda: step(services),
                             also=(DuplicateUuid, DuplicateRef))

    await again(_sync_roles)
    await _host_and_pool(services, backend, db_path)
    await role_of(services).start()     # master or slave: leases, heartbeat (a pool's db)
    apply_stored(services)              # host.logging: the stored levels and destinations
    await refresh_from_hypervisor(services)    # host, pCPUs, metrics, dom0 from the hypervisor
    await again(seed_pifs)              # this host's NICs as PIFs (first start only)
    await seed_storage(services, db_path)   # re-attach plugged SRs; first start: make them
    await again(seed_templates)         # built-in templates (stable uuids) if missing
    await again(seed_edition)           # the free edition and its licence parameters
    await resync(services)              # VM records vs the hypervisor's domains
    return await _first_admin(services, db_path)


async def _sync_roles(services: Services) -> None:
    """Role records are derived from the model: bring the stored ones in line with it."""
    store = services.store
    if "role" not in services.store_classes:
        return
    wanted = _roles.builtin_roles(services.model.methods)
    have = store.records("role")
    async with store.transaction() as txn:
        for ref, rec in wanted.items():
            full = _fit(services, "role", rec)
            old = have.get(ref)
            if old is None:
                txn.create("role", ref, full)
            elif any(old.get(k) != v for k, v in full.items() if k != "uuid"):
                txn.update("role", ref, {k: v for k, v in full.items() if k != "uuid"})
        for ref in have:
            if ref not in wanted:
                txn.delete("role", ref)


def _own_host(services: Services, uuid: str | None) -> str | None:
    """This host's record: the one with the inventory's uuid; without an inventory (a database
    made before there were inventories, or an in-process test) the only host of a database no
    other process shares."""
    hosts = services.store.records("host")
    if uuid is not None:
        return next((r for r, h in hosts.items() if h["uuid"] == uuid), None)
    if not services.store.shared and len(hosts) == 1:
        return next(iter(hosts))
    return None


async def _host_and_pool(services: Services, backend: str, state: str | None = None) -> None:
    from . import inventory
    store = services.store
    uuid = inventory.host_uuid(state)
    host_ref = _own_host(services, uuid)
    if host_ref is None:
        host_ref = new_ref()
        name = services.host_name or socket.gethostname()
        async with store.transaction() as txn:
            txn.create("host", host_ref, _fit(services, "host", {
                "uuid": uuid or new_uuid(), "name_label": name, "name_description": "",
                "API_version_major": API_VERSION_MAJOR, "API_version_minor": API_VERSION_MINOR,
                "API_version_vendor": "XenSource", "API_version_vendor_implementation": {},
                "enabled": True, "hostname": name, "address": services.address,
                "software_version": {"product_brand": "xen-py-toolstack",
                                     "product_version": "0.1.0", "xen": "4.17",
                                     "platform_name": "Xen", "platform_version": "4.17",
                                     "hostname": name, "date": "2026-01-01",
                                     "xapi": f"{API_VERSION_MAJOR}.{API_VERSION_MINOR}"},
                "capabilities": [], "other_config": {"backend": backend}, "logging": {},
                "cpu_configuration": {}, "sched_policy": "credit",
                "supported_bootloaders": ["pygrub"], "license_params": {},
                "cpu_info": {"cpu_count": str(os.cpu_count() or 1),
                             "vendor": platform.machine()},
                "edition": "free", "license_server": {"address": "localhost", "port": "27000"},
            }))
        log.info("created this host's record (%s)", name)
    services.host_ref = host_ref
    hrec = store.get("host", host_ref)
    services.host_uuid = hrec["uuid"]
    inventory.set_host_uuid(state, hrec["uuid"])
    changes: dict[str, Any] = {}
    if hrec["other_config"].get("backend") != backend:
        changes["other_config"] = {**hrec["other_config"], "backend": backend}
    if hrec["address"] != services.address:
        changes["address"] = services.address
    if changes:
        async with store.transaction() as txn:
            txn.update("host", host_ref, changes)

    pools = store.records("pool")
    if pools:
        pool_ref = next(iter(pools))
    else:
        pool_ref = new_ref()
        async with store.transaction() as txn:
            txn.create("pool", pool_ref, _fit(services, "pool", {
                "uuid": new_uuid(), "name_label": socket.gethostname(), "name_description": "",
                "master": host_ref, "default_SR": NULL_REF, "suspend_image_SR": NULL_REF,
                "crash_dump_SR": NULL_REF, "other_config": {}, "metadata_VDIs": [],
            }))
        log.info("created the pool record")
    services.pool_ref = pool_ref


async def _first_admin(services: Services, db_path: str | None) -> str | None:
    """No local user yet: make `root` a pool-admin with a random password written to a file
    beside the database (mode 0600); never a default password."""
    store = services.store
    if store.list_credentials():
        return None
    password = generate_password()
    path = None
    if db_path is not None:
        path = os.path.abspath(db_path) + ".root-password"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, (password + "\n").encode())
        finally:
            os.close(fd)
    await add_user(services, ADMIN_USER, password, "pool-admin")
    if path is not None:
        log.warning("first start: generated the password of user %r in %s (mode 0600)",
                    ADMIN_USER, path)
    return path


async def add_user(services: Services, name: str, password: str, role: str) -> None:
    """Create or replace a local user (credential + `user` record)."""
    from .rbac import ROLES
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    if not name or name != name.strip():
        raise ValueError("a user name must be non-empty without surrounding blanks")
    if not password:
        raise ValueError("the password must not be empty")
    store = services.store
    await store.put_credential(Credential(name, await hash_password_async(password), role))
    if "user" in services.store_classes and services.user_ref(name) == NULL_REF:
        async with store.transaction() as txn:
            txn.create("user", new_ref(), _fit(services, "user", {
                "uuid": new_uuid(), "short_name": name, "fullname": "", "other_config": {}}))
