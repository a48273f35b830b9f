"""The store: records by class and reference (see base.Store)."""
from .base import Change, ClassSpec, Credential, Store, Transaction
from .errors import (DuplicateRef, DuplicateUuid, NoSuchObject, StoreError, StoreUnavailable,
                     UnknownClass)
from .memory import MemoryStore
from .refs import NULL_REF, new_ref, new_uuid
from .sqlite import SqliteStore, open_store

__all__ = ["Change", "ClassSpec", "Credential", "Store", "Transaction", "DuplicateRef",
           "DuplicateUuid", "NoSuchObject", "StoreError", "StoreUnavailable", "UnknownClass",
           "MemoryStore", "SqliteStore", "open_store", "NULL_REF", "new_ref", "new_uuid"]
