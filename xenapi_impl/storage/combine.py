"""Requests run in batches by one thread at a time (flat combining).

A burst of attaches on one SR used to queue on its lock one by one: each took the lock (an RLock,
then the flock), read the metadata, made its checks and released it, while the other workers
slept on the lock and the event loop fought them for the GIL at every system call in between.
Here a caller that finds a batch running only queues its request and sleeps; when the batch's
lock phase ends, the first queued caller runs everything queued meanwhile in one lock hold. The
leader takes the queue only once it holds the lock, so what queued while it waited for the lock
joins its batch. The phase after the lock (the shared directory fsync) runs after the hand-over,
so the next batch's lock phase overlaps it.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Generic, TypeVar

R = TypeVar("R")


class Request(Generic[R]):
    """One caller's request: the batch runner fills in ``result`` or ``error``."""

    __slots__ = ("args", "result", "error", "done", "_wake")

    def __init__(self, args: Any) -> None:
        self.args = args            #: what the batch runner needs to know of it
        self.result: R | None = None
        self.error: BaseException | None = None
        self.done = False
        self._wake: threading.Lock | None = None

    def outcome(self) -> R:
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


Take = Callable[[], list[Request[R]]]


class Combiner(Generic[R]):
    """``submit(req, locked, after)``: ``locked(take)`` runs for one batch at a time, in the
    thread of one of its callers: it calls ``take()`` once it holds what it serializes on (the
    batch is what queued until then: a caller that waited for the lock brings everything that
    queued meanwhile) and sets each request's result or error. ``after(batch)`` then runs for
    the batch's good requests outside the turn (the next batch's ``locked`` may run meanwhile)
    and may raise for them all. ``submit`` returns (or raises) the request's outcome only once
    both ran for it. If ``locked`` raises, the requests taken fail with it, and so do the ones
    queued meanwhile if it had not taken yet (a lock wait that timed out: each queued caller
    would otherwise wait a whole timeout more per leader ahead of it). Every caller passes the
    same two functions (the combiner does not keep them: an owner holding it and bound methods
    of its own would be a reference cycle)."""

    def __init__(self) -> None:
        self._mu = threading.Lock()
        self._queue: list[Request[R]] = []
        self._busy = False

    def submit(self, req: Request[R], locked: Callable[[Take[R]], None],
               after: Callable[[list[Request[R]]], None]) -> R:
        with self._mu:
            lead = not self._busy
            if lead:
                self._busy = True
            else:
                req._wake = threading.Lock()
                req._wake.acquire()
                self._queue.append(req)
        if not lead:
            req._wake.acquire()             # released when done, or when it is our turn
            if req.done:
                return req.outcome()
        batch = [req]
        taken: list[bool] = []

        def take() -> list[Request[R]]:
            if not taken:
                taken.append(True)
                with self._mu:
                    batch.extend(self._queue)
                    self._queue = []
            return batch
        try:
            self._run(batch, take, locked, after)
        finally:
            for r in batch:
                r.done = True
            for r in batch[1:]:
                assert r._wake is not None
                r._wake.release()
        return req.outcome()

    def alone(self, req: Request[R], locked: Callable[[Take[R]], None],
              after: Callable[[list[Request[R]]], None]) -> R:
        """``req`` as a batch of its own, at once, beside whatever batch runs (for a caller
        that already holds what ``locked`` serializes on)."""
        batch = [req]
        try:
            locked(lambda: batch)
        except BaseException as exc:        # noqa: BLE001 - raised below
            if req.result is None:
                req.error = exc
        if req.error is None:
            try:
                after(batch)
            except BaseException as exc:    # noqa: BLE001 - raised below
                req.error = exc
        req.done = True
        return req.outcome()

    def _run(self, batch: list[Request[R]], take: Take[R], locked: Callable[[Take[R]], None],
             after: Callable[[list[Request[R]]], None]) -> None:
        try:
            locked(take)
        except BaseException as exc:        # noqa: BLE001 - every caller hears of it
            take()          # failed before taking: those queued meanwhile waited for the same
            for r in batch:
                if r.error is None and r.result is None:
                    r.error = exc
        finally:
            self._hand_over()
        ok = [r for r in batch if r.error is None]
        if ok:
            try:
                after(ok)
            except BaseException as exc:    # noqa: BLE001 - every caller hears of it
                for r in ok:
                    r.error = exc

    def _hand_over(self) -> None:
        """The turn passes to the first caller queued meanwhile, else lapses."""
        with self._mu:
            nxt = self._queue.pop(0) if self._queue else None
            if nxt is None:
                self._busy = False
        if nxt is not None:
            assert nxt._wake is not None
            nxt._wake.release()
