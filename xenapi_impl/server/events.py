"""event.from / event.inject / event.get_current_id and the legacy register/next queue.

Tokens are store generations written as xapi writes them ("%020d,%020d": they compare as
strings). A call computes the coalesced changes since its token straight from the store's
change index, so nothing is queued per client; a blocked call sleeps on the store's change
signal and wakes on the next commit (a logout is a commit too, so a logged-out session's
call wakes and answers SESSION_INVALID).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import XenAPIError
from ..store import Change

if TYPE_CHECKING:
    from .app import Services
    from .sessions import SessionInfo

MAX_TIMEOUT = 24 * 3600.0
LEGACY_QUEUE_MAX = 10_000       # event.next: more pending changes than this is EVENTS_LOST


def make_token(generation: int) -> str:
    return f"{generation:020d},{0:020d}"


def parse_token(token: object) -> int:
    if not isinstance(token, str):
        raise XenAPIError("EVENT_FROM_TOKEN_PARSE_FAILURE", str(token))
    if token == "":
        return 0
    parts = token.split(",")        # xapi's form only: "<generation>,<message generation>"
    # int64 generations: a longer number is no token of ours (and int() would refuse one past
    # Python's digit limit with an error of its own)
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() and len(p.lstrip("0")) <= 19
                                  for p in parts):
        raise XenAPIError("EVENT_FROM_TOKEN_PARSE_FAILURE", token)
    return int(parts[0])


def check_timeout(timeout: float) -> float:
    """event.from's timeout in seconds: finite and not negative (a NaN would otherwise make
    every deadline comparison false), else INVALID_VALUE ["timeout", value]."""
    if not math.isfinite(timeout) or timeout < 0:
        raise XenAPIError("INVALID_VALUE", "timeout", "%.16g" % timeout)
    return min(timeout, MAX_TIMEOUT)


@dataclass(slots=True)
class Subscription:
    classes: frozenset[str] | None          # None: every class
    refs: frozenset[tuple[str, str]]


@dataclass(slots=True)
class _Registration:
    classes: set[str] = field(default_factory=set)
    everything: bool = False
    refs: set[tuple[str, str]] = field(default_factory=set)
    position: int = 0


class EventService:
    def __init__(self, services: "Services") -> None:
        self.services = services
        self._registrations: dict[str, _Registration] = {}

    # --- helpers ------------------------------------------------------------------------------
    @property
    def event_classes(self) -> list[str]:
        return self.services.event_classes

    def parse_subscription(self, classes: list[str]) -> Subscription:
        names: set[str] = set()
        refs: set[tuple[str, str]] = set()
        everything = False
        for entry in classes:
            if entry == "*":
                everything = True
                continue
            cls_name, _, ref = entry.partition("/")
            cdef = self.services.model.find_class(cls_name)
            if cdef is None or cdef.name not in self.services.event_class_set or (
                    _ and not ref):
                raise XenAPIError("EVENT_SUBSCRIPTION_PARSE_FAILURE", entry)
            if ref:
                refs.add((cdef.name, ref))
            else:
                names.add(cdef.name)
        return Subscription(None if everything else frozenset(names), frozenset(refs))

    def _event(self, ch: Change, legacy: bool = False) -> dict[str, Any]:
        ev: dict[str, Any] = {"id": ch.generation, "timestamp": ch.timestamp,
                              "class": ch.cls.lower(), "operation": ch.operation, "ref": ch.ref}
        if legacy:
            ev["obj_uuid"] = ch.uuid
        if ch.record is not None:
            ev["snapshot"] = ch.record
        return ev

    # --- event.from ---------------------------------------------------------------------------
    async def event_from(self, session: "SessionInfo", classes: list[str], token: str,
                         timeout: float) -> dict[str, Any]:
        sub = self.parse_subscription(classes)
        since = parse_token(token)
        deadline = time.monotonic() + check_timeout(timeout)
        store = self.services.store
        sessions = self.services.sessions
        while True:
            current = store.generation
            changes = store.changes_since(since, sub.classes, sub.refs)
            if 0 < since < store.horizon:   # deletions after the token may be forgotten
                raise XenAPIError("EVENTS_LOST")
            remaining = deadline - time.monotonic()
            if changes or remaining <= 0:
                break
            await store.wait_for_change(current, remaining)
            if sessions.get(session.ref) is None:
                raise XenAPIError("SESSION_INVALID", session.ref)
        # like xapi: the live-object count of every class (subscribed or not), task included
        counts = {c.lower(): len(store.records(c)) for c in self.event_classes}
        return {"events": [self._event(ch) for ch in changes], "valid_ref_counts": counts,
                "token": make_token(current)}

    async def inject(self, cls: str, ref: str) -> str:
        cdef = self.services.model.find_class(cls)
        if cdef is None or cdef.name not in self.services.event_class_set:
            raise XenAPIError("EVENT_SUBSCRIPTION_PARSE_FAILURE", cls)
        store = self.services.store
        if store.get(cdef.name, ref) is None:
            raise XenAPIError("HANDLE_INVALID", cdef.name, ref)
        async with store.transaction() as txn:
            txn.touch(cdef.name, ref)
        return make_token(txn.generation)

    def current_id(self) -> int:
        return self.services.store.generation

    # --- legacy: register / unregister / next -------------------------------------------------
    def register(self, session: "SessionInfo", classes: list[str]) -> None:
        sub = self.parse_subscription(classes)
        reg = self._registrations.get(session.ref)
        if reg is None:
            reg = self._registrations[session.ref] = _Registration(
                position=self.services.store.generation)
        if sub.classes is None:
            reg.everything = True
        else:
            reg.classes |= sub.classes
        reg.refs |= sub.refs

    def unregister(self, session: "SessionInfo", classes: list[str]) -> None:
        sub = self.parse_subscription(classes)
        reg = self._registrations.get(session.ref)
        if reg is None:
            return
        if sub.classes is None:
            reg.everything = False
            reg.classes.clear()
        else:
            reg.classes -= sub.classes
        reg.refs -= sub.refs
        if not reg.everything and not reg.classes and not reg.refs:
            del self._registrations[session.ref]

    async def next(self, session: "SessionInfo") -> list[dict[str, Any]]:
        store = self.services.store
        sessions = self.services.sessions
        while True:
            reg = self._registrations.get(session.ref)
            if reg is None:
                raise XenAPIError("SESSION_NOT_REGISTERED", session.ref)
            current = store.generation
            if reg.position < store.horizon:
                reg.position = current
                raise XenAPIError("EVENTS_LOST")
            changes = store.changes_since(
                reg.position, None if reg.everything else frozenset(reg.classes),
                frozenset(reg.refs))
            if len(changes) > LEGACY_QUEUE_MAX:
                reg.position = current
                raise XenAPIError("EVENTS_LOST")
            if changes:
                reg.position = current
                return [self._event(ch, legacy=True) for ch in changes]
            await store.wait_for_change(current, MAX_TIMEOUT)
            if sessions.get(session.ref) is None:
                raise XenAPIError("SESSION_INVALID", session.ref)

    def session_closed(self, ref: str) -> None:
        self._registrations.pop(ref, None)
