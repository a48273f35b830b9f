"""What the data-moving HTTP handlers share (export/import of VDIs and VMs, the console):
authentication, the task that reports progress, and byte streams bridged to worker threads.

Authentication, as xapi's HTTP handlers take it: `session_id` in the query (or a cookie), or
HTTP basic auth (a session is opened for the request and closed after it). The caller's role
must hold the permission of the XenAPI message the handler stands for (`rbac.check`).

Tasks: a `task_id` in the query names a task the client made (task.create); otherwise the
handler makes one. Its progress follows the bytes moved; it ends `success` (with a result) or
`failure` (with the error), which is also the HTTP answer.

In a pool, sessions and tasks live on the host that made them (the master, for clients), and
clients use them on every host, as xapi's are the pool's: Xen Orchestra reads each host's
/rrd_updates and opens consoles and disk transfers on the VM's or the SR's host with the
master's session and a task it made there. A session or task this host does not know is
asked of the master (pool channel: TLS pinned, pool secret), on each request, so a logout or
a cancellation there counts at once; the task's progress and end are reported to it.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, TypeVar

from aiohttp import web

from ..api.context import Context, TaskCancelled, TaskHandle
from ..api.host_agent import RelayedTask, RemoteAgent
from ..api.pool_role import role_of
from ..errors import XenAPIError
from ..store import NULL_REF, NoSuchObject
from . import rbac
from .http import caller_of
from .sessions import SessionInfo

log = logging.getLogger(__name__)
T = TypeVar("T")


def text(status: int, body: str, **headers: str) -> web.Response:
    return web.Response(status=status, text=body.rstrip("\n") + "\n",
                        content_type="text/plain", headers=headers)


def error_text(exc: XenAPIError) -> str:
    return " ".join([exc.code, *map(str, exc.params)])


class HttpFailure(Exception):
    """Answer the request with `response` (auth or argument errors, before any task)."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.text)
        self.response = response


@dataclass
class Request:
    """An authenticated request: its Context (with the task) and how to finish."""
    ctx: Context
    logout: bool
    #: the host whose task this is, when not this one (the client's task on the master)
    task_host: str | None = None

    @property
    def services(self) -> Any:
        return self.ctx.services

    @property
    def task(self) -> TaskHandle:
        assert self.ctx.task is not None
        return self.ctx.task


async def authenticate(services: Any, request: web.Request, method: str,
                       query: Any = None) -> tuple[str, Any, bool]:
    """(session ref, SessionInfo, opened here) or HttpFailure(401/403)."""
    sessions = services.sessions
    query = request.query if query is None else query
    ref = query.get("session_id") or request.cookies.get("session_id")
    opened = False
    if not ref:
        auth = request.headers.get("Authorization", "")
        if not auth.lower().startswith("basic "):
            raise HttpFailure(text(401, "authentication needed: session_id=... or basic auth",
                                   **{"WWW-Authenticate": 'Basic realm="xapi"'}))
        try:
            user, _, pwd = base64.b64decode(auth[6:].strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise HttpFailure(text(401, "malformed basic authorization")) from None
        try:
            ref = await sessions.login(caller_of(request), user, pwd, "http")
        except XenAPIError as exc:
            raise HttpFailure(text(401, error_text(exc),
                                   **{"WWW-Authenticate": 'Basic realm="xapi"'})) from None
        opened = True
    try:
        info = await session_of(services, ref)
        msg = services.model.methods[method]
        rbac.check(method, msg.roles, info.role, info.local_superuser)
    except XenAPIError as exc:
        if opened:
            await sessions.logout(ref)
        raise HttpFailure(text(401 if exc.code == "SESSION_INVALID" else 403,
                               error_text(exc))) from None
    return ref, info, opened


def _master(services: Any) -> str | None:
    """The pool's master when it is another host (whose sessions and tasks clients use
    here), else None."""
    if not services.store.shared:
        return None
    master = role_of(services).master_ref()
    return None if master in (NULL_REF, services.host_ref) else master


async def session_of(services: Any, ref: str) -> SessionInfo:
    """The live session `ref`: one opened here, or in a pool one the master opened (asked
    each time); else SESSION_INVALID [ref]."""
    try:
        return services.sessions.validate(ref)
    except XenAPIError as exc:
        master = _master(services)
        if exc.code != "SESSION_INVALID" or master is None:
            raise
    try:
        got = await RemoteAgent(services, master).session(ref)
        now = time.monotonic()
        return SessionInfo(ref, str(got["user"]), str(got["role"]), str(got["originator"]),
                           bool(got["local_superuser"]), now, now)
    except XenAPIError as exc:
        if exc.code == "HOST_OFFLINE":
            log.info("session %s… not known here and the master is unreachable", ref[:20])
        raise XenAPIError("SESSION_INVALID", ref) from None
    except (KeyError, TypeError):
        raise XenAPIError("SESSION_INVALID", ref) from None


async def begin(services: Any, request: web.Request, method: str, label: str) -> Request:
    """Authenticate, then take the client's task (`task_id`) or make one."""
    ref, info, opened = await authenticate(services, request, method)
    task_host = None
    try:
        task = request.query.get("task_id")
        if task:
            rec = services.store.get("task", task)
            status = rec["status"] if rec is not None else None
            if rec is None and (master := _master(services)) is not None:
                try:
                    status = await RemoteAgent(services, master).call("task.get_status",
                                                                      [task])
                    task_host = master
                except XenAPIError:
                    status = None
            if status is None:
                raise HttpFailure(text(404, f"HANDLE_INVALID task {task}"))
            if status != "pending":
                raise HttpFailure(text(400, f"task {task} is {status}, not pending"))
        else:
            task = await services.tasks.create(label, f"HTTP {request.method} {request.path}",
                                               owner=info.user)
    except BaseException:
        if opened:
            await services.sessions.logout(ref)
        raise
    handle = TaskHandle(task, services) if task_host is None else RelayedTask(
        task, services, task_host)
    ctx = Context(services, caller_of(request), method, services.store.transaction(), ref,
                  info, handle)
    return Request(ctx, opened, task_host)


async def finish(req: Request, *, result: Any = None, error: XenAPIError | None = None,
                 cancelled: bool = False) -> None:
    """End the task (success with `result`, failure, cancelled) and close a basic-auth session."""
    services = req.services
    ref = req.task.ref
    try:
        if req.task_host is not None:
            await _finish_remote(req, result, error, cancelled)
        elif services.store.get("task", ref) is not None:
            if cancelled:
                status, extra = "cancelled", {}
            elif error is not None:
                status, extra = "failure", {"error_info": error.description}
            else:
                status, extra = "success", {
                    "progress": 1.0,
                    "result": "" if result is None else services.value_fragment(result)}
            import datetime as _dt
            try:
                async with services.store.transaction() as txn:
                    txn.update("task", ref, {"status": status, "allowed_operations": [],
                                             "current_operations": {},
                                             "finished": _dt.datetime.now(_dt.timezone.utc),
                                             **extra})
            except NoSuchObject:
                pass
    finally:
        if req.logout:
            await services.sessions.logout(req.ctx.session_ref)


async def _finish_remote(req: Request, result: Any, error: XenAPIError | None,
                         cancelled: bool) -> None:
    """End the client's task on the host that holds it: result or error first, the status
    last (a client waiting for the status reads the rest with it). A failure to report is
    logged: the transfer itself is done."""
    services, ref = req.services, req.task.ref
    agent = RemoteAgent(services, req.task_host)
    try:
        if cancelled:
            await agent.call("task.set_status", [ref, "cancelled"])
        elif error is not None:
            await agent.call("task.set_error_info", [ref, error.description])
            await agent.call("task.set_status", [ref, "failure"])
        else:
            await agent.call("task.set_result", [
                ref, "" if result is None else services.value_fragment(result)])
            await agent.call("task.set_progress", [ref, 1.0])
            await agent.call("task.set_status", [ref, "success"])
    except XenAPIError as exc:
        log.warning("could not end task %s on its host: %s", ref, error_text(exc))


async def export_failed(req: Request, exc: Exception,
                        response: web.StreamResponse | None) -> web.StreamResponse:
    """End a download's task after `exc` (cancelled, a XenAPI error, the client gone or an
    I/O error); the response already started is returned as it is, else a 500."""
    if isinstance(exc, TaskCancelled):
        await finish(req, cancelled=True)
        fallback = "cancelled"
    elif isinstance(exc, XenAPIError):
        await finish(req, error=exc)
        fallback = error_text(exc)
    else:
        await finish(req, error=XenAPIError("CLIENT_ERROR", str(exc)))
        fallback = str(exc)
    return response if response is not None else text(500, fallback)


async def import_failed(req: Request, exc: Exception) -> web.Response:
    """End an upload's task after `exc`: cancelled, its XenAPI error, or anything else (a
    broken upload: payload errors, I/O) as IMPORT_ERROR; the connection is closed, since the
    rest of the body was not read."""
    if isinstance(exc, TaskCancelled):
        await finish(req, cancelled=True)
        return text(500, "cancelled", **{"Task-Id": req.task.ref})
    if not isinstance(exc, XenAPIError):
        exc = XenAPIError("IMPORT_ERROR", f"the upload failed: {type(exc).__name__}: {exc}")
    await finish(req, error=exc)
    r = text(500, error_text(exc), **{"Task-Id": req.task.ref})
    r.force_close()
    return r


class Progress:
    """Moves the task's progress as bytes go by (at most every 0.2 s), from any thread, and
    raises TaskCancelled in the mover once task.cancel reached the task."""

    def __init__(self, req: Request, total: int, loop: asyncio.AbstractEventLoop) -> None:
        self.req = req
        self.total = max(total, 1)
        self.done = 0
        self.loop = loop
        self._last = 0.0

    def add(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last < 0.2:
            return
        self._last = now
        self.check_cancelled()
        frac = min(self.done / self.total, 0.99)
        asyncio.run_coroutine_threadsafe(self.req.task.set_progress(frac), self.loop)


    def check_cancelled(self) -> None:
        """task.cancel on a task.create'd task marks its record only: look there too."""
        self.req.task.check_cancelled()
        rec = self.req.services.store.get("task", self.req.task.ref)
        if rec is not None and rec["status"] in ("cancelling", "cancelled"):
            raise TaskCancelled(self.req.task.ref)


def on_loop(loop: asyncio.AbstractEventLoop, coro: Awaitable[T]) -> T:
    """Run a coroutine on the event loop from a worker thread and wait for its value."""
    return asyncio.run_coroutine_threadsafe(coro, loop).result()  # type: ignore[arg-type]


class BodyReader:
    """The request body as a blocking `read(n)` for a worker thread (b"" at its end)."""

    def __init__(self, request: web.Request, loop: asyncio.AbstractEventLoop,
                 progress: Progress | None = None) -> None:
        self.content = request.content
        self.loop = loop
        self.progress = progress
        self.total = 0

    def read(self, n: int) -> bytes:
        data = on_loop(self.loop, self.content.read(n))
        self.total += len(data)
        if self.progress is not None:
            self.progress.add(len(data))
        return data

    def read_exact(self, n: int) -> bytes:
        """`n` bytes, fewer only at the body's end (one hop to the loop, not one per packet)."""
        async def gather() -> bytes:
            try:
                return await self.content.readexactly(n)
            except asyncio.IncompleteReadError as exc:
                return exc.partial
        data = on_loop(self.loop, gather())
        self.total += len(data)
        if self.progress is not None:
            self.progress.add(len(data))
        return data


async def run_in_thread(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)
