"""pool.sync_database: the database made whole in its own files now (store.sync).

xapi writes its in-memory database to disk (and to the other hosts' copies) when asked; here
every commit is on disk when it returns, and the pool's hosts share one database, so what is
left to do is the store's own (SQLite: checkpoint its write-ahead log into the .db file)."""
from __future__ import annotations

from .context import Context
from .registry import implements


@implements("pool.sync_database")
async def sync_database(ctx: Context) -> None:
    await ctx.services.store.sync()
