"""Blocking binding calls, run off the event loop, with libxl failures turned into XenAPI
errors. The only place besides adapter.py that imports `xenlight_py`."""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import logging
import os
from typing import Any, Awaitable, Callable, TypeVar

from ..errors import XenAPIError

log = logging.getLogger(__name__)
T = TypeVar("T")

#: The binding's own workers. Not the loop's default executor: storage work (fsyncs) and other
#: blocking jobs queue there, and a start's hypervisor steps must not wait behind 1,000 queued
#: disk attaches. Few threads suffice: the calls are short and release the GIL.
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=min(8, 2 * (os.cpu_count() or 1)),
                                              thread_name_prefix="hypervisor")


async def in_pool(fn: Callable[..., T], *args: Any, **kw: Any) -> T:
    """``fn(*args, **kw)`` in the hypervisor's worker threads (context variables kept, like
    ``asyncio.to_thread``)."""
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kw)
    return await asyncio.get_running_loop().run_in_executor(_POOL, call)


#: migrations hold a thread each for their whole stream (a localhost migration two): their
#: own workers, so that they never starve (or wait behind) the short binding calls
_MIGRATIONS = concurrent.futures.ThreadPoolExecutor(max_workers=32,
                                                    thread_name_prefix="migration")


class MigrationError(Exception):
    """A live migration did not happen: the domain runs on the source again."""


class MigrationUndefined(MigrationError):
    """The link broke after the source cleared the destination: its copy is left suspended
    and only the destination's record says whether it took over."""


class NotAcknowledged(Exception):
    """The guest did not acknowledge a shutdown/reboot request (no PV control driver)."""


class Hypervisor:
    """Asynchronous face of one `xenlight_py.Context` (thread-safe, releases the GIL)."""

    def __init__(self, context: Any, kind: str) -> None:
        self.context = context
        self.kind = kind
        self._consoles: dict[Any, Any] = {}    # domid -> [tty fd, recent output]

    @property
    def sim(self) -> Any:
        return self.context.sim

    async def run(self, what: str, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """Run `fn` in a worker thread; a libxl failure becomes INTERNAL_ERROR naming `what`,
        the libxl function, its error and what libxl logged (libxl's only error text)."""
        return await in_pool(self.now, what, fn, *args, **kw)

    @staticmethod
    def now(what: str, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """`run` in the calling thread: for a worker call that makes several steps at once."""
        from xenlight_py import XenlightError
        try:
            return fn(*args, **kw)
        except XenlightError as exc:
            raise libxl_error(what, exc) from exc

    # host ------------------------------------------------------------------------------
    async def physinfo(self) -> Any:
        return await self.run("physinfo", self.context.physinfo)

    async def version_info(self) -> Any:
        return await self.run("version_info", self.context.version_info)

    async def free_memory_kib(self) -> int:
        return await self.run("free_memory", self.context.free_memory)

    async def list_domains(self) -> list[Any]:
        return await self.run("list_domains", self.context.list_domains)

    async def domain_info(self, domid: int) -> Any | None:
        """The domain's info, or None if it no longer exists."""
        from xenlight_py import DomainNotFound
        try:
            return await in_pool(self.context.domain_info, domid)
        except DomainNotFound:
            return None

    async def disk(self, domid: int, vdev: str) -> Any | None:
        """The disk ``vdev`` as the domain holds it (its target None for an empty drive),
        or None when the domain has no such disk."""
        from xenlight_py import DomainNotFound, NotFound
        try:
            return await in_pool(self.context.disk, domid, vdev)
        except (NotFound, DomainNotFound):
            return None
        except Exception as exc:  # noqa: BLE001 - mapped below
            from xenlight_py import XenlightError
            if isinstance(exc, XenlightError):
                raise libxl_error("disk lookup", exc) from exc
            raise

    async def add_disk(self, domid: int, cfg: Any, what: str = "disk hot-plug") -> None:
        await self.run(what, self.context.add_disk, domid, cfg)

    async def remove_disk(self, domid: int, vdev: str, what: str = "disk unplug") -> None:
        await self.run(what, self.context.remove_disk, domid, vdev)

    async def cdrom_insert(self, domid: int, vdev: str, path: str | None) -> None:
        """Change an HVM guest's CD media in place (None: eject)."""
        await self.run("cdrom insert", self.context.cdrom_insert, domid, vdev, path)

    async def add_nic(self, domid: int, cfg: Any) -> None:
        await self.run("nic hot-plug", self.context.add_nic, domid, cfg)

    async def remove_nic(self, domid: int, devid: int) -> None:
        await self.run("nic unplug", self.context.remove_nic, domid, devid)

    # domains ---------------------------------------------------------------------------
    async def create(self, cfg: Any, paused: bool) -> int:
        return await self.run("domain create", self.context.create_domain, cfg, paused=paused)

    async def free_memory_and_physinfo(self) -> tuple[int, Any]:
        """Free memory (KiB) and physinfo in one worker call: a start needs both, and each
        hop to a worker costs the event loop a wake-up and a GIL hand-over."""
        return await in_pool(self.free_memory_and_physinfo_now)

    def free_memory_and_physinfo_now(self) -> tuple[int, Any]:
        """The same in the calling (worker) thread."""
        ctx = self.context
        return self.now("free_memory", lambda: (ctx.free_memory(), ctx.physinfo()))

    def create_with_info_now(self, cfg: Any, paused: bool) -> tuple[int, Any]:
        """Create the domain and read its info, in the calling (worker) thread: (domid,
        info), info None if the domain is already gone, or the exception reading it raised
        (the caller destroys the domain it names)."""
        from xenlight_py import DomainNotFound
        domid = self.now("domain create", self.context.create_domain, cfg, paused=paused)
        try:
            return domid, self.context.domain_info(domid)
        except DomainNotFound:
            return domid, None
        except Exception as exc:  # noqa: BLE001 - handed to the caller with the domid
            return domid, exc

    async def create_restore(self, cfg: Any, path: str, paused: bool) -> int:
        return await self.run("domain restore", self.context.create_restore, cfg, path,
                              paused=paused)

    async def destroy(self, domid: int) -> None:
        """Destroy the domain; one that is already gone is not an error."""
        from xenlight_py import DomainNotFound
        try:
            await in_pool(self.context.destroy, domid)
        except DomainNotFound:
            pass
        except Exception as exc:  # noqa: BLE001 - mapped below
            from xenlight_py import XenlightError
            if isinstance(exc, XenlightError):
                raise libxl_error("domain destroy", exc) from exc
            raise

    async def pause(self, domid: int) -> None:
        await self.run("domain pause", self.context.pause, domid)

    async def unpause(self, domid: int) -> None:
        await self.run("domain unpause", self.context.unpause, domid)

    async def suspend(self, domid: int, path: str) -> None:
        """Write the suspend image into the attached VDI at ``path`` (in place: a VDI is
        not a file to replace)."""
        await self.run("domain suspend", self.context.suspend, domid, path, in_place=True)

    async def resume_in_place(self, domid: int) -> None:
        """Let a domain suspended by :meth:`suspend` run on (the suspend cancelled: the
        guest carries on where it stopped, as after a checkpoint)."""
        await self.run("domain resume", self.context.resume, domid, True)

    async def migrate_send(self, domid: int, sock: Any, live: bool,
                           before_commit: Callable[[], Awaitable[None]] | None = None) -> None:
        """Stream the domain into the connected socket and commit with the receiver (see
        xenlight_py/migration.py). On return the domain runs on the destination and is gone
        here; MigrationError: it runs here (resumed); MigrationUndefined: see there.
        `before_commit` (a coroutine, run on this loop) runs while both copies are stopped."""
        import xenlight_py
        loop = asyncio.get_running_loop()
        hook = None if before_commit is None else (
            lambda: asyncio.run_coroutine_threadsafe(before_commit(), loop).result())
        call = functools.partial(xenlight_py.migrate_send, self.context, domid, sock, live,
                                 hook)
        try:
            await asyncio.get_running_loop().run_in_executor(_MIGRATIONS, call)
        except xenlight_py.MigrationUndefined as exc:
            raise MigrationUndefined(exc.message) from exc
        except xenlight_py.XenlightError as exc:
            raise MigrationError(str(exc)) from exc

    async def migrate_receive(self, cfg: Any, sock: Any,
                              commit: Callable[[int], Awaitable[None]]) -> int:
        """Restore an incoming domain from the socket, paused; once the sender clears it,
        `commit(domid)` (a coroutine, run on this loop) records it, then it is unpaused.
        Returns its domid; MigrationError with nothing left here."""
        import xenlight_py
        loop = asyncio.get_running_loop()

        def commit_sync(domid: int) -> None:
            asyncio.run_coroutine_threadsafe(commit(domid), loop).result()
        call = functools.partial(xenlight_py.migrate_receive, self.context, sock, cfg,
                                 commit_sync)
        try:
            return await loop.run_in_executor(_MIGRATIONS, call)
        except xenlight_py.XenlightError as exc:
            raise MigrationError(str(exc)) from exc

    async def core_dump(self, domid: int, path: str) -> None:
        await self.run("core dump", self.context.core_dump, domid, path)

    async def rename(self, domid: int, name: str) -> None:
        await self.run("domain rename", self.context.rename, domid, name)

    async def request_shutdown(self, domid: int, reboot: bool = False) -> Any:
        """Ask the guest to power off (or reboot) and return an event stream opened before
        asking, so the acknowledgement cannot be missed; the caller closes it."""
        from xenlight_py import Timeout
        stream = self.context.aevents([domid])
        try:
            await in_pool(self.context.reboot if reboot else self.context.shutdown, domid)
        except Timeout as exc:
            stream.close()
            raise NotAcknowledged(str(exc)) from exc
        except BaseException as exc:
            stream.close()
            from xenlight_py import XenlightError
            if isinstance(exc, XenlightError):
                raise libxl_error("domain reboot" if reboot else "domain shutdown",
                                  exc) from exc
            raise
        return stream

    async def console_text(self, domid: int, name: str = "") -> str:
        """What the guest wrote on its text console (hvc0) since this process first looked,
        its last 16 KiB: read from the console's tty (libxl_primary_console_get_tty), the
        same way on Xen (xenconsoled's pty) and on the simulator (which puts what the guest
        wrote before into a new tty first). "" when there is no tty to read."""
        return await in_pool(_console_read, self.context, self._consoles, domid)

    def events(self) -> Any:
        """Every domain's events, as an asyncio stream (domids=None)."""
        return self.context.aevents(None)


CONSOLE_KEEP = 16384


def _console_read(context: Any, readers: dict[int, Any], domid: int) -> str:
    """Drain the domain's console tty into its buffer (a worker thread)."""
    import os
    import termios
    import threading
    from xenlight_py import XenlightError
    lock = readers.setdefault("lock", threading.Lock())
    with lock:
        for _attempt in range(2):
            entry = readers.get(domid)
            if entry is None:
                try:
                    path = context.primary_console_tty(domid)
                    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
                except (XenlightError, OSError):
                    return ""
                try:
                    attrs = termios.tcgetattr(fd)       # raw: bytes as the guest wrote them
                    attrs[3] &= ~(termios.ICANON | termios.ECHO)
                    termios.tcsetattr(fd, termios.TCSANOW, attrs)
                except termios.error:
                    pass
                entry = readers[domid] = [fd, bytearray()]
            fd, buf = entry
            gone = False
            while True:
                try:
                    data = os.read(fd, 65536)
                except BlockingIOError:
                    break
                except OSError:         # EIO: the other side closed (the domain went away)
                    gone = True
                    break
                if not data:
                    gone = True
                    break
                buf += data
            del buf[:-CONSOLE_KEEP]
            if not gone:
                return buf.decode(errors="replace")
            os.close(fd)
            del readers[domid]              # a new domain may have that domid: look again
        return ""


def libxl_error(what: str, exc: Exception) -> XenAPIError:
    rc = getattr(exc, "rc", "?")
    name = getattr(exc, "name", type(exc).__name__)
    fn = getattr(exc, "function", "")
    lines = "; ".join(getattr(exc, "log_lines", None) or getattr(exc, "log", None) or [])
    text = f"{what} failed: {fn}: {name} (rc {rc})" + (f": {lines}" if lines else "")
    return XenAPIError("INTERNAL_ERROR", text)
