"""The API identity of a Django user (who signed in to the portal or the admin): one identity, one
record (kube.authz.tokens makes every token user a Django user of the same name). Their groups are
the groups their API tokens carry, so the portal, the admin and the API decide alike for the same
person. It lives here, beside the tokens it reads, because both the portal and the apps' admin
actions need it and neither may import the other."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone

from kube.authz.models import Token
from kube.authz.user import UserInfo


def django_user_info(*, user: Any) -> UserInfo:
    """UserInfo of a logged-in Django user (groups: the union of their unexpired tokens' groups)."""
    name = user.get_username()
    rows = Token.objects.filter(user_name=name).filter(Q(expires__isnull=True) | Q(expires__gt=timezone.now()))
    groups: list[str] = []
    for token_groups in rows.values_list("groups", flat=True):
        groups.extend(str(g) for g in token_groups or [])
    groups.append("system:authenticated")
    return UserInfo(name=name, groups=tuple(dict.fromkeys(groups)))
