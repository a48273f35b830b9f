"""A repeating failure, logged as one line when it starts, at most once per `every` seconds
while it lasts, and once when it ends: a loop that fails each round (the monitor on a full
disk) must not fill the log with a traceback per round."""
from __future__ import annotations

import logging
import time

from ..errors import XenAPIError
from ..store import StoreError


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
