"""Operators' Django admin for shards: read-only (a shard registers itself at start-up)."""

from __future__ import annotations

from django.contrib import admin

from workspaces.admin import ReadOnlyAdmin

from .models import ShardRow


@admin.register(ShardRow)
class ShardAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "base_url",
        "heartbeat",
        "cordoned",
        "used_workspaces",
        "soft_limit",
        "hard_limit",
        "external_url",
        "resource_version",
    )
    list_filter = ("cordoned",)
    search_fields = ("name", "base_url")
    exclude = ("labels",)
