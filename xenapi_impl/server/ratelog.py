"""The transport's side of rate-limited logging (aiohttp's): a request aiohttp cannot parse
is one rate-limited line, not a traceback; so is asyncio's "out of descriptors" accept
failure. The limiter itself is `xenapi_impl.ratelimit.RateLimitedLog`."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from ..ratelimit import RateLimitedLog

#: what aiohttp raises for a request it cannot parse or decode, or a client that left: the
#: client's doing
CLIENT_ERRORS = (HttpProcessingError, RequestPayloadError, ConnectionError)


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
