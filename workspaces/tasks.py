"""Celery tasks of the workspaces app (keys in, idempotent, safe to repeat) and the triggers
that enqueue them when objects change (registered with kube's Store in
workspaces.registration)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from .logicalclusters import logicalcluster_initialize, logicalclusters_pull
from .members import workspace_members_sync, workspace_owner_of
from .models import LogicalClusterRow, WorkspaceRow
from .services import workspace_needs_reconcile, workspace_reconcile

Obj = dict[str, Any]


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=None, retry_backoff_max=30)
def reconcile_workspace(cluster: str, name: str) -> str:
    return workspace_reconcile(cluster=cluster, name=name)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=None, retry_backoff_max=30)
def reconcile_workspaces(keys: list[tuple[str, str]]) -> int:
    """Several Workspaces reconciled in one task (the directory follower's batch of
    notifications); each pass is idempotent, so a retry of the whole list is safe."""
    for cluster, name in keys:
        workspace_reconcile(cluster=cluster, name=name)
    return len(keys)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=None, retry_backoff_max=30)
def pull_logical_clusters() -> int:
    """This shard's side of placement: create the logical clusters placed on it, purge those
    marked for deletion (workspaces.logicalclusters). Enqueued by the directory follower on every
    notification for this shard; draining, so one task serves many notifications."""
    return logicalclusters_pull()


@shared_task(acks_late=True)
def resync_workspaces() -> int:
    """Safety net for lost messages: the directory entries placed on this shard pulled, logical
    clusters still Initializing moved on (their initializers may have finished), and every
    Workspace that is not Ready yet reconciled."""
    count = logicalclusters_pull()
    initializing = LogicalClusterRow.objects.filter(name="cluster", phase="Initializing")
    for name in initializing.values_list("cluster", flat=True):
        logicalcluster_initialize(name=name)
        count += 1
    pending = WorkspaceRow.objects.exclude(phase="Ready").values_list("cluster", "name")
    deleting = WorkspaceRow.objects.filter(deletion_timestamp__isnull=False).values_list("cluster", "name")
    for cluster, name in {*pending, *deleting}:
        workspace_reconcile(cluster=cluster, name=name)
        count += 1
    return count


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def sync_workspace_members(logical_cluster: str) -> int:
    return len(workspace_members_sync(logical_cluster=logical_cluster))


def workspace_changed(cluster: str, obj: Obj, event_type: str) -> None:
    if workspace_needs_reconcile(obj=obj, event_type=event_type):
        reconcile_workspace.delay(cluster, obj["metadata"]["name"])


def cluster_role_binding_changed(cluster: str, obj: Obj, event_type: str) -> None:
    """RBAC is membership: the portal's mirror of the owning workspace follows (skipped until the
    cluster is Ready, which saves a sync per new workspace and loses none: workspace_owner_of)."""
    if workspace_owner_of(logical_cluster=cluster) is not None:
        sync_workspace_members.delay(cluster)


def shard_changed(cluster: str, obj: Obj, event_type: str) -> None:
    """A Shard was registered, uncordoned or given room (the heartbeat writes no trigger):
    workspaces waiting for an eligible shard are retried now, not at the next periodic resync."""
    if WorkspaceRow.objects.exclude(phase="Ready").exists():
        resync_workspaces.delay()
