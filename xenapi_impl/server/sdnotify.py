"""systemd's readiness and watchdog protocol (sd_notify(3)), without a dependency.

Under a unit with Type=notify systemd passes NOTIFY_SOCKET, a Unix datagram socket (a path, or
an abstract name written with a leading '@'); each message is one datagram of newline-separated
KEY=VALUE lines: READY=1 once serving, WATCHDOG=1 at least every WatchdogSec (systemd passes
WATCHDOG_USEC, and WATCHDOG_PID when the watchdog is meant for one process), STOPPING=1 when
shutting down. Without NOTIFY_SOCKET every call does nothing.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


def notify(message: str, env: Mapping[str, str] | None = None) -> bool:
    """Send `message` to the service manager; false when there is none or it cannot be told."""
    path = (os.environ if env is None else env).get("NOTIFY_SOCKET", "")
    if not path:
        return False
    address = "\0" + path[1:] if path.startswith("@") else path
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
    except OSError as exc:
        log.warning("cannot notify the service manager at %s: %s", path, exc)
        return False
    return True


def watchdog_interval(env: Mapping[str, str] | None = None) -> float | None:
    """Seconds between WATCHDOG=1 pings (half of WatchdogSec), or None if none is wanted."""
    env = os.environ if env is None else env
    usec, pid = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
    if not env.get("NOTIFY_SOCKET") or not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 2 / 1e6


async def watchdog(interval: float) -> None:
    """Ping from the event loop itself: a loop that hangs stops pinging and is restarted."""
    while True:
        notify("WATCHDOG=1")
        await asyncio.sleep(interval)
