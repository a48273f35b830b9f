"""Certificates: the host's TLS server certificate, and the pool's trusted certificates and CRLs.

- The served certificate (`services.tls`: server/tls.py `ServedCertificate`) is described by
  this host's Certificate record of type `host` (fingerprints, validity), written at start and
  whenever the certificate changes. `host.install_server_certificate` validates as xapi does
  (SERVER_CERTIFICATE_*), writes the files and loads them into the listeners' TLS context: new
  connections get the new certificate at once. `reset_server_certificate` (and its emergency
  form) generates a new self-signed one. In a pool the new fingerprint is recorded for the
  other hosts to pin (host.other_config `tls_sha256`).
- Trusted certificates (`pool.install_ca_certificate`/`certificate_install`: a named CA;
  `pool.install_trusted_certificate`: a CA or a pinned leaf, with purposes) and CRLs are PEM
  files in this host's trust directory (`<state>.trust/{ca,crl,trusted}/`, as xapi keeps
  /etc/stunnel/certs*); CAs and trusted certificates get Certificate records (type `ca` or
  `pinned`, no host). In a pool a CA or CRL install or uninstall, and `certificate_sync`, is
  carried to every other live host (`RemoteAgent`), which writes its own files; the files of
  `install_trusted_certificate` stay on the host that received it (its records are pool-wide).
"""
from __future__ import annotations

import datetime as _dt
import os
import re
from typing import Any

from cryptography import x509

from .. import certinfo
from ..errors import XenAPIError
from ..store import NULL_REF, new_ref, new_uuid
from .context import Context
from .host_agent import other_live_hosts
from .host_fanout import on_host
from .registry import implements

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,254}")


# --- the trust directory ------------------------------------------------------------------
class TrustStore:
    """PEM files by kind (`ca`, `crl`, `trusted`) and name; in memory without a directory."""

    def __init__(self, root: str | None) -> None:
        self.root = root
        self._memory: dict[tuple[str, str], bytes] = {}

    def _path(self, kind: str, name: str) -> str:
        assert self.root is not None
        return os.path.join(self.root, kind, name)

    def names(self, kind: str) -> list[str]:
        if self.root is None:
            return sorted(n for k, n in self._memory if k == kind)
        try:
            return sorted(n for n in os.listdir(os.path.join(self.root, kind))
                          if not n.startswith("."))
        except FileNotFoundError:
            return []

    def get(self, kind: str, name: str) -> bytes | None:
        if self.root is None:
            return self._memory.get((kind, name))
        try:
            with open(self._path(kind, name), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def put(self, kind: str, name: str, data: bytes) -> None:
        if self.root is None:
            self._memory[(kind, name)] = data
            return
        os.makedirs(os.path.join(self.root, kind), mode=0o700, exist_ok=True)
        certinfo.write_private(self._path(kind, name), data)

    def remove(self, kind: str, name: str) -> bool:
        if self.root is None:
            return self._memory.pop((kind, name), None) is not None
        try:
            os.unlink(self._path(kind, name))
            return True
        except FileNotFoundError:
            return False


def trust(services: Any) -> TrustStore:
    store = getattr(services, "trust_store", None)
    if store is None:
        base = services.state_base
        store = TrustStore(base + ".trust" if base else None)
        services.trust_store = store
    return store


# --- Certificate records --------------------------------------------------------------------
def _record(services: Any, kind: str, host: str, name: str, f: certinfo.CertificateFacts,
            purpose: list[str]) -> dict[str, Any]:
    return {**services.default_record("Certificate"), "uuid": new_uuid(), "name": name,
            "type": kind, "host": host, "not_before": f.not_before, "not_after": f.not_after,
            "fingerprint": f.sha256, "fingerprint_sha256": f.sha256, "fingerprint_sha1": f.sha1,
            "purpose": purpose}


def _write_served(services: Any, txn: Any) -> None:
    """This host's `host` Certificate record describes what is served now."""
    host = services.host_ref
    f = services.tls.facts()
    found = [r for r in txn.refs("Certificate")
             if (c := txn.get("Certificate", r))["host"] == host and c["type"] == "host"]
    if len(found) == 1 and txn.get("Certificate", found[0])["fingerprint_sha256"] == f.sha256:
        return
    for ref in found:
        txn.delete("Certificate", ref)
    txn.create("Certificate", new_ref(), _record(services, "host", host, "", f, []))


async def record_served(services: Any) -> None:
    """At start (after the listeners): the served certificate's record; a host without HTTPS
    serves none and keeps no such record."""
    async with services.transaction() as txn:
        if services.tls is not None:
            _write_served(services, txn)
        else:
            for ref in txn.refs("Certificate"):
                c = txn.get("Certificate", ref)
                if c["host"] == services.host_ref and c["type"] == "host":
                    txn.delete("Certificate", ref)
        # the listener speaks TLS 1.2 and later only (api/tls_policy.py)
        if txn.get("host", services.host_ref)["ssl_legacy"]:
            txn.update("host", services.host_ref, {"ssl_legacy": False})


def _served(ctx: Context) -> Any:
    if ctx.services.tls is None:
        raise XenAPIError("INTERNAL_ERROR",
                          "this host serves no HTTPS (started without --https)")
    return ctx.services.tls


async def _certificate_changed(ctx: Context) -> None:
    _write_served(ctx.services, ctx.txn)
    if ctx.services.store.shared:       # the other hosts pin the new fingerprint
        from .pool_role import record_endpoint
        await record_endpoint(ctx.services, ctx.services.https_port, ctx.services.tls.cert_path)


@implements("host.get_server_certificate")
async def get_server_certificate(ctx: Context, host: str) -> str:
    return _served(ctx).facts().pem


@implements("host.install_server_certificate")
async def install_server_certificate(ctx: Context, host: str, certificate: str,
                                     private_key: str, certificate_chain: str) -> None:
    served = _served(ctx)
    now = _dt.datetime.now(_dt.timezone.utc)
    try:
        certinfo.validate_server_certificate(certificate.encode(), private_key.encode(),
                                        certificate_chain.encode(), now)
    except certinfo.InvalidServerCertificate as exc:
        raise XenAPIError(*exc.args) from None
    cert = certinfo.pem_certificates(certificate.encode())[0]
    key = private_key.strip().encode() + b"\n"
    chain = b"".join(certinfo.pem_certificates(certificate_chain.encode()))
    try:
        served.install(cert, key, chain)
    except certinfo.CertificateError:
        raise XenAPIError("SERVER_CERTIFICATE_KEY_MISMATCH") from None
    await _certificate_changed(ctx)


async def _regenerate(ctx: Context) -> None:
    _served(ctx).regenerate()
    await _certificate_changed(ctx)


@implements("host.reset_server_certificate")
async def reset_server_certificate(ctx: Context, host: str) -> None:
    await _regenerate(ctx)


@implements("host.emergency_reset_server_certificate")
async def emergency_reset_server_certificate(ctx: Context) -> None:
    await _regenerate(ctx)


@implements("host.refresh_server_certificate")
async def refresh_server_certificate(ctx: Context, host: str) -> None:
    """xapi renews the host's internal (self-signed) certificate, which the other hosts pin;
    here that certificate is the served one when it was generated here. A certificate that
    was installed is left alone (it is not the host's to renew)."""
    if not _served(ctx).installed:
        await _regenerate(ctx)


on_host("host.get_server_certificate", "host.install_server_certificate",
        "host.reset_server_certificate", "host.refresh_server_certificate")


# --- trusted certificates and CRLs ---------------------------------------------------------
def _check_name(name: str, code: str) -> None:
    if not _NAME.fullmatch(name):
        raise XenAPIError(code, name)


def _ca_refs(ctx: Context, name: str) -> list[str]:
    return [r for r in ctx.txn.refs("Certificate")
            if (c := ctx.txn.get("Certificate", r))["type"] == "ca" and c["name"] == name
            and c["host"] == NULL_REF]


async def _to_other_hosts(ctx: Context, method: str, args: list[Any],
                          already: str | None = None) -> None:
    """Carry a pool-wide trust change to every other live host (not when we are one of them,
    called by the host that received it); a host answering `already` has it."""
    if not ctx.services.store.shared or ctx.caller.transport == "pool":
        return
    for _host, agent in other_live_hosts(ctx.services):
        try:
            await agent.call(method, args)
        except XenAPIError as exc:
            if exc.code != already:
                raise


async def _install_ca(ctx: Context, name: str, cert: str) -> None:
    _check_name(name, "CERTIFICATE_NAME_INVALID")
    store = trust(ctx.services)
    if store.get("ca", name) is not None:
        raise XenAPIError("CERTIFICATE_ALREADY_EXISTS", name)
    parsed = certinfo.load_certificate(cert.encode())
    if parsed is None:
        raise XenAPIError("CERTIFICATE_CORRUPT", name)
    f = certinfo.facts(parsed)
    if ctx.caller.transport != "pool":       # one pool-wide record, made where it was called
        for ref in _ca_refs(ctx, name):
            ctx.txn.delete("Certificate", ref)
        ctx.txn.create("Certificate", new_ref(), _record(ctx.services, "ca", NULL_REF, name, f, []))
    store.put("ca", name, f.pem.encode())
    await _to_other_hosts(ctx, "pool.install_ca_certificate", [name, cert])


@implements("pool.install_ca_certificate")
async def install_ca_certificate(ctx: Context, name: str, cert: str) -> None:
    await _install_ca(ctx, name, cert)


@implements("pool.certificate_install")
async def certificate_install(ctx: Context, name: str, cert: str) -> None:
    await _install_ca(ctx, name, cert)


async def _uninstall_ca(ctx: Context, name: str, force: bool) -> None:
    _check_name(name, "CERTIFICATE_NAME_INVALID")
    refs = _ca_refs(ctx, name)
    removed = trust(ctx.services).remove("ca", name)
    if not removed and not refs and not force:
        raise XenAPIError("CERTIFICATE_DOES_NOT_EXIST", name)
    if ctx.caller.transport != "pool":
        for ref in refs:
            ctx.txn.delete("Certificate", ref)
    await _to_other_hosts(ctx, "pool.uninstall_ca_certificate", [name, True])


@implements("pool.uninstall_ca_certificate")
async def uninstall_ca_certificate(ctx: Context, name: str, force: bool) -> None:
    await _uninstall_ca(ctx, name, force)


@implements("pool.certificate_uninstall")
async def certificate_uninstall(ctx: Context, name: str) -> None:
    await _uninstall_ca(ctx, name, False)


@implements("pool.certificate_list")
async def certificate_list(ctx: Context) -> list[str]:
    return trust(ctx.services).names("ca")


@implements("pool.crl_install")
async def crl_install(ctx: Context, name: str, cert: str) -> None:
    _check_name(name, "CRL_NAME_INVALID")
    store = trust(ctx.services)
    if store.get("crl", name) is not None:
        raise XenAPIError("CRL_ALREADY_EXISTS", name)
    try:
        x509.load_pem_x509_crl(cert.encode())
    except ValueError:
        raise XenAPIError("CRL_CORRUPT", name) from None
    store.put("crl", name, cert.encode())
    await _to_other_hosts(ctx, "pool.crl_install", [name, cert])


@implements("pool.crl_uninstall")
async def crl_uninstall(ctx: Context, name: str) -> None:
    _check_name(name, "CRL_NAME_INVALID")
    if not trust(ctx.services).remove("crl", name) and ctx.caller.transport != "pool":
        raise XenAPIError("CRL_DOES_NOT_EXIST", name)
    await _to_other_hosts(ctx, "pool.crl_uninstall", [name])


@implements("pool.crl_list")
async def crl_list(ctx: Context) -> list[str]:
    return trust(ctx.services).names("crl")


@implements("pool.certificate_sync")
async def certificate_sync(ctx: Context) -> None:
    """The CAs and CRLs of this host (the master) to every other live host: each installs
    what it lacks."""
    store = trust(ctx.services)
    for kind, method, already in (
            ("ca", "pool.install_ca_certificate", "CERTIFICATE_ALREADY_EXISTS"),
            ("crl", "pool.crl_install", "CRL_ALREADY_EXISTS")):
        for name in store.names(kind):
            data = (store.get(kind, name) or b"").decode()
            await _to_other_hosts(ctx, method, [name, data], already)


def _valid_now(cert: x509.Certificate, prefix: str) -> None:
    now = _dt.datetime.now(_dt.timezone.utc)
    if cert.not_valid_before_utc > now:
        raise XenAPIError(f"{prefix}_NOT_VALID_YET", certinfo.xapi_time(now),
                          certinfo.xapi_time(cert.not_valid_before_utc))
    if cert.not_valid_after_utc < now:
        raise XenAPIError(f"{prefix}_EXPIRED", certinfo.xapi_time(now),
                          certinfo.xapi_time(cert.not_valid_after_utc))


@implements("pool.install_trusted_certificate")
async def install_trusted_certificate(ctx: Context, self: str, ca: bool, cert: str,
                                      purpose: list[str]) -> str | None:
    parsed = certinfo.load_certificate(cert.encode())
    if parsed is None:
        raise XenAPIError("TRUSTED_CERTIFICATE_INVALID")
    _valid_now(parsed, "TRUSTED_CERTIFICATE")
    f = certinfo.facts(parsed)
    kind = "ca" if ca else "pinned"
    for ref in ctx.txn.refs("Certificate"):
        c = ctx.txn.get("Certificate", ref)
        if c["type"] == kind and c["fingerprint_sha256"] == f.sha256 \
                and sorted(c["purpose"]) == sorted(purpose):
            raise XenAPIError("TRUSTED_CERTIFICATE_ALREADY_EXISTS", f.sha256)
    rec = _record(ctx.services, kind, NULL_REF, "", f, sorted(set(purpose)))
    ctx.txn.create("Certificate", new_ref(), rec)
    trust(ctx.services).put("trusted", rec["uuid"] + ".pem", f.pem.encode())
    return None


@implements("pool.uninstall_trusted_certificate")
async def uninstall_trusted_certificate(ctx: Context, self: str, certificate: str) -> None:
    rec = ctx.txn.get("Certificate", certificate)
    if rec["type"] not in ("ca", "pinned") or rec["name"]:
        # the host's own certificates, and named CAs (pool.uninstall_ca_certificate's)
        raise XenAPIError("NOT_TRUSTED_CERTIFICATE", certificate)
    ctx.txn.delete("Certificate", certificate)
    trust(ctx.services).remove("trusted", rec["uuid"] + ".pem")
