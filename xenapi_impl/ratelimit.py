"""Logging that a failing loop or a hostile client cannot flood.

- `FailureLog`: a repeating failure (the monitor on a full disk) is one line when it starts, at
  most one per `every` seconds while it lasts, and one when it ends: never a traceback a round.
- `RateLimitedLog`: each kind of event (a malformed request, a failed login) logs at most
  `burst` lines per `period` seconds, then one line saying how many more were left out; a
  fuzzer or a flood neither fills the log nor spends the CPU formatting tracebacks.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from .errors import XenAPIError
from .store import StoreError


class RateLimitedLog:
    def __init__(self, logger: logging.Logger, *, period: float = 10.0, burst: int = 5) -> None:
        self.logger = logger
        self.period = period
        self.burst = burst
        self._windows: dict[str, list[float | int]] = {}   # kind -> [start, logged, dropped]

    def log(self, level: int, kind: str, msg: str, *args: Any) -> None:
        now = time.monotonic()
        w = self._windows.get(kind)
        if w is None or now - w[0] >= self.period:
            if w is not None and w[2]:
                self.logger.log(level, "%d more %s event(s) not logged in the last %.0fs",
                                w[2], kind, self.period)
            if len(self._windows) > 1000:      # kinds are fixed strings; this is a safety net
                self._windows.clear()
            w = self._windows[kind] = [now, 0, 0]
        if w[1] < self.burst:
            w[1] += 1
            self.logger.log(level, msg, *args)
        else:
            w[2] += 1

    def warning(self, kind: str, msg: str, *args: Any) -> None:
        self.log(logging.WARNING, kind, msg, *args)


class FailureLog:
    def __init__(self, logger: logging.Logger, what: str, every: float = 300.0) -> None:
        self.log = logger
        self.what = what
        self.every = every
        self.failures = 0           # since the last success
        self._logged_at = 0.0

    def failed(self, exc: BaseException) -> None:
        """Log `exc` unless it was logged less than `every` seconds ago. Expected failures
        (the store's, XenAPI errors) are one line; anything else carries its traceback the
        first time, since it is a bug."""
        self.failures += 1
        now = time.monotonic()
        if self.failures > 1 and now - self._logged_at < self.every:
            return
        self._logged_at = now
        expected = isinstance(exc, (StoreError, XenAPIError))
        text = str(exc) if expected else f"{type(exc).__name__}: {exc}"
        if self.failures == 1:
            self.log.error("%s failed: %s (repeats are logged at most every %g s)", self.what,
                           text, self.every, exc_info=None if expected else exc)
        else:
            self.log.error("%s still failing (%d times in a row): %s", self.what,
                           self.failures, text)

    def passed(self) -> None:
        if self.failures:
            self.log.warning("%s succeeds again after %d failure(s)", self.what, self.failures)
            self.failures = 0
