"""How xe reaches the server: XML-RPC over the local Unix socket (default), HTTP or HTTPS.

A tiny client over the stdlib (xmlrpc.client with a Unix-socket transport); no SDK needed.
"""
from __future__ import annotations

import http.client
import os
import socket
import ssl
import xmlrpc.client
from dataclasses import dataclass
from typing import Any

from xenapi_impl.server.unixsock import default_path as default_socket

__all__ = ["Api", "Failure", "ConnectError", "Target", "default_socket"]


class Failure(Exception):
    """A XenAPI error: its code and string parameters."""

    def __init__(self, code: str, params: list[str]) -> None:
        super().__init__(code, *params)
        self.code = code
        self.params = params


class ConnectError(Exception):
    """The server cannot be reached (the message says why)."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float | None) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if self.timeout is not None:
            sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


class _UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path: str) -> None:
        super().__init__(use_datetime=False)
        self._socket_path = path

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        if self._connection[1] is None or self._connection[0] != host:
            self._connection = host, _UnixConnection(self._socket_path, None)
        return self._connection[1]


@dataclass
class Target:
    """Where to connect: a Unix socket path, or host/port with TLS or not."""

    socket: str | None = None
    host: str | None = None
    port: int | None = None
    tls: bool = True
    cafile: str | None = None

    def describe(self) -> str:
        if self.host is None:
            return f"unix:{self.socket}"
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"


class Api:
    """A logged-in XenAPI session: ``api.call("VM.get_all")`` returns the value or raises
    Failure; ``close()`` logs out."""

    def __init__(self, target: Target, user: str, password: str) -> None:
        self.target = target
        if target.host is None:
            path = target.socket or default_socket()
            if not os.path.exists(path):
                raise ConnectError(f"no XenAPI server socket at {path} (start the server with "
                                   f"--unix, or give -s HOST)")
            self._proxy = xmlrpc.client.ServerProxy("http://localhost/", _UnixTransport(path),
                                                    allow_none=True)
        else:
            scheme = "https" if target.tls else "http"
            host = f"[{target.host}]" if ":" in target.host else target.host
            kwargs: dict[str, Any] = {}
            if target.tls:
                if target.cafile:
                    kwargs["context"] = ssl.create_default_context(cafile=target.cafile)
                else:    # as xe without certificate checking: encrypted, peer not verified
                    ctx = ssl.create_default_context()
                    ctx.check_hostname = False
                    ctx.verify_mode = ssl.CERT_NONE
                    kwargs["context"] = ctx
            self._proxy = xmlrpc.client.ServerProxy(f"{scheme}://{host}:{target.port}/",
                                                    allow_none=True, **kwargs)
        self.session = ""
        self.session = self._raw("session.login_with_password", user, password, "2.21", "xe")

    def _raw(self, method: str, *args: Any) -> Any:
        try:
            reply = getattr(self._proxy, method)(*args)
        except (OSError, http.client.HTTPException) as exc:
            raise ConnectError(f"{self.target.describe()}: {exc}") from exc
        except xmlrpc.client.ProtocolError as exc:
            raise ConnectError(f"{self.target.describe()}: HTTP {exc.errcode} {exc.errmsg}") \
                from exc
        if not isinstance(reply, dict) or "Status" not in reply:
            raise ConnectError(f"{self.target.describe()}: not a XenAPI server")
        if reply["Status"] == "Success":
            return reply.get("Value")
        desc = [str(x) for x in reply.get("ErrorDescription") or ["INTERNAL_ERROR"]]
        raise Failure(desc[0], desc[1:])

    def call(self, method: str, *args: Any) -> Any:
        """``method`` with the session first (``"VM.start"``, ``"Async.VM.start"``)."""
        return self._raw(method, self.session, *args)

    def close(self) -> None:
        if self.session:
            try:
                self._raw("session.logout", self.session)
            except (Failure, ConnectError):
                pass
            self.session = ""
