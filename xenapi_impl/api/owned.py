"""Objects that own another: a VM, VBD, VIF or PIF and the `<Class>_metrics` object only it
points at, which goes with it."""
from __future__ import annotations

from typing import Any

from ..store import NULL_REF


def delete_with_metrics(txn: Any, cls: str, ref: str) -> None:
    """Delete `ref` of class `cls` and its metrics object (the relation sets follow)."""
    metrics = txn.get(cls, ref)["metrics"]
    if metrics != NULL_REF and txn.get(f"{cls}_metrics", metrics) is not None:
        txn.delete(f"{cls}_metrics", metrics)
    txn.delete(cls, ref)
