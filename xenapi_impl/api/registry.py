"""Registration of explicit message implementations.

    @implements("VM.start")
    async def start(ctx: Context, vm: str, start_paused: bool, force: bool) -> None: ...

The dispatcher has already checked arity, types (arguments arrive converted by the model's
XType.check), the session, RBAC and that every reference argument names a live object.
An implementation reads and writes through `ctx.txn` (committed when it returns, discarded if
it raises), raises XenAPIError for failures, and, when run as a task, may look at
`ctx.task.cancelled` / call `ctx.task.check_cancelled()` at points where stopping is safe.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable

Impl = Callable[..., Awaitable[Any]]

IMPLEMENTATIONS: dict[str, Impl] = {}
#: parameters that may be OpaqueRef:NULL (every other reference argument must name a live object)
NULLABLE: dict[str, frozenset[str]] = {}


def implements(full_name: str, *, nullable: tuple[str, ...] = ()) -> Callable[[Impl], Impl]:
    """Register `fn` as the implementation of message `full_name` ("Class.message")."""
    def register(fn: Impl) -> Impl:
        if full_name in IMPLEMENTATIONS:
            raise ValueError(f"{full_name} is implemented twice")
        IMPLEMENTATIONS[full_name] = fn
        NULLABLE[full_name] = frozenset(nullable)
        return fn
    return register


def implements_setter(full_name: str, field: str) -> None:
    """Register the plain setter of an explicit message: "Class.set_x" writes `field` of the
    object (the dispatcher has checked the value's type and that the reference is live)."""
    cls = full_name.split(".", 1)[0]

    async def set_field(ctx: Any, self: str, value: Any) -> None:
        ctx.txn.update(cls, self, {field: value})
    implements(full_name)(set_field)
