"""Operators' Django admin for shards: read-only. The records are written by the shards
(registration, heartbeat) and by operators' writes on the Shard objects in root; the objects
follow the records (`shards.mirror`)."""

from __future__ import annotations

from django.contrib import admin

from workspaces.admin import ReadOnlyAdmin

from .models import ShardRecord, ShardRow


@admin.register(ShardRecord)
class ShardRecordAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "base_url",
        "heartbeat",
        "cordoned",
        "used_workspaces",
        "soft_limit",
        "hard_limit",
        "registered_at",
    )
    list_filter = ("cordoned",)
    search_fields = ("name", "base_url")


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
