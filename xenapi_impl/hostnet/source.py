"""Where PIF discovery looks: this host, or a network namespace (tests, isolated setups).

The server reads `services.hostnet` (a NetworkSource) when set, else this host."""
from __future__ import annotations

import asyncio
import json
import sys
from typing import Any, Protocol

from .command import run
from .probe import discover
from .model import HostNetwork


class DiscoveryError(RuntimeError):
    """The network could not be read."""


class NetworkSource(Protocol):
    async def discover(self) -> HostNetwork: ...


class LocalHost:
    """The network namespace this process runs in."""

    async def discover(self) -> HostNetwork:
        return await asyncio.to_thread(discover)


class Netns:
    """A named network namespace (`ip netns add NAME`): discovery runs in a child process
    under `ip netns exec`, which also gives it the namespace's own /sys/class/net."""

    def __init__(self, name: str, python: str = sys.executable, timeout: float = 30.0) -> None:
        self.name = name
        self.python = python
        self.timeout = timeout

    async def discover(self) -> HostNetwork:
        done = await run(["ip", "netns", "exec", self.name, self.python, "-m",
                          "xenapi_impl.hostnet"], self.timeout)
        if done is None:
            raise DiscoveryError(f"discovery in netns {self.name} timed out")
        status, out, err = done
        if status != 0:
            raise DiscoveryError(f"discovery in netns {self.name} failed: "
                                 f"{err.decode(errors='replace').strip()}")
        return HostNetwork.from_json(json.loads(out))


def source_for(services: Any) -> NetworkSource:
    return getattr(services, "hostnet", None) or LocalHost()
