"""Pool and host TLS policy: certificate verification between hosts, legacy SSL, HTTPS only,
client certificate authentication, and the pool secret.

- `pool.enable_tls_verification` turns verification on for the pool and every host; a host's
  `emergency_disable_tls_verification` turns it off for that host only: its calls to other hosts
  (api/host_agent.py) then stop pinning their certificates, until
  `emergency_reenable_tls_verification` (refused with TLS_VERIFICATION_NOT_ENABLED_IN_POOL when
  the pool never enabled it).
- Legacy SSL (SSLv3, TLS < 1.2) is not served (server/tls.py sets TLS 1.2 as the minimum):
  `set_ssl_legacy true` is refused with VALUE_NOT_SUPPORTED, as xapi does since it removed
  that support; the host records say false.
- `https_only` closes plain HTTP (port 80) in dom0's firewall: recorded and handed to the
  host-configuration seam (hostconfig.py), as every dom0 setting.
- Client certificate authentication is recorded in the pool (enabled, the expected name).
- `pool.rotate_secret` replaces the pool secret host-to-host calls carry (Store.rotate_pool_secret);
  every other live host is called at once with the new one, which makes it drop its copy of
  the old. A single host has none.
- `pool.send_test_post` checks the TLS client side: a POST to a server that must present a
  certificate from a CA the pool trusts, or a pinned one (api/certificates.py).
"""
from __future__ import annotations

import asyncio
import logging
import ssl

from ..errors import XenAPIError
from ..hostconfig import host_config
from .context import Context
from .host_agent import other_live_hosts
from .host_fanout import on_every_host, on_host
from .registry import implements

log = logging.getLogger(__name__)


def _pool(ctx: Context) -> str:
    return next(iter(ctx.txn.refs("pool")))


# --- verification ---------------------------------------------------------------------------
@implements("pool.enable_tls_verification")
async def enable_tls_verification(ctx: Context) -> None:
    ctx.txn.update("pool", _pool(ctx), {"tls_verification_enabled": True})
    for host in ctx.txn.refs("host"):
        ctx.txn.update("host", host, {"tls_verification_enabled": True})


@implements("host.emergency_disable_tls_verification")
async def emergency_disable_tls_verification(ctx: Context) -> None:
    ctx.txn.update("host", ctx.services.host_ref, {"tls_verification_enabled": False})


@implements("host.emergency_reenable_tls_verification")
async def emergency_reenable_tls_verification(ctx: Context) -> None:
    if not ctx.txn.get("pool", _pool(ctx))["tls_verification_enabled"]:
        raise XenAPIError("TLS_VERIFICATION_NOT_ENABLED_IN_POOL")
    ctx.txn.update("host", ctx.services.host_ref, {"tls_verification_enabled": True})


# --- legacy SSL, HTTPS only --------------------------------------------------------------------
@implements("host.set_ssl_legacy")
async def set_ssl_legacy(ctx: Context, self: str, value: bool) -> None:
    if value:
        raise XenAPIError("VALUE_NOT_SUPPORTED", "value", "true",
                          "legacy SSL is not supported: the minimum is TLS 1.2")
    ctx.txn.update("host", self, {"ssl_legacy": False})


@implements("pool.enable_ssl_legacy")
async def enable_ssl_legacy(ctx: Context, self: str) -> None:
    raise XenAPIError("MESSAGE_REMOVED")        # removed from the reference (stockholm)


@implements("pool.disable_ssl_legacy")
async def disable_ssl_legacy(ctx: Context, self: str) -> None:
    await on_every_host(ctx, "host.set_ssl_legacy", False, master_last=True)


@implements("host.set_https_only")
async def set_https_only(ctx: Context, self: str, value: bool) -> None:
    host_config(ctx.services).apply("https_only", value)
    ctx.txn.update("host", self, {"https_only": value})


@implements("pool.set_https_only")
async def pool_set_https_only(ctx: Context, self: str, value: bool) -> None:
    await on_every_host(ctx, "host.set_https_only", value)


on_host("host.set_ssl_legacy", "host.set_https_only")


# --- client certificates, the pool secret -------------------------------------------------------
@implements("pool.enable_client_certificate_auth")
async def enable_client_certificate_auth(ctx: Context, self: str, name: str) -> None:
    ctx.txn.update("pool", self, {"client_certificate_auth_enabled": True,
                                  "client_certificate_auth_name": name})


@implements("pool.disable_client_certificate_auth")
async def disable_client_certificate_auth(ctx: Context, self: str) -> None:
    ctx.txn.update("pool", self, {"client_certificate_auth_enabled": False,
                                  "client_certificate_auth_name": ""})


@implements("pool.rotate_secret")
async def rotate_secret(ctx: Context) -> None:
    from .pool_role import role_of
    role_of(ctx.services).check_master()
    if ctx.txn.get("pool", _pool(ctx))["ha_enabled"]:
        raise XenAPIError("HA_IS_ENABLED")
    await ctx.services.store.rotate_pool_secret()
    # every other live host takes the new secret now: each keeps a copy of the old one
    # (store.pool_secret) and would accept it until it read the secret again; a call carrying
    # the new one makes it read it. A host not live reads it when it starts.
    for host, agent in other_live_hosts(ctx.services):
        try:
            await agent.call("pool.get_all", [])
        except XenAPIError as exc:
            log.warning("host %s did not take the rotated pool secret yet: %s", host, exc.code)


# --- a test of the TLS client side ------------------------------------------------------------
TEST_POST_TIMEOUT = 30.0


def _client_context(ctx: Context) -> ssl.SSLContext:
    """TLS client context trusting the pool's CA certificates and pinned certificates (a
    pinned leaf is a trust anchor by itself: OpenSSL's partial-chain flag), nothing else."""
    from .certificates import trust
    store = trust(ctx.services)
    pems = [store.get("ca", n) or b"" for n in store.names("ca")]
    pems += [store.get("trusted", r["uuid"] + ".pem") or b""
             for r in ctx.store.records("Certificate").values()
             if r["type"] in ("ca", "pinned") and not r["name"]]
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.minimum_version = ssl.TLSVersion.TLSv1_2
    client.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    cadata = b"".join(p for p in pems if p).decode()
    if cadata:
        client.load_verify_locations(cadata=cadata)
    return client


@implements("pool.send_test_post")
async def send_test_post(ctx: Context, host: str, port: int, body: str) -> str:
    """POST `body` to https://host:port/ and answer the response's body. The server's
    certificate must chain to a CA the pool trusts or be a pinned trusted certificate
    (SSL_VERIFY_ERROR [reason] otherwise); no connection: TLS_CONNECTION_FAILED."""
    import aiohttp
    url = f"https://{host if ':' not in host else '[' + host + ']'}:{port}/"
    timeout = aiohttp.ClientTimeout(total=TEST_POST_TIMEOUT, sock_connect=10)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as http:
            async with http.post(url, data=body.encode(), ssl=_client_context(ctx)) as resp:
                return await resp.text(errors="replace")
    except aiohttp.ClientConnectorCertificateError as exc:
        err = exc.certificate_error
        raise XenAPIError("SSL_VERIFY_ERROR",
                          str(getattr(err, "verify_message", "") or err)) from None
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
        raise XenAPIError("TLS_CONNECTION_FAILED", host, str(port)) from None
