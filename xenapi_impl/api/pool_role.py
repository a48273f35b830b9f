"""The pool's roles: which host is the master, which hosts are alive, and the calls that move
the master role (pool.designate_new_master, pool.emergency_transition_to_master,
pool.recover_slaves) or give up on a host (host.declare_dead, host.destroy).

Both roles are leases in the pool's database (`Store.lease_*`, a `_lease` table in
PostgreSQL), each with an epoch that is a fencing token:

- `host/<uuid>`: each server process holds its own host's lease, taken with a new epoch at
  every start and renewed every `lease_seconds / 4`. Every write the process makes requires it
  (`Store.fence`: checked inside the commit, under the lock that orders all commits), so a host
  that another host declared dead (its epoch bumped) or that stopped renewing past its term
  cannot write a single record any more: when it notices, it stops (exit status 3), its
  hypervisor untouched, as xapi's fenced host reboots.
- `master`: held by the pool's master (pool.master names the same host). The master's writes
  require it too. A slave that finds the master lease handed to it (designate_new_master)
  becomes master; a master whose lease was taken (emergency_transition_to_master on a slave)
  becomes a slave. The master also watches the other hosts: a host whose lease expired has
  `host_metrics.live` set false and its epoch bumped (fenced).

With a single-host store (SQLite, memory) there is nothing to fence: the host is the master.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import XenAPIError
from ..store import NULL_REF, StoreConflict, StoreError, StoreFenced, StoreUnavailable
from .context import Context
from .registry import implements

log = logging.getLogger(__name__)

MASTER = "master"
EXIT_FENCED = 3


def host_lease(uuid: str) -> str:
    return f"host/{uuid}"


class PoolRole:
    """This server's role in the pool, and the loop that keeps its leases."""

    def __init__(self, services: Any) -> None:
        self.services = services
        self.is_master = False
        self.master_epoch = 0
        self.host_epoch = 0
        self._task: asyncio.Task[None] | None = None
        self._writes: asyncio.Task[None] | None = None     # the heartbeat and the watch
        self.fenced = False
        # after the database was unreachable every lease may have run out: the master fences
        # no host until the hosts had time to reconnect and renew (monotonic time)
        self._quiet_until = 0.0
        self._db_failed = False
        self._renewed = 0.0             # when this host's lease was last renewed (monotonic)

    @property
    def seconds(self) -> float:
        return self.services.lease_seconds

    @property
    def store(self) -> Any:
        return self.services.store

    # --- what clients are told -----------------------------------------------------------
    def master_ref(self) -> str:
        pool = self.store.get("pool", self.services.pool_ref)
        return pool["master"] if pool is not None else NULL_REF

    def master_address(self) -> str:
        rec = self.store.get("host", self.master_ref())
        return rec["address"] if rec is not None else ""

    def check_master(self) -> None:
        """A login on a slave: HOST_IS_SLAVE [the master's address] (clients reconnect)."""
        if not self.is_master:
            raise XenAPIError("HOST_IS_SLAVE", self.master_address())

    # --- start and the lease loop ----------------------------------------------------------
    async def start(self) -> None:
        services, store = self.services, self.store
        if not store.shared:
            self.is_master = True
            return
        me = services.host_uuid
        lease = await store.lease_acquire(host_lease(me), me, self.seconds, force=True)
        assert lease is not None
        self.host_epoch = lease.epoch
        store.fence(lease.name, me, lease.epoch)
        if self.master_ref() == services.host_ref:
            got = await store.lease_acquire(MASTER, me, self.seconds)
            if got is not None:
                await self._become_master(got.epoch)
            else:
                held = await store.lease_get(MASTER)
                log.warning("pool.master names this host but %s holds the master lease: "
                            "starting as a slave", held.holder if held else "nobody")
        if not self.is_master:
            log.info("slave of the pool; master %s", self.master_address() or "unknown")
        await self._heartbeat()
        self._renewed = time.monotonic()
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def _become_master(self, epoch: int) -> None:
        services = self.services
        self.store.fence(MASTER, services.host_uuid, epoch)
        self.master_epoch = epoch
        self.is_master = True
        if self.master_ref() != services.host_ref:
            async with services.transaction() as txn:
                txn.update("pool", services.pool_ref, {"master": services.host_ref})
        log.info("master of the pool (epoch %d)", epoch)

    def _demote(self, why: str) -> None:
        self.store.unfence(MASTER)
        if self.is_master:
            log.warning("no longer the master (%s): now a slave of %s", why,
                        self.master_address() or "unknown")
        self.is_master = False

    def _fenced(self, why: str) -> None:
        if self.fenced:
            return
        self.fenced = True
        log.critical("fenced: %s; this server's writes are refused: stopping, leaving the "
                     "hypervisor's domains as they are", why)
        self.services.exit_status = EXIT_FENCED
        self.services.stop_requested.set()

    async def _loop(self) -> None:
        while not self.fenced:
            await asyncio.sleep(self.seconds / 4)
            await self._guarded(self._round, "pool lease round")
            if not self.fenced and (self._writes is None or self._writes.done()):
                # off the renewals' path: a write waits for the pool's commit lock, which a
                # frozen host can hold for up to 5 s (store/postgres.py), and renewals held
                # back that long would read as a database outage (the quiet period below)
                self._writes = asyncio.get_running_loop().create_task(
                    self._guarded(self._write_round, "pool heartbeat"))

    async def _guarded(self, step: Callable[[], Awaitable[None]], what: str) -> None:
        try:
            await step()
        except StoreFenced as exc:
            if exc.name == MASTER:
                self._demote(str(exc))
            else:
                self._fenced(str(exc))
        except StoreUnavailable as exc:
            # the database did not answer within the store's timeout (10 s): it was down or
            # unreachable, for the other hosts too, whose leases then ran out meanwhile
            self._db_failed = True
            log.warning("%s failed: %s", what, exc)
        except StoreError as exc:
            log.warning("%s failed: %s", what, exc)
        except Exception:   # noqa: BLE001 - keep the leases; say why a round failed
            log.exception("%s failed", what)

    async def _round(self) -> None:
        """The leases: this host's, and the master's (renewed, or taken over when handed)."""
        services, store = self.services, self.store
        me = services.host_uuid
        if not await store.lease_renew(host_lease(me), me, self.host_epoch, self.seconds):
            self._fenced("this host's lease was taken (declared dead, or another process "
                         "of this host started)")
            return
        # a renewal that waited out the database's outage succeeds without any error: that
        # this host could not renew for longer than a term says the others could not either
        now = time.monotonic()
        if self._renewed and now - self._renewed > self.seconds:
            self._db_failed = True
        self._renewed = now
        if self._db_failed:
            self._db_failed = False
            self._quiet_until = now + self.quiet_seconds
            log.info("the pool database answers again: no host is fenced for the next %g s",
                     self.quiet_seconds)
        if self.is_master:
            if not await store.lease_renew(MASTER, me, self.master_epoch, self.seconds):
                self._demote("another host took the master lease")
        else:
            held = await store.lease_get(MASTER)
            if held is not None and held.holder == me and held.valid \
                    and held.epoch != self.master_epoch:
                await self._become_master(held.epoch)      # handed over (designate)

    async def _write_round(self) -> None:
        """The heartbeat, then on the master the hosts whose leases ran out."""
        await self._heartbeat()
        # not while the leases say nothing of their hosts: in the quiet period, or when this
        # host's own renewal is late (it waited out a stalled database with this heartbeat,
        # and the lease round has not yet said so)
        now = time.monotonic()
        if self.is_master and not self._db_failed and now >= self._quiet_until \
                and now - self._renewed <= self.seconds:
            await self._watch_hosts()

    @property
    def quiet_seconds(self) -> float:
        """How long after a database outage a silent host is still given to renew: two terms,
        and the time a host's connection pool takes to reconnect (its attempts are at most a
        few seconds apart)."""
        return 2 * self.seconds + 10.0

    async def _heartbeat(self) -> None:
        """This host's host_metrics: live, and last_updated as a visible heartbeat."""
        services = self.services
        hrec = self.store.get("host", services.host_ref)
        if hrec is None or hrec["metrics"] == NULL_REF:
            return
        now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
        for attempt in range(3):
            try:
                async with services.transaction() as txn:
                    txn.update("host_metrics", hrec["metrics"],
                               {"live": True, "last_updated": now})
                return
            except StoreConflict:
                # the master marked this host not live meanwhile (a restart within a term)
                if attempt == 2:
                    raise

    async def _watch_hosts(self) -> None:
        """On the master: a host whose lease expired is not live, and is fenced."""
        services, store = self.services, self.store
        for ref, h in list(store.records("host").items()):
            if ref == services.host_ref:
                continue
            m = store.get("host_metrics", h["metrics"])
            began = time.monotonic()
            lease = await store.lease_get(host_lease(h["uuid"]))
            if time.monotonic() - began > self.seconds / 2:
                # the read waited out the database: a lease that ran out meanwhile says
                # nothing of its host; the next round starts the quiet period
                self._db_failed = True
                return
            if lease is not None and lease.valid:
                continue
            if lease is not None and lease.holder == h["uuid"]:
                await store.lease_bump(lease.name, lease.epoch)
            if m is not None and m["live"]:
                log.warning("host %s (%s) stopped renewing its lease: not live, fenced",
                            h["name_label"], h["address"])
                async with services.transaction() as txn:
                    txn.update("host_metrics", h["metrics"], {"live": False})

    async def stop(self) -> None:
        for task in (self._task, self._writes):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # --- moving the master role --------------------------------------------------------------
    async def take_over(self) -> None:
        """emergency_transition_to_master: take the master lease whoever holds it (a new
        epoch fences the old master's writes) and name this host in pool.master."""
        store, me = self.store, self.services.host_uuid
        if self.is_master:
            return
        got = await store.lease_acquire(MASTER, me, self.seconds, force=True)
        assert got is not None
        await self._become_master(got.epoch)

    async def hand_over(self, host: str) -> None:
        """designate_new_master: name `host` in pool.master (under this master's epoch), hand
        it the master lease with a new epoch, become a slave; `host` takes the role at its
        next lease round."""
        services, store = self.services, self.store
        uuid = store.get("host", host)["uuid"]
        async with services.transaction() as txn:
            txn.update("pool", services.pool_ref, {"master": host})
        await store.lease_acquire(MASTER, uuid, self.seconds, force=True)
        self._demote(f"designated {uuid} as the new master")


def role_of(services: Any) -> PoolRole:
    role = services.pool_role
    if role is None:
        role = services.pool_role = PoolRole(services)
    return role


def host_is_live(services: Any, host: str) -> bool:
    h = services.store.get("host", host)
    m = services.store.get("host_metrics", h["metrics"]) if h is not None else None
    return bool(m is not None and m["live"])


# --- the calls -------------------------------------------------------------------------------
@implements("pool.emergency_transition_to_master")
async def emergency_transition_to_master(ctx: Context) -> None:
    await role_of(ctx.services).take_over()


@implements("pool.designate_new_master")
async def designate_new_master(ctx: Context, host: str) -> None:
    role = role_of(ctx.services)
    if host == ctx.services.host_ref:
        return
    role.check_master()
    if not host_is_live(ctx.services, host):
        raise XenAPIError("HOST_OFFLINE", host)
    await role.hand_over(host)


@implements("pool.emergency_reset_master")
async def emergency_reset_master(ctx: Context, master_address: str) -> None:
    """xapi rewrites a slave's pool.conf to the given master and restarts. Here a slave follows
    pool.master in the database it shares, so there is nothing to rewrite: the call checks,
    on what this host has caught up with, that `master_address` is the master's. Another
    host's address answers HOST_IS_SLAVE [the master's address], an unknown one
    INVALID_VALUE; this host's own slave state is left as it is."""
    services = ctx.services
    await services.store.catch_up()
    role = role_of(services)
    named = [ref for ref, h in services.store.records("host").items()
             if master_address in (h["address"], h["hostname"], h["name_label"])]
    if not named:
        raise XenAPIError("INVALID_VALUE", "master_address", master_address)
    if role.master_ref() not in named:
        raise XenAPIError("HOST_IS_SLAVE", role.master_address())


@implements("pool.recover_slaves")
async def recover_slaves(ctx: Context) -> list[str]:
    """Slaves read pool.master from the database they share, so they follow a new master by
    themselves: the live slaves are the ones recovered."""
    role = role_of(ctx.services)
    role.check_master()
    return [h for h in ctx.services.store.records("host")
            if h != ctx.services.host_ref and host_is_live(ctx.services, h)]


async def _assert_dead(ctx: Context, host: str) -> Any:
    services = ctx.services
    if host == services.host_ref:
        raise XenAPIError("HOST_CANNOT_DESTROY_SELF", host)
    uuid = ctx.txn.get("host", host)["uuid"]
    lease = await services.store.lease_get(host_lease(uuid))
    if lease is not None and lease.valid:
        raise XenAPIError("HOST_IS_LIVE", host)
    if lease is not None:
        await services.store.lease_bump(lease.name, lease.epoch)    # fence it for good
    return lease


@implements("host.declare_dead")
async def declare_dead(ctx: Context, host: str) -> None:
    """The host is gone for good (its lease expired): fenced, not live, and its VMs halted in
    the records so that they can start elsewhere."""
    role_of(ctx.services).check_master()
    await _assert_dead(ctx, host)
    from .vm import allowed_operations, record_halted
    txn = ctx.txn
    h = txn.get("host", host)
    if h["metrics"] != NULL_REF and txn.get("host_metrics", h["metrics"]) is not None:
        txn.update("host_metrics", h["metrics"], {"live": False})
    for ref in txn.refs("VM"):
        rec = txn.get("VM", ref)
        if rec["resident_on"] == host and not rec["is_control_domain"] \
                and rec["power_state"] != "Halted":
            record_halted(ctx, txn, ref)
            txn.update("VM", ref, {"current_operations": {}})
            txn.update("VM", ref, {"allowed_operations": allowed_operations(
                txn.get("VM", ref))})


async def record_endpoint(services: Any, https_port: int | None, cert_path: str | None) -> None:
    """Where other hosts of the pool reach this one (api/host_agent.py): its HTTPS port and
    the SHA-256 fingerprint of its certificate, which they pin."""
    import hashlib
    import re
    import ssl
    if not services.store.shared:
        return                          # one host: nobody to call it
    oc = dict(services.store.get("host", services.host_ref)["other_config"])
    want = dict(oc)
    want.pop("https_port", None)
    want.pop("tls_sha256", None)
    if https_port is not None and cert_path is not None:
        with open(cert_path) as f:
            pem = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----",
                            f.read(), re.S)
        if pem is not None:
            der = ssl.PEM_cert_to_DER_cert(pem.group(0))
            want.update(https_port=str(https_port), tls_sha256=hashlib.sha256(der).hexdigest())
    if want != oc:
        async with services.transaction() as txn:
            txn.update("host", services.host_ref, {"other_config": want})
