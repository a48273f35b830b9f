"""Certificates and host settings in a pool of three real server processes on PostgreSQL
(test_pool.py's pool): a server certificate installed on a slave through the master is served
by that slave, and host-to-host calls keep working (the new fingerprint is pinned); CA
certificates reach every host's trust directory; the pool secret rotates without breaking
host-to-host calls; host settings run on their host and pool settings on every host."""
from __future__ import annotations

import json
import os
import socket
import ssl

from cryptography import x509

from test_certificates_sdk import colon_hex, make_cert
from test_pool import Host, pool  # noqa: F401 - the pool fixture


def served_der(host: Host) -> bytes:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host.address, host.https_port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            return s.getpeercert(binary_form=True)


def applied(host: Host) -> list:
    path = os.path.join(str(host.work), "xapi.hostconfig.json")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return json.load(f)["applied"]


def test_certificates_and_settings_across_the_pool(pool):  # noqa: F811
    a, b, c = pool
    x = a.session(a.proc.password).xenapi
    refs = {x.host.get_name_label(h): h for h in x.host.get_all()}
    hb = refs["host1"]
    cert_pem, key_pem, cert = make_cert(cn="host1.pool.example")
    x.host.install_server_certificate(hb, cert_pem.decode(), key_pem.decode(), "")
    der = served_der(b)
    assert x509.load_der_x509_certificate(der).subject == cert.subject
    recs = [r for r in x.Certificate.get_all_records().values()
            if r["host"] == hb and r["type"] == "host"]
    assert [r["fingerprint_sha256"] for r in recs] == [colon_hex(der, "sha256")]
    assert x.host.get_server_certificate(hb).strip() == cert_pem.decode().strip()
    # the master still reaches the slave (pinning the new certificate)
    assert "Xen version" in x.host.dmesg(hb)

    x.pool.rotate_secret()
    assert "Xen version" in x.host.dmesg(hb)

    ca_pem, _k, _ca = make_cert(cn="Pool CA", ca=True)
    x.pool.install_ca_certificate("pool-ca.pem", ca_pem.decode())
    for h in pool:
        assert os.path.exists(os.path.join(str(h.work), "xapi.trust", "ca", "pool-ca.pem"))
    assert len([r for r in x.Certificate.get_all_records().values() if r["type"] == "ca"]) == 1
    x.pool.uninstall_ca_certificate("pool-ca.pem", False)
    for h in pool:
        assert not os.path.exists(os.path.join(str(h.work), "xapi.trust", "ca", "pool-ca.pem"))

    x.host.set_timezone(hb, "America/Chicago")
    assert ["timezone", "America/Chicago"] in applied(b)
    assert ["timezone", "America/Chicago"] not in applied(a)
    x.pool.set_https_only(x.pool.get_all()[0], True)
    for name, ref in refs.items():
        assert x.host.get_https_only(ref) is True, name
    for h in pool:
        assert ["https_only", True] in applied(h)
