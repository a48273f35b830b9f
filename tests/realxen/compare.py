"""Field-by-field comparison of two scenario results (real Xen vs simulator).

Every observable of scenario.py is compared exactly, except the few listed in
NORMALISED below: figures that depend on the machine under test rather than on the
semantics the simulator models. Those are not dropped; each is replaced by a derived
value, computed the same way on both sides, that must agree.

The simulated host is configured from the real run's host figures (host_config), so
CPU counts, clock, memory totals and dom0's size compare exactly.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Normalised:
    replaces: tuple[str, ...]      # raw observables not compared as such
    derived: str                   # name of the derived observable
    compute: Callable[[dict[str, Any]], Any]
    reason: str


def _xen_heap_ok(o: dict[str, Any]) -> bool:
    total = o["host.total_pages"] * 4
    used_by_xen = total - o["dom0.current_memkb"] - o["host.free_kb.before"]
    return 0 <= used_by_xen <= total // 20


def _create_overhead_ok(o: dict[str, Any]) -> bool:
    cost = o["host.free_kb.before"] - o["host.free_kb.after_create"]
    return 0 <= cost - o["created.current_memkb"] <= 1024


NORMALISED: tuple[Normalised, ...] = (
    Normalised(
        ("host.free_kb.before",), "host.free_is_total_minus_dom0_minus_small_xen_heap",
        _xen_heap_ok,
        "Xen keeps part of the RAM for itself (frame table, heap, console ring: 23720 KiB on "
        "the 2 GiB QEMU machine); a simulator has no such heap. Both must give free = total - "
        "dom0 - overhead with 0 <= overhead <= 5% of total."),
    Normalised(
        ("host.free_kb.after_create",), "host.create_costs_guest_memory_plus_under_1MiB",
        _create_overhead_ok,
        "Creating a domain takes its pages plus Xen's per-domain structures (domain and vCPU "
        "structs, 92 KiB for the 1-vCPU PV guest on real Xen). Both must charge the guest's "
        "current_memkb plus 0..1024 KiB."),
)


def host_config(real: dict[str, Any]) -> dict[str, int | str]:
    """The simulator host configuration (xenlight_py.sim.HostConfig fields) that mirrors
    the machine of the real run, Pool-0's scheduler included (Xen 4.17's default: credit2)."""
    o = real["observed"]
    return {
        "scheduler": o["cpupools.first"]["sched"],
        "nr_cpus": o["host.nr_cpus"],
        "nr_nodes": o["host.nr_nodes"],
        "threads_per_core": o["host.threads_per_core"],
        "cpu_khz": o["host.cpu_khz"],
        "total_memkb": o["host.total_pages"] * 4,
        "dom0_memkb": o["dom0.current_memkb"],
        "dom0_vcpus": o["dom0.vcpu_online"],
    }


def comparable(result: dict[str, Any]) -> dict[str, Any]:
    """The flat map that is compared: observables with the NORMALISED ones replaced, the
    scenario's events (in order) and the outcome of each of its checks."""
    o = dict(result["observed"])
    out: dict[str, Any] = {}
    for n in NORMALISED:
        try:
            out[n.derived] = n.compute(o)
        except KeyError as e:
            out[n.derived] = f"<missing {e.args[0]}>"
    replaced = {k for n in NORMALISED for k in n.replaces}
    out.update({k: v for k, v in o.items() if k not in replaced})
    for i, ev in enumerate(result.get("events", [])):
        for f, v in ev.items():
            out[f"events[{i}].{f}"] = v
    out["events.count"] = len(result.get("events", []))
    for c in result.get("checks", []):
        out[f"check: {c['name']}"] = c["ok"]
    return out


@dataclass(frozen=True)
class Difference:
    key: str
    real: Any
    sim: Any

    def __str__(self) -> str:
        return f"{self.key}: real Xen {self.real!r}, simulator {self.sim!r}"


MISSING = "<absent>"


def differences(real: dict[str, Any], sim: dict[str, Any]) -> list[Difference]:
    a, b = comparable(real), comparable(sim)
    out = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key, MISSING), b.get(key, MISSING)
        if va != vb or type(va) is not type(vb):
            out.append(Difference(key, va, vb))
    return out


def main(argv: list[str]) -> int:
    """compare.py REAL.json OTHER.json: prints the differences (exit 1 if any)."""
    import json
    if len(argv) != 2:
        print("usage: compare.py REAL.json OTHER.json")
        return 2
    a, b = (json.loads(open(p).read()) for p in argv)
    diffs = differences(a, b)
    for d in diffs:
        print(d)
    print(f"{len(comparable(a))} observables compared, {len(diffs)} differ")
    return 1 if diffs else 0


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv[1:]))
