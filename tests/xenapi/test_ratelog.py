"""FailureLog: a failure repeated every round is one line, then one line per `every` seconds,
then one line when it ends; an unexpected exception carries its traceback once."""
from __future__ import annotations

import logging

from xenapi_impl import ratelimit
from xenapi_impl.ratelimit import FailureLog
from xenapi_impl.store import StoreUnavailable


def test_a_repeating_failure_is_logged_once_per_period(caplog, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: now[0])
    flog = FailureLog(logging.getLogger("t"), "round", every=60)
    with caplog.at_level(logging.INFO, "t"):
        for _ in range(50):                     # 50 rounds, 1 s apart: one line
            flog.failed(StoreUnavailable("database write failed: disk full"))
            now[0] += 1
        assert [(r.levelname, r.getMessage(), r.exc_info) for r in caplog.records] == [
            ("ERROR", "round failed: database write failed: disk full (repeats are logged at "
                      "most every 60 s)", None)]
        now[0] += 10                            # past the period: one reminder
        flog.failed(StoreUnavailable("database write failed: disk full"))
        flog.failed(StoreUnavailable("database write failed: disk full"))
        flog.passed()
        flog.passed()
        assert [r.getMessage() for r in caplog.records[1:]] == [
            "round still failing (51 times in a row): database write failed: disk full",
            "round succeeds again after 52 failure(s)"]


def test_an_unexpected_failure_keeps_its_traceback_once(caplog):
    flog = FailureLog(logging.getLogger("t"), "round")
    with caplog.at_level(logging.INFO, "t"):
        for _ in range(3):
            flog.failed(KeyError("x"))
    assert len(caplog.records) == 1
    assert caplog.records[0].getMessage().startswith("round failed: KeyError: 'x'")
    assert caplog.records[0].exc_info is not None
