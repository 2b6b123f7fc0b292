"""Custom resources: the resources each logical cluster's Established CRDs define.

The registry asks `crd_resources(cluster)` for a cluster's extra resources. The answer is cached
per cluster behind a one-row signature query (count and newest revision of the cluster's CRDs),
so a cluster costs one small cache entry and a request costs one indexed query; 10,000 clusters
with their own CRDs cost nothing until they are used, and the LRU bounds the total."""

from __future__ import annotations

import functools
from typing import Any

from django.db.models import Q

from kube.errors import FieldErrors
from kube.registry import REGISTRY, Column, ResourceInfo, Strategy
from kube.registry.context import RequestContext
from kube.registry.purge import purge, remove_finalizer
from kube.registry.store import STORE
from kube.registry.strategy import report_unknown_fields
from kube.schema import Schema, customresource, jsonpath
from kube.storage.models import StoredObject
from kube.storage.signature import SignatureCache

from .apiextensions import CLEANUP_FINALIZER, GROUP, RESOURCE, CRDStrategy, is_established

Obj = dict[str, Any]
CACHE_SIZE = 4096


class CustomResourceStrategy(Strategy):
    """One served version of a CRD. Custom resources accept no strategic merge patch (415) and no
    update without resourceVersion (422); generation follows spec changes."""

    allow_unconditional_update = False
    allow_strategic_merge_patch = False
    tracks_generation = True
    qualified_finalizers = False

    def __init__(self, *, schema: Obj, printer_columns: list[Obj], has_status: bool, scale: Obj | None) -> None:
        self.schema = schema
        self.has_status_subresource = has_status
        self.scale = scale
        self._columns = [_printer_column(c) for c in printer_columns if isinstance(c, dict)]
        self.append_age_column = not self._columns

    def decode_fields(self, obj: Obj, *, info: ResourceInfo, ctx: RequestContext) -> Obj:
        pruned, removed = customresource.prune(obj, self.schema)
        report_unknown_fields(info, ctx, removed)
        return customresource.apply_defaults(pruned, self.schema)

    def validate(self, obj: Obj) -> FieldErrors:
        return customresource.validate(obj, self.schema)

    def columns(self) -> list[Column]:
        return self._columns


def _printer_column(col: Obj) -> Column:
    path = str(col.get("jsonPath", ""))

    def cell(obj: Obj) -> Any:
        try:
            return jsonpath.get(obj, path)
        except ValueError:
            return None

    return Column(
        name=str(col.get("name", "")),
        type=str(col.get("type", "string")),
        cell=cell,
        format=str(col.get("format", "")),
        description=str(col.get("description", "")),
        priority=int(col.get("priority") or 0),
    )


def resource_infos(crd: Obj) -> list[ResourceInfo]:
    """The ResourceInfos an Established CRD serves: one per served version."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group", "")
    infos = []
    for version in spec.get("versions") or []:
        if not version.get("served"):
            continue
        schema = ((version.get("schema") or {}).get("openAPIV3Schema")) or {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
        }
        subresources = version.get("subresources") or {}
        subs = tuple(s for s in ("status", "scale") if s in subresources)
        strategy = CustomResourceStrategy(
            schema=schema,
            printer_columns=list(version.get("additionalPrinterColumns") or []),
            has_status="status" in subresources,
            scale=subresources.get("scale"),
        )
        loader = functools.cache(functools.partial(Schema, schema, {}))
        infos.append(
            ResourceInfo(
                group=group,
                version=version["name"],
                resource=names.get("plural", ""),
                kind=names.get("kind", ""),
                namespaced=spec.get("scope") == "Namespaced",
                strategy=strategy,
                singular=names.get("singular", ""),
                list_kind=names.get("listKind", ""),
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                subresources=subs,
                origin="crd",
                schema_loader=loader,
            )
        )
    return infos


CACHE: SignatureCache[list[ResourceInfo]] = SignatureCache(CACHE_SIZE)


def crd_resources(cluster: str) -> list[ResourceInfo]:
    """Resources served by `cluster`'s Established CRDs (none for the wildcard cluster)."""
    if cluster == "*":
        return []
    return CACHE.fetch(cluster, StoredObject, _established_infos, [], group=GROUP, resource=RESOURCE)


def _established_infos(crds: Any) -> list[ResourceInfo]:
    infos: list[ResourceInfo] = []
    for body in crds.order_by("name").values_list("body", flat=True):
        if is_established(body) and not body["metadata"].get("deletionTimestamp"):
            infos.extend(resource_infos(body))
    return infos


# --- CRD deletion ----------------------------------------------------------------------------------


def crd_cleanup(*, cluster: str, name: str) -> bool:
    """Delete every custom resource of a deleting CRD, then release the CRD. True when it is gone."""
    crd = (
        StoredObject.objects.filter(cluster=cluster, group=GROUP, resource=RESOURCE, name=name)
        .values_list("body", flat=True)
        .first()
    )
    if crd is None:
        return True
    if not crd["metadata"].get("deletionTimestamp"):
        return False
    spec = crd.get("spec") or {}
    scope = Q(group=spec.get("group", ""), resource=(spec.get("names") or {}).get("plural", ""))
    if purge(cluster=cluster, scope=scope):
        return False
    gone = remove_finalizer(info=_crds(cluster), cluster=cluster, name=name, finalizer=CLEANUP_FINALIZER) is None
    if gone:
        crd_readmit(cluster=cluster)
    return gone


def crd_readmit(*, cluster: str) -> int:
    """Re-run name admission for CRDs whose names were refused: a CRD that lost a conflict becomes
    Established once the CRD holding the names is gone. Returns how many changed."""
    changed = 0
    ctx = RequestContext(cluster=cluster)
    info = _crds(cluster)
    waiting = StoredObject.objects.filter(cluster=cluster, group=GROUP, resource=RESOURCE).values_list("name", "body")
    for name, body in waiting:
        if is_established(body) or body["metadata"].get("deletionTimestamp"):
            continue
        before = body.get("status")

        def readmit(crd: Obj, stored: Obj = body) -> None:
            # The strategy's admission computes the names' acceptance; the Store runs it again
            # on the locked row before writing, so the status written is the one of that row.
            CRDStrategy().admit(crd, stored, ctx=ctx)

        out = STORE.guaranteed_update(
            info, ctx, "", name, readmit, current=body, subresource="status", hooks=False, managed_fields=False
        )
        if out is not None and out.get("status") != before:
            changed += 1
    return changed


def _crds(cluster: str) -> ResourceInfo:
    info = REGISTRY.resolve(cluster=cluster, group=GROUP, version="v1", resource=RESOURCE)
    assert info is not None
    return info
