"""Keep-alive HTTPS connections from this host to the other hosts of its pool (the calls of
host_agent.RemoteAgent: forwarded calls, session checks, task progress and cancellation).

A connection per call cost a TCP and a TLS handshake each, and a burst of forwarded calls
(1,000 `Async.VM.start` sent to the master for VMs placed on a slave) opened as many
connections at once as calls were in flight: past the slave's per-address cap (128,
server/limits.py) the rest were refused and came back as HOST_OFFLINE. Here the connections
are kept and reused, at most LINKS_PER_HOST open to one host at a time; a call beyond that
waits for one to be free (within its own timeout) instead of being refused.

Idle connections are closed by this side after IDLE_SECONDS, well before the other host's
idle timeout (120 s), so that a call is not sent on a connection that host is closing.
"""
from __future__ import annotations

import asyncio
from typing import Any

#: connections open to one host at most: under the per-address cap of the host called (128),
#: with room left for the other hosts and clients that share an address with this one
LINKS_PER_HOST = 64
#: seconds an idle connection is kept for the next call
IDLE_SECONDS = 15.0


class PoolLinks:
    """One HTTP client session for this host's calls to the others, made in the event loop
    that first needs it (a new loop gets a new one), and each pinned certificate's
    fingerprint object made once (aiohttp reuses a connection only for the same object)."""

    def __init__(self) -> None:
        self._http: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pins: dict[str, Any] = {}

    def http(self) -> Any:
        """The aiohttp.ClientSession for the running loop."""
        import aiohttp
        loop = asyncio.get_running_loop()
        if self._http is None or self._http.closed or self._loop is not loop:
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=LINKS_PER_HOST,
                                             keepalive_timeout=IDLE_SECONDS)
            self._http = aiohttp.ClientSession(connector=connector)
            self._loop = loop
        return self._http

    def pin(self, sha256_hex: str) -> Any:
        """The aiohttp.Fingerprint a connection to a host with this certificate must match."""
        fp = self._pins.get(sha256_hex)
        if fp is None:
            import aiohttp
            fp = self._pins[sha256_hex] = aiohttp.Fingerprint(bytes.fromhex(sha256_hex))
        return fp

    async def close(self) -> None:
        """Close the connections (at shutdown, once no call runs)."""
        http, self._http = self._http, None
        if http is not None and not http.closed and self._loop is asyncio.get_running_loop():
            await http.close()
