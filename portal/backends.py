"""Sign in to the portal with an API bearer token (the same identities as the API)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from kube.authz.tokens import user_for_token


class TokenBackend(ModelBackend):
    """`authenticate(request, token=...)`: a valid user token logs in as its user. ServiceAccount
    tokens and `system:` identities are not portal users."""

    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        token = kwargs.get("token")
        if not token or token.count(".") == 2:
            return None
        info = user_for_token(token)
        if info is None or info.name.startswith("system:"):
            return None
        user, _ = get_user_model().objects.get_or_create(username=info.name)
        return user if self.user_can_authenticate(user) else None
