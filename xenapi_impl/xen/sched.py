"""VCPUs_params "weight" and "cap": the credit scheduler's per-domain parameters, checked
with libxl's ranges (weight 1..65535; cap 0..100 per vCPU, 0 = uncapped) before any
hypervisor call, at start (xen/config.py) and live (api/vm_live.py)."""
from __future__ import annotations

from typing import Mapping

from ..model.types import decimal_int

#: the VCPUs_params keys that are scheduler parameters
SCHED_KEYS = ("weight", "cap")


class BadSchedValue(ValueError):
    """A weight/cap value out of range or not an integer; str() is the reason."""


def parse_sched(key: str, value: str, max_vcpus: int) -> int:
    """The integer a VCPUs_params weight/cap value stands for, or BadSchedValue."""
    text = value.strip()
    n = decimal_int(text) if not text.startswith("+") else None
    if n is None:
        raise BadSchedValue(f"{key} must be an integer")
    if key == "weight" and not 1 <= n <= 65535:
        raise BadSchedValue("weight must be between 1 and 65535")
    if key == "cap" and not 0 <= n <= 100 * max_vcpus:
        raise BadSchedValue(f"cap must be between 0 and {100 * max_vcpus} "
                            f"(100 per vCPU, {max_vcpus} vCPUs)")
    return n


def sched_from_params(params: Mapping[str, str],
                      max_vcpus: int) -> dict[str, int]:
    """{"weight": w, "cap": c} for the keys present in VCPUs_params (absent: Xen's default);
    BadSchedValue(key, reason) on the first bad one."""
    out: dict[str, int] = {}
    for key in SCHED_KEYS:
        if key in params:
            try:
                out[key] = parse_sched(key, params[key], max_vcpus)
            except BadSchedValue as exc:
                raise BadSchedValue(key, str(exc)) from None
    return out
