"""pool.sync_database through a real server and the official SDK."""
from __future__ import annotations

import os
import shutil
import sqlite3



def test_sync_database_checkpoints_the_log(server, x):
    """pool.sync_database leaves every committed write in the .db file itself: the
    write-ahead log is emptied, and a copy of the file alone has the last write."""
    pool = x.pool.get_all()[0]
    x.pool.set_name_description(pool, "synced-by-pytest")
    wal = server.db + "-wal"
    assert os.path.getsize(wal) > 0
    x.pool.sync_database()
    assert os.path.getsize(wal) == 0
    # the copy is opened without its log: the value is in the file's own pages
    copy = os.path.join(server.workdir, "copy.db")
    shutil.copyfile(server.db, copy)
    with open(copy, "rb") as f:
        assert b"synced-by-pytest" in f.read()
    db = sqlite3.connect(copy)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        db.close()
