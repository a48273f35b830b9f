"""`POST /pool/call`: a call another host of the pool forwards to this one (api/host_agent.py
RemoteAgent). Only over HTTPS, only with the pool secret (`X-Pool-Secret`, compared in
constant time); the call then runs through the dispatcher like any other, under this server's
internal pool session (pool-admin: RBAC was checked on the host the client called), with the
caller's transport "pool" so that it runs here and is not forwarded again."""
from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from aiohttp import web

from ..api.caller import Caller
from ..api.host_agent import RelayedTask
from ..api.pool_join import api_version
from ..api.pool_role import role_of
from ..errors import XenAPIError
from .http import caller_of

log = logging.getLogger(__name__)

PATH = "/pool/call"
SESSION_PATH = "/pool/session"
CANCEL_PATH = "/pool/cancel"
SECRET_HEADER = "X-Pool-Secret"


async def _body_field(request: web.Request, name: str) -> str | None:
    """The field `name` of the request's JSON object, as text; None if there is none."""
    try:
        return str(json.loads(await request.read())[name])
    except (ValueError, KeyError, TypeError):
        return None


def register(http: Any, services: Any) -> None:
    session: list[str] = []

    async def refused(request: web.Request) -> web.Response | None:
        """403 unless the request comes over TLS with the pool secret."""
        peer = caller_of(request)
        given = request.headers.get(SECRET_HEADER, "").encode()
        secret = await services.store.pool_secret()
        if secret and given and peer.transport == "https" \
                and not hmac.compare_digest(given, secret.encode()):
            secret = await services.store.pool_secret(fresh=True)     # rotated meanwhile?
        if peer.transport != "https" or not secret or not hmac.compare_digest(
                given, secret.encode()):
            log.warning("refused a pool call from %s (%s)", peer.peer,
                        "not over TLS" if peer.transport != "https" else "wrong pool secret")
            return web.json_response({"error": ["SESSION_AUTHENTICATION_FAILED", "",
                                                "not a host of this pool"]}, status=403)
        return None

    async def handle(request: web.Request) -> web.Response:
        peer = caller_of(request)
        refusal = await refused(request)
        if refusal is not None:
            return refusal
        try:
            body = json.loads(await request.read())
            method, params = str(body["method"]), list(body["params"])
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": ["INTERNAL_ERROR", "bad pool call"]},
                                     status=400)
        gen = body.get("generation")
        if isinstance(gen, int) and services.store.generation < gen:
            await services.store.catch_up()     # what the caller wrote before calling
        if not session or services.sessions.get(session[0]) is None:
            session[:] = [await services.sessions.internal("pool")]
        caller = Caller("pool", peer.peer)
        task = body.get("task")
        relay = None
        if isinstance(task, dict) and isinstance(task.get("ref"), str) \
                and isinstance(task.get("host"), str):
            relay = RelayedTask(task["ref"], services, task["host"])
        if relay is not None:
            services.tasks.relay_begin(relay)
        try:
            result = await services.dispatcher.call(method, [session[0], *params], caller,
                                                    task=relay)
        except XenAPIError as exc:
            return web.json_response({"error": [exc.code, *exc.params],
                                      "generation": services.store.generation})
        finally:
            if relay is not None:
                services.tasks.relay_end(relay)
        # the generation the call's writes reached: the caller applies at least that much
        # before answering its client (it reads what the call wrote)
        return web.Response(text=json.dumps({"result": result,
                                             "generation": services.store.generation},
                                            default=str), content_type="application/json")

    async def join_info(request: web.Request) -> web.Response:
        """For pool.join on a joining host (api/pool_join.py): the pool database's URL and
        the API version, to a pool-admin session, over TLS."""
        peer = caller_of(request)
        ref = await _body_field(request, "session") or ""
        info = services.sessions.get(ref)
        if peer.transport != "https" or info is None or info.role != "pool-admin":
            return web.json_response({"error": ["SESSION_INVALID", ref]}, status=403)
        from ..store import is_database_url
        if not is_database_url(services.db_url):
            # a standalone host: xapi makes the pool's database out of it first
            return web.json_response({"error": [
                "JOINING_HOST_SERVICE_FAILED", "the master has no pool database: make one "
                "with `xenapi-server pool-create`"]})
        if not role_of(services).is_master:
            return web.json_response({"error": ["HOST_IS_SLAVE",
                                                role_of(services).master_address()]})
        host = services.store.get("host", services.host_ref)
        return web.json_response({"db": services.db_url, "api_version": api_version(host)})

    async def session_check(request: web.Request) -> web.Response:
        """A client's session opened here, checked for another host of the pool that the
        client reached with it (xapi's sessions are the pool's: Xen Orchestra reads each
        host's /rrd_updates and opens consoles and disk transfers on the VM's host with the
        master's session). Its activity is refreshed here, as a call would."""
        refusal = await refused(request)
        if refusal is not None:
            return refusal
        ref = await _body_field(request, "session")
        if ref is None:
            return web.json_response({"error": ["INTERNAL_ERROR", "bad session check"]},
                                     status=400)
        try:
            info = services.sessions.validate(ref)
        except XenAPIError as exc:
            return web.json_response({"error": [exc.code, *exc.params]})
        return web.json_response({"user": info.user, "role": info.role,
                                  "originator": info.originator,
                                  "local_superuser": info.local_superuser})

    async def cancel(request: web.Request) -> web.Response:
        """task.cancel on another host of a task whose forwarded call runs here."""
        refusal = await refused(request)
        if refusal is not None:
            return refusal
        ref = await _body_field(request, "task")
        if ref is None:
            return web.json_response({"error": ["INTERNAL_ERROR", "bad cancellation"]},
                                     status=400)
        services.tasks.cancel_relayed(ref)
        return web.json_response({})

    http.add_route("POST", PATH, handle)
    http.add_route("POST", CANCEL_PATH, cancel)
    http.add_route("POST", SESSION_PATH, session_check)
    http.add_route("POST", "/pool/join-info", join_info)
