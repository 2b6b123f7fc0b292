"""The stack's TLS material: a local CA and a server certificate it signs, generated once and reused.

Contract
--------
* `ensure_tls(<data>/tls)` generates a self-signed CA (`ca.crt`, `ca.key`) and a server
  certificate for 127.0.0.1/localhost signed by it (`server.crt`, `server.key`) the first time,
  and reuses them afterwards. Private keys are 0600, the directory 0700.
* The CA is never replaced while its files exist: kubeconfigs handed out earlier embed it, so a
  second start keeps them valid. The server certificate is re-issued by that CA when missing,
  unreadable, not signed by it, not covering the hosts, or within `RENEW_BEFORE` of expiry.
* Keys are ECDSA P-256; the extensions are what Python's strict X.509 verification and Go's
  verifier require (see `generate_ca`, `generate_server_cert`). Pure functions over files: no
  Django, no processes.
"""
from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kcpsite.private_files import write_private

SERVER_HOSTS = ("127.0.0.1", "localhost")
# A server certificate this close to expiry is re-issued at start (by the same CA, so clients keep working).
RENEW_BEFORE = datetime.timedelta(days=30)
CA_VALIDITY = datetime.timedelta(days=3650)
SERVER_VALIDITY = datetime.timedelta(days=365)


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def generate_ca(common_name: str = "kcp-django local CA", *, now: datetime.datetime | None = None
                ) -> tuple[bytes, bytes]:
    """A new self-signed CA: `(certificate PEM, private key PEM)`.

    ECDSA P-256 (fast to generate; Go's, OpenSSL's and Python's TLS accept it). The extensions
    (critical basicConstraints CA, keyUsage certSign, subject and authority key identifiers) are
    what Python 3.13's strict X.509 verification and Go's verifier require of an issuer."""
    now = now or utc_now()
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def generate_server_cert(ca_cert_pem: bytes, ca_key_pem: bytes, hosts: Iterable[str] = SERVER_HOSTS, *,
                         now: datetime.datetime | None = None) -> tuple[bytes, bytes]:
    """A server certificate for `hosts` (IP addresses and DNS names) signed by the CA.

    Returns `(certificate PEM, private key PEM)`. Clients check the subjectAltName only (the CN is
    informational), so every host must be listed there; extendedKeyUsage serverAuth is required
    by Go's verifier."""
    now = now or utc_now()
    ca_cert = x509.load_pem_x509_certificate(ca_cert_pem)
    ca_key = serialization.load_pem_private_key(ca_key_pem, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the CA key must be an EC private key")
    hosts = list(hosts)
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0] if hosts else "kcp")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(min(now + SERVER_VALIDITY, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


@dataclass(frozen=True)
class TLSFiles:
    """Where `ensure_tls` keeps the material: the CA (certificate and key) and the server pair."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path

    @classmethod
    def in_dir(cls, tls_dir: Path) -> TLSFiles:
        return cls(tls_dir / "ca.crt", tls_dir / "ca.key", tls_dir / "server.crt", tls_dir / "server.key")


def _server_cert_usable(files: TLSFiles, hosts: Iterable[str], now: datetime.datetime) -> bool:
    """The existing server certificate is signed by the current CA, covers `hosts` and is not about to expire."""
    try:
        ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
        cert = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
        serialization.load_pem_private_key(files.server_key.read_bytes(), password=None)
        cert.verify_directly_issued_by(ca)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature):
        return False
    covered = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)} | set(san.get_values_for_type(x509.DNSName))
    return set(hosts) <= covered and cert.not_valid_after_utc - now > RENEW_BEFORE


def ensure_tls(tls_dir: Path, hosts: Iterable[str] = SERVER_HOSTS, *, now: datetime.datetime | None = None
               ) -> TLSFiles:
    """Generate the CA and server certificate once into `tls_dir`; afterwards reuse them.

    The CA is never replaced while its files exist (kubeconfigs handed out embed it). The server
    certificate is re-issued by that CA when missing, unreadable, not signed by it, not covering
    `hosts`, or within `RENEW_BEFORE` of expiry. Private keys are 0600, the directory 0700."""
    now = now or utc_now()
    hosts = list(hosts)
    tls_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(tls_dir, 0o700)
    files = TLSFiles.in_dir(tls_dir)
    if not (files.ca_cert.exists() and files.ca_key.exists()):
        ca_cert, ca_key = generate_ca(now=now)
        write_private(files.ca_key, ca_key)
        write_private(files.ca_cert, ca_cert)
        os.chmod(files.ca_cert, 0o644)
    if not _server_cert_usable(files, hosts, now):
        cert, key = generate_server_cert(files.ca_cert.read_bytes(), files.ca_key.read_bytes(), hosts, now=now)
        write_private(files.server_key, key)
        write_private(files.server_cert, cert)
        os.chmod(files.server_cert, 0o644)
    return files
