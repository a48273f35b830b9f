"""Login throttling: bounded concurrent password hashing that serves well-behaved sources
first, per-source and per-user limits on failed logins, and the same work for unknown users
as for known ones.

A password check is one argon2 verification: a few hundred milliseconds of a core and 64 MiB.
A flood of wrong passwords would take every core and make real logins wait. Hence:
- at most `max_concurrent` verifications run at once, in three queues: first sources that
  logged in successfully in the last day, then sources with no failure in the window and no
  other attempt in progress, then the rest (so a guesser's queue does not delay others);
- a source with `failures_per_source` failures in `window` seconds is refused without any
  verification until its window ends;
- a user name with `failures_per_user` failures in the window is checked only for sources with
  no failure of their own: a guesser spread over many addresses gets one try per address,
  and the real user, from a clean address, is never locked out;
- an unknown user is verified against a dummy hash, so the answer takes as long as for a
  known user with a wrong password and does not tell which names exist.
"""
from __future__ import annotations

import asyncio
import collections
import os
import time
from dataclasses import dataclass

from .. import passwords

MAX_TRACKED = 10_000     # sources and user names remembered per window (a flood's are bounded)
TRUST_FOR = 24 * 3600.0  # a source that logged in successfully goes first for this long
TRUSTED, CLEAN, SUSPECT = 0, 1, 2        # the hashing queues, served in this order


@dataclass(frozen=True)
class LoginLimits:
    max_concurrent: int = max(1, (os.cpu_count() or 2) // 2)
    failures_per_source: int = 10
    failures_per_user: int = 30
    window: float = 60.0

    def __post_init__(self) -> None:
        if self.max_concurrent < 1 or self.failures_per_source < 1 or self.failures_per_user < 1:
            raise ValueError("login limits must be at least 1")
        if not self.window > 0:
            raise ValueError("the login failure window must be positive")


class LoginThrottled(Exception):
    """Refused unchecked: `why` ("source" or "user") failed too often; `retry_after` seconds
    until that window ends."""

    def __init__(self, why: str, retry_after: float) -> None:
        super().__init__(why, retry_after)
        self.why = why
        self.retry_after = retry_after


class _FailureCounts:
    """Failures per key in fixed windows, bounded in size."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._counts: dict[str, list[float]] = {}    # key -> [window start, failures]

    def count(self, key: str, now: float) -> tuple[int, float]:
        """(failures in the current window, seconds until it ends)."""
        entry = self._counts.get(key)
        if entry is None or now - entry[0] >= self.window:
            return 0, 0.0
        return int(entry[1]), entry[0] + self.window - now

    def add(self, key: str, now: float) -> None:
        entry = self._counts.get(key)
        if entry is None or now - entry[0] >= self.window:
            if len(self._counts) >= MAX_TRACKED:
                self._prune(now)
            self._counts[key] = [now, 1]
        else:
            entry[1] += 1

    def _prune(self, now: float) -> None:
        self._counts = {k: v for k, v in self._counts.items() if now - v[0] < self.window}
        if len(self._counts) >= MAX_TRACKED:     # all current: forget the older half
            keep = sorted(self._counts.items(), key=lambda kv: kv[1][0])[MAX_TRACKED // 2:]
            self._counts = dict(keep)


class _Slots:
    """A semaphore with one queue of waiters per priority (0 first)."""

    def __init__(self, n: int) -> None:
        self._free = n
        self._waiters: tuple[collections.deque[asyncio.Future[None]], ...] = (
            collections.deque(), collections.deque(), collections.deque())

    async def acquire(self, priority: int) -> None:
        if self._free > 0 and not any(self._waiters):
            self._free -= 1
            return
        fut = asyncio.get_running_loop().create_future()
        self._waiters[priority].append(fut)
        try:
            await fut                     # the releaser handed its slot over
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()            # handed over, but the waiter is gone: pass it on
            else:
                self._waiters[priority].remove(fut)
            raise

    def release(self) -> None:
        for queue in self._waiters:
            while queue:
                fut = queue.popleft()
                if not fut.done():
                    fut.set_result(None)
                    return
        self._free += 1


class LoginGate:
    def __init__(self, limits: LoginLimits | None = None) -> None:
        self.limits = limits or LoginLimits()
        self._slots = _Slots(self.limits.max_concurrent)
        self._by_source = _FailureCounts(self.limits.window)
        self._by_user = _FailureCounts(self.limits.window)
        self._in_progress: collections.Counter[str] = collections.Counter()   # per source
        self._trusted: dict[str, float] = {}          # source -> last successful login
        self._dummy: str | None = None
        self._dummy_lock = asyncio.Lock()
        self.dummy_checks = 0          # verifications of unknown users (against the dummy hash)
        self.refused = 0               # attempts refused without verification

    async def verify(self, source: str, user: str, password_hash: str | None,
                     password: str) -> bool:
        """Whether `password` matches `password_hash` (None: unknown user, always False after
        the same work). Raises LoginThrottled when the attempt is refused unchecked."""
        lim = self.limits
        now = time.monotonic()
        failures, left = self._by_source.count(source, now)
        if failures >= lim.failures_per_source:
            self.refused += 1
            raise LoginThrottled("source", left)
        user_failures, user_left = self._by_user.count(user, now)
        if failures and user_failures >= lim.failures_per_user:
            self.refused += 1
            raise LoginThrottled("user", user_left)
        if failures or self._in_progress[source]:
            priority = SUSPECT
        elif now - self._trusted.get(source, -TRUST_FOR) < TRUST_FOR:
            priority = TRUSTED
        else:
            priority = CLEAN
        unknown = password_hash is None
        self._in_progress[source] += 1
        try:
            if password_hash is None:
                self.dummy_checks += 1
                password_hash = await self._dummy_hash(priority)
            ok = await self._check(password_hash, password, priority) and not unknown
        finally:
            self._in_progress[source] -= 1
            if not self._in_progress[source]:
                del self._in_progress[source]
        now = time.monotonic()
        if ok:
            if len(self._trusted) >= MAX_TRACKED:
                self._trusted = {k: t for k, t in self._trusted.items() if now - t < TRUST_FOR}
                if len(self._trusted) >= MAX_TRACKED:
                    self._trusted.clear()
            self._trusted[source] = now
        else:
            self._by_source.add(source, now)
            self._by_user.add(user, now)
        return ok

    async def _check(self, password_hash: str, password: str, priority: int) -> bool:
        await self._slots.acquire(priority)
        try:
            return await passwords.verify_password_async(password_hash, password)
        finally:
            self._slots.release()

    async def _dummy_hash(self, priority: int) -> str:
        """A hash of a random password with the real parameters, made once (in a slot)."""
        async with self._dummy_lock:
            if self._dummy is None:
                await self._slots.acquire(priority)
                try:
                    self._dummy = await passwords.hash_password_async(
                        passwords.generate_password())
                finally:
                    self._slots.release()
        return self._dummy
