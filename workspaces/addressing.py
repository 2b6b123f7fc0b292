"""Workspace addressing: paths to logical clusters and back, through the directory of logical
clusters (placement writes it; never the `kcp.io/path` annotation); new logical cluster names."""

from __future__ import annotations

import hashlib
import secrets
import string

from django.db import connection

from shards.directory import directory_at_path, directory_paths, directory_resolve
from shards.selectors import local_shard_name

from .names import ROOT, SEGMENT

# Paths resolve through the directory of logical clusters (shards.directory): an entry's path is
# written by the system when the Workspace is placed (from the parent's path and the Workspace's
# name), never from a client-writable annotation, and one live entry holds a path. One indexed
# lookup per request. A path or name resolves here only when its logical cluster lives on this
# shard: a request for another shard's cluster (sent here directly, not through the front proxy)
# finds nothing rather than an empty cluster it could write into.
_RESOLVE_NAME_SQL = (
    "SELECT cluster FROM core_logicalcluster WHERE cluster = %s AND name = 'cluster' AND phase <> 'Deleting' LIMIT 1"
)
#: Deeper than any real tree; bounds the work a hostile path can ask for.
MAX_PATH_DEPTH = 128


def _path_segments(path: str) -> list[str] | None:
    """`root:a:b` → ["root", "a", "b"]; None when it cannot be a workspace path."""
    segments = path.split(":")
    if segments[0] != ROOT or len(segments) > MAX_PATH_DEPTH or not all(SEGMENT.match(s) for s in segments):
        return None
    return segments


def _local_name(name: str) -> str | None:
    with connection.cursor() as cur:
        cur.execute(_RESOLVE_NAME_SQL, [name])
        row = cur.fetchone()
    return str(row[0]) if row else None


def cluster_resolve(path_or_name: str) -> str | None:
    """`root`, a path `root:a:b` or a logical cluster name → the logical cluster name of a live
    (Initializing or Ready) workspace on this shard, or None.

    One indexed query per API request, as plain SQL (the ORM's compilation cost more than the
    query). Not cached in the process on purpose: a path can be deleted and created again as
    another logical cluster, and a stale entry would send writes into the deleted one; checking an
    entry would cost the same query. Behind the front proxy requests arrive with the logical
    cluster's name already (the proxy rewrites paths), so the directory is not asked at all."""
    if ":" not in path_or_name:
        return _local_name(path_or_name)
    if _path_segments(path_or_name) is None:
        return None
    found = directory_resolve(path=path_or_name)
    return found[0] if found is not None and found[1] == local_shard_name() else None


def cluster_at_path(path: str) -> str | None:
    """The logical cluster on this shard at a workspace path whatever its phase (`root`
    included), or None."""
    if path == ROOT:
        return ROOT if _local_name(ROOT) else None
    if _path_segments(path) is None:
        return None
    found = directory_at_path(path=path)
    return found[0] if found is not None and found[1] == local_shard_name() else None


# The other direction: from a logical cluster up through the Workspaces that own it to root.
_WALK_UP_SQL = (
    "WITH RECURSIVE up(start, cluster, segments, depth) AS ("
    " SELECT c, c, ARRAY[]::text[], 0 FROM unnest(%(clusters)s::text[]) AS c"
    " UNION ALL"
    " SELECT up.start, w.cluster, w.name || up.segments, up.depth + 1 FROM up"
    " JOIN tenancy_workspace w ON w.logical_cluster = up.cluster AND w.\"group\" = 'tenancy.kcp.io'"
    " AND w.resource = 'workspaces' AND w.namespace = ''"
    " WHERE up.cluster <> 'root' AND up.depth < %(max_depth)s"
    ") SELECT DISTINCT ON (start) start, segments FROM up WHERE cluster = 'root' ORDER BY start, depth"
)


def ownership_paths(clusters: list[str]) -> dict[str, str]:
    """Logical cluster → its workspace path derived from ownership on this shard (the Workspace in
    its parent, up to root); clusters not below root are left out. One query for all of them.
    Only for publishing a shard's clusters into the directory (`logicalclusters_publish`): it
    sees this shard's Workspaces alone."""
    if not clusters:
        return {}
    with connection.cursor() as cur:
        cur.execute(_WALK_UP_SQL, {"clusters": list(dict.fromkeys(clusters)), "max_depth": MAX_PATH_DEPTH})
        rows = cur.fetchall()
    return {str(start): ":".join([ROOT, *segments]) for start, segments in rows}


def cluster_paths(clusters: list[str]) -> dict[str, str]:
    """Logical cluster → its workspace path, from the directory (any shard's clusters); clusters
    without a live entry are left out. One query for all of them."""
    return directory_paths(names=clusters)


def cluster_path(cluster: str) -> str:
    """The workspace path (`root:a:b`) of a logical cluster, or "" (see cluster_paths)."""
    return cluster_paths([cluster]).get(cluster, "")


def new_cluster_name() -> str:
    """kcp-style: the first 16 base36 characters of sha224 over 32 random bytes."""
    n = int.from_bytes(hashlib.sha224(secrets.token_bytes(32)).digest(), "big")
    alphabet = string.digits + string.ascii_lowercase
    out = []
    while n:
        n, r = divmod(n, 36)
        out.append(alphabet[r])
    return "".join(reversed(out))[:16]
