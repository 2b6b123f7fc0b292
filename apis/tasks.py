"""Celery tasks of the apis app (keys in, idempotent) and the triggers that enqueue them when
objects change (registered with kube's Store in apis.registration)."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import transaction
from django.db.models import Q

from .bindings import apibinding_reconcile, apibindings_of_export
from .models import APIBindingRow
from .presence import (
    apibinding_export_of,
    apiexport_is_local,
    apiexport_shard_presence_sync,
    apiexport_shards_resync,
    presence_notification_handle,
)
from .services import apiexport_reconcile

Obj = dict[str, Any]


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=10)
def reconcile_apiexport(cluster: str, name: str) -> str:
    return apiexport_reconcile(cluster=cluster, name=name)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=None, retry_backoff_max=30)
def reconcile_apibinding(cluster: str, name: str) -> str:
    """One pass of the binding, then this shard's presence row for the export it resolved to
    before and after the pass (its first binding here adds the shard's URL to the export's
    endpoint slice; its last one's removal takes it out)."""
    before = apibinding_export_of(cluster=cluster, name=name)
    phase = apibinding_reconcile(cluster=cluster, name=name)
    for export in {before, apibinding_export_of(cluster=cluster, name=name)}:
        if export is not None:
            sync_apiexport_shard(*export)
    return phase


def sync_apiexport_shard(export_cluster: str, export_name: str) -> bool:
    """This shard's presence row for the export; the export's reconcile when the row changed
    and the export is here (other shards hear of it through the follower)."""
    changed = apiexport_shard_presence_sync(export_cluster=export_cluster, export_name=export_name)
    if changed and apiexport_is_local(export_cluster=export_cluster, export_name=export_name):
        transaction.on_commit(lambda: reconcile_apiexport.delay(export_cluster, export_name))
    return changed


@shared_task(acks_late=True)
def resync_apiexport_shards() -> int:
    """Safety net: this shard's presence rows re-derived, the slices of its exports with rows
    recomputed."""
    return apiexport_shards_resync(reconcile=reconcile_apiexport.delay)


def apiexport_presence_notified(payload: str) -> bool:
    """The directory follower's handler of the presence channel (apis.registration)."""
    return presence_notification_handle(payload=payload, reconcile=reconcile_apiexport.delay)


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
