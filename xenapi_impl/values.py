"""Value types shared by the layers above the C line (see docs/CONTRACTS.md)."""
from __future__ import annotations

from typing import Any


class Record(dict):
    """A record as the store hands it out: treat as immutable.

    A modified object is given a new Record, never changed in place, so a Record's identity
    stands for one version of the object and encoders may memoize its encoded form
    (Records accept weak references for that).
    """

    __slots__ = ("__weakref__",)


class Bare:
    """A result the transport must send without the Status envelope (system.listMethods)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value
