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
    ExportShards,
    apibinding_export_of,
    apiexport_is_local,
    apiexport_shard_presence_sync,
    apiexport_shards_resync,
    presence_notification_handle,
)
from .remote import RemoteSignature, remote_change_exports, remote_exports_changed
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


#: What this worker process's last presence resync saw (apis.presence.apiexport_shards_resync).
_SHARDS_SEEN: ExportShards = {}


@shared_task(acks_late=True)
def resync_apiexport_shards() -> int:
    """Safety net: this shard's presence rows re-derived, the slices of its exports whose shards
    changed since the last pass recomputed."""
    return apiexport_shards_resync(reconcile=reconcile_apiexport.delay, seen=_SHARDS_SEEN)


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


#: What this worker process's resync last saw of the export clusters on other shards
#: (apis.remote.remote_exports_changed). Process memory on purpose: a new process starts empty,
#: and its first pass re-reconciles every binding of a remote export once.
_REMOTE_SEEN: dict[str, RemoteSignature] = {}


@shared_task(acks_late=True)
def resync_apibindings() -> int:
    """Safety net for lost messages: every binding not Bound yet, or being deleted, and every
    binding whose export on another shard (or its schemas) changed in the cache since the last
    pass (a missed notification of the cache's doorbell)."""
    count = 0
    pending = APIBindingRow.objects.filter(~Q(phase="Bound") | Q(deletion_timestamp__isnull=False))
    done = set()
    for cluster, name in pending.values_list("cluster", "name"):
        apibinding_reconcile(cluster=cluster, name=name)
        done.add((cluster, name))
        count += 1
    for export_cluster, export_name in remote_exports_changed(seen=_REMOTE_SEEN):
        for cluster, name in apibindings_of_export(export_cluster=export_cluster, export_name=export_name):
            if (cluster, name) not in done:
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


def apiexport_cache_notified(payload: str) -> int:
    """The directory follower's handler of the cache's doorbell (shards.cache.spec.APIS_CHANNEL,
    registered in apis.registration): an export or schema on another shard changed; the bindings
    here of the exports concerned re-reconcile. Returns how many exports were enqueued."""
    exports = remote_change_exports(payload=payload)
    for export_cluster, export_name in exports:
        reconcile_bindings_of_export.delay(export_cluster, export_name)
    return len(exports)
