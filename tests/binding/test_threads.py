"""One Context used by many threads at once."""
from __future__ import annotations

import threading

from xenlight_py import Context, DomainConfig, DomainNotFound, XenlightError


def test_many_threads_one_context(ctx: Context) -> None:
    errors: list[BaseException] = []
    created: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker(n: int) -> None:
        try:
            barrier.wait()
            for i in range(10):
                domid = ctx.create_domain(DomainConfig(name=f"t{n}-{i}", kernel="/k",
                                                       memory=64))
                info = ctx.domain_info(domid)
                assert info.domid == domid
                assert ctx.domid_to_name(domid) == f"t{n}-{i}"
                ctx.pause(domid)
                assert ctx.domain_info(domid).paused
                ctx.unpause(domid)
                assert any(d.domid == domid for d in ctx.list_domains())
                if i % 2:
                    ctx.destroy(domid)
                else:
                    with lock:
                        created.append(domid)
        except BaseException as e:     # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(d.domid for d in ctx.list_domains())[1:] == sorted(created)
    assert len(created) == 40


def test_errors_stay_in_their_thread(ctx: Context) -> None:
    """Each thread's exception carries its own libxl log lines only."""
    results: dict[int, XenlightError] = {}

    def fail(n: int) -> None:
        try:
            ctx.destroy(1000 + n)
        except DomainNotFound as e:
            results[n] = e

    threads = [threading.Thread(target=fail, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == list(range(6))
    for n, e in results.items():
        for line in e.log:
            for m in range(6):
                if m != n:
                    assert f"Domain {1000 + m}:" not in line
