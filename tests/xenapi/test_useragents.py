"""host.get_tracked_user_agents' memory (server/useragents.py): the newest name last, its
last version kept, the oldest dropped beyond the limit."""
from __future__ import annotations

from xenapi_impl.server.useragents import UserAgents


def test_a_header_seen_again_keeps_its_name_newest_after_others():
    agents = UserAgents(limit=2)
    for header in ("XenAPI/2.15 Python/3.11", "XenAPI/2.15 Python/3.11", "xo/5.1",
                   "XenAPI/2.15 Python/3.11"):
        agents.seen(header)
    assert list(agents.tracked().items()) == [("xo", "5.1"), ("XenAPI", "2.15")]
    agents.seen("curl/8.5")             # the oldest (xo) goes
    assert list(agents.tracked()) == ["XenAPI", "curl"]
    agents.seen("XenAPI/2.16")          # same name, new version: newest again
    agents.seen("XenAPI/2.15 Python/3.11")
    assert list(agents.tracked().items()) == [("curl", "8.5"), ("XenAPI", "2.15")]


def test_empty_and_nameless_headers_are_not_tracked():
    agents = UserAgents()
    for header in (None, "", "/1.0", "/1.0"):
        agents.seen(header)
    assert agents.tracked() == {}
