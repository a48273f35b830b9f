"""HTTPS: the self-signed certificate generated on first start, or one given."""
from __future__ import annotations

import os
import socket
import ssl
import stat
import xmlrpc.client as xc

import pytest
import XenAPI
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from test_transport import SESSION, ServerThread
from xenapi_impl.server import tls


def _pinned(cert_path: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=cert_path)  # verifies chain and host name
    return ctx


def _load_cert(path: str) -> x509.Certificate:
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def test_generated_certificate_is_used_and_verifiable(tmp_path):
    cert_path = str(tmp_path / "state" / "xapi-ssl.pem")
    s = ServerThread().start(https=[("127.0.0.1", 0)], cert=cert_path)
    try:
        st = os.stat(cert_path)
        assert stat.S_IMODE(st.st_mode) == 0o600
        with open(cert_path, "rb") as f:
            pem = f.read()
        assert b"PRIVATE KEY" in pem and b"CERTIFICATE" in pem
        cert = _load_cert(cert_path)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = san.get_values_for_type(x509.DNSName)
        assert "localhost" in names and socket.gethostname() in names
        assert {str(a) for a in san.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}

        port = s.port("https")
        # The certificate served is the one on disk, and it verifies with host-name checks for
        # both 127.0.0.1 and localhost.
        served = ssl.get_server_certificate(("127.0.0.1", port))
        assert x509.load_pem_x509_certificate(served.encode()) == cert
        for host in ("127.0.0.1", "localhost"):
            proxy = xc.ServerProxy(f"https://{host}:{port}/", context=_pinned(cert_path))
            assert proxy.echo("tls") == {"Status": "Success", "Value": ["tls"]}
        # The SDK over HTTPS (its ignore_ssl path, as most scripts use it).
        session = XenAPI.Session(f"https://127.0.0.1:{port}", ignore_ssl=True)
        session.xenapi.login_with_password("root", "secret")
        assert session.handle == SESSION
        who = xc.ServerProxy(f"https://localhost:{port}/", context=_pinned(cert_path)).whoami()
        assert who["Value"]["transport"] == "https"
        # An unpinned client refuses the self-signed certificate (so verification is real).
        with pytest.raises(ssl.SSLCertVerificationError):
            xc.ServerProxy(f"https://localhost:{port}/", context=ssl.create_default_context()).echo()
    finally:
        s.close()
    # Second start reuses the same certificate rather than generating a new one.
    s = ServerThread().start(https=[("127.0.0.1", 0)], cert=cert_path)
    try:
        with open(cert_path, "rb") as f:
            assert f.read() == pem
    finally:
        s.close()


def test_http_and_https_side_by_side(tmp_path):
    cert_path = str(tmp_path / "c.pem")
    s = ServerThread().start(http=[("127.0.0.1", 0)], https=[("127.0.0.1", 0)], cert=cert_path)
    try:
        assert xc.ServerProxy(f"http://127.0.0.1:{s.port('http')}/").whoami()["Value"]["transport"] == "http"
        https = xc.ServerProxy(f"https://127.0.0.1:{s.port('https')}/", context=_pinned(cert_path))
        assert https.whoami()["Value"]["transport"] == "https"
    finally:
        s.close()


def test_given_certificate_with_separate_key(tmp_path):
    cert_path, key_path = str(tmp_path / "server.crt"), str(tmp_path / "server.key")
    tls.generate_self_signed(cert_path, key_path)
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    with open(cert_path, "rb") as f:
        assert b"PRIVATE KEY" not in f.read()
    # Explicit key path, and the key found alongside (<name>.key) when none is given.
    for key in (key_path, None):
        s = ServerThread().start(https=[("127.0.0.1", 0)], cert=cert_path, key=key)
        try:
            proxy = xc.ServerProxy(f"https://localhost:{s.port('https')}/", context=_pinned(cert_path))
            assert proxy.echo(1) == {"Status": "Success", "Value": ["1"]}
        finally:
            s.close()


def test_unusable_certificates_are_refused_clearly(tmp_path):
    cert_path = str(tmp_path / "lonely.crt")
    tls.generate_self_signed(cert_path, str(tmp_path / "elsewhere.pem"))
    with pytest.raises(tls.CertificateError, match="holds no private key"):
        tls.server_context(cert_path)
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot really\n-----END PRIVATE KEY-----\n")
    with pytest.raises(tls.CertificateError, match="cannot load certificate"):
        tls.server_context(str(garbage))
    with pytest.raises(tls.CertificateError, match="does not exist"):
        tls.server_context(str(tmp_path / "missing.pem"), generate=False)
    # A key without its certificate is never overwritten by generation.
    key_only = tmp_path / "k.key"
    key_only.write_bytes(b"precious")
    with pytest.raises(tls.CertificateError, match="refusing to replace"):
        tls.server_context(str(tmp_path / "k.crt"), str(key_only))
    assert key_only.read_bytes() == b"precious"
    # The server refuses to start on such material, and listens nowhere.
    s = ServerThread()
    try:
        with pytest.raises(tls.CertificateError):
            s.run(s.server.start(http=[("127.0.0.1", 0)], https=[("127.0.0.1", 0)], cert=cert_path))
        assert s.server.endpoints == []
    finally:
        s.close()


def test_generated_key_matches_certificate(tmp_path):
    path = str(tmp_path / "x.pem")
    tls.generate_self_signed(path)
    with open(path, "rb") as f:
        data = f.read()
    key = serialization.load_pem_private_key(data, password=None)
    cert = x509.load_pem_x509_certificate(data)
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()


def test_served_certificate_replaced_in_each_file_layout(tmp_path):
    """ServedCertificate (host.install/reset_server_certificate): key inside the PEM, beside
    it (<name>.key), or in an explicit --key file; each stays loadable."""
    import datetime as dt
    import ssl as _ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    def pair(cn):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        now = dt.datetime.now(dt.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(1)
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
        return (cert.public_bytes(serialization.Encoding.PEM),
                key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))

    def loads(cert, key=None):
        _ssl.SSLContext(_ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key)

    for layout in ("inside", "beside", "explicit"):
        d = tmp_path / layout
        d.mkdir()
        cert = str(d / "server.pem")
        key = str(d / ("server.key" if layout == "beside" else "my.key"))
        tls.generate_self_signed(cert, None if layout == "inside" else key)
        served = tls.ServedCertificate(cert, key if layout == "explicit" else None)
        c, k = pair(f"{layout}.example")
        served.install(c, k)
        assert served.installed and served.facts().pem.encode() == c
        loads(cert, key if layout != "inside" else None)
        if layout == "inside":
            assert b"PRIVATE KEY" in (d / "server.pem").read_bytes()
        first = served.facts().sha256
        served.regenerate()
        assert not served.installed and served.facts().sha256 != first
        if layout == "beside":              # the new key went inside; the old one is gone
            assert not (d / "server.key").exists()
            loads(cert)
        else:
            loads(cert, key if layout == "explicit" else None)
