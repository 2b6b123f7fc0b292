"""Celery tasks of the generic machinery, and the triggers that enqueue them. Tasks take keys, are
idempotent and safe to repeat. The triggers are wired to the store by `kube.registration`."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from kube.builtin.customresources import crd_cleanup
from kube.builtin.namespaces import namespace_cleanup
from kube.storage.backend import compact
from kube.storage.models import StoredObject


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=None, retry_backoff_max=30)
def finalize_namespace(cluster: str, name: str) -> bool:
    # Objects with finalizers may still hold it; the periodic resync looks again.
    return namespace_cleanup(cluster=cluster, name=name)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=None, retry_backoff_max=30)
def finalize_crd(cluster: str, name: str) -> bool:
    return crd_cleanup(cluster=cluster, name=name)


@shared_task(acks_late=True)
def resync_deletions() -> int:
    """Safety net for lost messages: re-run cleanup of every deleting namespace and CRD."""
    count = 0
    for cluster, name in StoredObject.objects.filter(
        group="", resource="namespaces", deletion_timestamp__isnull=False
    ).values_list("cluster", "name"):
        namespace_cleanup(cluster=cluster, name=name)
        count += 1
    for cluster, name in StoredObject.objects.filter(
        group="apiextensions.k8s.io", resource="customresourcedefinitions", deletion_timestamp__isnull=False
    ).values_list("cluster", "name"):
        crd_cleanup(cluster=cluster, name=name)
        count += 1
    return count


@shared_task(acks_late=True)
def compact_event_log() -> int:
    return compact(older_than_seconds=settings.KUBE_EVENT_RETENTION_SECONDS)


def namespace_changed(cluster: str, obj: dict[str, Any], event_type: str) -> None:
    """After commit: a namespace given a deletionTimestamp is emptied and finalized by a task."""
    if event_type == "DELETED" or not obj.get("metadata", {}).get("deletionTimestamp"):
        return
    finalize_namespace.delay(cluster, obj["metadata"]["name"])


def crd_changed(cluster: str, obj: dict[str, Any], event_type: str) -> None:
    """After commit: a CRD given a deletionTimestamp has its objects removed by a task."""
    if event_type == "DELETED" or not obj.get("metadata", {}).get("deletionTimestamp"):
        return
    finalize_crd.delay(cluster, obj["metadata"]["name"])
