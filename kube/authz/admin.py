"""Operators' Django admin for API tokens: who holds which (hashes only; a token is shown once,
when issued), revocation through `token_revoke`."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Token
from .tokens import token_revoke


@admin.register(Token)
class TokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("user_name", "description", "created", "expires")
    search_fields = ("user_name", "description")
    list_filter = ("expires",)
    exclude = ("token_hash",)
    readonly_fields = ("user_name", "uid", "groups", "description", "created", "expires")
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # issued by `manage.py kcp_token` or the portal, shown once

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Token]) -> None:
        revoked = sum(token_revoke(user_name=u, token_id=i) for i, u in queryset.values_list("id", "user_name"))
        self.message_user(request, f"{revoked} token(s) revoked.", level=messages.SUCCESS)
