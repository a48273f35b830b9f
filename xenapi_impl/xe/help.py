"""``xe help [--all] [--minimal] [<command>...]``: answered from the command table alone (no
server needed), in xe's layout; the bash completion is generated from the same table."""
from __future__ import annotations

from xenapi_impl.xe.commands import Spec, Table
from xenapi_impl.xe.output import Printer

VM_SELECTORS = ["vm", "<vm field>=<value>"]

USAGE = """Usage:
  {argv0} <command>
    [ -s <server> ]            XenAPI host (default: the local Unix socket {socket})
    [ -p <port> ]              port number (default 443, or 80 with --nossl)
    [ -u <username> -pw <password> | -pwf <password file> ]
                               User authentication (password or file: user, then password)
    [ --nossl ]                Disable SSL/TLS
    [ --cafile <file> ]        Verify the server's certificate against these CAs
    [ <other arguments> ... ]  Command-specific options

To get help on a specific command:
  {argv0} help <command>

"""


def _make_list(names: list[str]) -> list[str]:
    """Names joined by ", " on lines of at most about 74 characters, indented by 4."""
    lines, cur = [], "    " + names[0]
    for n in names[1:]:
        if len(cur) + len(n) > 74:
            lines.append(cur)
            cur = "    " + n
        else:
            cur += ", " + n
    return lines + [cur]


def command_help(spec: Spec) -> list[tuple[str, str]]:
    optional = spec.optn + (VM_SELECTORS if spec.vm_selectors else [])
    return [("command name        ", spec.name),
            ("reqd params     ", ", ".join(spec.reqd)),
            ("optional params ", ", ".join(optional)),
            ("description     ", spec.help)]


def run_help(table: Table, printer: Printer, params: dict[str, str], argv0: str = "xe") -> int:
    from xenapi_impl.xe.transport import default_socket

    asked = [k for k in params if k not in ("minimal", "all", "server", "username", "password",
                                            "port")]
    if asked:
        status = 0
        for name in asked:
            spec = table.get(name)
            if spec is None:
                printer.items([f"Unknown command '{name}'"])
                status = 1
            else:
                printer.table([command_help(spec)])
        return status
    usage = USAGE.format(argv0=argv0, socket=default_socket())
    if params.get("all") == "true":
        names = table.names()
        if printer.minimal:
            printer.items(names)
            return 0
        hosts = [n for n in names if n.startswith("host-")]
        vms = [n for n in names if n.startswith("vm-")]
        other = [n for n in names if n not in hosts and n not in vms]
        printer.items([usage + "Full command list\n-----------------\n"])
        printer.items(_make_list(hosts) + _make_list([""]) + _make_list(vms) +
                      _make_list([""]) + _make_list(other))
        return 0
    names = [n for n in table.names() if table.specs[n].standard]
    if printer.minimal:
        printer.items(names)
        return 0
    printer.items([usage + f"To get a full listing of commands:\n  {argv0} help --all\n\n"
                   "Common command list\n-------------------\n"])
    printer.items(_make_list(names))
    return 0
