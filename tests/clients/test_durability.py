"""Durability: the server is killed with SIGKILL while a client writes; after every restart each
acknowledged write is there, nothing unacknowledged half-exists, and the database is
consistent."""
from __future__ import annotations

import json
import random
import sqlite3
import threading

import XenAPI

from serverproc import ServerProcess

ROUNDS = 5


def _network(name: str) -> dict:
    return {"name_label": name, "name_description": "", "MTU": "1500", "other_config": {},
            "bridge": "", "managed": True, "tags": []}


class Writer(threading.Thread):
    """Writes until the server dies; remembers what the server acknowledged."""

    def __init__(self, url: str, password: str, round_no: int) -> None:
        super().__init__(daemon=True)
        self.session = XenAPI.Session(url)
        self.session.xenapi.login_with_password("root", password)
        self.round = round_no
        self.created: dict[str, str] = {}        # ref -> name, acknowledged
        self.seq: dict[str, str] = {}            # ref -> acknowledged other_config["seq"]
        self.destroyed: set[str] = set()
        self.in_flight_destroy: str | None = None   # sent, not acknowledged (yet)
        self.acks = 0
        self.ack_event = threading.Event()
        self.target = 0
        self.failure: XenAPI.Failure | None = None

    def _ack(self) -> None:
        self.acks += 1
        if self.acks >= self.target:
            self.ack_event.set()

    def run(self) -> None:
        x = self.session.xenapi
        i = 0
        try:
            while True:
                name = f"r{self.round}-n{i}"
                ref = x.network.create(_network(name))
                self.created[ref] = name
                self._ack()
                x.network.add_to_other_config(ref, "seq", str(i))
                self.seq[ref] = str(i)
                self._ack()
                if i % 3 == 2:
                    victim = next(iter(r for r in self.created if r not in self.destroyed))
                    self.in_flight_destroy = victim
                    x.network.destroy(victim)
                    self.destroyed.add(victim)
                    self.in_flight_destroy = None
                    self._ack()
                i += 1
        except XenAPI.Failure as e:     # a refusal is a bug in the test or the server
            self.failure = e
        except Exception:   # noqa: BLE001 - the server was killed under us: expected
            return


def _check_database(db: str) -> dict[str, int]:
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 'c_%'")]
        rows: dict[tuple[str, str], str] = {}
        for t in tables:
            for ref, uuid in con.execute(f'SELECT ref, uuid FROM "{t}"'):
                rows[(t[2:], ref)] = uuid
            for row in con.execute(f'SELECT * FROM "{t}"'):
                for cell in row[2:]:                  # every stored value decodes
                    if cell is not None:
                        json.loads(cell)
        index = {(cls, ref): uuid for uuid, cls, ref in con.execute("SELECT * FROM _uuids")}
        assert index == rows                        # the cross-class uuid index has no dangling rows
        pools = con.execute('SELECT master FROM "c_pool"').fetchall()
        hosts = {ref for (cls, ref) in rows if cls == "host"}
        assert [json.loads(m) for (m,) in pools] == [next(iter(hosts))]   # pool.master resolves
        return {"objects": len(rows)}
    finally:
        con.close()


def _ended(srv: ServerProcess):
    def end() -> None:
        if srv.proc is not None and srv.proc.poll() is None:
            srv.proc.kill()
            srv.proc.wait(10)
    return end


def test_sigkill_while_writing_loses_no_acknowledged_write(tmp_path, request):
    rng = random.Random(1234)
    db = str(tmp_path / "xapi.db")
    created: dict[str, str] = {}
    seq: dict[str, str] = {}
    destroyed: set[str] = set()
    maybe_destroyed: set[str] = set()
    total_acks = 0
    for rnd in range(ROUNDS):
        srv = ServerProcess(str(tmp_path), db=db).start()
        request.addfinalizer(_ended(srv))   # even when an assertion fails mid-round
        x = XenAPI.Session(srv.url)
        x.xenapi.login_with_password("root", srv.password)
        # everything acknowledged in earlier rounds survived the kill
        live = x.xenapi.network.get_all_records()
        for ref, name in created.items():
            if ref in maybe_destroyed:
                # its destroy was in flight at the kill: committed or not, both are right
                maybe_destroyed.discard(ref)
                if ref not in live:
                    destroyed.add(ref)
                    continue
            if ref in destroyed:
                assert ref not in live, f"destroyed {ref} came back"
            else:
                assert ref in live, f"acknowledged create of {name} lost"
                assert live[ref]["name_label"] == name
                if ref in seq:
                    assert live[ref]["other_config"].get("seq") == seq[ref]
        # nothing the writer did not get acknowledged may exist half-made: every network in
        # the database was either acknowledged or is the one in-flight create of a round
        if rnd == 0:
            seeded = set(live)          # networks the server made itself at first start
        unknown = [r for r in live if r not in created and r not in seeded]
        assert len(unknown) <= rnd, unknown
        x.xenapi.session.logout()

        w = Writer(srv.url, srv.password, rnd)
        w.target = rng.randint(20, 80)
        w.start()
        assert w.ack_event.wait(60), (w.failure, srv.log())
        srv.kill()
        w.join(30)
        assert w.failure is None, w.failure
        total_acks += w.acks
        created.update(w.created)
        seq.update(w.seq)
        destroyed |= w.destroyed
        if w.in_flight_destroy is not None:
            maybe_destroyed.add(w.in_flight_destroy)
        _check_database(db)
    print(f"{total_acks} acknowledged writes over {ROUNDS} kills; {len(created)} networks, "
          f"{len(destroyed)} destroyed")
    assert total_acks >= ROUNDS * 20
    # the last round's writes too
    srv = ServerProcess(str(tmp_path), db=db).start()
    request.addfinalizer(_ended(srv))   # even when an assertion fails mid-round
    try:
        x = XenAPI.Session(srv.url)
        x.xenapi.login_with_password("root", srv.password)
        live = x.xenapi.network.get_all_records()
        assert all((r in live) != (r in destroyed) for r in created if r not in maybe_destroyed)
    finally:
        assert srv.stop() == 0
    _check_database(db)
