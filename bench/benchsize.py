"""Sizes of the bench suite: the full figures of RESULTS.md, or tiny ones for CI.

`BENCH_SHORT=1` (or `pytest bench --bench-short`, which sets it) runs every benchmark once
with tiny sizes, so the suite keeps working under CI (`make test`) without costing minutes.
The short figures mean nothing and are not reported.
"""
from __future__ import annotations

import os
from typing import TypeVar

T = TypeVar("T")

SHORT = os.environ.get("BENCH_SHORT", "") == "1"


def size(full: T, short: T) -> T:
    """`full` normally, `short` in the CI's short mode."""
    return short if SHORT else full
