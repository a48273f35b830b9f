"""`xenapi-server`: run the XenAPI server, manage its local users.

    xenapi-server serve --backend sim|xen --db PATH|URL [--state-dir DIR]
                        [--http HOST:PORT]... [--https HOST:PORT]...
                        [--cert FILE] [--key FILE] [--unix [PATH]] [--log-level LEVEL]
                        [--monitor-interval SECONDS] [--log-file PATH] [--config FILE]
                        [--idle-timeout S] [--header-timeout S] [--body-timeout S]
                        [--send-timeout S] [--max-connections N]
                        [--max-connections-per-address N] [--max-body BYTES]
                        [--max-sessions-per-user N] [--max-concurrent-logins N]
                        [--login-failures-per-source N] [--login-failures-per-user N]
                        [--address IP] [--name LABEL] [--lease-seconds SECONDS]
                        [--event-loop asyncio|uvloop] [--busy-poll MICROSECONDS]
                        [--rpc-lane on|off] [--rpc-workers N]
    xenapi-server pool-create --from-db PATH --to postgresql://...
    xenapi-server user add NAME --role ROLE --password-stdin --db PATH|URL
    xenapi-server user passwd NAME --password-stdin --db PATH|URL
    xenapi-server user list --db PATH|URL
    xenapi-server user del NAME --db PATH|URL

--db is a SQLite file (a single host) or a `postgresql://` URL (a pool's shared database;
libpq's URL form, several hosts and `target_session_attrs=read-write` included).

`serve --config FILE` reads the serve options from a TOML file (/etc/xenapi/server.toml on a
dom0): each key is a flag's name without the dashes (`db = "/var/lib/xenapi/xapi.db"`,
`http = ["0.0.0.0:80"]`, `log-level = "INFO"`); flags given on the command line win.
Under systemd (Type=notify) the server reports READY=1, WATCHDOG=1 and STOPPING=1.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import logging.handlers
import os
import signal
import sys
import tomllib
from typing import Any, Callable, Sequence

log = logging.getLogger("xenapi_impl")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

EXIT_USAGE = 2
EXIT_FAILURE = 1


class CliError(Exception):
    """A failure the user can fix: printed as one line, exit status 1."""


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not (0 <= int(port) <= 65535):
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def _int_range(low: int, high: int, unit: str = "") -> Callable[[str], int]:
    """An argparse type: an integer from `low` to `high` (a non-integer is argparse's
    "invalid integer value")."""
    def integer(text: str) -> int:
        n = int(text)
        if not low <= n <= high:
            raise argparse.ArgumentTypeError(f"{text}: from {low} to {high}{unit}")
        return n
    return integer


def _add_limit_flags(s: argparse.ArgumentParser) -> None:
    """What the server tolerates from clients (server/limits.py, logins.py, sessions.py)."""
    from .server.limits import TransportLimits
    from .server.logins import LoginLimits
    from .server.sessions import MAX_PER_USER

    t, lg = TransportLimits(), LoginLimits()
    g = s.add_argument_group("client limits")
    g.add_argument("--idle-timeout", type=_seconds, default=t.idle_timeout, metavar="S",
                   help="close a connection with no request in progress after S seconds "
                        "(default %(default)g)")
    g.add_argument("--header-timeout", type=_seconds, default=t.header_timeout, metavar="S",
                   help="a request's headers must arrive within S seconds (default %(default)g)")
    g.add_argument("--body-timeout", type=_seconds, default=t.body_timeout, metavar="S",
                   help="a request's body must arrive within S seconds (default %(default)g)")
    g.add_argument("--send-timeout", type=_seconds, default=t.send_timeout, metavar="S",
                   help="drop a connection whose client reads nothing of its reply for S "
                        "seconds (default %(default)g)")
    g.add_argument("--max-connections", type=_count, default=t.max_connections, metavar="N",
                   help="open connections in all, lowered to fit the file descriptor limit "
                        "(default %(default)d)")
    g.add_argument("--max-connections-per-address", type=_count,
                   default=t.max_connections_per_address, metavar="N",
                   help="open TCP connections per client address (default %(default)d)")
    g.add_argument("--max-body", type=_count, default=t.max_body, metavar="BYTES",
                   help="request body size after decompression (default %(default)d)")
    g.add_argument("--max-sessions-per-user", type=_count, default=MAX_PER_USER, metavar="N",
                   help="live sessions per user; the least recently used is closed first "
                        "(default %(default)d)")
    g.add_argument("--max-concurrent-logins", type=_count, default=lg.max_concurrent,
                   metavar="N", help="password checks run at once (default %(default)d)")
    g.add_argument("--login-failures-per-source", type=_count, default=lg.failures_per_source,
                   metavar="N", help="failed logins per address per minute before its logins "
                                     "are refused unchecked (default %(default)d)")
    g.add_argument("--login-failures-per-user", type=_count, default=lg.failures_per_user,
                   metavar="N", help="failed logins per user per minute before its logins "
                                     "are checked only from addresses with no failure "
                                     "(default %(default)d)")


def _parser() -> argparse.ArgumentParser:
    from .server.rbac import ROLES

    p = argparse.ArgumentParser(prog="xenapi-server", description="XenAPI server for Xen")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the server")
    s.add_argument("--backend", choices=("sim", "xen"), required=True,
                   help="hypervisor backend: the libxl simulator or a real Xen dom0")
    s.add_argument("--db", required=True,
                   help="SQLite database file (created if missing), or a postgresql:// URL "
                        "of the pool's shared database")
    s.add_argument("--state-dir", metavar="DIR",
                   help="this host's own files (first root password, local SR directories); "
                        "default: beside a SQLite --db; required with a postgresql:// --db")
    s.add_argument("--http", action="append", type=_host_port, default=[],
                   metavar="HOST:PORT", help="listen for HTTP (repeatable; port 0: any free)")
    s.add_argument("--https", action="append", type=_host_port, default=[],
                   metavar="HOST:PORT", help="listen for HTTPS (repeatable)")
    s.add_argument("--cert", help="PEM certificate for HTTPS (a self-signed one is generated "
                                  "there if missing; default: <db>.https.pem beside a "
                                  "SQLite --db, or in --state-dir)")
    s.add_argument("--key", help="PEM private key, if not in the certificate file")
    s.add_argument("--unix", metavar="PATH", nargs="?", const="",
                   help="listen on a Unix socket (local superuser callers log in without a "
                        "password); without PATH: $XENAPI_SOCKET, else /var/lib/xcp/xapi, "
                        "where xe connects by default")
    s.add_argument("--log-level", default="INFO",
                   choices=("DEBUG", "INFO", "WARNING", "ERROR"), type=str.upper)
    s.add_argument("--log-file", metavar="PATH",
                   help="also log to this file (reopened when rotated; host.get_log reads it)")
    s.add_argument("--monitor-interval", type=_seconds, default=5.0, metavar="SECONDS",
                   help="seconds between metrics rounds (VM/host/device metrics, /rrd_updates)")
    s.add_argument("--plugin-dir", default="/etc/xapi.d/plugins", metavar="DIR",
                   help="dom0 plugins host.call_plugin runs (default /etc/xapi.d/plugins)")
    s.add_argument("--manage-host-config", action="store_true",
                   help="host settings (time zone, NTP, clock, hostname, ssh) are made with "
                        "timedatectl, hostnamectl and systemctl (a dom0); default: recorded "
                        "only")
    s.add_argument("--manage-host-network", action="store_true",
                   help="VLAN/Bond/tunnel messages make and remove the real Linux devices "
                        "with ip link (a dom0); default: records only")
    s.add_argument("--address", metavar="IP",
                   help="this host's management address (host.address; what HOST_IS_SLAVE "
                        "names on the slaves): default the first --http/--https address, "
                        "127.0.0.1 if that is a wildcard")
    s.add_argument("--name", metavar="LABEL",
                   help="name_label of this host's record when it is created (default: the "
                        "hostname)")
    s.add_argument("--lease-seconds", type=_seconds, default=15.0, metavar="SECONDS",
                   help="pool database: how long the master's and each host's leases last "
                        "without renewal (renewed every quarter of that)")
    s.add_argument("--grace", type=float, default=10.0,
                   help="seconds calls in flight may take to finish on SIGTERM")
    s.add_argument("--event-loop", choices=("asyncio", "uvloop"), default="asyncio",
                   help="the event loop: the standard library's (default), or uvloop (libuv, "
                        "in C)")
    s.add_argument("--busy-poll", type=_int_range(0, 100_000, " microseconds"), default=0,
                   metavar="MICROSECONDS",
                   help="while calls come back to back, the event loop polls for up to this "
                        "long before it sleeps: lower latency for clients calling one after "
                        "another, for up to a core's CPU meanwhile (default 0: off; asyncio "
                        "loop only; server/busypoll.py)")
    s.add_argument("--rpc-lane", choices=("on", "off"), default="on",
                   help="answer plain XML-RPC/JSON-RPC calls straight from the connection "
                        "(default), or everything through aiohttp's request handling "
                        "(slower; for comparison)")
    s.add_argument("--rpc-workers", type=_int_range(0, 64), default=0, metavar="N",
                   help="processes that serve the plain HTTP connections' RPC calls (HTTP and "
                        "request parsing, socket I/O) on other cores, this process still "
                        "dispatching every call against the one store (default 0: none)")
    s.add_argument("--config", metavar="FILE",
                   help="TOML file setting any of these options (key: the flag's name without "
                        "the dashes); flags given here override it")
    _add_limit_flags(s)

    pc = sub.add_parser("pool-create", help="make a standalone host the first host of a pool: "
                        "move its SQLite records into an empty PostgreSQL database")
    pc.add_argument("--from-db", required=True, metavar="PATH",
                    help="the host's SQLite database (its server stopped)")
    pc.add_argument("--to", required=True, metavar="URL",
                    help="postgresql:// URL of the pool's (empty) database")

    u = sub.add_parser("user", help="manage local users")
    usub = u.add_subparsers(dest="user_command", required=True)
    add = usub.add_parser("add", help="create a user (or replace its password and role)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--password-stdin", action="store_true", required=True,
                     help="read the password from the first line of standard input")
    add.add_argument("--db", required=True)
    pw = usub.add_parser("passwd", help="set a user's password")
    pw.add_argument("name")
    pw.add_argument("--password-stdin", action="store_true", required=True)
    pw.add_argument("--db", required=True)
    ls = usub.add_parser("list", help="list users and their roles")
    ls.add_argument("--db", required=True)
    rm = usub.add_parser("del", help="delete a user")
    rm.add_argument("name")
    rm.add_argument("--db", required=True)
    return p


def _config_value(action: argparse.Action, key: str, value: Any, path: str) -> Any:
    """A config file's value for one option, converted and checked as the flag's would be."""
    def one(v: Any) -> Any:
        if isinstance(v, (dict, list)) or (isinstance(v, bool) and action.type is not None):
            raise CliError(f"{path}: {key}: expected a single value, got {v!r}")
        if action.type is not None:
            try:
                v = action.type(str(v))
            except (argparse.ArgumentTypeError, TypeError, ValueError) as exc:
                raise CliError(f"{path}: {key}: {exc}") from None
        elif not isinstance(v, str):
            raise CliError(f"{path}: {key}: expected a string, got {v!r}")
        if action.choices is not None and v not in action.choices:
            raise CliError(f"{path}: {key}: {v!r} is not one of {', '.join(action.choices)}")
        return v

    if isinstance(action, argparse._AppendAction):
        return [one(v) for v in (value if isinstance(value, list) else [value])]
    if isinstance(action, argparse._StoreTrueAction):
        if not isinstance(value, bool):
            raise CliError(f"{path}: {key}: expected true or false, got {value!r}")
        return value
    return one(value)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line; for `serve --config FILE`, the file's settings under the flags."""
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    pre = argparse.ArgumentParser(prog="xenapi-server serve", add_help=False)
    pre.add_argument("--config")
    config = pre.parse_known_args(argv[1:])[0].config if argv[:1] == ["serve"] else None
    if config is None:
        return parser.parse_args(argv)
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    serve = sub.choices["serve"]
    options = {a.option_strings[0][2:]: a for a in serve._actions
               if a.option_strings and a.option_strings[0].startswith("--")
               and a.dest not in ("help", "config")}
    try:
        with open(config, "rb") as f:
            table = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CliError(f"--config {config}: {exc}") from None
    unknown = sorted(set(table) - set(options))
    if unknown:
        raise CliError(f"{config}: unknown setting(s) {', '.join(unknown)} "
                       f"(known: {', '.join(sorted(options))})")
    settings = {options[k].dest: _config_value(options[k], k, v, config)
                for k, v in table.items()}
    # what the command line gives explicitly: parse with every default suppressed
    saved = [(a, a.default, a.required) for a in serve._actions]
    for a in serve._actions:
        a.default, a.required = argparse.SUPPRESS, False
    try:
        given = vars(parser.parse_args(argv))
    finally:
        for a, default, required in saved:
            a.default, a.required = default, required
    args = argparse.Namespace(command="serve", config=config)
    for a in serve._actions:
        if a.dest in ("help", "config"):
            continue
        if a.dest in given:
            value = given[a.dest]
        elif a.dest in settings:
            value = settings[a.dest]
        elif a.required:
            serve.error(f"{'/'.join(a.option_strings)} is required (a flag or a setting "
                        f"in {config})")
        elif isinstance(a.default, str) and a.type is not None:
            value = a.type(a.default)       # as argparse treats a string default
        else:
            value = list(a.default) if isinstance(a.default, list) else a.default
        setattr(args, a.dest, value)
    return args


def _read_password() -> str:
    line = sys.stdin.readline()
    password = line[:-1] if line.endswith("\n") else line
    if not password:
        raise CliError("no password on standard input")
    return password


async def _open(db: str):  # noqa: ANN202 - (Services, store)
    from .model import MODEL
    from .server.app import Services
    from .store import is_database_url, open_database, store_specs

    if not is_database_url(db) and not os.path.isdir(os.path.dirname(os.path.abspath(db))):
        raise CliError(f"{db}: the directory does not exist")
    store = await open_database(db, store_specs(MODEL))
    return Services(MODEL, store), store


def _state_base(args: argparse.Namespace) -> str:
    """The path this host's own files are named after (`<base>.root-password`, `<base>.sr/`):
    the SQLite file itself, or `<state-dir>/xapi` for a shared database."""
    from .store import is_database_url

    if args.state_dir:
        if not os.path.isdir(args.state_dir):
            raise CliError(f"--state-dir {args.state_dir}: not a directory")
        return os.path.join(args.state_dir, "xapi")
    if is_database_url(args.db):
        raise CliError("a postgresql:// --db needs --state-dir (this host's own files)")
    return args.db


def _pool_create(args: argparse.Namespace) -> int:
    """Every persistent record and every local user of the SQLite database, copied as they
    are (same refs, same uuids) into an empty PostgreSQL database in one commit; then
    `<db>.pool` names the URL, so the same `serve --db PATH` command runs on it (as the
    pool's master: the pool record names this host). Running domains are untouched: the
    server is stopped, and at its restart resync keeps them."""
    from .api.pool_join import pool_file
    from .model import MODEL
    from .store import is_database_url, open_database, store_specs

    if not is_database_url(args.to):
        raise CliError("--to must be a postgresql:// URL")
    if not os.path.isfile(args.from_db):
        raise CliError(f"{args.from_db}: no such database")
    if os.path.exists(pool_file(args.from_db)):
        raise CliError(f"{args.from_db} is already in a pool ({pool_file(args.from_db)})")

    async def run() -> int:
        specs = store_specs(MODEL)
        src = await open_database(args.from_db, specs, exclusive=True)
        try:
            dst = await open_database(args.to, specs)
            try:
                if dst.records("host"):
                    raise CliError("the PostgreSQL database already holds a pool")
                n = 0
                async with dst.transaction() as txn:
                    for spec in specs:
                        if not spec.persistent:
                            continue
                        for ref, rec in src.records(spec.name).items():
                            txn.create(spec.name, ref, dict(rec))
                            n += 1
                for cred in src.list_credentials():
                    await dst.put_credential(cred)
            finally:
                await dst.close()
        finally:
            await src.close()
        path = pool_file(args.from_db)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(args.to + "\n")
        print(f"{n} records and {len(src.list_credentials())} users moved; "
              f"`xenapi-server serve --db {args.from_db}` now runs on the pool database "
              f"({path})")
        return 0

    return asyncio.run(run())


def _user_command(args: argparse.Namespace) -> int:
    from .server.seed import add_user

    async def run() -> int:
        services, store = await _open(args.db)
        try:
            if args.user_command == "add":
                await add_user(services, args.name, _read_password(), args.role)
                print(f"user {args.name} ({args.role}) saved")
            elif args.user_command == "passwd":
                cred = store.get_credential(args.name)
                if cred is None:
                    raise CliError(f"no user {args.name!r}")
                await add_user(services, args.name, _read_password(), cred.role)
                print(f"password of {args.name} changed")
            elif args.user_command == "list":
                for cred in store.list_credentials():
                    print(f"{cred.name}\t{cred.role}")
            elif args.user_command == "del":
                if not await store.delete_credential(args.name):
                    raise CliError(f"no user {args.name!r}")
                print(f"user {args.name} deleted")
            return 0
        finally:
            await store.close()

    return asyncio.run(run())


async def _serve(args: argparse.Namespace) -> int:
    from . import api
    from .model import MODEL
    from .ratelimit import RateLimitedLog
    from .server import sdnotify
    from . import taskdump
    from .server.app import Services
    from .server.dispatch import Dispatcher
    from .server.http import HttpServer
    from .server.limits import TransportLimits, raise_fd_limit
    from .server.logins import LoginGate, LoginLimits
    from .server.ratelog import loop_exception_handler
    from .server.seed import seed
    from .store import is_database_url, open_database, store_specs
    from .xen.adapter import open_backend

    state = _state_base(args)
    if args.unix == "":
        from .server.unixsock import default_path
        args.unix = default_path()
    cert = args.cert
    if args.https and cert is None:
        cert = state + ".https.pem"
        log.info("HTTPS certificate %s%s", cert,
                 "" if os.path.exists(cert) else " (self-signed, generated now)")
    from .server.memory import return_large_frees_to_os
    return_large_frees_to_os()
    raise_fd_limit()
    log.debug("event loop: %s", type(asyncio.get_running_loop()).__module__)
    selector = getattr(asyncio.get_running_loop(), "_selector", None)
    if getattr(selector, "window", None):
        log.info("event loop: polling up to %d us before it sleeps while calls come back "
                 "to back (--busy-poll)", round(selector.window * 1e6))
    asyncio.get_running_loop().set_exception_handler(
        loop_exception_handler(RateLimitedLog(logging.getLogger("xenapi_impl.server.http"))))
    limits = TransportLimits(
        idle_timeout=args.idle_timeout, header_timeout=args.header_timeout,
        body_timeout=args.body_timeout, send_timeout=args.send_timeout,
        max_connections=args.max_connections,
        max_connections_per_address=args.max_connections_per_address, max_body=args.max_body)
    db = args.db
    from .api.pool_join import pool_file
    if not is_database_url(db) and os.path.exists(pool_file(state)):
        with open(pool_file(state)) as f:      # this host joined a pool (pool.join)
            db = f.read().strip()
    backend = open_backend(args.backend)
    store = await open_database(db, store_specs(MODEL), exclusive=True)
    if is_database_url(db):
        from .store.postgres import redact
        where = f"shared database {redact(db)} at generation {store.generation}"
    else:
        where = f"database {os.path.abspath(db)}"
    log.info("%s opened (%s objects)", where,
             sum(len(store.records(c)) for c in store.classes()))
    services = Services(MODEL, store, backend=backend)
    services.monitor_interval = args.monitor_interval
    services.plugin_dir = args.plugin_dir
    if args.manage_host_network:
        from .hostnet.links import IpLinks
        services.netlinks = IpLinks()
    services.sessions.max_per_user = args.max_sessions_per_user
    services.sessions.gate = LoginGate(LoginLimits(
        max_concurrent=args.max_concurrent_logins,
        failures_per_source=args.login_failures_per_source,
        failures_per_user=args.login_failures_per_user))
    services.lease_seconds = args.lease_seconds
    services.address = args.address or _default_address(args)
    services.host_name = args.name or ""
    services.state_base = state
    from .hostconfig import Recorder, SystemTools
    kind = SystemTools if args.manage_host_config else Recorder
    services.host_config = kind(state + ".hostconfig.json")
    from .api.host_config import expire_ssh
    services.periodic_jobs.append(expire_ssh)
    services.db_url = db
    try:
        api.load_all()
        password_file = await seed(services, backend=args.backend, db_path=state)
        if password_file is None:
            log.info("local users: %s", ", ".join(c.name for c in store.list_credentials()))
        dispatcher = Dispatcher(services)
        http = HttpServer(dispatcher, limits=limits, fast=args.rpc_lane == "on",
                          workers=args.rpc_workers)
        from .server import rrd_http
        rrd_http.register(http, services)
        from .server import vdi_http
        vdi_http.register(http, services)
        from .server import xva_http
        xva_http.register(http, services)
        from .server import console_http
        console_http.register(http, services)
        from .server import pool_http
        pool_http.register(http, services)
        from .server import blob_http
        blob_http.register(http, services)
        await http.start(http=args.http, https=args.https, cert=cert, key=args.key,
                         unix=args.unix)
        from .api.pool_role import record_endpoint
        services.tls = http.certificate
        from .api.certificates import record_served
        await record_served(services)
        https_ports = http.ports("https")
        services.https_port = https_ports[0] if https_ports else None
        await record_endpoint(services, https_ports[0] if https_ports else None, cert)
    except BaseException:
        await services.close(grace=0)
        raise
    services.start_maintenance()
    from .api.vmss import Scheduler
    services.vmss_scheduler = Scheduler(services)
    services.vmss_scheduler.start()
    log.info("backend %s; serving %d methods", args.backend, len(dispatcher.method_names()))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    from .server.gcpace import GcPacer
    pacer = GcPacer(loop)       # after the load: the loaded records are frozen out of the GC
    pacer.start()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    taskdump.install(loop)
    sdnotify.notify("READY=1\nSTATUS=serving")
    interval = sdnotify.watchdog_interval()
    pinger = asyncio.create_task(sdnotify.watchdog(interval)) if interval else None
    # SIGTERM/SIGINT, or the pool's fencing (this host lost its lease: stop at once)
    waiters = [loop.create_task(stop.wait()), loop.create_task(services.stop_requested.wait())]
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for w in waiters:
        w.cancel()
    sdnotify.notify("STOPPING=1")
    grace = args.grace if not services.exit_status else 0.0
    log.info("stopping: letting calls in flight finish (up to %.0fs)", grace)
    await http.stop(grace)
    await services.close(grace)
    pacer.stop()
    if pinger is not None:      # pinged while stopping too: a hung shutdown is killed
        pinger.cancel()
    log.info("stopped; database closed")
    from .api.pool_join import EXIT_REEXEC
    if services.exit_status == EXIT_REEXEC and stop.is_set():
        # a service manager's stop came while a restart was pending (restart_agent's pause,
        # pool.join's): the stop wins, or the process would come back in its place
        log.warning("not restarting: SIGTERM/SIGINT received while the restart was pending")
        return 0
    return services.exit_status


def _loop_factory(name: str, busy_poll: int = 0
                  ) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop runs the loop's own work (polling, transports, callbacks, timers) in C: the
    server's loop is its limit under load (replies' send(), request reads, wake-ups). Not the
    default: its measured gain was small and mixed (bench/RESULTS.md), and the whole suite
    runs on asyncio. `busy_poll`: asyncio's loop on a selector that polls before it sleeps
    (server/busypoll.py)."""
    if name == "uvloop":
        import uvloop
        return uvloop.new_event_loop
    if busy_poll:
        from .server.busypoll import loop_factory
        return loop_factory(busy_poll)
    return None


def _default_address(args: argparse.Namespace) -> str:
    for host, _port in (*args.http, *args.https):
        if host not in ("0.0.0.0", "::", ""):
            return host
    return "127.0.0.1"


def _exit_now(status: int) -> None:
    """The server has stopped: every file is closed and durable (database, RRD backup, the
    simulated host's state). Exit without the interpreter's teardown, which would free the
    ~10k records and everything else one object at a time (0.15-0.4 s of a restart with 1,000
    VMs) while the next server waits for the address and the database."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)


def _reexec() -> None:
    """pool.join / pool.eject: start again, the same command, on the new database."""
    log.warning("restarting: exec %s", " ".join(sys.argv))
    logging.shutdown()
    os.execv(sys.executable, [sys.executable, *sys.argv])


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parse_args(argv)
    except CliError as exc:
        print(f"xenapi-server: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "serve":
        logging.basicConfig(level=args.log_level, stream=sys.stderr, format=LOG_FORMAT)
        if args.log_file:
            from .logconfig import LOGCONFIG
            try:
                handler = logging.handlers.WatchedFileHandler(args.log_file)
            except OSError as exc:
                print(f"xenapi-server: cannot open --log-file: {exc}", file=sys.stderr)
                return EXIT_USAGE
            handler.setFormatter(logging.Formatter(LOG_FORMAT))
            logging.getLogger().addHandler(handler)
            LOGCONFIG.server_log_file = args.log_file
        if not (args.http or args.https or args.unix is not None):
            print("xenapi-server: give at least one of --http, --https, --unix", file=sys.stderr)
            return EXIT_USAGE
        if args.rpc_workers and args.event_loop == "uvloop":
            # uvloop starts reading a connection after connection_made whatever the protocol
            # asked, so this process could read bytes meant for the worker it passed it to
            print("xenapi-server: --rpc-workers needs --event-loop asyncio", file=sys.stderr)
            return EXIT_USAGE
        if args.busy_poll and args.event_loop == "uvloop":
            print("xenapi-server: --busy-poll needs --event-loop asyncio", file=sys.stderr)
            return EXIT_USAGE
    from .server.tls import CertificateError
    from .server.unixsock import UnixSocketError
    from .store import StoreError
    from .xen.adapter import BackendUnavailable
    try:
        if args.command == "serve":
            with asyncio.Runner(loop_factory=_loop_factory(args.event_loop,
                                                           args.busy_poll)) as runner:
                status = runner.run(_serve(args))
            from .api.pool_join import EXIT_REEXEC
            if status == EXIT_REEXEC and argv is None:
                _reexec()
            if argv is None:
                _exit_now(status)
            return status
        if args.command == "pool-create":
            return _pool_create(args)
        return _user_command(args)
    except (CliError, BackendUnavailable, StoreError, CertificateError, UnixSocketError,
            OSError, ValueError) as exc:
        if args.command == "serve":
            log.error("cannot start: %s", exc)
        print(f"xenapi-server: {exc}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
