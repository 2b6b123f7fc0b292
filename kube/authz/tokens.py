"""Bearer-token authentication shared by DRF views and the watch consumer.

Tokens are random strings; only their SHA-256 is stored. Lookups are cached for a few seconds
per process (a revoked token stops working within that window)."""

from __future__ import annotations

import hashlib
import secrets
import time

from django.utils import timezone

from .models import Token
from .user import UserInfo

_CACHE_SECONDS = 5.0
_cache: dict[str, tuple[float, UserInfo | None]] = {}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_issue(*, user_name: str, groups: list[str], description: str = "", token: str | None = None) -> str:
    """Create (or re-register) a token for a user; returns the plain token, shown only once."""
    token = token or secrets.token_urlsafe(32)
    Token.objects.update_or_create(
        token_hash=hash_token(token),
        defaults={"user_name": user_name, "groups": groups, "description": description},
    )
    _cache.pop(hash_token(token), None)
    return token


def user_for_token(token: str) -> UserInfo | None:
    """The identity a bearer token stands for, or None (unknown or expired)."""
    digest = hash_token(token)
    now = time.monotonic()
    hit = _cache.get(digest)
    if hit and now - hit[0] < _CACHE_SECONDS:
        return hit[1]
    row = Token.objects.filter(token_hash=digest).first()
    user = None
    if row is not None and (row.expires is None or row.expires > timezone.now()):
        groups = tuple(dict.fromkeys([*row.groups, "system:authenticated"]))
        user = UserInfo(name=row.user_name, uid=row.uid, groups=groups)
    if len(_cache) > 10000:
        _cache.clear()
    _cache[digest] = (now, user)
    return user


def bearer_token(authorization: str) -> str | None:
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
