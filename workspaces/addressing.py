"""Workspace addressing: paths to logical clusters and back, by ownership (a Workspace's
spec.cluster, set by the scheduler alone), never by the `kcp.io/path` annotation; new logical
cluster names; the clusters below one."""

from __future__ import annotations

import hashlib
import secrets
import string

from django.db import connection

from .names import ROOT, SEGMENT

# Paths follow ownership, never the `kcp.io/path` annotation (informative output, written only by
# the system): `root:a:b` is Workspace `a` in root, then Workspace `b` in the logical cluster
# behind `a` (kcp's resolution). Each step is one lookup on the Workspace table's unique key
# (cluster, group, resource, namespace, name); a Workspace's spec.cluster is set by the scheduler
# alone. One recursive query per request, stopping at the first missing segment.
_WORKSPACE_STEP = (
    "JOIN tenancy_workspace w ON w.cluster = walk.cluster AND w.\"group\" = 'tenancy.kcp.io' "
    "AND w.resource = 'workspaces' AND w.namespace = ''"
)
_LOGICAL_CLUSTER_OF = (
    "JOIN core_logicalcluster lc ON lc.cluster = walk.cluster AND lc.\"group\" = 'core.kcp.io' "
    "AND lc.resource = 'logicalclusters' AND lc.namespace = '' AND lc.name = 'cluster'"
)
_WALK_DOWN_SQL = (
    "WITH RECURSIVE walk(cluster, depth) AS ("
    " SELECT 'root'::varchar, 1"
    " UNION ALL"
    f" SELECT w.logical_cluster, walk.depth + 1 FROM walk {_WORKSPACE_STEP}"
    " AND w.name = (%(segments)s::text[])[walk.depth + 1] WHERE walk.depth < %(depth)s AND w.logical_cluster <> ''"
    f") SELECT lc.cluster FROM walk {_LOGICAL_CLUSTER_OF} WHERE walk.depth = %(depth)s"
)
_RESOLVE_PATH_SQL = _WALK_DOWN_SQL + " AND lc.phase IN ('Initializing', 'Ready') LIMIT 1"
_LOOKUP_PATH_SQL = _WALK_DOWN_SQL + " LIMIT 1"
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


def cluster_resolve(path_or_name: str) -> str | None:
    """`root`, a path `root:a:b` or a logical cluster name → the logical cluster name of a live
    (Initializing or Ready) workspace, or None.

    One indexed query per API request, as plain SQL (the ORM's compilation cost more than the
    query). Not cached in the process on purpose: a path can be deleted and created again as
    another logical cluster, and a stale entry would send writes into the deleted one; checking an
    entry would cost the same query."""
    if ":" not in path_or_name:
        with connection.cursor() as cur:
            cur.execute(_RESOLVE_NAME_SQL, [path_or_name])
            row = cur.fetchone()
        return str(row[0]) if row else None
    return _walk_down(path_or_name, _RESOLVE_PATH_SQL)


def cluster_at_path(path: str) -> str | None:
    """The logical cluster at a workspace path whatever its phase (`root` included), or None."""
    if path == ROOT:
        return ROOT
    return _walk_down(path, _LOOKUP_PATH_SQL)


def _walk_down(path: str, sql: str) -> str | None:
    segments = _path_segments(path)
    if segments is None:
        return None
    with connection.cursor() as cur:
        cur.execute(sql, {"segments": segments, "depth": len(segments)})
        row = cur.fetchone()
    return str(row[0]) if row else None


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


def cluster_paths(clusters: list[str]) -> dict[str, str]:
    """Logical cluster → its workspace path, derived from ownership (the Workspace in its parent,
    up to root); clusters not below root are left out. One query for all of them."""
    if not clusters:
        return {}
    with connection.cursor() as cur:
        cur.execute(_WALK_UP_SQL, {"clusters": list(dict.fromkeys(clusters)), "max_depth": MAX_PATH_DEPTH})
        rows = cur.fetchall()
    return {str(start): ":".join([ROOT, *segments]) for start, segments in rows}


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


_SUBTREE_SQL = (
    "WITH RECURSIVE tree(cluster) AS ("
    " SELECT %s::varchar"
    " UNION"
    " SELECT w.logical_cluster FROM tree JOIN tenancy_workspace w ON w.cluster = tree.cluster"
    " AND w.\"group\" = 'tenancy.kcp.io' AND w.resource = 'workspaces' AND w.namespace = ''"
    " WHERE w.logical_cluster <> ''"
    ") SELECT cluster FROM tree"
)


def workspace_subtree(*, cluster: str) -> list[str]:
    """`cluster` and every logical cluster below it: the clusters of the Workspaces it holds, and
    theirs, recursively (one query). Ownership is the scheduler's spec.cluster of each Workspace,
    which no client can write; a path annotation can be forged, so it is never consulted."""
    with connection.cursor() as cur:
        cur.execute(_SUBTREE_SQL, [cluster])
        return [str(c) for (c,) in cur.fetchall()]
