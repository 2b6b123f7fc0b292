"""The launcher's pure parts: CA and server certificate generation, reuse, the admin token, the
kubeconfig and the filter of daphne's terminal output. No server runs; the TLS handshake tests run
both ends in memory (ssl.MemoryBIO)."""
from __future__ import annotations

import base64
import datetime
import ipaddress
import ssl
import stat
from http import HTTPStatus
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from kcpsite.launcher import (
    RENEW_BEFORE,
    ensure_admin_token,
    ensure_tls,
    generate_ca,
    generate_server_cert,
    is_noise,
    kubeconfig_document,
    write_kubeconfig,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_server_certificate_is_signed_by_the_ca_for_loopback_names() -> None:
    ca_pem, ca_key = generate_ca()
    cert_pem, _key = generate_server_cert(ca_pem, ca_key)
    ca = x509.load_pem_x509_certificate(ca_pem)
    cert = x509.load_pem_x509_certificate(cert_pem)

    cert.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in list(eku)


def _handshake(ca_pem: bytes, cert_file: Path, key_file: Path, server_hostname: str) -> None:
    """A full TLS handshake between an ssl server and a verifying client, entirely in memory."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert_file, key_file)
    client_ctx = ssl.create_default_context(cadata=ca_pem.decode())  # strict verification on 3.13
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=server_hostname)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(10):
        for name, conn, out, peer_in in (("client", client, c_out, s_in), ("server", server, s_out, c_in)):
            if not done[name]:
                try:
                    conn.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
            peer_in.write(out.read())
        if all(done.values()):
            return
    raise AssertionError("handshake did not complete")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_python_tls_client_trusts_the_server_through_the_ca(tmp_path: Path, host: str) -> None:
    files = ensure_tls(tmp_path / "tls")
    _handshake(files.ca_cert.read_bytes(), files.server_cert, files.server_key, host)


def test_a_foreign_ca_is_rejected(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path / "tls")
    other_ca, _ = generate_ca()
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(other_ca, files.server_cert, files.server_key, "127.0.0.1")


def test_tls_material_is_generated_once_with_private_keys_0600(tmp_path: Path) -> None:
    tls = tmp_path / "tls"
    files = ensure_tls(tls)
    assert mode(files.ca_key) == 0o600
    assert mode(files.server_key) == 0o600
    assert mode(tls) == 0o700
    before = {p: p.read_bytes() for p in (files.ca_cert, files.ca_key, files.server_cert, files.server_key)}

    again = ensure_tls(tls)

    assert again == files
    assert {p: p.read_bytes() for p in before} == before
    assert not [p for p in tls.iterdir() if p.name.startswith(".")], "no temporary files left behind"


def test_an_expiring_server_certificate_is_reissued_by_the_same_ca(tmp_path: Path) -> None:
    tls = tmp_path / "tls"
    files = ensure_tls(tls)
    ca_before, cert_before = files.ca_cert.read_bytes(), files.server_cert.read_bytes()
    cert = x509.load_pem_x509_certificate(cert_before)
    later = cert.not_valid_after_utc - RENEW_BEFORE + datetime.timedelta(days=1)

    ensure_tls(tls, now=later)

    assert files.ca_cert.read_bytes() == ca_before
    renewed = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    assert renewed.serial_number != cert.serial_number
    renewed.verify_directly_issued_by(x509.load_pem_x509_certificate(ca_before))
    assert renewed.not_valid_after_utc > cert.not_valid_after_utc


def test_a_server_certificate_from_another_ca_is_replaced(tmp_path: Path) -> None:
    tls = tmp_path / "tls"
    files = ensure_tls(tls)
    other_ca, other_key = generate_ca()
    foreign_cert, foreign_key = generate_server_cert(other_ca, other_key)
    files.server_cert.write_bytes(foreign_cert)
    files.server_key.write_bytes(foreign_key)

    ensure_tls(tls)

    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    x509.load_pem_x509_certificate(files.server_cert.read_bytes()).verify_directly_issued_by(ca)


def test_admin_token_is_generated_once_0600(tmp_path: Path) -> None:
    path = tmp_path / "admin-token"
    token = ensure_admin_token(path)
    assert len(token) >= 32
    assert mode(path) == 0o600
    assert ensure_admin_token(path) == token


def test_kubeconfig_trusts_the_ca_and_carries_the_token(tmp_path: Path) -> None:
    ca_pem, _ = generate_ca()
    path = tmp_path / "admin.kubeconfig"
    server = "https://127.0.0.1:7443/clusters/root"

    write_kubeconfig(path, server, ca_pem, "secret-token")

    assert mode(path) == 0o600
    doc = yaml.safe_load(path.read_text())
    assert doc == kubeconfig_document(server, ca_pem, "secret-token")
    (cluster,) = doc["clusters"]
    assert cluster["cluster"]["server"] == server
    assert base64.b64decode(cluster["cluster"]["certificate-authority-data"]) == ca_pem
    assert "insecure-skip-tls-verify" not in cluster["cluster"]
    (user,) = doc["users"]
    assert user["user"] == {"token": "secret-token"}
    (context,) = doc["contexts"]
    assert context["context"] == {"cluster": cluster["name"], "user": user["name"]}
    assert doc["current-context"] == context["name"]


def test_kubeconfig_rewrite_is_atomic_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    ca_pem, _ = generate_ca()
    path = tmp_path / "admin.kubeconfig"
    write_kubeconfig(path, "https://127.0.0.1:1/clusters/root", ca_pem, "one")
    write_kubeconfig(path, "https://127.0.0.1:2/clusters/root", ca_pem, "two")

    assert yaml.safe_load(path.read_text())["users"][0]["user"]["token"] == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["admin.kubeconfig"]


@pytest.mark.parametrize(("line", "noise"), [
    ("Not Found: /clusters/root/api/v1/namespaces/x", True),
    ("Conflict: /clusters/root/api/v1/namespaces", True),
    (f"{HTTPStatus.UNPROCESSABLE_ENTITY.phrase}: /clusters/root/api/v1/namespaces", True),
    ("2026-01-01 00:00:00,000 INFO     Listening on TCP address 127.0.0.1:6443", True),
    ("Internal Server Error: /clusters/root/api/v1/namespaces", False),
    ("Traceback (most recent call last):", False),
    ("ValueError: Not Found: /x", False),
])
def test_only_errors_of_daphne_reach_the_terminal(line: str, noise: bool) -> None:
    assert is_noise(line) is noise

