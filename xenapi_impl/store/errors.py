"""Store failures. The API layer turns them into XenAPI errors; they never reach a client raw."""
from __future__ import annotations

from dataclasses import dataclass


class StoreError(Exception):
    """Base of every store failure."""


class UnknownClass(StoreError):
    def __init__(self, cls: str) -> None:
        super().__init__(f"unknown class {cls!r}")
        self.cls = cls


class NoSuchObject(StoreError):
    def __init__(self, cls: str, ref: str) -> None:
        super().__init__(f"no {cls} object {ref}")
        self.cls = cls
        self.ref = ref


class DuplicateUuid(StoreError):
    def __init__(self, uuid: str) -> None:
        super().__init__(f"uuid {uuid} is already in use")
        self.uuid = uuid


class DuplicateRef(StoreError):
    def __init__(self, ref: str) -> None:
        super().__init__(f"reference {ref} is already in use")
        self.ref = ref


class StoreConflict(StoreError):
    """Another process changed an object this transaction writes since the transaction's reads
    began: the write was based on a stale read and is refused (the caller may retry)."""

    def __init__(self, cls: str, ref: str) -> None:
        super().__init__(f"{cls} {ref} was changed by another server since this call read it")
        self.cls = cls
        self.ref = ref


class StoreUnavailable(StoreError):
    """The store is closed, or its backing storage refused a write (a full disk: the next
    write tries again; an I/O error: nothing more is accepted until a restart)."""


class CommitUnknown(StoreUnavailable):
    """The database went away after this commit's COMMIT was sent, and did not come back in
    time to say whether it was committed: it may be in the database (every server then applies
    it from the log), or not."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"the database went away while committing ({detail}); whether the "
                         "change was committed is unknown: read the objects again")


class StoreFenced(StoreError):
    """This process no longer holds a lease its writes depend on (the pool's master lease, or
    its own host's lease): another host took over, or declared it dead, and bumped the lease's
    epoch (a fencing token). Its writes are refused, for good."""

    def __init__(self, name: str, detail: str = "") -> None:
        super().__init__(f"lease {name!r} lost{': ' + detail if detail else ''}; this server's "
                         "writes are refused")
        self.name = name


@dataclass(frozen=True, slots=True)
class Lease:
    """A lease row: who holds `name`, under which epoch (fencing token), and whether it is
    still within its term (`valid`) as the database's clock says."""

    name: str
    holder: str
    epoch: int
    valid: bool
