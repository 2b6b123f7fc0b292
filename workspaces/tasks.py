"""Celery tasks of the workspaces app: keys in, idempotent, safe to repeat."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=None, retry_backoff_max=30)
def reconcile_workspace(cluster: str, name: str) -> str:
    from .services import workspace_reconcile

    return workspace_reconcile(cluster=cluster, name=name)


@shared_task(acks_late=True)
def resync_workspaces() -> int:
    """Safety net for lost messages: reconcile every Workspace that is not Ready yet."""
    from .models import WorkspaceRow
    from .services import workspace_reconcile

    count = 0
    pending = WorkspaceRow.objects.exclude(phase="Ready").values_list("cluster", "name")
    deleting = WorkspaceRow.objects.filter(deletion_timestamp__isnull=False).values_list("cluster", "name")
    for cluster, name in {*pending, *deleting}:
        workspace_reconcile(cluster=cluster, name=name)
        count += 1
    return count


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def sync_workspace_members(cluster: str, name: str) -> int:
    from .members import workspace_members_sync

    return len(workspace_members_sync(cluster=cluster, name=name))
