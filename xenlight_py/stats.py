"""Utilisation from cumulative CPU times: per domain and per vCPU.

Xen reports CPU time as monotonically growing nanosecond counters. Utilisation over an
interval is ``delta cpu_ns / delta wall_ns`` (xentop's CPU% is that x 100 and can exceed 100
for several vCPUs; xapi's per-vCPU figure is 0..1). Bit 63 of vCPU times is Xen's
XEN_RUNSTATE_UPDATE flag and is masked; wall time comes from the monotonic clock.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from .context import Context

_MASK = (1 << 63) - 1


@dataclass(frozen=True)
class DomainUsage:
    domid: int
    cpu: float                      # domain total, in vCPUs' worth (0..online vCPUs)
    vcpus: dict[int, float]         # per vCPU id, 0..1 (online vCPUs only)

    @property
    def percent(self) -> float:
        """xentop's CPU(%)."""
        return self.cpu * 100.0


def utilisation(prev_ns: int, cur_ns: int, wall_ns: int) -> float:
    """delta cpu / delta wall, masking bit 63; 0.0 when no time passed or the counter was
    reset (domain rebooted)."""
    d = (cur_ns & _MASK) - (prev_ns & _MASK)
    if wall_ns <= 0 or d < 0:
        return 0.0
    return d / wall_ns


class UsageSampler:
    """Keeps the previous sample per domain and vCPU and turns the next into utilisation.

    ``sample()`` returns {domid: DomainUsage} for the domains seen in both samples (the first
    call returns {}). Thread-safe.
    """

    def __init__(self, ctx: Context, clock: Callable[[], int] = time.monotonic_ns) -> None:
        self._ctx = ctx
        self._clock = clock
        self._lock = threading.Lock()
        self._prev: dict[int, tuple[str, int, int, dict[int, int]]] = {}

    def sample(self, with_vcpus: bool = True) -> dict[int, DomainUsage]:
        now = self._clock()
        cur: dict[int, tuple[str, int, int, dict[int, int]]] = {}
        for d in self._ctx.list_domains():
            vc: dict[int, int] = {}
            if with_vcpus:
                try:
                    vc = {v.vcpuid: v.vcpu_time for v in self._ctx.list_vcpus(d.domid)
                          if v.online}
                except LookupError:
                    continue     # died between the two calls
            cur[d.domid] = (d.uuid, d.cpu_time, now, vc)
        out: dict[int, DomainUsage] = {}
        with self._lock:
            for domid, (uuid, cpu, t, vc) in cur.items():
                p = self._prev.get(domid)
                if p is None or p[0] != uuid:
                    continue     # new domain, or a new domain reusing the domid
                wall = t - p[2]
                per = {i: min(1.0, utilisation(p[3][i], ns, wall))
                       for i, ns in vc.items() if i in p[3]}
                out[domid] = DomainUsage(domid, utilisation(p[1], cpu, wall), per)
            self._prev = cur
        return out
