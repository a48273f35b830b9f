"""HTTPS material: load a given certificate, or generate a self-signed one on first start.

Like xapi's xapi-ssl.pem, a generated certificate is written with its private key in one PEM file
(mode 0600), unless a separate key path is given. The certificate names localhost, 127.0.0.1,
::1 and this host's names, so clients can pin it and still check the host name.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import ipaddress
import os
import socket
import ssl
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..certinfo import (CertificateError, CertificateFacts, facts, pem_certificates,
                        write_private)

__all__ = ["CertificateError", "ServedCertificate", "generate_self_signed", "server_context"]

VALIDITY_DAYS = 3650


def _host_names() -> list[str]:
    names = ["localhost"]
    for n in (socket.gethostname(), socket.getfqdn()):
        if n and n not in names:
            names.append(n)
    return names


def generate_self_signed(cert_path: str, key_path: str | None = None) -> None:
    """Create a self-signed server certificate (RSA 2048, SHA-256) at `cert_path`.

    The key goes into the same file, or into `key_path` when given; both are mode 0600.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    names = _host_names()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[-1])])
    now = _dt.datetime.now(_dt.UTC)
    san: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    san += [x509.IPAddress(ipaddress.ip_address(a)) for a in ("127.0.0.1", "::1")]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(minutes=5))  # tolerate small clock skew
        .not_valid_after(now + _dt.timedelta(days=VALIDITY_DAYS))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True,
                                     content_commitment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=False, crl_sign=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    if key_path is None:
        write_private(cert_path, cert_pem + key_pem)
    else:
        write_private(key_path, key_pem)
        write_private(cert_path, cert_pem)


def _alongside_key(cert_path: str) -> str | None:
    """`server.pem` -> `server.key`, when that file exists."""
    candidate = os.path.splitext(cert_path)[0] + ".key"
    return candidate if candidate != cert_path and os.path.exists(candidate) else None


def server_context(cert_path: str, key_path: str | None = None, *, generate: bool = True) -> ssl.SSLContext:
    """A TLS server context for `cert_path` (key inside it, in `key_path`, or in `<name>.key`
    beside it). A missing certificate is generated when `generate` is true."""
    if not os.path.exists(cert_path):
        if not generate:
            raise CertificateError(f"certificate file {cert_path} does not exist")
        if key_path is not None and os.path.exists(key_path):
            raise CertificateError(
                f"key file {key_path} exists but certificate {cert_path} does not: refusing to "
                "replace a key that may belong to another certificate")
        generate_self_signed(cert_path, key_path)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    key = key_path
    if key is None:
        with open(cert_path, "rb") as f:
            if b"PRIVATE KEY-----" not in f.read():
                key = _alongside_key(cert_path)
                if key is None:
                    raise CertificateError(
                        f"{cert_path} holds no private key and no key file was given "
                        f"(looked for {os.path.splitext(cert_path)[0]}.key)")
    try:
        ctx.load_cert_chain(cert_path, key)
    except (ssl.SSLError, OSError) as e:
        raise CertificateError(f"cannot load certificate {cert_path}"
                               f"{' with key ' + key if key else ''}: {e}") from None
    return ctx


# --- the served certificate, changed while running ----------------------------------------
class ServedCertificate:
    """The HTTPS listener's certificate: its TLS context (shared by every HTTPS endpoint) and
    files. `install`/`regenerate` write new files and load them into the same context, so new
    connections get the new certificate at once; connections already open keep theirs."""

    def __init__(self, cert_path: str, key_path: str | None = None, *,
                 generate: bool = True) -> None:
        self.cert_path = cert_path
        self.key_path = key_path
        self.context = server_context(cert_path, key_path, generate=generate)

    def _key_file(self) -> str | None:
        if self.key_path is not None:
            return self.key_path
        with open(self.cert_path, "rb") as f:
            inside = b"PRIVATE KEY-----" in f.read()
        return None if inside else _alongside_key(self.cert_path)

    def facts(self) -> CertificateFacts:
        with open(self.cert_path, "rb") as f:
            first = pem_certificates(f.read())[0]
        return facts(x509.load_pem_x509_certificate(first))

    def install(self, cert_pem: bytes, key_pem: bytes, chain_pem: bytes = b"") -> None:
        """Serve `cert_pem` (+ `chain_pem`) with `key_pem` from now on (already validated:
        `validate_server_certificate`). The files are replaced whole: a crash leaves the old
        or the new certificate, and a bad pair fails before anything is written."""
        probe = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory() as tmp:
            c, k = os.path.join(tmp, "c.pem"), os.path.join(tmp, "k.pem")
            write_private(c, cert_pem + chain_pem)
            write_private(k, key_pem)
            try:
                probe.load_cert_chain(c, k)
            except ssl.SSLError as e:
                raise CertificateError(f"the certificate and key do not load together: {e}")
        key_file = self._key_file()
        if key_file is None:
            write_private(self.cert_path, cert_pem + chain_pem + key_pem)
        else:
            write_private(key_file, key_pem)
            write_private(self.cert_path, cert_pem + chain_pem)
        write_private(self._installed_marker, b"")
        self.reload()

    @property
    def _installed_marker(self) -> str:
        return self.cert_path + ".installed"

    @property
    def installed(self) -> bool:
        """Whether the certificate was installed (not generated here)."""
        return os.path.exists(self._installed_marker)

    def regenerate(self) -> None:
        """A new self-signed certificate and key in place of the current ones."""
        key_file = self._key_file()
        if key_file is not None and key_file != self.key_path:
            key_file = None         # a key beside the certificate: the new one goes inside
            os.unlink(_alongside_key(self.cert_path) or "")
        tmp = self.cert_path + ".new"
        generate_self_signed(tmp, None if key_file is None else key_file + ".new")
        if key_file is not None:
            os.replace(key_file + ".new", key_file)
        os.replace(tmp, self.cert_path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._installed_marker)
        self.reload()

    def reload(self) -> None:
        """Load the files again into the context the listeners use."""
        self.context.load_cert_chain(self.cert_path, self._key_file())
