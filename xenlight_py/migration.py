"""Live migration between two contexts over a connected stream socket, as ``xl migrate``
does it with libxl 4.17 (which has no migrate call):

* the sender writes ``libxl_domain_suspend(LIVE)`` into the socket;
* the receiver restores it (``create_restore``, stream_version 2) as ``NAME--incoming``,
  paused, and says whether that worked;
* the sender renames its suspended copy ``NAME--migratedaway`` and clears the receiver to
  unpause: the commit point;
* the receiver renames its copy ``NAME``, unpauses it and reports; the sender destroys its
  copy.

Before the commit any failure rolls back: the receiver destroys its copy, the sender
resumes its own (suspend_cancel). A receiver that cannot unpause destroys its copy and
reports it; the sender then takes its name back and resumes. If the connection breaks after
the sender cleared the receiver but before its report, neither side can know which copy
runs (xl: "domain state is now undefined"): :class:`MigrationUndefined`, and the sender's
copy is left suspended (never two running copies).

Control messages after the stream are 5 bytes: a tag and a big-endian int32 libxl rc.
``migrate_send``/``migrate_receive`` take either end of a socket (two hosts: a TCP
connection between two processes); :func:`migrate` runs both in one process over a
socketpair (localhost migration, or two contexts in tests).
"""
from __future__ import annotations

import dataclasses
import socket
import struct
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from .errors import ERROR_FAIL, XenlightError
from .types import DomainConfig, ShutdownReason

if TYPE_CHECKING:
    from .context import Context

_MSG = struct.Struct(">ci")
READY, GO, DONE = b"R", b"G", b"D"
INCOMING, AWAY = "--incoming", "--migratedaway"


class MigrationFailed(XenlightError):
    """The migration did not happen; the domain runs on the source (rolled back). ``rc``
    and ``function`` are those of the step that failed; the cause is chained."""


class MigrationUndefined(XenlightError):
    """The connection broke between the commit and the receiver's report: the source's copy
    is left suspended (renamed NAME--migratedaway); only the destination knows whether its
    copy runs. Resolve by asking it, then resume or destroy the source's copy."""


def _fail(msg: str, cause: BaseException | None = None, cls: type = MigrationFailed) -> Any:
    if isinstance(cause, XenlightError):
        return cls(cause.rc, cause.name, msg, cause.function, cause.log)
    return cls(ERROR_FAIL, "fail", msg)


def _send(sock: socket.socket, tag: bytes, rc: int = 0) -> bool:
    try:
        sock.sendall(_MSG.pack(tag, rc))
        return True
    except OSError:
        return False


def _recv(sock: socket.socket) -> tuple[bytes, int] | None:
    """One message, or None if the peer went away."""
    buf = b""
    try:
        while len(buf) < _MSG.size:
            chunk = sock.recv(_MSG.size - len(buf))
            if not chunk:
                return None
            buf += chunk
    except OSError:
        return None
    return _MSG.unpack(buf)


def _retry(fn: Any, *args: Any, tries: int = 3) -> None:
    for i in range(tries):
        try:
            fn(*args)
            return
        except XenlightError:
            if i == tries - 1:
                raise
            time.sleep(0.05 * (i + 1))


def _roll_back(ctx: Context, domid: int, name: str | None) -> None:
    """Make the source's copy run again: its name back, resumed if it was suspended."""
    if name is not None and ctx.domid_to_name(domid) != name:
        _retry(ctx.rename, domid, name)
    info = ctx.domain_info(domid)
    if info.shutdown and info.shutdown_reason == ShutdownReason.SUSPEND:
        _retry(ctx.resume, domid, True)


def migrate_send(ctx: Context, domid: int, sock: socket.socket, live: bool = True,
                 before_commit: Callable[[], None] | None = None) -> None:
    """The source side: stream ``domid`` into ``sock`` and commit with the receiver. On
    return the destination's copy runs and this host's copy is destroyed. Raises
    :class:`MigrationFailed` (the domain runs here again) or :class:`MigrationUndefined`.
    ``before_commit`` runs once both copies are stopped (here suspended, there restored
    paused), before the commit; an exception from it rolls back (a storage motion copies
    the disks there, which nothing writes meanwhile)."""
    name = ctx.domid_to_name(domid)
    try:
        ctx.suspend(domid, sock, live=live)
    except XenlightError as e:
        # The receiver sees the stream end; nothing it restored will be unpaused.
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        _roll_back(ctx, domid, None)
        raise _fail(f"migration of domain {domid}: the stream failed: {e.message}", e) from e
    msg = _recv(sock)
    if msg != (READY, 0):
        _roll_back(ctx, domid, None)
        why = "the receiver went away" if msg is None else \
            f"the receiver could not restore it (libxl error {msg[1]})"
        raise _fail(f"migration of domain {domid}: {why}")
    if before_commit is not None:
        try:
            before_commit()
        except Exception as e:  # noqa: BLE001 - any failure before the commit rolls back
            sock.close()                # the receiver destroys its copy on EOF
            _roll_back(ctx, domid, None)
            raise _fail(f"migration of domain {domid}: before the commit: {e}", e) from e
    try:
        ctx.rename(domid, name + AWAY, name)
    except XenlightError as e:
        sock.close()                    # the receiver destroys its copy on EOF
        _roll_back(ctx, domid, name)
        raise _fail(f"migration of domain {domid}: rename away failed: {e.message}", e) from e
    if not _send(sock, GO):
        _roll_back(ctx, domid, name)
        raise _fail(f"migration of domain {domid}: the receiver went away before the commit")
    msg = _recv(sock)
    if msg is None:
        raise _fail(f"migration of domain {domid}: no report from the receiver after the "
                    f"commit: the domain state is undefined (the copy here stays suspended as "
                    f"{name + AWAY!r})", cls=MigrationUndefined)
    if msg != (DONE, 0):
        _roll_back(ctx, domid, name)
        raise _fail(f"migration of domain {domid}: the receiver could not start its copy "
                    f"(libxl error {msg[1]}); resumed here")
    _retry(ctx.destroy, domid)


def migrate_receive(ctx: Context, sock: socket.socket, cfg: DomainConfig,
                    commit: Callable[[int], None] | None = None) -> int:
    """The destination side: restore the stream from ``sock`` as ``NAME--incoming`` (paused),
    wait for the sender's commit, then run it as ``cfg.name``. Returns its domid; raises
    :class:`MigrationFailed` with nothing left here (close the socket then: a TCP sender
    still writing the stream sees its end only once it is closed).

    ``commit(domid)``, if given, runs once the sender cleared this side and before the copy
    here is unpaused: the caller's own point of no return (a toolstack records the VM as
    running here). If it raises, the copy here is destroyed and the sender told, which
    resumes its own: the migration did not happen."""
    incoming = dataclasses.replace(cfg, name=cfg.name + INCOMING)
    try:
        domid = ctx.create_restore(incoming, sock, paused=True)
    except XenlightError as e:
        _send(sock, READY, e.rc)
        try:                    # the sender's next write fails (a TCP peer: once closed)
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise _fail(f"incoming migration of {cfg.name!r}: restore failed: {e.message}",
                    e) from e
    if not _send(sock, READY) or _recv(sock) != (GO, 0):
        _retry(ctx.destroy, domid)
        raise _fail(f"incoming migration of {cfg.name!r}: the sender did not commit; "
                    f"domain {domid} destroyed")
    if commit is not None:
        try:
            commit(domid)
        except BaseException as e:  # noqa: BLE001 - any failure to commit is a roll back
            _retry(ctx.destroy, domid)
            _send(sock, DONE, ERROR_FAIL)
            raise _fail(f"incoming migration of {cfg.name!r}: not committed ({e}); domain "
                        f"{domid} destroyed") from e
    try:
        ctx.rename(domid, cfg.name, incoming.name)
        ctx.unpause(domid)
    except XenlightError as e:
        _retry(ctx.destroy, domid)
        _send(sock, DONE, e.rc)
        raise _fail(f"incoming migration of {cfg.name!r}: could not start domain {domid}: "
                    f"{e.message}", e) from e
    _send(sock, DONE)
    return domid


def migrate(src: Context, domid: int, dst: Context, cfg: DomainConfig,
            live: bool = True) -> int:
    """Migrate ``domid`` from ``src`` to ``dst`` over a socketpair, the receiver in a
    thread (both contexts in this process: localhost migration, or tests). Returns the
    destination domid; raises the sender's error (the receiver's is chained)."""
    a, b = socket.socketpair()
    result: dict[str, Any] = {}

    def receive() -> None:
        try:
            result["domid"] = migrate_receive(dst, b, cfg)
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            result["error"] = e
        finally:
            b.close()

    t = threading.Thread(target=receive, name="xenlight-migrate-receive", daemon=True)
    t.start()
    try:
        migrate_send(src, domid, a, live=live)
    except XenlightError as e:
        a.close()
        t.join()
        if "error" in result and e.__cause__ is None:
            raise e from result["error"]
        raise
    a.close()
    t.join()
    if "error" in result:
        raise result["error"]
    return int(result["domid"])


__all__ = ["MigrationFailed", "MigrationUndefined", "migrate", "migrate_send",
           "migrate_receive"]
