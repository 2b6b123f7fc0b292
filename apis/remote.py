"""An export and its schemas wherever the export's workspace lives.

A binding names its export by path; the export's workspace may be on another shard. These
lookups read this shard's store first and, when the cluster is not here, the cache of what
crosses shards (shards.cache: APIExports and APIResourceSchemas are replicated from every shard,
and the directory says the cluster is live elsewhere). The cache lives in the global database,
so a consumer's shard keeps reading them while the export's shard is down.

Contracts: `export_cluster_resolve` gives the logical cluster of a path on any shard (None when
no live workspace has it); `remote_lookup` gives the object or None, never raises for a missing
one."""

from __future__ import annotations

from typing import Any

from kube.registry import ResourceInfo
from kube.registry.store import STORE
from shards.cache.selectors import cache_objects
from shards.directory import directory_resolve
from workspaces.addressing import cluster_resolve

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
