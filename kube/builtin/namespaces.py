"""Namespace lifecycle: deleting a namespace empties it (the namespace controller), then the
`kubernetes` finalizer is removed and the namespace disappears.

Contract: `namespace_cleanup` is idempotent and safe to run concurrently with writers: objects
created meanwhile are refused (the namespace is Terminating), objects with finalizers get a
deletionTimestamp and hold the namespace until their finalizers are gone."""

from __future__ import annotations

import copy
from typing import Any

from django.db import transaction
from django.db.models import Q

from kube import errors
from kube.registry import REGISTRY
from kube.registry.context import RequestContext
from kube.registry.purge import purge
from kube.registry.store import on_change
from kube.storage import backend
from kube.storage.backend import Key

Obj = dict[str, Any]


def namespace_finalize(*, ctx: RequestContext, name: str, finalizers: list[str]) -> Obj:
    """PUT /api/v1/namespaces/<name>/finalize: replace spec.finalizers (only this path may)."""
    info = REGISTRY.resolve(cluster=ctx.cluster, group="", version="v1", resource="namespaces")
    assert info is not None
    with transaction.atomic():
        key = Key(ctx.cluster, "", "namespaces", "", name)
        old = backend.get(key, for_update=True)
        if old is None:
            raise errors.not_found("namespaces", name)
        new = copy.deepcopy(old)
        new.setdefault("spec", {})["finalizers"] = finalizers
        if ctx.dry_run:
            return new
        if new["metadata"].get("deletionTimestamp") and not info.strategy.deletion_held(new):
            return backend.delete(key, new)
        return backend.update(key, new, prev_labels=old["metadata"].get("labels") or {})


def namespace_cleanup(*, cluster: str, name: str) -> bool:
    """Delete everything in a Terminating namespace; when it is empty, finalize it.
    Returns True when the namespace is gone (or was never there)."""
    ns = backend.get(Key(cluster, "", "namespaces", "", name))
    if ns is None:
        return True
    if not ns["metadata"].get("deletionTimestamp"):
        return False
    ctx = RequestContext(cluster=cluster)
    if purge(cluster=cluster, scope=Q(namespace=name) & ~Q(group="", resource="namespaces")):
        return False
    finalizers = [f for f in (ns.get("spec") or {}).get("finalizers") or [] if f != "kubernetes"]
    try:
        namespace_finalize(ctx=ctx, name=name, finalizers=finalizers)
    except errors.NotFound:
        return True
    return backend.get(Key(cluster, "", "namespaces", "", name)) is None


def _enqueue_cleanup(cluster: str, obj: Obj, event_type: str) -> None:
    if event_type == "DELETED" or not obj.get("metadata", {}).get("deletionTimestamp"):
        return
    from kube.tasks import finalize_namespace

    finalize_namespace.delay(cluster, obj["metadata"]["name"])


def register() -> None:
    on_change("", "namespaces", _enqueue_cleanup)
