"""What a message implementation receives besides its arguments."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import XenAPIError
from .caller import Caller

if TYPE_CHECKING:
    from ..server.app import Services
    from ..server.sessions import SessionInfo
    from ..store import Transaction

#: the statuses that end a task
FINISHED = ("success", "failure", "cancelled")


class TaskCancelled(Exception):
    """Raised by TaskHandle.check_cancelled(); the task then ends `cancelled`."""


@dataclass(slots=True)
class TaskHandle:
    """The task an Async call runs under: progress reporting and the cancellation token."""

    ref: str
    services: "Services"
    cancelled: bool = False
    #: the host of the pool a forwarded call runs on for this task (task.cancel is relayed
    #: there), while it runs
    remote: str | None = None
    #: the task's success was committed with the call's last write (TaskManager.succeed_in)
    succeeded: bool = False

    def check_cancelled(self) -> None:
        if self.cancelled:
            raise TaskCancelled(self.ref)

    async def set_progress(self, progress: float) -> None:
        await self.services.tasks.set_progress(self.ref, progress)


@dataclass(slots=True)
class Context:
    services: "Services"
    caller: Caller
    method: str                        # full name of the message ("VM.start")
    txn: "Transaction"
    session_ref: str | None = None
    session: "SessionInfo | None" = None
    task: TaskHandle | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # every write of a message keeps the model's relation sets (VM.VBDs...) current
        self.txn = self.services.model.relations.wrap(self.txn)

    @property
    def store(self):  # noqa: ANN201 - the Store (read side)
        return self.services.store

    def fail(self, code: str, *params: object) -> XenAPIError:
        return XenAPIError(code, *params)
