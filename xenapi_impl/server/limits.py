"""What the transport tolerates from clients: timeouts, connection caps, the body size, and
the file descriptors the process may open.

Every limit is a `serve` flag (cli.py); the defaults suit a management API used by a few
toolstack clients (SDK scripts, Xen Orchestra), not a public web site.
"""
from __future__ import annotations

import logging
import resource
from dataclasses import dataclass

log = logging.getLogger(__name__)

#: descriptors kept out of the connection cap: database, log files, listening sockets (about
#: 16), a batch of connections accepted before the guard sees them (32), refusals being
#: written (16), files opened by calls
FD_RESERVE = 100


@dataclass(frozen=True)
class TransportLimits:
    #: a connection with no request in progress is closed after this many seconds
    idle_timeout: float = 120.0
    #: a request's line and headers must arrive within this many seconds of its first byte
    header_timeout: float = 10.0
    #: a request's body must arrive within this many seconds once its headers are in
    body_timeout: float = 60.0
    #: a reply that makes no progress (the client does not read) for this long is dropped
    send_timeout: float = 60.0
    #: open connections in all; at the cap the longest-idle one makes room, else a 503
    max_connections: int = 2048
    #: open connections from one client address (TCP only); beyond it a 429
    max_connections_per_address: int = 128
    #: request body size, after decompression
    max_body: int = 16 * 1024 * 1024

    def __post_init__(self) -> None:
        for name in ("idle_timeout", "header_timeout", "body_timeout", "send_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        for name in ("max_connections", "max_connections_per_address", "max_body"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")


def raise_fd_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit where allowed; returns the soft limit
    now in force. A server that runs out of descriptors can accept no one, not even to
    refuse them."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            log.info("file descriptor limit raised from %d to %d", soft, target)
            soft = target
        except (ValueError, OSError) as e:
            log.warning("cannot raise the file descriptor limit above %d: %s", soft, e)
    return soft


def connection_cap(wanted: int, fd_limit: int) -> int:
    """The connection cap that fits under `fd_limit`, leaving room for everything else."""
    room = fd_limit - FD_RESERVE if fd_limit >= 2 * FD_RESERVE else fd_limit // 2
    cap = max(1, min(wanted, room))
    if cap < wanted:
        log.warning("at most %d connections (file descriptor limit %d), not %d", cap,
                    fd_limit, wanted)
    return cap
