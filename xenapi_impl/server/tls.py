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

VALIDITY_DAYS = 3650


class CertificateError(Exception):
    """A certificate or key cannot be used (the message says which file and why)."""


def _host_names() -> list[str]:
    names = ["localhost"]
    for n in (socket.gethostname(), socket.getfqdn()):
        if n and n not in names:
            names.append(n)
    return names


def _write_private(path: str, data: bytes) -> None:
    """Write `data` to `path` with mode 0600 from the first byte (temp file + rename)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-cert-")  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


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
        _write_private(cert_path, cert_pem + key_pem)
    else:
        _write_private(key_path, key_pem)
        _write_private(cert_path, cert_pem)


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
