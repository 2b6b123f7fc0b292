"""Admission rules of the tenancy kinds: WorkspaceTypes (defaulting, allowed parents and
children, `use`), and who may change a LogicalCluster. Called by the kinds' strategies
(workspaces.kinds) and the portal's selectors.

WorkspaceTypes live in root, which may be on another shard than the workspace being created.
Everything here reads local first and then the cache of what crosses shards (shards.cache):
root's types from its rows here, else from the cache; the `use` and `initialize` checks in root
with `replicated=True` (root's replicated RBAC when root is not here); a parent's type from the
directory of logical clusters, which every shard reads."""

from __future__ import annotations

import threading
from typing import Any

from django.db import connection

from kube import errors
from kube.authz.authorizer import authorize, effective_user
from kube.authz.rbac import Attributes
from kube.storage.signature import SignatureCache
from shards.cache.selectors import cache_objects, cache_signature
from shards.directory import directory_get, directory_resolve

from .addressing import cluster_resolve
from .models import WorkspaceTypeRow
from .names import CORE, ROOT, ROOT_TYPES_PATH, TENANCY

Obj = dict[str, Any]


_TYPES: SignatureCache[dict[str, Obj]] = SignatureCache(1)
_CACHED_TYPES: dict[str, tuple[tuple[int, int], dict[str, Obj]]] = {}
_cached_types_lock = threading.Lock()


def workspace_types() -> dict[str, Obj]:
    """The WorkspaceTypes of root by name, rebuilt only when root's type rows changed (one
    signature query; see kube.storage.signature). Admission and reconciliation read types several
    times per workspace. From root's rows on this shard; when there are none (root is on another
    shard), from the cache, rebuilt only when the cached rows changed."""
    local = _TYPES.fetch(ROOT, WorkspaceTypeRow, lambda rows: dict(rows.values_list("name", "body")), {})
    return local or _cached_root_types()


def _cached_root_types() -> dict[str, Obj]:
    signature = cache_signature(cluster=ROOT, group=TENANCY, resources=("workspacetypes",))
    if signature[0] == 0:
        return {}
    with _cached_types_lock:
        hit = _CACHED_TYPES.get(ROOT)
        if hit is not None and hit[0] == signature:
            return hit[1]
    cached = cache_objects(cluster=ROOT, group=TENANCY, resource="workspacetypes")
    types = {str(o["metadata"]["name"]): o for o in cached}
    with _cached_types_lock:
        _CACHED_TYPES[ROOT] = (signature, types)
    return types


def type_body(name: str, types: dict[str, Obj] | None = None) -> Obj | None:
    return (types if types is not None else workspace_types()).get(name)


def type_names_with_extends(name: str, types: dict[str, Obj] | None = None) -> set[str]:
    """A type counts as itself and everything it extends (for parent/child constraints)."""
    types = types if types is not None else workspace_types()
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        body = type_body(current, types) or {}
        for ref in ((body.get("spec") or {}).get("extend") or {}).get("with") or []:
            if isinstance(ref, dict) and ref.get("name"):
                todo.append(ref["name"])
    return seen


_OWNER_TYPE_SQL = (
    "SELECT type_name FROM tenancy_workspace WHERE logical_cluster = %s AND \"group\" = 'tenancy.kcp.io' "
    "AND resource = 'workspaces' AND namespace = '' LIMIT 1"
)


def _parent_type(parent_cluster: str) -> str:
    """The WorkspaceType name of a logical cluster: from its directory entry (`path:name`,
    written by the system at placement from the owning Workspace's admitted, immutable
    spec.type), which is there whichever shard holds the owning Workspace; for a cluster the
    directory lacks (a data dir from before it, until the shard republishes), from the owning
    Workspace on this shard; root is `root`. Never from the LogicalCluster's type annotation,
    which would be the thing to forge to escape parent/child rules."""
    if parent_cluster == ROOT:
        return "root"
    entry = directory_get(name=parent_cluster)
    if entry is not None and entry.type:
        return entry.type.rpartition(":")[2]
    with connection.cursor() as cur:
        cur.execute(_OWNER_TYPE_SQL, [parent_cluster])
        row = cur.fetchone()
    return str(row[0]) if row and row[0] else "universal"


def workspace_admit_type(*, workspace: Obj, parent_cluster: str, types: dict[str, Obj] | None = None) -> None:
    """Default spec.type from the parent's type and enforce the types' allowed parents/children.
    `types`: the WorkspaceTypes, when the caller has read them already."""
    spec = workspace.setdefault("spec", {})
    types = types if types is not None else workspace_types()
    parent_type = _parent_type(parent_cluster)
    parent_body = type_body(parent_type, types) or {}
    ref = spec.get("type")
    if not isinstance(ref, dict) or not ref.get("name"):
        default = (parent_body.get("spec") or {}).get("defaultChildWorkspaceType") or {"name": "universal"}
        ref = {"name": default.get("name", "universal"), "path": default.get("path", ROOT_TYPES_PATH)}
    ref = {"name": str(ref["name"]), "path": str(ref.get("path") or ROOT_TYPES_PATH)}
    spec["type"] = ref
    name = workspace.get("metadata", {}).get("name", "")
    if ref["path"] != ROOT_TYPES_PATH or type_body(ref["name"], types) is None:
        raise errors.invalid(
            "Workspace",
            name,
            [
                errors.Cause(
                    "FieldValueInvalid",
                    f'Invalid value: "{ref["path"]}:{ref["name"]}": WorkspaceType does not exist',
                    "spec.type",
                )
            ],
            TENANCY,
        )
    child_spec = (type_body(ref["name"], types) or {}).get("spec") or {}
    if not _allows(child_spec.get("limitAllowedParents"), type_names_with_extends(parent_type, types)):
        raise _type_forbidden(name, f"workspace type root:{ref['name']} does not allow parent type root:{parent_type}")
    if not _allows(
        (parent_body.get("spec") or {}).get("limitAllowedChildren"), type_names_with_extends(ref["name"], types)
    ):
        raise _type_forbidden(name, f"workspace type root:{parent_type} does not allow child type root:{ref['name']}")


def _allows(limit: Any, kinds: set[str]) -> bool:
    """A limitAllowedParents/Children constraint: {none: true}, {types: [...]} or absent (anything)."""
    if not isinstance(limit, dict):
        return True
    if limit.get("none"):
        return False
    types = limit.get("types")
    return not types or bool(kinds & {t.get("name") for t in types if isinstance(t, dict)})


def _type_forbidden(name: str, detail: str) -> errors.Invalid:
    return errors.invalid(
        "Workspace", name, [errors.Cause("FieldValueForbidden", f"Forbidden: {detail}", "spec.type")], TENANCY
    )


def logicalcluster_admit_change(*, user: Any, new: Obj | None, old: Obj) -> None:
    """Who may change or delete a LogicalCluster (kcp's LogicalCluster admission): the system,
    because its spec and status steer scheduling, initialization and deletion — a tenant who could
    clear `status.initializers` would skip another controller's initialization, one who could
    rewrite `spec.owner` would point the system at another workspace. The one exception: an
    initializer's controller removes its own entry from `status.initializers` when it is done,
    for which it needs the `initialize` verb on that WorkspaceType in the type's workspace.
    Tenants delete the Workspace, never its LogicalCluster (`new` None: a DELETE). Labels and
    annotations outside the reserved domains stay the workspace admin's."""
    if user.is_admin:
        return
    if new is None:
        raise errors.Forbidden(
            'logicalclusters.core.kcp.io "cluster" is forbidden: a logical cluster is deleted with its workspace',
            name="cluster",
            group=CORE,
            kind="logicalclusters",
        )
    old_status, new_status = dict(old.get("status") or {}), dict(new.get("status") or {})
    old_initializers = list(old_status.pop("initializers", None) or [])
    new_initializers = list(new_status.pop("initializers", None) or [])
    kept_in_order = [i for i in old_initializers if i in new_initializers]
    if new.get("spec") != old.get("spec") or new_status != old_status or kept_in_order != new_initializers:
        raise errors.Forbidden(
            'logicalclusters.core.kcp.io "cluster" is forbidden: its spec and status are managed by the system; '
            "an initializer may only remove itself from status.initializers",
            name="cluster",
            group=CORE,
            kind="logicalclusters",
        )
    for removed in (i for i in old_initializers if i not in new_initializers):
        type_path, _, type_name = str(removed).rpartition(":")
        type_cluster = _type_cluster(type_path)
        if type_cluster is None:
            raise errors.Forbidden(f'initializer "{removed}" can only be removed by the system', kind="logicalclusters")
        acting = effective_user(user, type_cluster)
        authorize(
            acting,
            type_cluster,
            Attributes.for_resource(acting, "initialize", "workspacetypes", api_group=TENANCY, name=type_name),
            replicated=True,
        )


def _type_cluster(type_path: str) -> str | None:
    """The logical cluster of a type's workspace: on this shard, else wherever the directory
    places it (its RBAC then comes from the cache)."""
    if not type_path:
        return None
    local = cluster_resolve(type_path)
    if local is not None:
        return local
    found = directory_resolve(path=type_path)
    return found[0] if found is not None else None


def workspace_type_use_check(*, user: Any, type_name: str, types: dict[str, Obj] | None = None) -> None:
    """kcp: creating a workspace of a type needs `use` on that WorkspaceType (and on every type
    it extends), checked in the type's workspace (root): root's RBAC on this shard, or root's
    replicated RBAC from the cache when root is elsewhere."""
    for name in sorted(type_names_with_extends(type_name, types)):
        authorize(
            user,
            ROOT,
            Attributes.for_resource(user, "use", "workspacetypes", api_group=TENANCY, name=name),
            replicated=True,
        )
