"""Celery tasks of the apis app (keys in, idempotent) and the triggers that enqueue them when
objects change (registered with kube's Store in apis.registration)."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db.models import Q

from .bindings import apibinding_reconcile, apibindings_of_export
from .models import APIBindingRow
from .services import apiexport_reconcile

Obj = dict[str, Any]


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=10)
def reconcile_apiexport(cluster: str, name: str) -> str:
    return apiexport_reconcile(cluster=cluster, name=name)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=None, retry_backoff_max=30)
def reconcile_apibinding(cluster: str, name: str) -> str:
    return apibinding_reconcile(cluster=cluster, name=name)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=10)
def reconcile_bindings_of_export(export_cluster: str, export_name: str) -> int:
    """An export changed: every binding of it re-resolves (new resources, claims, identity)."""
    consumers = apibindings_of_export(export_cluster=export_cluster, export_name=export_name)
    for cluster, name in consumers:
        reconcile_apibinding.delay(cluster, name)
    return len(consumers)


@shared_task(acks_late=True)
def resync_apibindings() -> int:
    """Safety net for lost messages: every binding not Bound yet, or being deleted."""
    count = 0
    pending = APIBindingRow.objects.filter(~Q(phase="Bound") | Q(deletion_timestamp__isnull=False))
    for cluster, name in pending.values_list("cluster", "name"):
        apibinding_reconcile(cluster=cluster, name=name)
        count += 1
    return count


def apibinding_changed(cluster: str, obj: Obj, event_type: str) -> None:
    if event_type != "DELETED":
        reconcile_apibinding.delay(cluster, obj["metadata"]["name"])


def apiexport_changed(cluster: str, obj: Obj, event_type: str) -> None:
    if event_type != "DELETED":
        reconcile_apiexport.delay(cluster, obj["metadata"]["name"])
    reconcile_bindings_of_export.delay(cluster, obj["metadata"]["name"])
