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

from ..errors import XenAPIError
from .caller import Caller
from .http import caller_of

log = logging.getLogger(__name__)

PATH = "/pool/call"
SECRET_HEADER = "X-Pool-Secret"


def register(http: Any, services: Any) -> None:
    session: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        peer = caller_of(request)
        secret = await services.store.pool_secret()
        given = request.headers.get(SECRET_HEADER, "")
        if peer.transport != "https" or not secret or not hmac.compare_digest(
                given.encode(), secret.encode()):
            log.warning("refused a pool call from %s (%s)", peer.peer,
                        "not over TLS" if peer.transport != "https" else "wrong pool secret")
            return web.json_response({"error": ["SESSION_AUTHENTICATION_FAILED", "",
                                                "not a host of this pool"]}, status=403)
        try:
            body = json.loads(await request.read())
            method, params = str(body["method"]), list(body["params"])
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": ["INTERNAL_ERROR", "bad pool call"]},
                                     status=400)
        if not session or services.sessions.get(session[0]) is None:
            session[:] = [await services.sessions.internal("pool")]
        caller = Caller("pool", peer.peer)
        try:
            result = await services.dispatcher.call(method, [session[0], *params], caller)
        except XenAPIError as exc:
            return web.json_response({"error": [exc.code, *exc.params],
                                      "generation": services.store.generation})
        # the generation the call's writes reached: the caller applies at least that much
        # before answering its client (it reads what the call wrote)
        return web.Response(text=json.dumps({"result": result,
                                             "generation": services.store.generation},
                                            default=str), content_type="application/json")

    http.add_route("POST", PATH, handle)
