"""What X.509 certificates say (fingerprints, validity) and xapi's checks of a server
certificate; private files written whole. Used by the HTTPS listener (server/tls.py) and the
certificate messages (api/certificates.py)."""
from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


class CertificateError(Exception):
    """A certificate or key cannot be used (the message says which file and why)."""


def write_private(path: str, data: bytes) -> None:
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


_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\s*", re.S)


def fingerprint(der: bytes, algorithm: str) -> str:
    """xapi's form: upper-case hex bytes joined by colons (`AB:CD:...`)."""
    return ":".join(f"{b:02X}" for b in hashlib.new(algorithm, der).digest())


@dataclass(frozen=True)
class CertificateFacts:
    """What a Certificate record says about a certificate."""

    not_before: _dt.datetime
    not_after: _dt.datetime
    sha256: str
    sha1: str
    pem: str


def pem_certificates(data: bytes) -> list[bytes]:
    """Every PEM certificate block in `data`, in order."""
    return [m.group(0).strip() + b"\n" for m in _PEM_CERT.finditer(data)]


def facts(cert: x509.Certificate) -> CertificateFacts:
    der = cert.public_bytes(serialization.Encoding.DER)
    return CertificateFacts(cert.not_valid_before_utc.replace(microsecond=0),
                            cert.not_valid_after_utc.replace(microsecond=0),
                            fingerprint(der, "sha256"), fingerprint(der, "sha1"),
                            cert.public_bytes(serialization.Encoding.PEM).decode())


def load_certificate(pem: bytes) -> x509.Certificate | None:
    """The single certificate of `pem` (None: not exactly one parsable PEM certificate)."""
    blocks = pem_certificates(pem)
    if len(blocks) != 1:
        return None
    try:
        return x509.load_pem_x509_certificate(blocks[0])
    except ValueError:
        return None


RSA_KEY_BITS = (2048, 4096)


def validate_server_certificate(cert_pem: bytes, key_pem: bytes, chain_pem: bytes,
                                now: _dt.datetime) -> x509.Certificate:
    """xapi's checks of host.install_server_certificate; raises `InvalidServerCertificate`
    with the XenAPI error code and parameters."""
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise InvalidServerCertificate("SERVER_CERTIFICATE_KEY_INVALID") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidServerCertificate("SERVER_CERTIFICATE_KEY_ALGORITHM_NOT_SUPPORTED",
                                       _key_oid(key))
    if not RSA_KEY_BITS[0] <= key.key_size <= RSA_KEY_BITS[1]:
        raise InvalidServerCertificate("SERVER_CERTIFICATE_KEY_RSA_LENGTH_NOT_SUPPORTED",
                                       str(key.key_size))
    cert = load_certificate(cert_pem)
    if cert is None:
        raise InvalidServerCertificate("SERVER_CERTIFICATE_INVALID")
    if cert.not_valid_before_utc > now:
        raise InvalidServerCertificate("SERVER_CERTIFICATE_NOT_VALID_YET", xapi_time(now),
                                       xapi_time(cert.not_valid_before_utc))
    if cert.not_valid_after_utc < now:
        raise InvalidServerCertificate("SERVER_CERTIFICATE_EXPIRED", xapi_time(now),
                                       xapi_time(cert.not_valid_after_utc))
    if cert.public_key().public_numbers() != key.public_key().public_numbers():
        raise InvalidServerCertificate("SERVER_CERTIFICATE_KEY_MISMATCH")
    algo = cert.signature_hash_algorithm
    if algo is None or algo.name not in ("sha256", "sha384", "sha512"):
        raise InvalidServerCertificate("SERVER_CERTIFICATE_SIGNATURE_NOT_SUPPORTED")
    if chain_pem.strip():
        blocks = pem_certificates(chain_pem)
        try:
            if not blocks:
                raise ValueError("no certificate")
            for b in blocks:
                x509.load_pem_x509_certificate(b)
        except ValueError:
            raise InvalidServerCertificate("SERVER_CERTIFICATE_CHAIN_INVALID") from None
    return cert


class InvalidServerCertificate(Exception):
    """A certificate refused: `args` are the XenAPI error code and its parameters."""


def xapi_time(t: _dt.datetime) -> str:
    return t.astimezone(_dt.timezone.utc).strftime("%Y%m%dT%H:%M:%SZ")


def _key_oid(key: object) -> str:
    """The algorithm OID of a private key xapi refuses (it names the OID)."""
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, x448, x25519
    for kind, oid in ((ec.EllipticCurvePrivateKey, "1.2.840.10045.2.1"),
                      (dsa.DSAPrivateKey, "1.2.840.10040.4.1"),
                      (ed25519.Ed25519PrivateKey, "1.3.101.112"),
                      (ed448.Ed448PrivateKey, "1.3.101.113"),
                      (x25519.X25519PrivateKey, "1.3.101.110"),
                      (x448.X448PrivateKey, "1.3.101.111")):
        if isinstance(key, kind):
            return oid
    return type(key).__name__
