"""Deleting everything in a scope (a namespace being deleted, a CRD being removed) in bulk.

Contract: objects without finalizers are removed in one transaction with consecutive revisions
(each gets its DELETED event, so watchers see them go); objects with finalizers get a
deletionTimestamp and are left for their controllers. Returns whether anything is left, so the
caller knows when it may finalize the owner. Idempotent."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q

from kube import errors
from kube.storage import backend
from kube.storage.backend import Key

from .context import RequestContext
from .resources import REGISTRY, ResourceInfo
from .store import STORE

Obj = dict[str, Any]


def purge(*, cluster: str, scope: Q) -> bool:
    """Delete every object of `cluster` matching `scope`; True when some are still held."""
    held: list[tuple[str, str, str, str, bool]] = []
    with transaction.atomic():
        victims: list[tuple[Key, Obj]] = []
        for model in backend.all_models():
            rows = (
                model.objects.select_for_update()
                .filter(scope, cluster=cluster)
                .values_list("group", "resource", "namespace", "name", "body")
            )
            for group, resource, namespace, name, body in rows:
                md = body.get("metadata", {})
                if md.get("finalizers"):
                    held.append((group, resource, namespace, name, bool(md.get("deletionTimestamp"))))
                else:
                    victims.append((Key(cluster, group, resource, namespace, name), body))
        backend.delete_many(victims)
    ctx = RequestContext(cluster=cluster)
    for group, resource, namespace, name, deleting in held:
        info = _info_for(cluster, group, resource)
        if info is not None and not deleting:
            try:
                STORE.delete(info, ctx, namespace, name)
            except errors.NotFound:
                pass
    return bool(held) or any(m.objects.filter(scope, cluster=cluster).exists() for m in backend.all_models())


def _info_for(cluster: str, storage_group: str, storage_resource: str) -> ResourceInfo | None:
    for info in REGISTRY.resources(cluster):
        if (info.storage_group, info.storage_resource) == (storage_group, storage_resource):
            return info
    return None


def purge_clusters(*, clusters: list[str]) -> int:
    """Remove every object of the given logical clusters, finalizers notwithstanding (deleting a
    workspace deletes its content): the rows locked and deleted in bulk, one statement per table,
    each still logged as a DELETED event for watchers. Returns how many objects went."""
    if not clusters:
        return 0
    victims: list[tuple[Key, Obj]] = []
    row_ids: dict[Any, list[int]] = {}
    for model in backend.all_models():
        rows = (
            model.objects.select_for_update()
            .filter(cluster__in=clusters)
            .values_list("id", "cluster", "group", "resource", "namespace", "name", "body")
        )
        for row_id, c, group, resource, namespace, obj_name, body in rows:
            victims.append((Key(c, group, resource, namespace, obj_name), body))
            row_ids.setdefault(model, []).append(row_id)
    return backend.delete_many(victims, row_ids=row_ids)


def remove_finalizer(*, info: ResourceInfo, cluster: str, namespace: str = "", name: str, finalizer: str) -> Obj | None:
    """Drop one finalizer from a deleting object (a system update: no controller hooks, no
    managedFields); the object is removed when nothing else holds it. Returns the object left,
    or None once it is gone."""

    def drop(obj: Obj) -> None:
        md = obj["metadata"]
        finalizers = [f for f in md.get("finalizers") or [] if f != finalizer]
        if finalizers:
            md["finalizers"] = finalizers
        else:
            md.pop("finalizers", None)

    left = STORE.guaranteed_update(
        info, RequestContext(cluster=cluster), namespace, name, drop, hooks=False, managed_fields=False
    )
    if left is None or (left["metadata"].get("deletionTimestamp") and not info.strategy.deletion_held(left)):
        return None
    return left
