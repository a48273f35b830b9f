"""The local Unix socket: safe creation and the peer's credentials.

Callers on this socket are trusted by uid (SO_PEERCRED): uid 0 is the local superuser, as on
xapi's /var/lib/xcp/xapi. The Python SDK reaches a socket only through `xapi_local()`-style
URLs whose host part has "_" turned into "/", so a path with "_" could never be reached and is
refused up front.
"""
from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
import struct
import tempfile

_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid

#: the socket `serve --unix` listens on when given no path, and where `xe` connects without
#: -s: xapi's own path. The XENAPI_SOCKET environment variable overrides it for both.
DEFAULT_PATH = "/var/lib/xcp/xapi"


def default_path() -> str:
    return os.environ.get("XENAPI_SOCKET") or DEFAULT_PATH


class UnixSocketError(Exception):
    """The socket path cannot be used (the message says why)."""


def validate_path(path: str) -> str:
    """The absolute form of `path`, or UnixSocketError if clients could not reach it."""
    if not path:
        raise UnixSocketError("the Unix socket path is empty")
    if "_" in path:
        raise UnixSocketError(
            f"Unix socket path {path!r} contains '_': the XenAPI Python SDK's xapi_local "
            "transport turns '_' into '/', so no client could reach it; choose a path without "
            "underscores")
    full = os.path.abspath(path)
    if len(os.fsencode(full)) >= 108:  # sun_path, including its NUL
        raise UnixSocketError(f"Unix socket path {full!r} is too long (at most 107 bytes)")
    return full


def _in_use(path: str) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        return False
    finally:
        probe.close()
    return True


def listen(path: str, mode: int = 0o600, backlog: int = 128) -> socket.socket:
    """A listening socket at `path` (parent directories created 0755) with permissions `mode`.

    The socket is bound in a private directory and renamed into place, so it is never reachable
    with looser permissions than `mode`. A stale socket file (nobody listening) is replaced; a
    live one or any other kind of file is an error.
    """
    if mode & ~0o770:
        raise UnixSocketError(f"socket mode {mode:o} grants access to others; use 0600 or 0660")
    path = validate_path(path)
    parent = os.path.dirname(path)
    os.makedirs(parent, mode=0o755, exist_ok=True)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISSOCK(st.st_mode):
            raise UnixSocketError(f"{path} exists and is not a socket")
        if _in_use(path):
            raise UnixSocketError(f"{path} is in use by another server")
    private = tempfile.mkdtemp(dir=parent, prefix=".sock-")  # mode 0700
    tmp = os.path.join(private, "s")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    placed = False
    try:
        sock.bind(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        placed = True
        sock.listen(backlog)
    except BaseException:
        sock.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path if placed else tmp)
        raise
    finally:
        os.rmdir(private)
    sock.setblocking(False)
    return sock


def peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end of a connected Unix socket."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    return _UCRED.unpack(raw)


def remove(path: str) -> None:
    """Remove the socket file if it is still a socket (never anything else)."""
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except OSError as e:
        if e.errno != errno.ENOENT:
            raise
