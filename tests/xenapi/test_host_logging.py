"""host.logging applied live to this process's logging, persisted, re-applied at start;
host.get_log reads the configured file back (in process, real dispatcher and store)."""
from __future__ import annotations

import asyncio
import logging
import os
import socket

import pytest
from harness import Harness, run

from xenapi_impl.errors import XenAPIError
from xenapi_impl.logconfig import DEFAULT_SYSLOG_ADDRESS, LOGCONFIG
from xenapi_impl.store import StoreUnavailable

PROBE = logging.getLogger("xenapi_impl.test_probe")


class Lines(logging.Handler):
    """Records the messages that reach the root logger's handlers."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(autouse=True)
def clean_logging():
    root = logging.getLogger()
    before = root.level
    root.setLevel(logging.WARNING)          # as if the server was started --log-level WARNING
    lines = Lines()
    root.addHandler(lines)
    yield lines
    LOGCONFIG.reset()
    LOGCONFIG.syslog_address = DEFAULT_SYSLOG_ADDRESS
    root.removeHandler(lines)
    root.setLevel(before)


async def _host(h: Harness) -> tuple[str, str]:
    s = await h.login()
    host = (await h.call("host.get_all", s))[0]
    return s, host


async def _fails(h: Harness, *call) -> list[str]:
    with pytest.raises(XenAPIError) as info:
        await h.call(*call)
    return info.value.description


def test_root_level_takes_effect_and_reset_restores_it(clean_logging):
    async def body(h: Harness) -> None:
        s, host = await _host(h)
        PROBE.debug("before")
        await h.call("host.set_logging", s, host, {"level": "DEBUG"})
        assert logging.getLogger().level == logging.DEBUG
        PROBE.debug("while debug")
        assert await h.call("host.get_logging", s, host) == {"level": "DEBUG"}
        await h.call("host.set_logging", s, host, {})          # absent key: the default
        assert logging.getLogger().level == logging.WARNING
        PROBE.debug("after")
        PROBE.warning("still warnings")
    run(body)
    msgs = clean_logging.messages
    assert "while debug" in msgs and "still warnings" in msgs
    assert "before" not in msgs and "after" not in msgs


def test_per_logger_level_added_and_removed(clean_logging):
    async def body(h: Harness) -> None:
        s, host = await _host(h)
        http = logging.getLogger("xenapi_impl.server.http")
        await h.call("host.add_to_logging", s, host, "level:xenapi_impl.test_probe", "info")
        await h.call("host.add_to_logging", s, host, "level:xenapi_impl.server.http", "error")
        assert PROBE.level == logging.INFO and http.level == logging.ERROR
        PROBE.info("probe info")
        http.warning("http warning")
        await h.call("host.remove_from_logging", s, host, "level:xenapi_impl.test_probe")
        await h.call("host.remove_from_logging", s, host, "absent-key")     # no-op, as xapi
        assert PROBE.level == logging.NOTSET and http.level == logging.ERROR
        PROBE.info("probe info after")
        assert await h.call("host.get_logging", s, host) == {
            "level:xenapi_impl.server.http": "error"}
    run(body)
    msgs = clean_logging.messages
    assert "probe info" in msgs
    assert "http warning" not in msgs and "probe info after" not in msgs


def test_file_destination_and_get_log(tmp_path):
    path = str(tmp_path / "server.log")

    async def body(h: Harness) -> None:
        s, host = await _host(h)
        assert await h.call("host.get_log", s, host) == ""          # no file: documented ""
        await h.call("host.set_logging", s, host, {"file": path, "level": "info"})
        PROBE.info("to the file")
        with open(path) as f:
            text = f.read()
        assert "INFO xenapi_impl.test_probe: to the file" in text
        assert "host logging applied: file=" in text                # the server says so
        log = await h.call("host.get_log", s, host)
        assert log.endswith("INFO xenapi_impl.test_probe: to the file\n")
        await h.call("host.add_to_logging", s, host, "syslog", "false")
        await h.call("host.set_logging", s, host, {"file": ""})     # "" removes it
        PROBE.warning("not in the file")
        assert await h.call("host.get_log", s, host) == ""
        with open(path) as f:
            assert "not in the file" not in f.read()
    run(body)


def test_get_log_is_the_tail_from_a_whole_line(tmp_path):
    path = str(tmp_path / "big.log")

    async def body(h: Harness) -> None:
        s, host = await _host(h)
        await h.call("host.set_logging", s, host, {"file": path, "level": "info"})
        for i in range(3000):                       # ~150 KiB
            PROBE.info("line %05d %s", i, "x" * 20)
        log = await h.call("host.get_log", s, host)
        size = os.path.getsize(path)
        assert size > 128 * 1024
        assert 60 * 1024 < len(log.encode()) <= 64 * 1024
        first, last = log.splitlines()[0], log.splitlines()[-1]
        assert first.split(" ")[2] == "INFO"                        # starts at a line start
        assert last.endswith("line 02999 " + "x" * 20)
    run(body)


def test_bad_input_exact_errors_and_nothing_changes(tmp_path, clean_logging):
    good = str(tmp_path / "ok.log")

    async def body(h: Harness) -> None:
        s, host = await _host(h)
        await h.call("host.set_logging", s, host, {"level": "error"})
        root_handlers = list(logging.getLogger().handlers)
        rec = await h.call("host.get_record", s, host)
        cases = [
            ({"levle": "debug"}, ["INVALID_VALUE", "levle", "debug"]),
            ({"level": "verbose"}, ["INVALID_VALUE", "level", "verbose"]),
            ({"level:": "info"}, ["INVALID_VALUE", "level:", "info"]),
            ({"level:a..b": "info"}, ["INVALID_VALUE", "level:a..b", "info"]),
            ({"syslog": "yes"}, ["INVALID_VALUE", "syslog", "yes"]),
            ({"file": "relative.log"}, ["INVALID_VALUE", "file", "relative.log"]),
            ({"file": str(tmp_path / "no" / "x.log")},
             ["INVALID_VALUE", "file", str(tmp_path / "no" / "x.log")]),
            ({"file": str(tmp_path)}, ["INVALID_VALUE", "file", str(tmp_path)]),
            # a valid file with a bad level: the whole map is refused, the file not created
            ({"file": good, "level": "loud"}, ["INVALID_VALUE", "level", "loud"]),
        ]
        for mapping, error in cases:
            assert await _fails(h, "host.set_logging", s, host, mapping) == error
        assert await _fails(h, "host.add_to_logging", s, host, "level:xenlight", "x") == [
            "INVALID_VALUE", "level:xenlight", "x"]
        assert await _fails(h, "host.add_to_logging", s, host, "level", "debug") == [
            "MAP_DUPLICATE_KEY", "host", "logging", rec["uuid"], "level"]
        LOGCONFIG.syslog_address = str(tmp_path / "no-syslog")
        assert await _fails(h, "host.add_to_logging", s, host, "syslog", "true") == [
            "INVALID_VALUE", "syslog", "true"]
        assert await h.call("host.get_logging", s, host) == {"level": "error"}
        assert logging.getLogger().level == logging.ERROR
        assert logging.getLogger().handlers == root_handlers
        assert not os.path.exists(good)
    run(body)


def test_syslog_destination(tmp_path):
    address = str(tmp_path / "syslog.sock")
    sink = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sink.bind(address)
    sink.settimeout(5)
    LOGCONFIG.syslog_address = address

    async def body(h: Harness) -> None:
        s, host = await _host(h)
        await h.call("host.set_logging", s, host, {"syslog": "TRUE"})
        PROBE.warning("to syslog")
        got = b""
        while b"to syslog" not in got:
            got = sink.recv(4096)
        assert b"WARNING xenapi_impl.test_probe: to syslog" in got
        assert got.startswith(b"<12>xenapi-server[")            # user facility, warning
        await h.call("host.remove_from_logging", s, host, "syslog")
        sink.setblocking(False)
        PROBE.warning("not to syslog")
        with pytest.raises(BlockingIOError):
            while True:
                assert b"not to syslog" not in sink.recv(4096)
    try:
        run(body)
    finally:
        sink.close()


def test_map_survives_restart_and_is_reapplied(tmp_path, clean_logging):
    db = str(tmp_path / "x.db")
    path = str(tmp_path / "persist.log")

    async def first() -> None:
        h = await Harness(db).start()
        try:
            s, host = await _host(h)
            await h.call("host.set_logging", s, host, {
                "level": "debug", "file": path, "level:xenapi_impl.server.http": "critical"})
        finally:
            await h.close()

    async def second() -> None:
        h = await Harness(db).start()
        try:
            s, host = await _host(h)
            assert await h.call("host.get_logging", s, host) == {
                "level": "debug", "file": path, "level:xenapi_impl.server.http": "critical"}
            assert logging.getLogger().level == logging.DEBUG
            assert logging.getLogger("xenapi_impl.server.http").level == logging.CRITICAL
            PROBE.debug("after restart")
            assert "DEBUG xenapi_impl.test_probe: after restart" in await h.call(
                "host.get_log", s, host)
        finally:
            await h.close()

    asyncio.run(first())
    LOGCONFIG.reset()                       # a new process starts with plain logging
    assert logging.getLogger().level == logging.WARNING
    os.remove(path)                         # and logrotate moved the file away meanwhile
    asyncio.run(second())
    assert "after restart" in clean_logging.messages


def test_a_change_that_did_not_commit_is_not_applied(tmp_path, monkeypatch):
    path = str(tmp_path / "never.log")

    async def body(h: Harness) -> None:
        s, host = await _host(h)

        async def disk_fails(ops, settle):  # the store's durable-write step fails
            raise StoreUnavailable("disk write failed")
        monkeypatch.setattr(h.store, "_persist", disk_fails)
        assert (await _fails(h, "host.set_logging", s, host, {"level": "debug", "file": path})
                )[0] == "INTERNAL_ERROR"
        monkeypatch.undo()
        assert await h.call("host.get_logging", s, host) == {}
        assert logging.getLogger().level == logging.WARNING
        assert LOGCONFIG.file == "" and not os.path.exists(path)
    run(body)


def test_xenlight_level_reaches_libxl_messages_live(tmp_path, clean_logging):
    """libxl drops messages below the `xenlight` logger's level in C; lowering that level
    through host.logging makes libxl's debug messages appear at once, raising it again
    stops them (the simulator logs each domain it builds at debug level, as libxl does)."""
    from test_vm_lifecycle import new_vm
    from test_vm_lifecycle import run as run_vm

    def built() -> list[str]:
        return [m for m in clean_logging.messages if "domain built" in m]

    async def body(h: Harness, s: str) -> None:
        host = (await h.call("host.get_all", s))[0]
        vm = await new_vm(h, s)
        await h.call("VM.start", s, vm, False, False)
        assert built() == []
        await h.call("host.add_to_logging", s, host, "level:xenlight", "debug")
        await h.call("VM.hard_reboot", s, vm)
        [line] = built()
        assert "libxl_domain_create_new: domain built" in line
        await h.call("host.remove_from_logging", s, host, "level:xenlight")
        await h.call("VM.hard_reboot", s, vm)
        assert len(built()) == 1
    run_vm(tmp_path, body)
