"""Live migration on the simulator: wall time and guest downtime for a 1 GiB and a 4 GiB guest.

  migrate_live   xenlight_py.migrate: libxl_domain_suspend(LIVE) into a socketpair, the
                 receiver (create_restore, stream_version 2, paused as NAME--incoming) in a
                 thread, then the commit (renames, unpause, destroy of the source). One
                 simulated host (localhost migration), both copies on it until the commit.
                 The guest runs 2 vCPUs at load 0.5 (it dirties 100 MiB/s).
  save_restore   the baseline in the same run: `xl save` + `xl restore` through a file
                 (suspend not live into a new file, destroy, create_restore, unpause).

Wall time is the benchmark's. Downtime is what the guest sees: the wall time of the
operation minus the uptime the guest gained during it (the simulated guest's uptime stops
when it suspends and goes on when the destination copy is unpaused), so it is exactly the
time between the source being suspended at the end of the live phase and the destination
being unpaused. Median downtime and the stream size go to extra_info.

Reproduce: .venv/bin/python -m pytest bench/test_bench_migration.py --benchmark-only -s \
           --benchmark-columns=min,median,max,rounds
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import pytest

from benchsize import size

from xenlight_py import Context, DomainConfig, migrate

SIZES = size({"1GiB": 1024, "4GiB": 4096}, {"64MiB": 64})
ROUNDS = size(3, 1)


@pytest.fixture
def ctx() -> Any:
    c = Context(backend="sim")
    c.sim.configure()                         # 64 GiB host: room for two 4 GiB copies
    yield c
    c.close()


def guest(ctx: Context, mib: int) -> tuple[DomainConfig, int]:
    cfg = DomainConfig(name="bench", kernel="/boot/vmlinuz", memory=mib, vcpus=2)
    domid = ctx.create_domain(cfg)
    ctx.sim.set_load(domid, 0.5)
    return cfg, domid


def measured(benchmark: Any, ctx: Context, mib: int, op: Any) -> None:
    cfg, domid = guest(ctx, mib)
    state = {"domid": domid}
    downtimes: list[float] = []

    def run() -> None:
        d = state["domid"]
        up0, t0 = ctx.sim.guest_state(d).uptime_ns, time.monotonic_ns()
        new = op(cfg, d)
        t1, up1 = time.monotonic_ns(), ctx.sim.guest_state(new).uptime_ns
        downtimes.append(((t1 - t0) - (up1 - up0)) / 1e6)
        state["domid"] = new

    benchmark.pedantic(run, rounds=ROUNDS, iterations=1, warmup_rounds=0)
    benchmark.extra_info["downtime_ms_median"] = round(statistics.median(downtimes), 2)
    benchmark.extra_info["downtime_ms_all"] = [round(x, 2) for x in downtimes]
    print(f"\n{benchmark.name}: downtime ms {[round(x, 2) for x in downtimes]}")
    ctx.destroy(state["domid"])


@pytest.mark.parametrize("size", SIZES)
def test_migrate_live(benchmark: Any, ctx: Context, size: str) -> None:
    measured(benchmark, ctx, SIZES[size], lambda cfg, d: migrate(ctx, d, ctx, cfg))


@pytest.mark.parametrize("size", SIZES)
def test_save_restore(benchmark: Any, ctx: Context, size: str, tmp_path: Path) -> None:
    img = tmp_path / "save.img"

    def save_restore(cfg: DomainConfig, d: int) -> int:
        ctx.save(d, img)
        benchmark.extra_info["image_bytes"] = img.stat().st_size
        new = ctx.create_restore(cfg, img)
        img.unlink()
        return new

    measured(benchmark, ctx, SIZES[size], save_restore)
