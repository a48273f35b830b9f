"""Rate-limited, one-line logging of what hostile or broken clients do.

A fuzzer or a flood must not fill the log (nor spend the CPU formatting tracebacks): each kind
of event logs at most `burst` lines per `period` seconds, then one line saying how many more
were left out.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

#: what aiohttp raises for a request it cannot parse or decode, or a client that left: the
#: client's doing
CLIENT_ERRORS = (HttpProcessingError, RequestPayloadError, ConnectionError)


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


class ClientErrorLogger(logging.LoggerAdapter):
    """The logger handed to aiohttp's connection handler: a request aiohttp cannot parse is
    the client's fault and gets a rate-limited line without a traceback; anything else keeps
    its traceback (rate-limited too)."""

    def __init__(self, logger: logging.Logger, limiter: RateLimitedLog) -> None:
        super().__init__(logger, {})
        self.limiter = limiter

    def exception(self, msg: object, *args: Any, exc_info: Any = True, **kw: Any) -> None:
        exc = exc_info if isinstance(exc_info, BaseException) else None
        if isinstance(exc, CLIENT_ERRORS):
            text = (str(msg) % args) if args else str(msg)
            self.limiter.warning("malformed request", "%s: %s", text, _one_line(exc))
        else:   # a fault of ours: keep the traceback
            self.logger.error(msg, *args, exc_info=exc_info, **kw)


def _one_line(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())[:200]


def loop_exception_handler(limiter: RateLimitedLog):  # noqa: ANN201 - asyncio's handler type
    """An asyncio exception handler that turns "out of descriptors" accept failures (asyncio
    retries them every second, logging a traceback each time) into rate-limited lines."""

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message", ""))
        if message.startswith("socket.accept() out of system resource"):
            exc = context.get("exception")
            limiter.warning("accept failure", "cannot accept connections: %s (asyncio "
                            "retries in 1s)", exc)
            return
        loop.default_exception_handler(context)

    return handle
