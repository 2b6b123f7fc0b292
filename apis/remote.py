"""An export and its schemas wherever the export's workspace lives.

A binding names its export by path; the export's workspace may be on another shard. These
lookups read this shard's store first and, when the cluster is not here, the cache of what
crosses shards (shards.cache: APIExports and APIResourceSchemas are replicated from every shard,
and the directory says the cluster is live elsewhere). The cache lives in the global database,
so a consumer's shard keeps reading them while the export's shard is down.

Contracts: `export_cluster_resolve` gives the logical cluster of a path on any shard (None when
no live workspace has it); `remote_lookup` gives the object or None, never raises for a missing
one.

Noticing changes there: a binding here re-reconciles when its export or the export's schemas
change on the export's shard. Promptly through the cache's doorbell (`remote_change_exports`:
which exports of a notified row this shard's bindings use; the directory follower hears it), and
for a missed notification through the resync (`remote_exports_changed`: the export clusters whose
cached exports or schemas changed since the last pass)."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from typing import Any

from kube.registry import ResourceInfo
from kube.registry.store import STORE
from shards.cache.selectors import cache_objects, cache_signatures
from shards.directory import directory_resolve
from workspaces.addressing import cluster_resolve

from .models import APIBindingRow, APIExportRow, APIResourceSchemaRow
from .names import GROUP

Obj = dict[str, Any]


def export_cluster_resolve(*, path: str) -> str | None:
    """The logical cluster at `path`: this shard's resolution first, then the directory (any
    shard, live phases only)."""
    local = cluster_resolve(path)
    if local is not None:
        return local
    found = directory_resolve(path=path)
    return found[0] if found else None


def remote_lookup(info: ResourceInfo, *, cluster: str, name: str) -> Obj | None:
    """The cluster-scoped object `name` of kind `info` in `cluster`: local first, then cached."""
    local = STORE.lookup(info, cluster=cluster, name=name)
    if local is not None:
        return local
    for body in cache_objects(cluster=cluster, group=info.group, resource=info.resource):
        if (body.get("metadata") or {}).get("name") == name:
            return body
    return None


#: What the resync compares per export cluster: the cache signatures of its exports and schemas.
RemoteSignature = tuple[tuple[int, int], tuple[int, int]]

_LOCAL_TABLES = {"apiexports": APIExportRow, "apiresourceschemas": APIResourceSchemaRow}


def remote_change_exports(*, payload: str) -> list[tuple[str, str]]:
    """(export cluster, export name) of the exports to re-reconcile the bindings of, for one
    notification of the cache's doorbell (shards.cache.spec.APIS_CHANNEL): the export named by an
    `apiexports` row, or every export this shard's bindings use in the cluster of an
    `apiresourceschemas` row (a schema an export names may have arrived after it). Nothing for a
    malformed payload, for a cluster with no binding here, or for one this shard holds rows of
    that kind in (its own rows ring too; its writes reconcile their bindings themselves)."""
    try:
        note = json.loads(payload)
    except ValueError:
        return []
    if not isinstance(note, dict):
        return []
    resource, cluster, name = (str(note.get(k) or "") for k in ("resource", "cluster", "name"))
    local = _LOCAL_TABLES.get(resource)
    if local is None or not cluster or not name:
        return []
    bindings = APIBindingRow.objects.filter(export_cluster=cluster)
    if resource == "apiexports":
        bindings = bindings.filter(export_name=name)
    names = sorted(set(bindings.values_list("export_name", flat=True)))
    if not names or local.objects.filter(cluster=cluster).exists():
        return []
    return [(cluster, n) for n in names]


def remote_exports_changed(*, seen: MutableMapping[str, RemoteSignature]) -> list[tuple[str, str]]:
    """(export cluster, export name) of this shard's bindings whose export cluster's cached exports
    or schemas changed since `seen` (the caller's memory, updated here) recorded them, or that
    `seen` has not recorded yet (a first pass re-reconciles every remote binding once). Only
    clusters another shard holds have a cache signature; a cluster whose signature is gone (its
    exports deleted, the cluster no longer live elsewhere) counts as changed once."""
    pairs = set(
        APIBindingRow.objects.exclude(export_cluster="").values_list("export_cluster", "export_name").distinct()
    )
    clusters = sorted({c for c, _ in pairs})
    exports = cache_signatures(clusters=clusters, group=GROUP, resource="apiexports")
    schemas = cache_signatures(clusters=clusters, group=GROUP, resource="apiresourceschemas")
    changed: set[str] = set()
    for cluster in clusters:
        signature = (exports.get(cluster, (0, 0)), schemas.get(cluster, (0, 0)))
        before = seen.get(cluster)
        if before is None and signature == ((0, 0), (0, 0)):
            seen[cluster] = signature  # not in the cache: a cluster of this shard, or gone
            continue
        if before != signature:
            changed.add(cluster)
        seen[cluster] = signature
    for cluster in set(seen) - set(clusters):
        del seen[cluster]
    return sorted((c, n) for c, n in pairs if c in changed)
