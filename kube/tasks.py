"""Celery tasks of the generic machinery. Tasks take keys, are idempotent and safe to repeat."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=None, retry_backoff_max=30)
def finalize_namespace(cluster: str, name: str) -> bool:
    from kube.builtin.namespaces import namespace_cleanup

    # Objects with finalizers may still hold it; the periodic resync looks again.
    return namespace_cleanup(cluster=cluster, name=name)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=None, retry_backoff_max=30)
def finalize_crd(cluster: str, name: str) -> bool:
    from kube.builtin.customresources import crd_cleanup

    return crd_cleanup(cluster=cluster, name=name)


@shared_task(acks_late=True)
def resync_deletions() -> int:
    """Safety net for lost messages: re-run cleanup of every deleting namespace and CRD."""
    from kube.builtin.namespaces import namespace_cleanup
    from kube.storage.models import StoredObject

    count = 0
    for cluster, name in StoredObject.objects.filter(
        group="", resource="namespaces", deletion_timestamp__isnull=False
    ).values_list("cluster", "name"):
        namespace_cleanup(cluster=cluster, name=name)
        count += 1
    from kube.builtin.customresources import crd_cleanup

    for cluster, name in StoredObject.objects.filter(
        group="apiextensions.k8s.io", resource="customresourcedefinitions", deletion_timestamp__isnull=False
    ).values_list("cluster", "name"):
        crd_cleanup(cluster=cluster, name=name)
        count += 1
    return count


@shared_task(acks_late=True)
def compact_event_log() -> int:
    from kube.storage.backend import compact

    return compact(older_than_seconds=settings.KUBE_EVENT_RETENTION_SECONDS)
