"""Admin access to the stack: the admin bearer token and the admin kubeconfig.

Contract
--------
* The admin bearer token lives in `<data>/admin-token` (0600): generated on first use and reused
  afterwards, so kubeconfigs handed out by an earlier start stay valid.
* The admin kubeconfig names the root workspace's URL, trusts exactly the stack's CA (embedded as
  certificate-authority-data; never insecure-skip-tls-verify) and carries the token; it is
  written atomically with mode 0600. When it is written (only after `/readyz` answered) is the
  launcher's business (kcpsite.launcher.Stack).
"""
from __future__ import annotations

import base64
import secrets
from pathlib import Path

import yaml

from kcpsite.private_files import write_private

ADMIN_USER = "kcp-admin"
ROOT_CLUSTER = "root"


def ensure_secret(path: Path, *, nbytes: int = 32) -> str:
    """A random secret stored in `path` (0600), generated on first use and reused afterwards."""
    if path.exists() and (secret := path.read_text().strip()):
        return secret
    secret = secrets.token_urlsafe(nbytes)
    write_private(path, (secret + "\n").encode())
    return secret


def ensure_admin_token(path: Path) -> str:
    """The admin bearer token stored in `path` (0600)."""
    return ensure_secret(path)


def kubeconfig_document(server: str, ca_pem: bytes, token: str, *, cluster: str = ROOT_CLUSTER,
                        user: str = ADMIN_USER) -> dict[str, object]:
    """A kubeconfig for `server` trusting exactly `ca_pem` (never insecure-skip-tls-verify) with a bearer token."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {
            "server": server,
            "certificate-authority-data": base64.b64encode(ca_pem).decode(),
        }}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user}}],
        "current-context": cluster,
        "preferences": {},
    }


def write_kubeconfig(path: Path, server: str, ca_pem: bytes, token: str) -> None:
    """Write the admin kubeconfig atomically, 0600 (it holds the token)."""
    text = yaml.safe_dump(kubeconfig_document(server, ca_pem, token), sort_keys=False)
    write_private(path, text.encode())
