"""Celery tasks of the apis app: keys in, idempotent."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=10)
def reconcile_apiexport(cluster: str, name: str) -> str:
    from .services import apiexport_reconcile

    return apiexport_reconcile(cluster=cluster, name=name)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=None, retry_backoff_max=30)
def reconcile_apibinding(cluster: str, name: str) -> str:
    from .bindings import apibinding_reconcile

    return apibinding_reconcile(cluster=cluster, name=name)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=10)
def reconcile_bindings_of_export(export_cluster: str, export_name: str) -> int:
    """An export changed: every binding of it re-resolves (new resources, claims, identity)."""
    from .bindings import apibindings_of_export

    consumers = apibindings_of_export(export_cluster=export_cluster, export_name=export_name)
    for cluster, name in consumers:
        reconcile_apibinding.delay(cluster, name)
    return len(consumers)


@shared_task(acks_late=True)
def resync_apibindings() -> int:
    """Safety net for lost messages: every binding not Bound yet, or being deleted."""
    from django.db.models import Q

    from .bindings import apibinding_reconcile
    from .models import APIBindingRow

    count = 0
    pending = APIBindingRow.objects.filter(~Q(phase="Bound") | Q(deletion_timestamp__isnull=False))
    for cluster, name in pending.values_list("cluster", "name"):
        apibinding_reconcile(cluster=cluster, name=name)
        count += 1
    return count
