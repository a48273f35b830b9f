"""host.logging and host.get_log through the official XenAPI Python SDK against the real server
process: the file destination and the debug level apply at once and again after a restart."""
from __future__ import annotations

import os

import pytest
import XenAPI

from serverproc import ServerProcess


def _login(srv: ServerProcess) -> XenAPI.Session:
    s = XenAPI.Session(srv.url)
    s.xenapi.login_with_password("root", srv.password, "1.0", "pytest-logging")
    return s


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def test_file_and_debug_level_live_and_after_restart(tmp_path):
    work, logfile = str(tmp_path), str(tmp_path / "xapi-own.log")
    srv = ServerProcess(work).start()
    try:
        s = _login(srv)
        x = s.xenapi
        host = x.host.get_all()[0]
        assert x.host.get_log(host) == ""                   # no file configured: ""
        x.host.set_logging(host, {"file": logfile, "level": "debug"})
        assert x.host.get_logging(host) == {"file": logfile, "level": "debug"}
        _login(srv).xenapi.session.logout()                 # a call that logs (INFO)
        log = x.host.get_log(host)                          # a call that logs at DEBUG
        text = _read(logfile)
        assert "INFO xenapi_impl.server.sessions: session opened for root" in text
        assert "session opened for root" in log and text.startswith(log)
        assert f"DEBUG xenapi_impl.api.host_logging: host.get_log: {len(log)} characters" \
            in text                                         # debug lines now reach the file
        assert "DEBUG" in srv.log()                         # and stderr (root level)

        with pytest.raises(XenAPI.Failure) as info:
            x.host.add_to_logging(host, "level", "info")
        assert info.value.details == ["MAP_DUPLICATE_KEY", "host", "logging",
                                      x.host.get_uuid(host), "level"]
        with pytest.raises(XenAPI.Failure) as info:
            x.host.set_logging(host, {"file": "not/absolute"})
        assert info.value.details == ["INVALID_VALUE", "file", "not/absolute"]
        assert x.host.get_logging(host) == {"file": logfile, "level": "debug"}
        s.xenapi.session.logout()
    finally:
        assert srv.stop() == 0

    os.rename(logfile, logfile + ".1")                       # rotated while stopped
    srv = ServerProcess(work).start()                        # --log-level INFO again
    try:
        x = _login(srv).xenapi
        host = x.host.get_all()[0]
        log = x.host.get_log(host)
        text = _read(logfile)                                # re-applied from the store
        assert "host logging applied: file=" + logfile + ", level=debug" in text
        assert f"DEBUG xenapi_impl.api.host_logging: host.get_log: {len(log)} characters" \
            in text
        assert "session opened for root" in log
        x.host.remove_from_logging(host, "file")
        x.host.remove_from_logging(host, "level")
        size = os.path.getsize(logfile)
        _login(srv).xenapi.session.logout()
        assert os.path.getsize(logfile) == size              # no longer written
        assert x.host.get_log(host) == ""
        assert "session opened for root" in srv.log().split("host logging applied")[-1]
    finally:
        assert srv.stop() == 0
