"""xe's command line: connection switches, then ``<command> key=value ... --flag``.

- connection: ``-s HOST`` (or ``-h``), ``-p PORT``, ``-u USER``, ``-pw PASSWORD``,
  ``-pwf FILE`` / ``--password-file FILE`` (user on the first line, password on the second),
  ``--nossl`` (plain HTTP), ``--cafile FILE`` (verify the server's certificate); also as
  ``server=``, ``port=``, ``username=``, ``password=``, ``passwordfile=``. Without -s: the
  local Unix socket.
- the command's parameters: ``key=value`` (the value may hold "="), ``--name`` is
  ``name=true`` (``--minimal``, ``--multiple``, ``--force``, ``--all``), a bare word is
  ``word=`` (empty value), as xapi parses them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from xenapi_impl.xe.transport import Target, default_socket

#: parameters every command accepts (not field filters)
STD_PARAMS = ("minimal", "force", "multiple", "all", "message-priority", "trace")

_CONN_SWITCHES = {"-s": "server", "-h": "server", "-p": "port", "-u": "username",
                  "-pw": "password", "-pwf": "passwordfile", "--password-file": "passwordfile",
                  "--cafile": "cafile"}
_CONN_KEYS = ("server", "port", "username", "password", "passwordfile")


class UsageError(Exception):
    """A command line xe cannot run: printed as ``<prefix>: <detail>`` and a hint."""

    def __init__(self, prefix: str, detail: str) -> None:
        super().__init__(f"{prefix}: {detail}" if prefix else detail)
        self.prefix = prefix
        self.detail = detail


class CliFailure(Exception):
    """A failure on the client side, printed as ``Error: <message>`` (xe's Cli_failure)."""


@dataclass
class Connection:
    server: str | None = None
    port: int | None = None
    username: str = ""
    password: str = ""
    passwordfile: str | None = None
    nossl: bool = False
    cafile: str | None = None

    def target(self) -> Target:
        if self.server is None:
            return Target(socket=default_socket())
        tls = not self.nossl
        return Target(host=self.server, port=self.port or (443 if tls else 80), tls=tls,
                      cafile=self.cafile)

    def credentials(self) -> tuple[str, str]:
        if self.passwordfile:
            try:
                with open(self.passwordfile) as f:
                    lines = f.read().splitlines()
            except OSError:
                raise CliFailure(f"opening password file '{self.passwordfile}'") from None
            if len(lines) < 2:
                raise CliFailure("password file format: expecting username on the first "
                                 "line, password on the second line")
            return lines[0], lines[1]
        if self.server is None and not self.username:
            return "root", ""         # the local superuser needs no password on the socket
        return self.username, self.password


@dataclass
class Invocation:
    command: str
    params: dict[str, str] = field(default_factory=dict)
    conn: Connection = field(default_factory=Connection)

    def flag(self, name: str) -> bool:
        return self.params.get(name, "false").lower() == "true"


def _set_conn(conn: Connection, key: str, value: str) -> None:
    if key == "port":
        if not value.isdigit() or not 0 <= int(value) <= 65535:
            raise UsageError("", "Port number must be an integer (0-65535)")
        conn.port = int(value)
    else:
        setattr(conn, key, value)


def parse(argv: list[str]) -> Invocation | None:
    """The invocation, or None when there is no command (xe then prints its usage)."""
    conn = Connection()
    rest: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in _CONN_SWITCHES:
            if i + 1 >= len(argv):
                raise UsageError("Syntax error", f"Switch {a} requires a parameter")
            _set_conn(conn, _CONN_SWITCHES[a], argv[i + 1])
            i += 2
            continue
        if a == "--nossl":
            conn.nossl = True
        else:
            key, eq, value = a.partition("=")
            if eq and key in _CONN_KEYS:
                _set_conn(conn, key, value)
            else:
                rest.append(a)
        i += 1
    if not rest:
        return None
    command, args = rest[0], rest[1:]
    if "=" in command:
        raise UsageError("Syntax error", "command name is missing")
    if command.startswith("-"):
        raise UsageError("Syntax error", f"Unknown switch: {command}")
    params: dict[str, str] = {}
    for a in args:
        if a.startswith("--"):
            key, value = a[2:], "true"
        elif a.startswith("-"):
            raise UsageError("Syntax error", f"Unknown switch: {a}")
        else:
            key, _, value = a.partition("=")
        if key in params:
            raise CliFailure(f"Parameter {key} is defined multiple times, define it only once.")
        params[key] = value
    return Invocation(command, params, conn)
