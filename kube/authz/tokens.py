"""Bearer-token authentication (kube.endpoints.pipeline.authenticate, for the API and watches).

Tokens are random strings; only their SHA-256 is stored. Lookups are cached for a few seconds
per process (a revoked token stops working within that window)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import router, transaction
from django.utils import timezone

from kube.storage.models import StoredObject

from .models import Token
from .serviceaccount_tokens import issue, user_info, verify
from .user import UserInfo

_CACHE_SECONDS = 5.0
_cache: dict[str, tuple[float, UserInfo | None]] = {}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_issue(*, user_name: str, groups: list[str], description: str = "", token: str | None = None) -> str:
    """Create (or re-register) a token for a user; returns the plain token, shown only once."""
    token = token or secrets.token_urlsafe(32)
    # The user and the token in one transaction of the database identities live in (the global
    # one when there is one: settings DATABASE_ROUTERS), whatever the caller's shard transaction.
    with transaction.atomic(using=router.db_for_write(Token)):
        if not user_name.startswith("system:"):
            # One identity, one record: the portal's Django user is the API user of the same name.
            get_user_model().objects.get_or_create(username=user_name)
        Token.objects.update_or_create(
            token_hash=hash_token(token),
            defaults={"user_name": user_name, "groups": groups, "description": description},
        )
    _cache.pop(hash_token(token), None)
    return token


def _serviceaccount_key() -> bytes:
    return hmac.new(settings.SECRET_KEY.encode(), b"kcp serviceaccount tokens v1", hashlib.sha256).digest()


def serviceaccount_token_issue(
    *, cluster: str, namespace: str, name: str, uid: str, audiences: list[str], expiration_seconds: int
) -> tuple[str, int]:
    return issue(
        cluster=cluster,
        namespace=namespace,
        name=name,
        uid=uid,
        audiences=audiences,
        expiration_seconds=expiration_seconds,
        now=int(time.time()),
        key=_serviceaccount_key(),
    )


def _serviceaccount_user(token: str) -> UserInfo | None:
    """A TokenRequest JWT: valid while unexpired and while its ServiceAccount (same uid) exists;
    bound to the logical cluster that issued it (see authorizer.effective_user)."""
    claims = verify(token, key=_serviceaccount_key(), now=int(time.time()))
    if claims is None:
        return None
    if not StoredObject.objects.filter(
        cluster=claims.cluster,
        group="",
        resource="serviceaccounts",
        namespace=claims.namespace,
        name=claims.name,
        uid=claims.uid,
    ).exists():
        return None
    user = user_info(claims)
    extra = {**user.extra, "kcp.io/cluster": [claims.cluster]}
    return UserInfo(name=user.name, uid=user.uid, groups=user.groups, extra=extra)


def user_for_token(token: str) -> UserInfo | None:
    """The identity a bearer token stands for, or None (unknown or expired)."""
    if token.count(".") == 2:
        return _serviceaccount_user(token)
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


def token_revoke(*, user_name: str, token_id: int) -> bool:
    """Delete one token of `user_name` (False when there is none of that id for that user). This
    process forgets it at once; other processes within the lookup cache window."""
    row = Token.objects.filter(id=token_id, user_name=user_name).first()
    if row is None:
        return False
    _cache.pop(row.token_hash, None)
    row.delete()
    return True
