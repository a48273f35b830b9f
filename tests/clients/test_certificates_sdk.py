"""Certificates through the official XenAPI SDK against a real server process: the served TLS
certificate's record, installing a new server certificate (seen by a real TLS client at once
and after a restart), resetting it, and the pool's trusted CA certificates and CRLs."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import socket
import ssl

import pytest
import XenAPI
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from sdk import details
from serverproc import ServerProcess


def served_der(srv: ServerProcess) -> bytes:
    """The certificate a TLS client gets in a new handshake with the server."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", srv.ports["https"]), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            return s.getpeercert(binary_form=True)


def colon_hex(der: bytes, algo: str) -> str:
    return ":".join(f"{b:02X}" for b in hashlib.new(algo, der).digest())


def make_cert(*, cn: str = "installed.example", key=None, issuer=None, issuer_key=None,
              days: tuple[int, int] = (-1, 30), ca: bool = False,
              algo=hashes.SHA256()) -> tuple[bytes, bytes, x509.Certificate]:
    """A PEM certificate and its PEM key (signed by `issuer_key`, or self-signed)."""
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name)
            .issuer_name(issuer.subject if issuer is not None else name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now + dt.timedelta(days=days[0]))
            .not_valid_after(now + dt.timedelta(days=days[1]))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(issuer_key or key, algo))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem, cert


def login(srv: ServerProcess) -> XenAPI.Session:
    s = XenAPI.Session(srv.url)
    s.xenapi.login_with_password("root", srv.password, "1.0", "pytest-certs")
    return s


@pytest.fixture
def srv(tmp_path_factory):
    # no '_' in the socket's path (the SDK's Unix transport turns it into '/')
    with ServerProcess(str(tmp_path_factory.mktemp("certs")), https=True, unix=True) as server:
        yield server


def local_root(srv: ServerProcess) -> XenAPI.Session:
    """The local superuser over the Unix socket (emergency messages are only theirs)."""
    s = XenAPI.Session("http://" + srv.unix_path.replace("/", "_"),
                       transport=XenAPI.UDSTransport())
    s.xenapi.login_with_password("root", "")
    return s


def host_certificate(x, host: str) -> dict:
    recs = [r for r in x.Certificate.get_all_records().values()
            if r["host"] == host and r["type"] == "host"]
    assert len(recs) == 1, recs
    return recs[0]


def test_record_describes_served_certificate(srv):
    x = login(srv).xenapi
    host = x.host.get_all()[0]
    der = served_der(srv)
    cert = x509.load_der_x509_certificate(der)
    rec = host_certificate(x, host)
    assert rec["fingerprint_sha256"] == colon_hex(der, "sha256")
    assert rec["fingerprint_sha1"] == colon_hex(der, "sha1")
    assert rec["fingerprint"] == rec["fingerprint_sha256"]
    assert rec["not_after"].value == cert.not_valid_after_utc.strftime("%Y%m%dT%H:%M:%SZ")
    assert rec["not_before"].value == cert.not_valid_before_utc.strftime("%Y%m%dT%H:%M:%SZ")
    ref = x.Certificate.get_by_uuid(rec["uuid"])
    assert x.host.get_certificates(host) == [ref]
    pem = x.host.get_server_certificate(host)
    assert x509.load_pem_x509_certificate(pem.encode()).public_bytes(
        serialization.Encoding.DER) == der
    assert x.host.get_ssl_legacy(host) is False


def test_install_server_certificate_is_served_now_and_after_restart(srv):
    x = login(srv).xenapi
    host = x.host.get_all()[0]
    old = served_der(srv)
    ca_pem, ca_key_pem, ca = make_cert(cn="Test CA", ca=True)
    ca_key = serialization.load_pem_private_key(ca_key_pem, None)
    cert_pem, key_pem, cert = make_cert(issuer=ca, issuer_key=ca_key)
    x.host.install_server_certificate(host, cert_pem.decode(), key_pem.decode(), ca_pem.decode())
    new = served_der(srv)
    assert new != old
    assert x509.load_der_x509_certificate(new).subject == cert.subject
    rec = host_certificate(x, host)
    assert rec["fingerprint_sha256"] == colon_hex(new, "sha256")
    # the chain is served too: a client trusting only the CA verifies the host
    ctx = ssl.create_default_context(cadata=ca_pem.decode())
    ctx.check_hostname = False
    with socket.create_connection(("127.0.0.1", srv.ports["https"]), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="installed.example") as s:
            assert s.version() in ("TLSv1.2", "TLSv1.3")
    # the SDK over HTTPS still works on a new connection
    s2 = XenAPI.Session(srv.https_url, ignore_ssl=True)
    s2.xenapi.login_with_password("root", srv.password, "1.0", "pytest-certs")
    assert s2.xenapi.host.get_all() == [host]
    srv.stop()
    srv.start()
    assert served_der(srv) == new
    x = login(srv).xenapi
    assert host_certificate(x, host)["fingerprint_sha256"] == colon_hex(new, "sha256")


def test_install_refusals_change_nothing(srv):
    x = login(srv).xenapi
    host = x.host.get_all()[0]
    before = served_der(srv)
    cert_pem, key_pem, _ = make_cert()
    other_pem, other_key, _ = make_cert(cn="other")
    expired_pem, expired_key, expired = make_cert(days=(-30, -1))
    future_pem, future_key, future = make_cert(days=(2, 30))
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_pem, ec_key_pem, _ = make_cert(key=ec_key)
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    small_pem, small_key_pem, _ = make_cert(key=small)
    sha1_pem, sha1_key, _ = make_cert(algo=hashes.SHA224())
    inst = x.host.install_server_certificate
    assert details(inst, host, cert_pem.decode(), "junk", "") == \
        ["SERVER_CERTIFICATE_KEY_INVALID"]
    assert details(inst, host, "junk", key_pem.decode(), "") == ["SERVER_CERTIFICATE_INVALID"]
    assert details(inst, host, cert_pem.decode(), other_key.decode(), "") == \
        ["SERVER_CERTIFICATE_KEY_MISMATCH"]
    d = details(inst, host, expired_pem.decode(), expired_key.decode(), "")
    assert d[0] == "SERVER_CERTIFICATE_EXPIRED" and d[2] == \
        expired.not_valid_after_utc.strftime("%Y%m%dT%H:%M:%SZ")
    d = details(inst, host, future_pem.decode(), future_key.decode(), "")
    assert d[0] == "SERVER_CERTIFICATE_NOT_VALID_YET" and d[2] == \
        future.not_valid_before_utc.strftime("%Y%m%dT%H:%M:%SZ")
    assert details(inst, host, ec_pem.decode(), ec_key_pem.decode(), "") == \
        ["SERVER_CERTIFICATE_KEY_ALGORITHM_NOT_SUPPORTED", "1.2.840.10045.2.1"]
    assert details(inst, host, small_pem.decode(), small_key_pem.decode(), "") == \
        ["SERVER_CERTIFICATE_KEY_RSA_LENGTH_NOT_SUPPORTED", "1024"]
    assert details(inst, host, sha1_pem.decode(), sha1_key.decode(), "") == \
        ["SERVER_CERTIFICATE_SIGNATURE_NOT_SUPPORTED"]
    assert details(inst, host, cert_pem.decode(), key_pem.decode(), "not a chain") == \
        ["SERVER_CERTIFICATE_CHAIN_INVALID"]
    assert served_der(srv) == before
    assert host_certificate(x, host)["fingerprint_sha256"] == colon_hex(before, "sha256")


def test_reset_server_certificate(srv):
    x = login(srv).xenapi
    host = x.host.get_all()[0]
    cert_pem, key_pem, _ = make_cert()
    x.host.install_server_certificate(host, cert_pem.decode(), key_pem.decode(), "")
    installed = served_der(srv)
    x.host.refresh_server_certificate(host)        # an installed certificate is kept
    assert served_der(srv) == installed
    x.host.reset_server_certificate(host)
    fresh = served_der(srv)
    c = x509.load_der_x509_certificate(fresh)
    assert fresh != installed and c.issuer == c.subject          # self-signed again
    assert host_certificate(x, host)["fingerprint_sha256"] == colon_hex(fresh, "sha256")
    x.host.refresh_server_certificate(host)        # a self-signed one is renewed
    assert served_der(srv) not in (fresh, installed)
    assert details(x.host.emergency_reset_server_certificate)[0] == "RBAC_PERMISSION_DENIED"
    local_root(srv).xenapi.host.emergency_reset_server_certificate()
    assert host_certificate(x, host)["fingerprint_sha256"] == colon_hex(served_der(srv),
                                                                        "sha256")
    assert len(x.Certificate.get_all()) == 1


def test_ca_certificates_and_crls(srv):
    x = login(srv).xenapi
    pool = x.pool.get_all()[0]
    ca_pem, ca_key_pem, ca = make_cert(cn="Corp CA", ca=True)
    x.pool.install_ca_certificate("corp.pem", ca_pem.decode())
    assert x.pool.certificate_list() == ["corp.pem"]
    recs = [r for r in x.Certificate.get_all_records().values() if r["type"] == "ca"]
    assert len(recs) == 1 and recs[0]["name"] == "corp.pem"
    assert recs[0]["host"] == "OpaqueRef:NULL"
    assert recs[0]["fingerprint_sha256"] == colon_hex(
        ca.public_bytes(serialization.Encoding.DER), "sha256")
    assert os.path.exists(srv.db + ".trust/ca/corp.pem")
    assert details(x.pool.certificate_install, "corp.pem", ca_pem.decode()) == \
        ["CERTIFICATE_ALREADY_EXISTS", "corp.pem"]
    assert details(x.pool.certificate_install, "../evil", ca_pem.decode()) == \
        ["CERTIFICATE_NAME_INVALID", "../evil"]
    assert details(x.pool.certificate_install, "bad.pem", "junk") == \
        ["CERTIFICATE_CORRUPT", "bad.pem"]
    assert x.pool.certificate_list() == ["corp.pem"]
    # a CRL signed by the CA
    ca_key = serialization.load_pem_private_key(ca_key_pem, None)
    now = dt.datetime.now(dt.timezone.utc)
    crl = (x509.CertificateRevocationListBuilder().issuer_name(ca.subject)
           .last_update(now).next_update(now + dt.timedelta(days=7))
           .sign(ca_key, hashes.SHA256())).public_bytes(serialization.Encoding.PEM).decode()
    x.pool.crl_install("corp.crl", crl)
    assert x.pool.crl_list() == ["corp.crl"]
    assert details(x.pool.crl_install, "corp.crl", crl) == ["CRL_ALREADY_EXISTS", "corp.crl"]
    assert details(x.pool.crl_install, "x.crl", "junk") == ["CRL_CORRUPT", "x.crl"]
    x.pool.certificate_sync()                   # one host: no other host to copy to
    x.pool.crl_uninstall("corp.crl")
    assert x.pool.crl_list() == []
    assert details(x.pool.crl_uninstall, "corp.crl") == ["CRL_DOES_NOT_EXIST", "corp.crl"]
    # trusted certificates: a pinned leaf with a purpose
    leaf_pem, _k, leaf = make_cert(cn="ldap.example")
    x.pool.install_trusted_certificate(pool, False, leaf_pem.decode(), ["ldaps"])
    pinned = [(ref, r) for ref, r in x.Certificate.get_all_records().items()
              if r["type"] == "pinned"]
    assert len(pinned) == 1 and pinned[0][1]["purpose"] == ["ldaps"]
    fp = colon_hex(leaf.public_bytes(serialization.Encoding.DER), "sha256")
    assert details(x.pool.install_trusted_certificate, pool, False, leaf_pem.decode(),
                   ["ldaps"]) == ["TRUSTED_CERTIFICATE_ALREADY_EXISTS", fp]
    assert details(x.pool.install_trusted_certificate, pool, True, "junk", []) == \
        ["TRUSTED_CERTIFICATE_INVALID"]
    host_cert = host_certificate(x, x.host.get_all()[0])
    host_ref = x.Certificate.get_by_uuid(host_cert["uuid"])
    assert details(x.pool.uninstall_trusted_certificate, pool, host_ref) == \
        ["NOT_TRUSTED_CERTIFICATE", host_ref]
    x.pool.uninstall_trusted_certificate(pool, pinned[0][0])
    # the CA survives a restart (files and records), then goes
    srv.stop()
    srv.start()
    x = login(srv).xenapi
    assert x.pool.certificate_list() == ["corp.pem"]
    x.pool.uninstall_ca_certificate("corp.pem", False)
    assert x.pool.certificate_list() == []
    assert [r["type"] for r in x.Certificate.get_all_records().values()] == ["host"]
    assert details(x.pool.certificate_uninstall, "corp.pem") == \
        ["CERTIFICATE_DOES_NOT_EXIST", "corp.pem"]
    x.pool.uninstall_ca_certificate("corp.pem", True)     # force: no error when absent


def test_send_test_post_trusts_only_the_pools_certificates(srv):
    x = login(srv).xenapi
    pool = x.pool.get_all()[0]
    port = srv.ports["https"]
    body = "<?xml version='1.0'?><methodCall><methodName>system.listMethods</methodName>" \
           "<params></params></methodCall>"
    d = details(x.pool.send_test_post, "127.0.0.1", str(port), body)
    assert d[0] == "SSL_VERIFY_ERROR" and "self-signed" in d[1], d
    # pinned: the server's own certificate, trusted
    served = ssl.DER_cert_to_PEM_cert(served_der(srv))
    x.pool.install_trusted_certificate(pool, False, served, [])
    answer = x.pool.send_test_post("127.0.0.1", str(port), body)
    assert "<methodResponse>" in answer and "VM.start" in answer
    # a CA the pool trusts: a certificate it issued is accepted without pinning
    for ref, r in x.Certificate.get_all_records().items():
        if r["type"] == "pinned":
            x.pool.uninstall_trusted_certificate(pool, ref)
    assert details(x.pool.send_test_post, "127.0.0.1", str(port), body)[0] == \
        "SSL_VERIFY_ERROR"
    ca_pem, ca_key_pem, ca = make_cert(cn="Post CA", ca=True)
    cert_pem, key_pem, _ = make_cert(issuer=ca, issuer_key=serialization.load_pem_private_key(
        ca_key_pem, None))
    host = x.host.get_all()[0]
    x.host.install_server_certificate(host, cert_pem.decode(), key_pem.decode(), "")
    x.pool.install_ca_certificate("post-ca.pem", ca_pem.decode())
    assert "<methodResponse>" in x.pool.send_test_post("127.0.0.1", str(port), body)
    with socket.socket() as s:          # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    assert details(x.pool.send_test_post, "127.0.0.1", str(free), body) == \
        ["TLS_CONNECTION_FAILED", "127.0.0.1", str(free)]
