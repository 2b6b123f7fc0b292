"""Portal services and selectors: personal API tokens, theme, kubeconfigs. Views call these;
these call the API's own token and authorization code."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

from kube import errors
from kube.authz.models import Token
from kube.authz.tokens import token_issue, token_revoke
from kube.authz.user import UserInfo

from .models import THEMES, Preference


def tokens_list(*, user_name: str) -> list[dict[str, Any]]:
    """The user's API tokens (never their values: only hashes are stored)."""
    rows = Token.objects.filter(user_name=user_name).order_by("-created", "-id")
    return [
        {"id": t.id, "description": t.description or "(no description)", "created": t.created, "expires": t.expires}
        for t in rows
    ]


def token_create(*, user: UserInfo, description: str) -> str:
    """A new token for the user with the groups they hold now (never more); returned once."""
    description = description.strip()[:200]
    groups = [g for g in user.groups if g != "system:authenticated"]
    return token_issue(user_name=user.name, groups=groups, description=description or "portal token")


def token_delete(*, user_name: str, token_id: int) -> None:
    """Revoke one of the user's own tokens; someone else's id answers NotFound."""
    if not token_revoke(user_name=user_name, token_id=token_id):
        raise errors.NotFound("token not found", kind="tokens")


def theme_get(*, user: Any) -> str:
    if user is None or not user.is_authenticated:
        return "system"
    pref = Preference.objects.filter(user=user).values_list("theme", flat=True).first()
    return pref or "system"


def theme_set(*, user: Any, theme: str) -> str:
    if theme not in dict(THEMES):
        raise errors.BadRequest("theme must be one of system, light, dark")
    Preference.objects.update_or_create(user=user, defaults={"theme": theme})
    return theme


def ca_pem() -> bytes:
    """The CA that signed the server certificate (written by the launcher), or b"" when unknown."""
    path = Path(settings.DATA_DIR) / "tls" / "ca.crt"
    return path.read_bytes() if path.exists() else b""


def kubeconfig_build(*, user: UserInfo, path: str) -> tuple[str, str]:
    """A kubeconfig for workspace `path` with a new personal token; returns (file name, YAML)."""
    import base64

    token = token_create(user=user, description=f"kubeconfig for {path}")
    server = f"{settings.KCP_EXTERNAL_URL.rstrip('/')}/clusters/{path}"
    cluster: dict[str, Any] = {"server": server}
    ca = ca_pem()
    if ca:
        cluster["certificate-authority-data"] = base64.b64encode(ca).decode()
    name = path.replace(":", "-")
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": user.name, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": user.name}}],
        "current-context": name,
        "preferences": {},
    }
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d")
    return f"{name}-{stamp}.kubeconfig", yaml.safe_dump(doc, sort_keys=False)
