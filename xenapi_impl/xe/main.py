"""``xe``: parse, run one command, print its output or its error as xe does; exit 0 or 1."""
from __future__ import annotations

import sys
from typing import Sequence

from xenapi_impl.xe import classcmds, verbs
from xenapi_impl.xe.commands import Ctx, Spec, Table
from xenapi_impl.xe.errors import describe
from xenapi_impl.xe.grammar import CliFailure, UsageError, parse
from xenapi_impl.xe.help import run_help
from xenapi_impl.xe.output import Printer
from xenapi_impl.xe.transport import ConnectError, Failure

_TABLE: Table | None = None


def table() -> Table:
    """Every command: generated from the model, then the hand-written verbs."""
    global _TABLE
    if _TABLE is None:
        t = Table()
        classcmds.register(t)
        verbs.register(t)
        t.add(Spec("help", [], ["all", "minimal"], "Display help about the commands "
                   "(--all: every command; --minimal: names only, comma-separated).",
                   lambda ctx: None, standard=True))
        _TABLE = t
    return _TABLE


def _err(*lines: str) -> None:
    for line in lines:
        sys.stderr.write(line + "\n")


def _usage_error(prefix: str, detail: str) -> int:
    _err(f"{prefix}: {detail}" if prefix else detail, "For usage run: 'xe help'")
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        inv = parse(args)
    except UsageError as exc:
        return _usage_error(exc.prefix, exc.detail)
    except CliFailure as exc:
        _err(f"Error: {exc}")
        return 1
    if inv is None:
        return run_help(table(), Printer(), {})
    printer = Printer(minimal=inv.flag("minimal"))
    if inv.command == "help":
        status = run_help(table(), printer, inv.params)
        printer.flush()
        return status
    spec = table().get(inv.command)
    if spec is None:
        return _usage_error("Unknown command", inv.command)
    ctx = Ctx(inv, printer, interactive=sys.stdout.isatty())
    try:
        for name in spec.reqd:
            ctx.param(name)
        spec.run(ctx)
        printer.flush()
        return 0
    except UsageError as exc:
        return _usage_error(exc.prefix, exc.detail)
    except CliFailure as exc:
        sys.stdout.flush()
        _err(f"Error: {exc}")
    except verbs.MultipleFailure as exc:
        for uuid, msg in exc.failures:
            printer.out.write(f"operation failed on {uuid}: {msg}\n")
        printer.out.flush()
    except Failure as exc:
        sys.stdout.flush()
        if exc.code == "SESSION_AUTHENTICATION_FAILED":
            named = inv.conn.username or inv.conn.passwordfile
            return _usage_error("", "Authentication failed" if named
                                else "Username/password must be specified")
        _err(*describe(exc.code, exc.params, ctx.ref_text))
    except ConnectError as exc:
        _err("Unable to contact server. Please check server and port settings.", str(exc))
    except KeyboardInterrupt:
        pass
    finally:
        ctx.close()
    return 1


if __name__ == "__main__":
    sys.exit(main())
