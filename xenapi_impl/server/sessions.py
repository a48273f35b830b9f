"""Sessions: login, validation, idle expiry, the per-user caps, logout.

Sessions live in memory only (the model's session class is not persistent): a restart logs
everyone out, as in xapi. The session record is in the store (so session.get_* and events
work generically); the facts dispatch needs on every call sit in a SessionInfo beside it.
"""
from __future__ import annotations

import asyncio
import collections
import datetime as _dt
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..api.caller import Caller
from ..errors import XenAPIError
from ..ratelimit import RateLimitedLog
from ..store import NULL_REF, new_ref, new_uuid
from . import rbac
from .logins import LoginGate, LoginLimits, LoginThrottled

if TYPE_CHECKING:
    from .app import Services

log = logging.getLogger(__name__)
#: failed logins are what a guesser makes by the thousand: a few lines per period, then a count
_ratelog = RateLimitedLog(log)

IDLE_TIMEOUT = 24 * 3600.0          # seconds without a call before a session expires
MAX_PER_ORIGINATOR = 500            # sessions per (user, originator); the least recent go first
MAX_PER_USER = 1000                 # sessions per user, whatever the originators (as xapi)
TOUCH_INTERVAL = 1.0                # last_active is refreshed at most this often


@dataclass(slots=True, eq=False)
class SessionInfo:
    ref: str
    user: str
    role: str
    originator: str
    local_superuser: bool
    last_active: float                      # time.monotonic()
    touched: float = 0.0
    waiters: set = field(default_factory=set)   # futures of blocked event calls

    @property
    def key(self) -> tuple[str, str]:
        return (self.user, self.originator)


class SessionManager:
    def __init__(self, services: "Services", *, auth_failure_delay: float = 1.0,
                 idle_timeout: float = IDLE_TIMEOUT, max_per_originator: int = MAX_PER_ORIGINATOR,
                 max_per_user: int = MAX_PER_USER, login_limits: LoginLimits | None = None
                 ) -> None:
        self.services = services
        self.auth_failure_delay = auth_failure_delay
        self.idle_timeout = idle_timeout
        self.max_per_originator = max_per_originator
        self.max_per_user = max_per_user
        self.gate = LoginGate(login_limits)
        self._sessions: dict[str, SessionInfo] = {}
        # least recently used first: per (user, originator) and per user
        self._by_key: dict[tuple[str, str], collections.OrderedDict[str, None]] = {}
        self._by_user: dict[str, collections.OrderedDict[str, None]] = {}
        self._permissions: dict[str, list[str]] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def permissions(self, role: str) -> list[str]:
        """rbac_permissions of a role: every permission (lowercased message name) it has."""
        perms = self._permissions.get(role)
        if perms is None:
            methods = self.services.model.methods
            perms = sorted({rbac.permission_of(name) for name, m in methods.items()
                            if role in m.roles})
            self._permissions[role] = perms
        return perms

    # --- login ----------------------------------------------------------------------------
    async def login(self, caller: Caller, uname: str, pwd: str, originator: str = "") -> str:
        if caller.local_superuser:
            return await self._open("root", "pool-admin", originator, True)
        cred = self.services.store.get_credential(uname)
        message = "Authentication failure"
        try:
            ok = await self.gate.verify(caller.source, uname,
                                        cred.password_hash if cred is not None else None, pwd)
        except LoginThrottled as e:
            ok = False
            whose = "from this address" if e.why == "source" else "for this user"
            message = (f"Authentication failure: too many failed logins {whose}; "
                       f"try again in {max(1, round(e.retry_after))} s")
            _ratelog.warning("throttled login", "login for user %r from %s refused unchecked: "
                             "too many failed logins %s", uname, caller.peer, whose)
        else:
            if not ok:
                _ratelog.warning("failed login", "failed login for user %r from %s%s",
                                      uname, caller.peer, "" if cred else " (unknown user)")
        if not ok or cred is None:
            await asyncio.sleep(self.auth_failure_delay)    # slows guessing, blocks nobody
            raise XenAPIError("SESSION_AUTHENTICATION_FAILED", uname, message)
        return await self._open(cred.name, cred.role, originator, False)

    async def internal(self, originator: str) -> str:
        """A session for calls other hosts of the pool forward here (authenticated by the
        pool secret, authorised where the client called): root, pool-admin."""
        return await self._open("root", "pool-admin", originator, True)

    async def _open(self, user: str, role: str, originator: str, superuser: bool) -> str:
        services = self.services
        key = (user, originator)
        for group, cap, what in ((self._by_key.get(key), self.max_per_originator,
                                  f"{user}/{originator!r}"),
                                 (self._by_user.get(user), self.max_per_user, user)):
            while group and len(group) >= cap:
                _ratelog.log(logging.INFO, "session cap", "session cap (%d) reached for "
                                  "%s: closing the least recently used session", cap, what)
                await self.logout(next(iter(group)))
        ref = new_ref()
        now = _dt.datetime.now(_dt.timezone.utc)
        record = services.default_record("session")
        record.update({
            "uuid": new_uuid(), "this_host": services.host_ref,
            "this_user": services.user_ref(user), "last_active": now, "pool": False,
            "is_local_superuser": superuser, "subject": NULL_REF, "validation_time": now,
            "auth_user_sid": "", "auth_user_name": user,
            "rbac_permissions": self.permissions(role), "originator": originator,
            "parent": NULL_REF, "tasks": [],
        })
        record = {k: v for k, v in record.items() if k in services.model.classes["session"].fields}
        async with services.store.transaction() as txn:
            txn.create("session", ref, record)
        mono = time.monotonic()
        info = SessionInfo(ref, user, role, originator, superuser, mono, mono)
        self._sessions[ref] = info
        self._by_key.setdefault(key, collections.OrderedDict())[ref] = None
        self._by_user.setdefault(user, collections.OrderedDict())[ref] = None
        log.info("session opened for %s (role %s%s)", user, role,
                 ", local superuser" if superuser else "")
        return ref

    # --- per call ---------------------------------------------------------------------------
    def validate(self, ref: object) -> SessionInfo:
        """The live session `ref`, its activity refreshed; else SESSION_INVALID [ref]."""
        info = self._sessions.get(ref) if isinstance(ref, str) else None
        if info is None:
            raise XenAPIError("SESSION_INVALID", ref if isinstance(ref, str) else str(ref))
        now = time.monotonic()
        if now - info.last_active > self.idle_timeout:
            raise XenAPIError("SESSION_INVALID", ref)   # expire_idle removes it for good
        info.last_active = now
        for group in (self._by_key.get(info.key), self._by_user.get(info.user)):
            if group is not None:
                group.move_to_end(ref)
        if now - info.touched >= TOUCH_INTERVAL:
            info.touched = now
            try:
                self.services.store.replace_volatile(
                    "session", ref, {"last_active": _dt.datetime.now(_dt.timezone.utc)})
            except Exception:   # noqa: BLE001 - a lost timestamp must not fail the call
                log.debug("could not refresh last_active of %s", ref, exc_info=True)
        return info

    def get(self, ref: str) -> SessionInfo | None:
        return self._sessions.get(ref)

    def sessions(self) -> list[SessionInfo]:
        return list(self._sessions.values())

    # --- logout and expiry ------------------------------------------------------------------
    async def logout(self, ref: str) -> None:
        info = self._sessions.get(ref)
        if info is None:
            raise XenAPIError("SESSION_INVALID", ref)
        self._forget(info)
        if self.services.store.get("session", ref) is not None:
            async with self.services.store.transaction() as txn:
                txn.delete("session", ref)      # the commit wakes blocked event calls
        self.services.events.session_closed(ref)

    def _forget(self, info: SessionInfo) -> None:
        self._sessions.pop(info.ref, None)
        for index, key in ((self._by_key, info.key), (self._by_user, info.user)):
            group = index.get(key)
            if group is not None:
                group.pop(info.ref, None)
                if not group:
                    del index[key]

    async def expire_idle(self, now: float | None = None) -> int:
        """Close every session idle for longer than the timeout; returns how many."""
        now = time.monotonic() if now is None else now
        idle = [i.ref for i in self._sessions.values() if now - i.last_active > self.idle_timeout]
        for ref in idle:
            try:
                await self.logout(ref)
            except XenAPIError:
                pass
        if idle:
            log.info("%d idle session(s) expired", len(idle))
        return len(idle)
