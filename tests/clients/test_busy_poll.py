"""`serve --busy-poll MICROSECONDS` (server/busypoll.py): a real server process whose asyncio
loop polls before it sleeps serves the SDK as any other (logins, reads, a durable write, an
event.from woken by it) and stops on SIGTERM; bad values and uvloop are refused."""
from __future__ import annotations

import threading

import pytest
import XenAPI

from serverproc import ServerProcess


def test_a_busy_polling_server_serves_and_stops(tmp_path):
    srv = ServerProcess(str(tmp_path), extra=["--busy-poll", "200"]).start()
    try:
        assert "polling up to 200 us before it sleeps" in srv.log()
        s = XenAPI.Session(f"http://127.0.0.1:{srv.ports['http']}")
        s.xenapi.login_with_password("root", srv.password, "1.0", "busy-poll-test")
        vm = s.xenapi.VM.get_all()[0]
        w = XenAPI.Session(f"http://127.0.0.1:{srv.ports['http']}")     # its own connection
        w.xenapi.login_with_password("root", srv.password, "1.0", "busy-poll-watcher")
        token = w.xenapi.event_from(["vm"], "", 0.0)["token"]
        got: list = []
        watcher = threading.Thread(
            target=lambda: got.append(w.xenapi.event_from(["vm"], token, 30.0)))
        watcher.start()
        for i in range(50):                      # back to back: the loop polls between them
            s.xenapi.VM.set_name_label(vm, f"busy-{i}")
        watcher.join(30)
        assert s.xenapi.VM.get_name_label(vm) == "busy-49"
        assert got and any(e["ref"] == vm for e in got[0]["events"])
        s.xenapi.session.logout()
        w.xenapi.session.logout()
    finally:
        assert srv.stop() == 0
    assert "Traceback" not in srv.log()


@pytest.mark.parametrize("extra, said", [
    (["--busy-poll", "-1"], "from 0 to 100000"),
    (["--busy-poll", "100001"], "from 0 to 100000"),
    (["--busy-poll", "soon"], "invalid"),
    (["--busy-poll", "200", "--event-loop", "uvloop"], "--busy-poll needs --event-loop asyncio"),
])
def test_bad_busy_poll_settings_are_refused(tmp_path, extra, said):
    with pytest.raises(RuntimeError, match="server exited with 2") as failed:
        ServerProcess(str(tmp_path), extra=extra).start()
    assert said in str(failed.value)
