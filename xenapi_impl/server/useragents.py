"""The clients' User-Agents seen by this server (host.get_tracked_user_agents), in memory:
the name and version of each request's first product token (`XenAPI/2.15 Python/3.11` ->
`XenAPI`: `2.15`); a name seen again keeps its last version and becomes the newest; beyond
`limit` names the oldest is dropped. Cleared when the server restarts, as xapi's list."""
from __future__ import annotations

from collections import OrderedDict

MAX_TRACKED = 128
MAX_NAME = 64


class UserAgents:
    def __init__(self, limit: int = MAX_TRACKED) -> None:
        self.limit = limit
        self._seen: OrderedDict[str, str] = OrderedDict()
        self._last: str | None = None      # the header of the newest name, as it came

    def seen(self, header: str | None) -> None:
        if not header or header == self._last:
            return          # (the same header again: its name is already the newest)
        token = header.split(None, 1)[0]
        name, _, version = token.partition("/")
        name, version = name[:MAX_NAME], version[:MAX_NAME]
        if not name:
            return
        self._seen.pop(name, None)
        self._seen[name] = version
        self._last = header
        while len(self._seen) > self.limit:
            self._seen.popitem(last=False)

    def tracked(self) -> dict[str, str]:
        return dict(self._seen)
