"""Domain events: libxl death watches (libxl_evenable_domain_death), driven by Python's loops.

The binding registers libxl's osevent hooks on every context, so libxl hands its file
descriptors and timeouts to :class:`OsEvents` instead of polling them itself. Then:

* :class:`EventStream` (blocking) waits in ``select.poll`` on those fds plus a private wake-up
  fd, calls ``libxl_osevent_occurred_*`` when one fires and takes its own events with
  ``libxl_event_check`` (a predicate on ``for_user`` keeps streams apart);
* :class:`AsyncEventStream` registers the same fds with the running asyncio loop
  (``add_reader``/``call_at``): no thread, no polling.

Whoever dispatches an occurrence wakes every stream, because the events libxl queues may
belong to another stream.
"""
from __future__ import annotations

import asyncio
import fcntl
import itertools
import os
import select
import threading
import time
import weakref
from collections import deque
from typing import TYPE_CHECKING, Any, AsyncIterator, Iterable, Iterator

from .errors import XenlightError, invalid
from .types import DomainEvent, ShutdownReason

if TYPE_CHECKING:
    from .context import Context

_EV_SHUTDOWN = 1   # LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN
_EV_DEATH = 2      # LIBXL_EVENT_TYPE_DOMAIN_DEATH
_TYPEMASK = (1 << _EV_SHUTDOWN) | (1 << _EV_DEATH)
_user_ids = itertools.count(1)


class OsEvents:
    """libxl's fd and timeout registrations for one context (filled by the C hooks)."""

    def __init__(self, owner: Context) -> None:
        self._lock = threading.RLock()
        self.fds: dict[int, tuple[int, int, Any]] = {}       # token -> (fd, events, for_libxl)
        self.timeouts: dict[int, tuple[float, Any]] = {}     # token -> (wall deadline, for_libxl)
        self._tokens = itertools.count(1)
        self._listeners: weakref.WeakSet[Any] = weakref.WeakSet()
        self._owner = weakref.ref(owner)

    # -- called by libxl through the C hooks (any thread, maybe with libxl locks held) --

    def fd_register(self, fd: int, events: int, for_libxl: Any) -> int:
        with self._lock:
            token = next(self._tokens)
            self.fds[token] = (fd, events, for_libxl)
        self.notify()
        return token

    def fd_modify(self, token: int, fd: int, events: int) -> int:
        with self._lock:
            reg = self.fds.get(token)
            if reg is None:
                return -1
            self.fds[token] = (fd, events, reg[2])
        self.notify()
        return 0

    def fd_deregister(self, token: int, fd: int) -> None:
        with self._lock:
            self.fds.pop(token, None)
        self.notify()

    def timeout_register(self, sec: int, usec: int, for_libxl: Any) -> int:
        with self._lock:
            token = next(self._tokens)
            self.timeouts[token] = (sec + usec / 1e6, for_libxl)
        self.notify()
        return token

    def timeout_modify(self, token: int, sec: int, usec: int) -> int:
        # libxl only ever modifies to {0,0}: "as soon as possible".
        with self._lock:
            reg = self.timeouts.get(token)
            if reg is None:
                return -1
            self.timeouts[token] = (sec + usec / 1e6, reg[1])
        self.notify()
        return 0

    def timeout_deregister(self, token: int) -> None:
        with self._lock:
            self.timeouts.pop(token, None)
        self.notify()

    # -- used by the streams --

    def snapshot(self) -> tuple[dict[int, tuple[int, int, Any]], dict[int, tuple[float, Any]]]:
        with self._lock:
            return dict(self.fds), dict(self.timeouts)

    def add_listener(self, listener: Any) -> None:
        self._listeners.add(listener)

    def remove_listener(self, listener: Any) -> None:
        self._listeners.discard(listener)

    def notify(self) -> None:
        for listener in list(self._listeners):
            listener.wake()

    def dispatch_fd(self, token: int, revents: int) -> None:
        with self._lock:
            reg = self.fds.get(token)
        owner = self._owner()
        if reg is not None and owner is not None:
            owner._occurred_fd(reg[2], reg[0], reg[1], revents)
        self.notify()

    def dispatch_timeout(self, token: int) -> None:
        # A timeout that occurred is gone for libxl: drop it before telling libxl.
        with self._lock:
            reg = self.timeouts.pop(token, None)
        owner = self._owner()
        if reg is not None and owner is not None:
            owner._occurred_timeout(reg[1])
        self.notify()


class _Watch:
    """The death watches of one stream, and taking its events out of libxl."""

    def __init__(self, ctx: Context, domids: Iterable[int] | None) -> None:
        self._ctx = ctx
        self._ffi = ctx._ffi
        self._lib = ctx._lib
        self.user = next(_user_ids)
        self._user_p = self._ffi.new("uint64_t *", self.user)
        self._evgens: dict[int, Any] = {}
        self._lock = threading.Lock()
        self.all_domains = domids is None
        self.closed = False
        if domids is None:
            domids = [d.domid for d in ctx.list_domains() if d.domid != 0]
        else:
            domids = list(domids)
            for d in domids:
                if not isinstance(d, int) or isinstance(d, bool) or d < 0:
                    raise invalid(f"domid {d!r} is not a domain id")
        try:
            for d in domids:
                self.watch(d)
        except BaseException:
            self.close()
            raise

    def watch(self, domid: int) -> None:
        """Add a domain to this watch (no-op if already watched)."""
        with self._lock:
            if self.closed or domid in self._evgens:
                return
            out = self._ffi.new("libxl_evgen_domain_death **")
            self._ctx._call(self._lib.libxl_evenable_domain_death, self._ctx._c(), domid,
                            self.user, out)
            self._evgens[domid] = out[0]

    def resync(self) -> None:
        """For an every-domain watch: also watch domains created elsewhere (another context
        or process) since the last look."""
        if not self.all_domains or self.closed:
            return
        try:
            current = set(self._ctx._domids())
        except XenlightError:
            return
        current.discard(0)
        with self._lock:
            new = current - self._evgens.keys()
        for d in sorted(new):
            try:
                self.watch(d)
            except XenlightError:
                pass        # gone again already: nothing to report for it

    def rearm(self, domid: int) -> None:
        """Register a watched domain's watch anew. libxl reports a domain's shutdown once
        per registration; after a suspend is cancelled (resume in place) the domain runs
        again and a later shutdown must be reported too."""
        with self._lock:
            if self.closed or domid not in self._evgens:
                return
        self._disable(domid)
        try:
            self.watch(domid)
        except XenlightError:
            pass        # the domain is gone: its death was reported by the old watch

    def _disable(self, domid: int) -> None:
        with self._lock:
            ev = self._evgens.pop(domid, None)
            ctx = self._ctx._ctx
            if ev is not None and ctx is not None:
                self._lib.libxl_evdisable_domain_death(ctx, ev)

    def check(self) -> DomainEvent | None:
        """Take one of this stream's pending events from libxl (None if there is none)."""
        if self.closed:
            return None
        ffi, lib = self._ffi, self._lib
        ctx = self._ctx._ctx
        if ctx is None:
            return None
        out = ffi.new("libxl_event **")
        rc = lib.libxl_event_check(ctx, out, _TYPEMASK, lib.xlpy_pred_for_user, self._user_p)
        if rc:
            if rc == lib.ERROR_NOT_READY:
                return None
            raise self._ctx._error(rc, "libxl_event_check", ())
        ev = out[0]
        try:
            domid = int(ev.domid)
            h = bytes(ffi.buffer(ev.domuuid.uuid, 16)).hex()
            uuid = (f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
                    if h.strip("0") else None)
            if ev.type == _EV_SHUTDOWN:
                raw = lib.xlpy_event_shutdown(ev).shutdown_reason
                # uint8_t in the event: 255 is UNKNOWN (-1).
                reason_i = raw - 256 if raw > 127 else raw
                try:
                    reason = ShutdownReason(reason_i)
                except ValueError:
                    reason = ShutdownReason.UNKNOWN
                result = DomainEvent("shutdown", domid, uuid, reason)
            else:
                result = DomainEvent("death", domid, uuid, None)
        finally:
            lib.libxl_event_free(ctx, ev)
        if result.kind == "death":
            self._disable(domid)
        return result

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
            evgens, self._evgens = self._evgens, {}
            ctx = self._ctx._ctx
            if ctx is not None:
                for ev in evgens.values():
                    self._lib.libxl_evdisable_domain_death(ctx, ev)

    def detach_ctx(self) -> None:
        # The context is being freed (libxl frees the evgens with it).
        self.close()


class _Watching:
    """What both streams do with their :class:`_Watch`, as the context tells them of a
    domain created or resumed, or of its own end."""

    _watch: _Watch

    def watch(self, domid: int) -> None:
        """Add a domain to this stream."""
        self._watch.watch(domid)

    def _domain_created(self, domid: int) -> None:
        if self._watch.all_domains:
            self._watch.watch(domid)

    def _domain_resumed(self, domid: int) -> None:
        self._watch.rearm(domid)

    def _detach_ctx(self, ctx: Any) -> None:
        self._watch.detach_ctx()


class EventStream(_Watching):
    """Blocking iterator of :class:`DomainEvent`; see :meth:`Context.events`."""

    def __init__(self, ctx: Context, domids: Iterable[int] | None,
                 timeout: float | None = None) -> None:
        if timeout is not None and (not isinstance(timeout, (int, float)) or timeout < 0):
            raise invalid(f"timeout {timeout!r} must be a non-negative number of seconds")
        self._timeout = timeout
        self._os = ctx._os
        self._rfd, self._wfd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._watch = _Watch(ctx, domids)
        self._os.add_listener(self)
        ctx._add_watcher(self)

    def wake(self) -> None:
        try:
            os.write(self._wfd, b"\0")
        except (BlockingIOError, OSError):
            pass    # already awake (pipe full) or closed

    def __iter__(self) -> Iterator[DomainEvent]:
        return self

    def __next__(self) -> DomainEvent:
        ev = self.get(self._timeout)
        if ev is None:
            raise StopIteration
        return ev

    def get(self, timeout: float | None = None) -> DomainEvent | None:
        """The next event, or None if none arrived within ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            # libxl may consume its fds' readiness inside event_check, so an every-domain
            # watch looks for new domains at each turn, not only when an fd fired.
            self._watch.resync()
            ev = self._watch.check()
            if ev is not None or self._watch.closed:
                return ev
            fds, timeouts = self._os.snapshot()
            poller = select.poll()
            poller.register(self._rfd, select.POLLIN)
            by_fd: dict[int, list[tuple[int, int]]] = {}
            for token, (fd, events, _) in fds.items():
                by_fd.setdefault(fd, []).append((token, events))
            for fd, regs in by_fd.items():
                mask = 0
                for _, events in regs:
                    mask |= events
                poller.register(fd, mask)
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            if timeouts:
                now = time.time()
                first = min(t for t, _ in timeouts.values())
                wait = max(0.0, first - now) if wait is None else min(wait, max(0.0, first - now))
            ready = poller.poll(None if wait is None else int(wait * 1000) + 1)
            for fd, revents in ready:
                if fd == self._rfd:
                    self._drain_pipe()
                    continue
                for token, events in by_fd.get(fd, ()):
                    if revents & (events | select.POLLERR | select.POLLHUP | select.POLLNVAL):
                        self._os.dispatch_fd(token, revents)
            if timeouts:
                now = time.time()
                for token, (t, _) in timeouts.items():
                    if t <= now:
                        self._os.dispatch_timeout(token)
            if deadline is not None and time.monotonic() >= deadline and not ready:
                return self._watch.check()

    def _drain_pipe(self) -> None:
        try:
            while os.read(self._rfd, 4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def close(self) -> None:
        self._watch.close()
        self._os.remove_listener(self)
        for fd in (self._rfd, self._wfd):
            try:
                os.close(fd)
            except OSError:
                pass
        self._rfd = self._wfd = -1

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if self._rfd >= 0:
                self.close()
        except Exception:
            pass


class _LoopAttachment:
    """libxl's fds/timeouts registered with one asyncio loop, shared by its streams
    (a loop has one reader per fd)."""

    def __init__(self, osev: OsEvents, loop: asyncio.AbstractEventLoop) -> None:
        self._os = osev
        self.loop = loop
        self._readers: dict[int, tuple[int, int]] = {}   # fd -> (token, events)
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self.streams: weakref.WeakSet[AsyncEventStream] = weakref.WeakSet()
        self._scheduled = False
        self._lock = threading.Lock()
        self.closed = False

    def wake(self) -> None:
        # Any thread: coalesce into one sync-and-drain on the loop.
        with self._lock:
            if self._scheduled or self.closed:
                return
            self._scheduled = True
        try:
            self.loop.call_soon_threadsafe(self._run)
        except RuntimeError:
            pass    # loop closed

    def _run(self) -> None:
        with self._lock:
            self._scheduled = False
        if self.closed:
            return
        self.sync()
        for s in list(self.streams):
            s._drain()

    def sync(self) -> None:
        fds, timeouts = self._os.snapshot()
        wanted: dict[int, tuple[int, int]] = {}
        for token, (fd, events, _) in fds.items():
            wanted[fd] = (token, events)
        for fd, reg in list(self._readers.items()):
            if wanted.get(fd) != reg:
                self._unwatch(fd)
        for fd, (token, events) in wanted.items():
            if fd in self._readers:
                continue
            # libxl closes an fd right after deregistering it, and this loop learns of that
            # only here: the number may already name another file, and the loop may still
            # hold the old one. Start clean, and leave alone what cannot be watched (a
            # registration that went stale meanwhile: the next sync drops it).
            self._unwatch(fd)
            self._readers[fd] = (token, events)
            try:
                # the fd stays in the mode libxl gave it: libuv (uvloop's add_reader) makes
                # the fds it polls non-blocking, and libxl reads some of its own (the
                # save/restore helper's pipe) with blocking reads once poll says readable,
                # which then fail with EAGAIN on a message that arrives in pieces
                flags = fcntl.fcntl(fd, fcntl.F_GETFL)
                if events & (select.POLLIN | select.POLLPRI):
                    self.loop.add_reader(fd, self._on_fd, token, select.POLLIN)
                if events & select.POLLOUT:
                    self.loop.add_writer(fd, self._on_fd, token, select.POLLOUT)
                if fcntl.fcntl(fd, fcntl.F_GETFL) != flags:
                    fcntl.fcntl(fd, fcntl.F_SETFL, flags)
            except (OSError, ValueError):
                self._unwatch(fd)
                self._readers[fd] = (token, events)     # as wanted: not retried until it changes
        for token in list(self._timers):
            if token not in timeouts:
                self._timers.pop(token).cancel()
        now_wall, now_loop = time.time(), self.loop.time()
        for token, (t, _) in timeouts.items():
            if token not in self._timers:
                self._timers[token] = self.loop.call_at(
                    now_loop + max(0.0, t - now_wall), self._on_timeout, token)

    def _unwatch(self, fd: int) -> None:
        """Drop the loop's watch on ``fd`` even if the fd is closed or reused by now."""
        for remove in (self.loop.remove_reader, self.loop.remove_writer):
            try:
                remove(fd)
            except (OSError, ValueError, KeyError):
                pass
        self._readers.pop(fd, None)

    def _on_fd(self, token: int, revents: int) -> None:
        self._os.dispatch_fd(token, revents)

    def _on_timeout(self, token: int) -> None:
        self._timers.pop(token, None)
        self._os.dispatch_timeout(token)

    def close(self) -> None:
        self.closed = True
        for fd in list(self._readers):
            self._unwatch(fd)
        for h in self._timers.values():
            h.cancel()
        self._timers.clear()
        self._os.remove_listener(self)


_attachments: "weakref.WeakKeyDictionary[OsEvents, dict[asyncio.AbstractEventLoop, _LoopAttachment]]" = \
    weakref.WeakKeyDictionary()
_attach_lock = threading.Lock()


#: an every-domain async stream lists the domains (to watch those made elsewhere) at most this
#: often: a burst of domain creations wakes it for each, and each listing costs in proportion
#: to the domains there are; a wake-up in between is followed by a listing once it is over
RESYNC_EVERY = 0.02


class AsyncEventStream(_Watching):
    """Async iterator of :class:`DomainEvent`; see :meth:`Context.aevents`."""

    def __init__(self, ctx: Context, domids: Iterable[int] | None) -> None:
        self._ctx = ctx
        self._watch = _Watch(ctx, domids)
        self._queue: deque[DomainEvent] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._att: _LoopAttachment | None = None
        self._error: BaseException | None = None
        self._resync_at = 0.0                     # monotonic time of the next listing
        self._resync_later: asyncio.TimerHandle | None = None
        ctx._add_watcher(self)

    def _attach(self) -> None:
        loop = asyncio.get_running_loop()
        osev = self._ctx._os
        with _attach_lock:
            per_loop = _attachments.setdefault(osev, {})
            att = per_loop.get(loop)
            if att is None or att.closed:
                att = per_loop[loop] = _LoopAttachment(osev, loop)
                osev.add_listener(att)
        att.streams.add(self)
        self._att = att
        att.sync()

    def _detach_ctx(self, ctx: Any) -> None:
        super()._detach_ctx(ctx)
        if self._att is not None:
            self._att.wake()

    def _resync(self) -> None:
        """List the domains now, or once RESYNC_EVERY has passed since the last listing."""
        if not self._watch.all_domains or self._watch.closed:
            return
        now = time.monotonic()
        if now >= self._resync_at:
            self._resync_at = now + RESYNC_EVERY
            self._watch.resync()
        elif self._resync_later is None and self._att is not None:
            self._resync_later = self._att.loop.call_later(self._resync_at - now, self._late)

    def _late(self) -> None:
        self._resync_later = None
        self._drain()

    def _drain(self) -> None:
        try:
            self._resync()
            while True:
                ev = self._watch.check()
                if ev is None:
                    break
                self._queue.append(ev)
        except XenlightError as e:
            self._error = e
        w = self._waiter
        if w is not None and not w.done() and (self._queue or self._error or self._watch.closed):
            w.set_result(None)

    def __aiter__(self) -> AsyncIterator[DomainEvent]:
        return self

    async def __anext__(self) -> DomainEvent:
        if self._att is None:
            self._attach()
        while True:
            if not self._queue:
                self._drain()
            if self._queue:
                return self._queue.popleft()
            if self._error is not None:
                err, self._error = self._error, None
                raise err
            if self._watch.closed:
                raise StopAsyncIteration
            assert self._att is not None
            self._waiter = self._att.loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    async def next(self, timeout: float | None = None) -> DomainEvent | None:
        """The next event, or None after ``timeout`` seconds without one."""
        try:
            return await asyncio.wait_for(self.__anext__(), timeout)
        except asyncio.TimeoutError:
            return None

    async def aclose(self) -> None:
        self.close()

    def close(self) -> None:
        self._watch.close()
        if self._resync_later is not None:
            self._resync_later.cancel()
            self._resync_later = None
        att, self._att = self._att, None
        if att is not None:
            att.streams.discard(self)
            if not att.streams:
                with _attach_lock:
                    per_loop = _attachments.get(self._ctx._os, {})
                    if per_loop.get(att.loop) is att:
                        del per_loop[att.loop]
                att.close()
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    async def __aenter__(self) -> AsyncEventStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
