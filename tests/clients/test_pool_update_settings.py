"""pool.configure_update_sync, set_update_sync_enabled, set_telemetry_next_collection and
disable_repository_proxy through a real server and the official SDK: the settings kept as the
reference keeps them, bad values refused with its errors and nothing changed."""
from __future__ import annotations

import datetime as dt

import pytest
import XenAPI


def failure(fn, *args) -> list[str]:
    with pytest.raises(XenAPI.Failure) as e:
        fn(*args)
    return e.value.details


def test_update_sync_settings(x):
    pool = x.pool.get_all()[0]
    x.pool.configure_update_sync(pool, "weekly", "3")
    rec = x.pool.get_record(pool)
    assert rec["update_sync_frequency"] == "weekly" and rec["update_sync_day"] == "3"
    assert failure(x.pool.configure_update_sync, pool, "weekly", "7") == \
        ["INVALID_UPDATE_SYNC_DAY", "7"]
    assert failure(x.pool.configure_update_sync, pool, "hourly", "1")[0] == "INVALID_VALUE"
    assert x.pool.get_update_sync_day(pool) == "3"
    x.pool.configure_update_sync(pool, "daily", "9")          # the day is ignored
    rec = x.pool.get_record(pool)
    assert rec["update_sync_frequency"] == "daily" and rec["update_sync_day"] == "0"
    # no repository can be configured here: enabling the sync is refused, disabling is kept
    assert failure(x.pool.set_update_sync_enabled, pool, True) == ["NO_REPOSITORY_ENABLED"]
    assert x.pool.get_update_sync_enabled(pool) is False
    x.pool.set_update_sync_enabled(pool, False)
    assert x.pool.get_update_sync_enabled(pool) is False


def test_telemetry_next_collection(x):
    pool = x.pool.get_all()[0]
    assert x.pool.get_telemetry_frequency(pool) == "weekly"
    soon = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)).strftime(
        "%Y%m%dT%H:%M:%SZ")
    x.pool.set_telemetry_next_collection(pool, soon)
    assert str(x.pool.get_telemetry_next_collection(pool)) == soon
    late = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)).strftime(
        "%Y%m%dT%H:%M:%SZ")
    assert failure(x.pool.set_telemetry_next_collection, pool, late) == \
        ["TELEMETRY_NEXT_COLLECTION_TOO_LATE", late]
    assert str(x.pool.get_telemetry_next_collection(pool)) == soon


def test_disable_repository_proxy(x):
    pool = x.pool.get_all()[0]
    x.pool.disable_repository_proxy(pool)
    rec = x.pool.get_record(pool)
    assert rec["repository_proxy_url"] == "" and rec["repository_proxy_username"] == ""
    assert rec["repository_proxy_password"] == "OpaqueRef:NULL"
