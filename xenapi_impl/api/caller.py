"""Who is calling: what the transport knows about the peer, handed to dispatch."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Caller:
    transport: str            # "http", "https" or "unix"
    peer: str                 # "127.0.0.1:53124", or "uid=0 pid=123" on the Unix socket
    local_superuser: bool = False  # True only for uid 0 on the Unix socket

    @property
    def source(self) -> str:
        """The peer's address without its port ("unix" on the Unix socket): what login
        throttling counts failures against."""
        if self.transport == "unix":
            return "unix"
        host, sep, _port = self.peer.rpartition(":")
        return host.strip("[]") if sep else self.peer
