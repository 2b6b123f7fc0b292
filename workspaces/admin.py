"""Operators' Django admin for workspaces: a read-only view of the promoted columns; deleting goes
through `workspace_delete` as the operator's API identity (the same authorization and cascade as
`kubectl delete workspace`), never by deleting rows."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from kube import errors
from kube.authz.identity import django_user_info

from .models import LogicalClusterRow, WorkspaceRow, WorkspaceTypeRow
from .services import cluster_path, workspace_delete


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Rows are written only through the storage layer: no add, change or row delete here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WorkspaceRow)
class WorkspaceAdmin(ReadOnlyAdmin):
    list_display = ("name", "path", "phase", "type_name", "logical_cluster", "deletion_timestamp")
    list_filter = ("phase", "type_name")
    search_fields = ("name", "logical_cluster", "cluster")
    readonly_fields = ("cluster", "name", "phase", "type_name", "type_path", "logical_cluster", "body")
    exclude = ("labels",)
    actions = ["delete_workspaces"]

    @admin.display(description="path")
    def path(self, obj: WorkspaceRow) -> str:
        parent = cluster_path(obj.cluster)
        return f"{parent}:{obj.name}" if parent else obj.name

    @admin.action(description="Delete the selected workspaces and everything in them")
    def delete_workspaces(self, request: HttpRequest, queryset: QuerySet[WorkspaceRow]) -> None:
        user = django_user_info(user=request.user)
        deleted = 0
        for cluster, name in queryset.values_list("cluster", "name"):
            try:
                workspace_delete(user=user, cluster=cluster, name=name)
                deleted += 1
            except errors.StatusError as e:
                self.message_user(request, f"{name}: {e.message}", level=messages.ERROR)
        if deleted:
            self.message_user(request, f"{deleted} workspace(s) are being deleted.", level=messages.SUCCESS)


@admin.register(LogicalClusterRow)
class LogicalClusterAdmin(ReadOnlyAdmin):
    list_display = ("cluster", "path", "phase", "type", "shard")
    list_filter = ("phase", "shard")
    search_fields = ("cluster", "path")
    exclude = ("labels",)


@admin.register(WorkspaceTypeRow)
class WorkspaceTypeAdmin(ReadOnlyAdmin):
    list_display = ("name", "cluster", "resource_version")
    exclude = ("labels",)
