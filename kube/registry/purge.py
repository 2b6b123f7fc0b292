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


def remove_finalizer(*, key: Key, finalizer: str, strategy_held: Any = None) -> Obj | None:
    """Drop one finalizer from a deleting object; removes the object when nothing else holds it.
    Returns the object left, or None once it is gone."""
    with transaction.atomic():
        current = backend.get(key, for_update=True)
        if current is None:
            return None
        md = current["metadata"]
        if finalizer in (md.get("finalizers") or []):
            md["finalizers"] = [f for f in md["finalizers"] if f != finalizer]
            if not md["finalizers"]:
                md.pop("finalizers")
        else:
            return current
        held = strategy_held(current) if strategy_held else bool(md.get("finalizers"))
        if md.get("deletionTimestamp") and not held:
            backend.delete(key, current)
            return None
        return backend.update(key, current, prev_labels=md.get("labels") or {})
