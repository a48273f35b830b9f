"""Domain events, blocking and asyncio, driven through libxl's osevent hooks."""
from __future__ import annotations

import asyncio
import dataclasses
import threading
import time

import pytest

from xenlight_py import Context, DomainConfig, DomainEvent, ShutdownReason, Timeout


def _collect(stream, n: int) -> list[DomainEvent]:  # type: ignore[no-untyped-def]
    out = []
    for ev in stream:
        out.append(ev)
        if len(out) == n:
            break
    return out


def test_shutdown_then_death(ctx: Context, pv: DomainConfig) -> None:
    domid = ctx.create_domain(pv)
    with ctx.events([domid], timeout=10) as evs:
        ctx.shutdown(domid)
        ev = next(evs)
        # libxl 4.17 leaves the event's domuuid nil (measured on real Xen, tests/realxen):
        # the binding reports that as None rather than inventing one.
        assert ev == DomainEvent("shutdown", domid, None, ShutdownReason.POWEROFF)
        assert ctx.domain_info(domid).shutdown
        ctx.destroy(domid)
        assert next(evs) == DomainEvent("death", domid, None, None)


@pytest.mark.parametrize("act, reason", [
    ("guest_poweroff", ShutdownReason.POWEROFF), ("guest_reboot", ShutdownReason.REBOOT),
    ("guest_crash", ShutdownReason.CRASH),
])
def test_guest_initiated(ctx: Context, pv: DomainConfig, act: str,
                         reason: ShutdownReason) -> None:
    domid = ctx.create_domain(pv)
    with ctx.events(timeout=10) as evs:        # every domain
        getattr(ctx.sim, act)(domid)
        ev = next(evs)
        assert (ev.kind, ev.domid, ev.reason) == ("shutdown", domid, reason)
        info = ctx.domain_info(domid)
        assert info.shutdown_reason == reason
        if reason == ShutdownReason.CRASH:
            assert info.state[4] == "c"


def test_shutdown_after_a_cancelled_suspend_is_reported(ctx: Context, pv: DomainConfig,
                                                       tmp_path) -> None:  # type: ignore[no-untyped-def]
    """libxl reports a domain's shutdown once per watch registration (so does real Xen 4.17,
    tests/realxen): resume() re-registers the domain on this context's streams, so the
    guest's next shutdown after a resume in place still arrives, on blocking and async
    streams alike."""
    domid = ctx.create_domain(pv)
    with ctx.events([domid], timeout=10) as evs:
        astream = ctx.aevents([domid])
        ctx.suspend(domid, tmp_path / "img")
        assert next(evs) == DomainEvent("shutdown", domid, None, ShutdownReason.SUSPEND)
        ctx.resume(domid)
        ctx.sim.guest_poweroff(domid)
        assert next(evs) == DomainEvent("shutdown", domid, None, ShutdownReason.POWEROFF)

        async def both() -> list[DomainEvent]:
            out = []
            async for ev in astream:
                out.append(ev)
                if len(out) == 2:
                    return out
            return out
        try:
            got = asyncio.run(asyncio.wait_for(both(), 10))
        finally:
            astream.close()
        assert [(e.kind, e.reason) for e in got] == [("shutdown", ShutdownReason.SUSPEND),
                                                     ("shutdown", ShutdownReason.POWEROFF)]


def test_reboot_request(ctx: Context, pv: DomainConfig) -> None:
    domid = ctx.create_domain(pv)
    with ctx.events([domid], timeout=10) as evs:
        ctx.reboot(domid)
        ev = next(evs)
        assert (ev.kind, ev.reason) == ("shutdown", ShutdownReason.REBOOT)


def test_ignored_shutdown_times_out(ctx: Context, pv: DomainConfig) -> None:
    # libxl 4.17 waits for the guest to acknowledge control/shutdown; a deaf guest gives
    # ERROR_TIMEDOUT (real libxl after 60 s, the simulator at once), raised as Timeout.
    domid = ctx.create_domain(pv)
    ctx.sim.set_ignore_shutdown(domid, True)
    with ctx.events([domid], timeout=0.3) as evs:
        for request in (ctx.shutdown, ctx.reboot):
            with pytest.raises(Timeout) as ei:
                request(domid)
            e = ei.value
            assert type(e) is Timeout and isinstance(e, TimeoutError)
            assert (e.rc, e.name) == (-9, "timedout")
            assert e.function == f"libxl_domain_{request.__name__}"
            assert any("didn't acknowledge control request: -9" in line for line in e.log)
        assert list(evs) == []          # nothing happened: iteration ends at the timeout
    info = ctx.domain_info(domid)
    assert info.running and not info.shutdown


def test_paused_guest_acts_on_request_once_unpaused(ctx: Context, pv: DomainConfig) -> None:
    # A paused guest cannot acknowledge (Timeout), but the request stays in xenstore: it
    # shuts down once unpaused, as on real Xen.
    domid = ctx.create_domain(pv, paused=True)
    with ctx.events([domid], timeout=10) as evs:
        with pytest.raises(Timeout):
            ctx.shutdown(domid)
        assert evs.get(timeout=0.3) is None
        ctx.unpause(domid)
        assert next(evs) == DomainEvent("shutdown", domid, None, ShutdownReason.POWEROFF)


def test_streams_are_separate(ctx: Context, pv: DomainConfig) -> None:
    a = ctx.create_domain(pv)
    b = ctx.create_domain(DomainConfig(name="other", kernel="/k"))
    with ctx.events([a], timeout=5) as sa, ctx.events([b], timeout=5) as sb, \
            ctx.events(timeout=5) as sall:
        ctx.destroy(b)
        ctx.destroy(a)
        assert [e.domid for e in _collect(sa, 1)] == [a]
        assert [e.domid for e in _collect(sb, 1)] == [b]
        assert sorted(e.domid for e in _collect(sall, 2)) == sorted([a, b])
        assert sa.get(timeout=0.05) is None


def test_all_domains_includes_new_ones(ctx: Context, pv: DomainConfig) -> None:
    with ctx.events(timeout=5) as evs:
        domid = ctx.create_domain(pv)           # created after the stream started
        ctx.sim.guest_crash(domid)
        ev = next(evs)
        assert (ev.domid, ev.reason) == (domid, ShutdownReason.CRASH)


def test_event_from_another_thread(ctx: Context, pv: DomainConfig) -> None:
    domid = ctx.create_domain(pv)
    with ctx.events([domid], timeout=10) as evs:
        t = threading.Timer(0.05, ctx.sim.guest_poweroff, args=(domid,))
        t.start()
        ev = next(evs)
        t.join()
        assert ev.reason == ShutdownReason.POWEROFF


def test_two_threads_waiting(ctx: Context, pv: DomainConfig) -> None:
    """Two blocking streams in two threads: whichever thread services libxl's fd, both
    get their event (no lost wake-up). They wait without a timeout: a thread whose event
    another thread's check took out of libxl without waking it would wait for ever (it once
    waited out a 10 s timeout here)."""
    a = ctx.create_domain(pv)
    b = ctx.create_domain(DomainConfig(name="b", kernel="/k"))
    got: dict[int, DomainEvent | None] = {}
    streams = {a: ctx.events([a]), b: ctx.events([b])}

    def wait(domid: int) -> None:
        got[domid] = streams[domid].get()

    threads = [threading.Thread(target=wait, args=(d,), daemon=True) for d in (a, b)]
    for t in threads:
        t.start()
    ctx.sim.guest_poweroff(a)
    ctx.sim.guest_crash(b)
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), f"an event never woke its thread: {got}"
    for s in streams.values():
        s.close()
    assert got[a] is not None and got[a].reason == ShutdownReason.POWEROFF
    assert got[b] is not None and got[b].reason == ShutdownReason.CRASH


def test_asyncio(ctx: Context, pv: DomainConfig) -> None:
    domid = ctx.create_domain(pv)

    async def main() -> list[DomainEvent]:
        seen = []
        async with ctx.aevents([domid]) as evs:
            ctx.shutdown(domid)
            async for ev in evs:
                seen.append(ev)
                if ev.kind == "shutdown":
                    ctx.destroy(domid)
                else:
                    break
        return seen

    seen = asyncio.run(asyncio.wait_for(main(), 10))
    assert [(e.kind, e.reason) for e in seen] == [("shutdown", ShutdownReason.POWEROFF),
                                                  ("death", None)]


def test_asyncio_two_streams_one_loop(ctx: Context, pv: DomainConfig) -> None:
    a = ctx.create_domain(pv)
    b = ctx.create_domain(DomainConfig(name="b", kernel="/k"))

    async def first(stream) -> DomainEvent:  # type: ignore[no-untyped-def]
        return await stream.__anext__()

    async def main() -> tuple[DomainEvent, DomainEvent, DomainEvent | None]:
        sa, sb = ctx.aevents([a]), ctx.aevents([b])
        try:
            ta = asyncio.ensure_future(first(sa))
            tb = asyncio.ensure_future(first(sb))
            await asyncio.sleep(0)
            ctx.sim.guest_reboot(b)
            ctx.sim.guest_crash(a)
            ea, eb = await asyncio.gather(ta, tb)
            none = await sa.next(timeout=0.05)
            return ea, eb, none
        finally:
            sa.close()
            sb.close()

    ea, eb, none = asyncio.run(asyncio.wait_for(main(), 10))
    assert (ea.domid, ea.reason) == (a, ShutdownReason.CRASH)
    assert (eb.domid, eb.reason) == (b, ShutdownReason.REBOOT)
    assert none is None


def test_asyncio_loop_not_blocked(ctx: Context, pv: DomainConfig) -> None:
    """The loop keeps running other tasks while waiting (the shutdown answer comes from
    the simulated guest after its delay, through a libxl timeout or fd)."""
    domid = ctx.create_domain(pv)
    ctx.sim.set_shutdown_delay(domid, 100)

    async def main() -> tuple[DomainEvent, int]:
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.005)

        t = asyncio.ensure_future(ticker())
        async with ctx.aevents([domid]) as evs:
            ctx.shutdown(domid)
            ev = await evs.__anext__()
        stop.set()
        await t
        return ev, ticks

    ev, ticks = asyncio.run(asyncio.wait_for(main(), 10))
    assert ev.reason == ShutdownReason.POWEROFF
    assert ticks > 1


def test_closed_stream_stops(ctx: Context, pv: DomainConfig) -> None:
    domid = ctx.create_domain(pv)
    s = ctx.events([domid], timeout=1)
    s.close()
    assert list(s) == []


def test_bad_arguments(ctx: Context) -> None:
    from xenlight_py import InvalidArgument
    with pytest.raises(InvalidArgument):
        ctx.events([-1])
    with pytest.raises(InvalidArgument):
        ctx.events(timeout=-1)


def test_all_domains_sees_other_contexts(ctx: Context, pv: DomainConfig) -> None:
    with Context(backend="sim") as other:
        with ctx.events(timeout=5) as evs:
            domid = other.create_domain(pv)      # not through ctx
            other.pause(domid)                   # changes: libxl's fd fires
            other.unpause(domid)
            ctx.sim.guest_crash(domid)
            got = [e for e in _collect(evs, 1)]
        assert (got[0].domid, got[0].reason) == (domid, ShutdownReason.CRASH)


def test_asyncio_all_domains_sees_other_contexts(ctx: Context, pv: DomainConfig) -> None:
    async def main() -> DomainEvent:
        with Context(backend="sim") as other:
            async with ctx.aevents() as evs:
                domid = other.create_domain(pv)
                other.pause(domid)
                other.unpause(domid)
                await asyncio.sleep(0.05)
                ctx.sim.guest_crash(domid)
                return await evs.__anext__()

    ev = asyncio.run(asyncio.wait_for(main(), 10))
    assert ev.reason == ShutdownReason.CRASH


def test_asyncio_all_domains_lists_the_domains_at_most_every_resync_interval(
        ctx: Context, pv: DomainConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    from xenlight_py.events import RESYNC_EVERY
    listings: list[float] = []
    real = ctx._domids

    def counted() -> list[int]:
        listings.append(time.monotonic())
        return real()

    monkeypatch.setattr(ctx, "_domids", counted)
    wakeups = 200

    async def main() -> tuple[DomainEvent, int, float]:
        with Context(backend="sim") as other:
            async with ctx.aevents() as evs:
                first = asyncio.ensure_future(evs.__anext__())
                await asyncio.sleep(0)             # the stream is on the loop now
                busy = other.create_domain(pv)
                t0 = time.monotonic()
                for i in range(wakeups):           # each change fires libxl's fd
                    other.pause(busy)
                    other.unpause(busy)
                    await asyncio.sleep(0.0005)
                domid = other.create_domain(dataclasses.replace(pv, name="pv2"))   # elsewhere
                other.pause(busy)
                await asyncio.sleep(0)
                elapsed = time.monotonic() - t0
                await asyncio.sleep(3 * RESYNC_EVERY)    # the listing after the last wake-up
                ctx.sim.guest_crash(domid)
                return await first, domid, elapsed

    ev, domid, elapsed = asyncio.run(asyncio.wait_for(main(), 20))
    assert (ev.domid, ev.reason) == (domid, ShutdownReason.CRASH)
    assert 2 <= len(listings) <= elapsed / RESYNC_EVERY + 3 < wakeups


def test_close_context_with_open_streams(pv: DomainConfig) -> None:
    c = Context(backend="sim")
    c.sim.configure()
    domid = c.create_domain(pv)
    s = c.events([domid], timeout=0.1)
    a = c.aevents()
    c.close()
    assert list(s) == []            # the stream ends instead of using a freed context
    s.close()

    async def main() -> list[DomainEvent]:
        return [e async for e in a]

    assert asyncio.run(main()) == []
