"""Two real `xenapi-server serve` processes on one PostgreSQL database (`--db postgresql://...`),
each with its own simulator state and state directory, driven with the XenAPI SDK: a write on
one is read on the other and reaches event.from there; users added by the CLI log in on both;
a token survives a restart of the server process. The database is a private PostgreSQL server
(tests/pgcluster.py)."""
from __future__ import annotations

import os
import subprocess
import threading
import time

import XenAPI

from serverproc import SERVER, ServerProcess


def _network(name: str) -> dict:
    return {"name_label": name, "name_description": "", "MTU": "1500", "other_config": {},
            "bridge": "", "managed": True, "tags": []}


def _server(tmp_path, name: str, db: str) -> ServerProcess:
    work = tmp_path / name
    work.mkdir(exist_ok=True)
    # each process is its own host (its own host record and metrics); this test is about the
    # database, so the monitor stays quiet
    return ServerProcess(str(work), db=db, state_dir=str(work),
                         env={"XLSIM_STATE_FILE": str(work / "xlsim.state")},
                         extra=["--monitor-interval", "3600"])


def _login(srv: ServerProcess, user: str, password: str) -> XenAPI.Session:
    # the second server is a slave of the pool (a login there answers HOST_IS_SLAVE): a
    # session local to each server
    s = XenAPI.Session(srv.url)
    s.slave_local_login_with_password(user, password)
    return s


def test_a_postgresql_db_needs_a_state_dir(pg_db):
    out = subprocess.run([SERVER, "serve", "--backend", "sim", "--db", pg_db.url,
                          "--http", "127.0.0.1:0"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "--state-dir" in out.stderr


def test_two_servers_share_one_postgresql_database(tmp_path, pg_db):
    one = _server(tmp_path, "one", pg_db.url).start()
    # the second connects as a Patroni client would: several hosts, the writable one
    two = _server(tmp_path, "two", pg_db.multi_host_url()).start()
    try:
        password = one.password
        assert not os.path.exists(two.password_file)    # root already existed: no new password
        s1, s2 = _login(one, "root", password), _login(two, "root", password)
        x1, x2 = s1.xenapi, s2.xenapi

        # event.from on server two wakes for a write on server one
        token = x2.event_from(["network"], "", 0.0)["token"]
        got: dict = {}

        def follow() -> None:
            got["result"] = x2.event_from(["network"], token, 30.0)
            got["at"] = time.monotonic()

        follower = threading.Thread(target=follow)
        follower.start()
        time.sleep(0.3)                      # let it block on server two
        t0 = time.monotonic()
        ref = x1.network.create(_network("shared"))
        follower.join(35)
        assert not follower.is_alive()
        events = [e for e in got["result"]["events"] if e["ref"] == ref]
        assert [e["operation"] for e in events] == ["add"]
        assert events[0]["snapshot"]["name_label"] == "shared"
        print(f"server one's commit seen by event.from on server two after "
              f"{(got['at'] - t0) * 1000:.0f} ms (client round trip included)")
        assert x2.network.get_record(ref) == x1.network.get_record(ref)

        # a write on two, read on one
        x2.network.set_name_label(ref, "renamed on two")
        deadline = time.monotonic() + 10
        while x1.network.get_name_label(ref) != "renamed on two":
            assert time.monotonic() < deadline
            time.sleep(0.02)

        # both servers add keys to one map at once (read-modify-write of the whole field): a
        # write based on a stale read is refused by the store and, for such a generic accessor,
        # run again by the server on a fresh read (STALE_RETRIES, store/retry.py): no key is
        # lost and the clients see no error
        conflicts = [0, 0]
        errors: list[BaseException] = []

        def add_keys(x, n: int) -> None:
            try:
                for i in range(25):
                    while True:
                        try:
                            x.network.add_to_other_config(ref, f"k{n}-{i}", "v")
                            break
                        except XenAPI.Failure as f:
                            if f.details[0] != "OTHER_OPERATION_IN_PROGRESS":
                                raise
                            conflicts[n] += 1
            except BaseException as exc:    # noqa: BLE001 - reported by the main thread
                errors.append(exc)

        adders = [threading.Thread(target=add_keys, args=(x, n)) for n, x in ((0, x1), (1, x2))]
        for t in adders:
            t.start()
        for t in adders:
            t.join(120)
        assert not errors, errors
        want = {f"k{n}-{i}" for n in (0, 1) for i in range(25)}
        deadline = time.monotonic() + 10
        while set(x1.network.get_other_config(ref)) != want:
            assert time.monotonic() < deadline, sorted(x1.network.get_other_config(ref))
            time.sleep(0.05)
        while set(x2.network.get_other_config(ref)) != want:    # one's last add reaching two
            assert time.monotonic() < deadline, sorted(x2.network.get_other_config(ref))
            time.sleep(0.05)
        assert conflicts == [0, 0], conflicts       # the servers retried, not the clients

        # `xenapi-server user add` against the database: the user logs in on both servers
        out = subprocess.run([SERVER, "user", "add", "bob", "--role", "read-only",
                              "--password-stdin", "--db", pg_db.url], input="bob-pw\n",
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        listed = subprocess.run([SERVER, "user", "list", "--db", pg_db.url],
                                capture_output=True, text=True, timeout=60)
        assert "bob\tread-only" in listed.stdout
        for srv in (one, two):
            deadline = time.monotonic() + 10
            while True:
                try:
                    _login(srv, "bob", "bob-pw")   # (local_logout needs pool-admin)
                    break
                except XenAPI.Failure:
                    assert time.monotonic() < deadline
                    time.sleep(0.1)

        # a token from server two survives server two's restart; changes made meanwhile on
        # server one are all there, deletions included
        token = x2.event_from(["network"], "", 0.0)["token"]
        two.stop()
        other = x1.network.create(_network("while two was down"))
        x1.network.destroy(ref)
        two = _server(tmp_path, "two", pg_db.url).start()      # the same host again
        x2 = _login(two, "root", password).xenapi
        events = x2.event_from(["network"], token, 0.0)["events"]
        assert {(e["ref"], e["operation"]) for e in events} == {(other, "add"), (ref, "del")}
        assert one.log().count("Traceback") == 0 and two.log().count("Traceback") == 0
    finally:
        two.stop()
        one.stop()
