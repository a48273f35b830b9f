"""The host-configuration seam in-process: SSH access whose timeout passed is disabled by the
periodic maintenance job, and the Recorder keeps what reached dom0 across a restart."""
from __future__ import annotations

import asyncio
import datetime as dt

from harness import run
from xenapi_impl.api.host_config import expire_ssh
from xenapi_impl.hostconfig import Recorder


def test_ssh_expires() -> None:
    async def body(h) -> None:
        s = await h.login()
        host = h.services.host_ref
        await h.call("host.set_ssh_enabled_timeout", s, host, 1)
        await h.call("host.enable_ssh", s, host)
        await expire_ssh(h.services)                    # not yet
        assert await h.call("host.get_ssh_enabled", s, host) is True
        await asyncio.sleep(1.2)
        await expire_ssh(h.services)
        assert await h.call("host.get_ssh_enabled", s, host) is False
        assert await h.call("host.get_ssh_expiry", s, host) == dt.datetime(
            1970, 1, 1, tzinfo=dt.timezone.utc)
        assert h.services.host_config.setting("ssh") == {"enabled": False, "timeout": 1}
    run(body)


def test_recorder_journal_survives(tmp_path) -> None:
    path = str(tmp_path / "x.hostconfig.json")
    r = Recorder(path)
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)
    r.apply("timezone", "Europe/Oslo")
    r.apply("servertime", later)
    again = Recorder(path)
    assert again.setting("timezone") == "Europe/Oslo"
    assert abs((again.now() - later).total_seconds()) < 2
    assert again.setting("hostname") is None
