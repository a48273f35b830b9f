"""Login throttling: bounded concurrent password hashing, per-source and per-user limits on
failed logins, and the same work for unknown users as for known ones.

A wrong password costs the server one argon2 verification (tens of milliseconds of a core),
so a flood of them would take every core and make real logins wait. Hence:
- at most `max_concurrent` verifications run at once (the rest wait their turn, off-CPU);
- a source address with `failures_per_source` failures in `window` seconds is refused without
  any verification until its window ends;
- a user name with `failures_per_user` failures in the window (from anywhere) is verified one
  attempt at a time, so a distributed guesser gets one core's worth at most while the real
  user can still log in;
- an unknown user is verified against a dummy hash, so the answer takes as long as for a
  known user with a wrong password and does not tell which names exist.
"""
from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass

from . import passwords

MAX_TRACKED = 10_000     # sources and user names remembered per window (a flood's are bounded)


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
    """The source has failed too often; `retry_after` seconds until it may try again."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(retry_after)
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


class LoginGate:
    def __init__(self, limits: LoginLimits | None = None) -> None:
        self.limits = limits or LoginLimits()
        self._hashing = asyncio.Semaphore(self.limits.max_concurrent)
        self._by_source = _FailureCounts(self.limits.window)
        self._by_user = _FailureCounts(self.limits.window)
        self._user_locks: dict[str, asyncio.Lock] = {}
        self._dummy: str | None = None
        self.dummy_checks = 0          # verifications of unknown users (against the dummy hash)
        self.refused = 0               # attempts refused without verification

    async def verify(self, source: str, user: str, password_hash: str | None,
                     password: str) -> bool:
        """Whether `password` matches `password_hash` (None: unknown user, always False after
        the same work). Raises LoginThrottled if `source` has failed too often."""
        lim = self.limits
        now = time.monotonic()
        failures, left = self._by_source.count(source, now)
        if failures >= lim.failures_per_source:
            self.refused += 1
            raise LoginThrottled(left)
        unknown = password_hash is None
        if password_hash is None:
            self.dummy_checks += 1
            password_hash = await self._dummy_hash()
        if self._by_user.count(user, now)[0] >= lim.failures_per_user:
            lock = self._user_locks.setdefault(user, asyncio.Lock())
            async with lock:
                ok = await self._check(password_hash, password)
            if len(self._user_locks) > MAX_TRACKED:
                self._user_locks = {k: v for k, v in self._user_locks.items() if v.locked()}
        else:
            ok = await self._check(password_hash, password)
        ok = ok and not unknown
        if not ok:
            now = time.monotonic()
            self._by_source.add(source, now)
            self._by_user.add(user, now)
        return ok

    async def _check(self, password_hash: str, password: str) -> bool:
        async with self._hashing:
            return await passwords.verify_password_async(password_hash, password)

    async def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = await passwords.hash_password_async(passwords.generate_password())
        return self._dummy
