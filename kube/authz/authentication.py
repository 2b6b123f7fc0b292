"""DRF authentication class: `Authorization: Bearer <token>` → UserInfo, else 401 Status."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed

from .tokens import bearer_token, user_for_token
from .user import UserInfo


class BearerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Any) -> tuple[UserInfo, str] | None:
        token = bearer_token(request.META.get("HTTP_AUTHORIZATION", ""))
        if token is None:
            return None
        user = user_for_token(token)
        if user is None:
            raise AuthenticationFailed("Unauthorized")
        return user, token

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="kcp"'
