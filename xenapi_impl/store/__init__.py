"""The store: records by class and reference (see base.Store)."""
from typing import Any, Iterable

from .base import Change, ClassSpec, Credential, Store, Transaction, store_specs
from .errors import (CommitUnknown, DuplicateRef, DuplicateUuid, Lease, NoSuchObject, StoreConflict,
                     StoreError, StoreFenced, StoreUnavailable, UnknownClass)
from .memory import MemoryStore
from .refs import NULL_REF, new_ref, new_uuid
from .sqlite import SqliteStore, open_store

__all__ = ["Change", "ClassSpec", "store_specs", "Credential", "Store", "Transaction",
           "CommitUnknown", "DuplicateRef", "DuplicateUuid", "NoSuchObject", "StoreConflict",
           "StoreError", "StoreFenced", "Lease", "StoreUnavailable", "UnknownClass",
           "MemoryStore", "SqliteStore", "open_store", "open_database", "is_database_url",
           "NULL_REF", "new_ref", "new_uuid"]


def is_database_url(db: str) -> bool:
    """`--db` names a PostgreSQL database (a pool's) rather than a SQLite file."""
    return db.startswith(("postgresql://", "postgres://"))


async def open_database(db: str, specs: Iterable[ClassSpec], *, exclusive: bool = False,
                        **options: Any) -> Store:
    """The store of `--db`: a `postgresql://` URL (libpq's form, several hosts and
    `target_session_attrs=read-write` included) opens the shared PostgreSQL store, anything
    else the SQLite file (`exclusive`: one server per file)."""
    if is_database_url(db):
        from .postgres import PostgresStore  # psycopg is only loaded for a pool
        return await PostgresStore.open(db, specs, **options)
    return open_store(db, specs, exclusive=exclusive)
