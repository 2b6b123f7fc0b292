"""Namespace lifecycle: deleting a namespace empties it (the namespace controller), then the
`kubernetes` finalizer is removed and the namespace disappears.

Contract: `namespace_cleanup` is idempotent and safe to run concurrently with writers: objects
created meanwhile are refused (the namespace is Terminating), objects with finalizers get a
deletionTimestamp and hold the namespace until their finalizers are gone."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from kube import errors
from kube.registry import REGISTRY, ResourceInfo
from kube.registry.context import RequestContext
from kube.registry.purge import purge
from kube.registry.store import STORE

Obj = dict[str, Any]


def namespace_finalize(*, ctx: RequestContext, name: str, finalizers: list[str]) -> Obj:
    """PUT /api/v1/namespaces/<name>/finalize: replace spec.finalizers (only this path may)."""
    info = _namespaces(ctx.cluster)

    def replace_finalizers(ns: Obj) -> None:
        ns.setdefault("spec", {})["finalizers"] = finalizers

    # prepare=False: the strategy keeps spec.finalizers on every other update; this path sets them.
    # No hooks and no managedFields, as for the namespace controller's own writes.
    out = STORE.guaranteed_update(
        info, ctx, "", name, replace_finalizers, prepare=False, hooks=False, managed_fields=False
    )
    if out is None:
        raise errors.not_found("namespaces", name)
    return out


def _namespaces(cluster: str) -> ResourceInfo:
    info = REGISTRY.resolve(cluster=cluster, group="", version="v1", resource="namespaces")
    assert info is not None
    return info


def namespace_cleanup(*, cluster: str, name: str) -> bool:
    """Delete everything in a Terminating namespace; when it is empty, finalize it.
    Returns True when the namespace is gone (or was never there)."""
    info = _namespaces(cluster)
    ns = STORE.lookup(info, cluster=cluster, name=name)
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
    return STORE.lookup(info, cluster=cluster, name=name) is None
