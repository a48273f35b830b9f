"""session.*: login, logout, password change."""
from __future__ import annotations

from ..errors import XenAPIError
from ..passwords import hash_password_async, verify_password_async
from ..store import Credential
from .context import Context
from .registry import implements


@implements("session.login_with_password")
async def login_with_password(ctx: Context, uname: str, pwd: str, version: str = "1.1",
                              originator: str = "") -> str:
    from .pool_role import role_of
    role_of(ctx.services).check_master()        # a slave: HOST_IS_SLAVE [master address]
    return await ctx.services.sessions.login(ctx.caller, uname, pwd, originator)


@implements("session.slave_local_login_with_password")
async def slave_local_login_with_password(ctx: Context, uname: str, pwd: str) -> str:
    """On any host, master or slave: a session local to this server."""
    return await ctx.services.sessions.login(ctx.caller, uname, pwd, "")


@implements("session.logout")
async def logout(ctx: Context) -> None:
    await ctx.services.sessions.logout(ctx.session_ref)


@implements("session.local_logout")
async def local_logout(ctx: Context) -> None:
    await ctx.services.sessions.logout(ctx.session_ref)


@implements("session.change_password")
async def change_password(ctx: Context, old_pwd: str, new_pwd: str) -> None:
    """The session's own user: the old password must match (the local superuser, who may
    log in without one, sets it regardless), and the new one must not be empty."""
    session = ctx.session
    assert session is not None
    store = ctx.services.store
    cred = store.get_credential(session.user)
    if cred is None:
        raise XenAPIError("USER_IS_NOT_LOCAL_SUPERUSER", session.user)
    if not session.local_superuser and not await verify_password_async(cred.password_hash,
                                                                         old_pwd):
        raise XenAPIError("CHANGE_PASSWORD_REJECTED", "old password does not match")
    if not new_pwd:
        raise XenAPIError("CHANGE_PASSWORD_REJECTED", "the new password must not be empty")
    await store.put_credential(Credential(cred.name, await hash_password_async(new_pwd),
                                          cred.role))


@implements("session.get_all_subject_identifiers")
async def get_all_subject_identifiers(ctx: Context) -> list[str]:
    return []       # no external authentication: no subject identifiers


@implements("session.logout_subject_identifier")
async def logout_subject_identifier(ctx: Context, subject_identifier: str) -> None:
    return None     # no session has a subject identifier (no external authentication)
