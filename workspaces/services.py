"""Workspace business rules: addressing, type admission, and the reconciler that takes a
Workspace from Scheduling through Initializing to Ready, and deletes whole trees.

The reconciler is an ordered list of small idempotent steps (metadata → deletion → scheduling →
initialization → phase), each re-reading what it needs, so a repeated or interrupted run is
harmless. Writes go through kube's storage layer (revision, event log) in transactions; the
Workspace and its LogicalCluster change together."""

from __future__ import annotations

import copy
import hashlib
import secrets
import string
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from kube import errors
from kube.registry import REGISTRY, ResourceInfo
from kube.registry.context import RequestContext
from kube.registry.store import STORE
from kube.storage import backend
from kube.storage.backend import Key
from kube.storage.signature import SignatureCache
from kube.timefmt import now_rfc3339
from shards.services import shard_choose

from .kinds import CORE, LC_FINALIZER, OWNER_ANNOTATION, PATH_ANNOTATION, SEGMENT, TENANCY, TYPE_ANNOTATION
from .members import RBAC, members_from_bindings, workspace_members_apply, workspace_members_sync, workspace_row_id
from .models import WorkspaceTypeRow

SHARD_ANNOTATION = "core.kcp.io/shard"

Obj = dict[str, Any]
ROOT = "root"
ROOT_TYPES_PATH = "root"
UNIVERSAL_INITIALIZER = "root:universal"
BUILTIN_TYPES: dict[str, Obj] = {
    "root": {"limitAllowedParents": {"none": True}, "defaultChildWorkspaceType": {"name": "universal", "path": "root"}},
    "universal": {"initializer": True, "defaultChildWorkspaceType": {"name": "universal", "path": "root"}},
    "organization": {
        "initializer": False,
        "extend": {"with": [{"name": "universal", "path": "root"}]},
        "limitAllowedParents": {"types": [{"name": "root", "path": "root"}]},
        "defaultChildWorkspaceType": {"name": "universal", "path": "root"},
    },
    "team": {
        "extend": {"with": [{"name": "universal", "path": "root"}]},
        "limitAllowedParents": {"types": [{"name": "organization", "path": "root"}, {"name": "team", "path": "root"}]},
        "defaultChildWorkspaceType": {"name": "universal", "path": "root"},
    },
}


# --- addressing -----------------------------------------------------------------------------------


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


# --- types ----------------------------------------------------------------------------------------


_TYPES: SignatureCache[dict[str, Obj]] = SignatureCache(1)


def workspace_types() -> dict[str, Obj]:
    """The WorkspaceTypes of root by name, rebuilt only when root's type rows changed (one
    signature query; see kube.storage.signature). Admission and reconciliation read types several
    times per workspace."""
    return _TYPES.fetch(ROOT, WorkspaceTypeRow, lambda rows: dict(rows.values_list("name", "body")), {})


def _type_body(name: str, types: dict[str, Obj] | None = None) -> Obj | None:
    return (types if types is not None else workspace_types()).get(name)


def _type_names_with_extends(name: str, types: dict[str, Obj] | None = None) -> set[str]:
    """A type counts as itself and everything it extends (for parent/child constraints)."""
    types = types if types is not None else workspace_types()
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        body = _type_body(current, types) or {}
        for ref in ((body.get("spec") or {}).get("extend") or {}).get("with") or []:
            if isinstance(ref, dict) and ref.get("name"):
                todo.append(ref["name"])
    return seen


_OWNER_TYPE_SQL = (
    "SELECT type_name FROM tenancy_workspace WHERE logical_cluster = %s AND \"group\" = 'tenancy.kcp.io' "
    "AND resource = 'workspaces' AND namespace = '' LIMIT 1"
)


def _parent_type(parent_cluster: str) -> str:
    """The WorkspaceType name of a logical cluster, from the Workspace that owns it (spec.type,
    immutable and admitted when it was created; root is `root`) — not from the LogicalCluster's
    type annotation, which would be the thing to forge to escape parent/child rules."""
    if parent_cluster == ROOT:
        return "root"
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
    parent_body = _type_body(parent_type, types) or {}
    ref = spec.get("type")
    if not isinstance(ref, dict) or not ref.get("name"):
        default = (parent_body.get("spec") or {}).get("defaultChildWorkspaceType") or {"name": "universal"}
        ref = {"name": default.get("name", "universal"), "path": default.get("path", ROOT_TYPES_PATH)}
    ref = {"name": str(ref["name"]), "path": str(ref.get("path") or ROOT_TYPES_PATH)}
    spec["type"] = ref
    name = workspace.get("metadata", {}).get("name", "")
    if ref["path"] != ROOT_TYPES_PATH or _type_body(ref["name"], types) is None:
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
    child_spec = (_type_body(ref["name"], types) or {}).get("spec") or {}
    if not _allows(child_spec.get("limitAllowedParents"), _type_names_with_extends(parent_type, types)):
        raise _type_forbidden(name, f"workspace type root:{ref['name']} does not allow parent type root:{parent_type}")
    if not _allows(
        (parent_body.get("spec") or {}).get("limitAllowedChildren"), _type_names_with_extends(ref["name"], types)
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
    from kube.authz.authorizer import authorize, effective_user
    from kube.authz.rbac import Attributes

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
        type_cluster = cluster_resolve(type_path) if type_path else None
        if type_cluster is None:
            raise errors.Forbidden(f'initializer "{removed}" can only be removed by the system', kind="logicalclusters")
        acting = effective_user(user, type_cluster)
        authorize(
            acting,
            type_cluster,
            Attributes.for_resource(acting, "initialize", "workspacetypes", api_group=TENANCY, name=type_name),
        )


def workspace_type_use_check(*, user: Any, type_name: str, types: dict[str, Obj] | None = None) -> None:
    """kcp: creating a workspace of a type needs `use` on that WorkspaceType (and on every type
    it extends), checked in the type's workspace (root)."""
    from kube.authz.authorizer import authorize
    from kube.authz.rbac import Attributes

    for name in sorted(_type_names_with_extends(type_name, types)):
        authorize(
            user,
            ROOT,
            Attributes.for_resource(user, "use", "workspacetypes", api_group=TENANCY, name=name),
        )


# --- reconciliation -------------------------------------------------------------------------------


def workspace_needs_reconcile(*, obj: Obj, event_type: str) -> bool:
    """Whether a change to a Workspace gives the reconciler anything to do. Not for a deleted one,
    nor for one that is settled — scheduled, Ready and not being deleted: its LogicalCluster
    became Ready with it and nothing is pending, so reconciling it writes nothing. Skipping those
    spares every new workspace a second task (the scheduler's own write is such a change);
    `resync_workspaces` passes over the same ones."""
    if event_type == "DELETED":
        return False
    settled = (
        _phase(obj) == "Ready"
        and bool((obj.get("spec") or {}).get("cluster"))
        and not (obj.get("metadata") or {}).get("deletionTimestamp")
    )
    return not settled


def workspace_changed(cluster: str, obj: Obj, event_type: str) -> None:
    if not workspace_needs_reconcile(obj=obj, event_type=event_type):
        return
    from .tasks import reconcile_workspace

    reconcile_workspace.delay(cluster, obj["metadata"]["name"])


def _ws_key(cluster: str, name: str) -> Key:
    return Key(cluster, TENANCY, "workspaces", "", name)


def _lc_key(cluster: str) -> Key:
    return Key(cluster, CORE, "logicalclusters", "", "cluster")


def _set_condition(status: Obj, type_: str, cond_status: str, reason: str = "", message: str = "") -> None:
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != type_]
    conditions.append(
        {
            "type": type_,
            "status": cond_status,
            "lastTransitionTime": now_rfc3339(),
            **({"reason": reason} if reason else {}),
            **({"message": message} if message else {}),
        }
    )
    status["conditions"] = sorted(conditions, key=lambda c: c["type"])


def _phase(ws: Obj | None) -> str:
    return str(((ws or {}).get("status") or {}).get("phase", ""))


def workspace_reconcile(*, cluster: str, name: str) -> str:
    """Run the steps once; returns the phase reached ("" when the Workspace is gone). Each step
    hands the objects it wrote to the next, so a new workspace is read once, not once per step."""
    ws = backend.get(_ws_key(cluster, name))
    if ws is None:
        return ""
    if ws["metadata"].get("deletionTimestamp"):
        workspace_delete_step(cluster=cluster, name=name)
        return "" if backend.get(_ws_key(cluster, name)) is None else "Deleting"
    if not (ws.get("spec") or {}).get("cluster"):
        phase = workspace_schedule_step(cluster=cluster, name=name)
        if phase is not None:
            return phase
    return workspace_initialize_step(cluster=cluster, name=name)


def workspace_schedule_step(*, cluster: str, name: str) -> str | None:
    """Scheduling → Ready (or Initializing while initializers owned by other controllers remain),
    in one transaction: pick the shard (the local one), name the logical cluster, create its
    LogicalCluster, run the built-in initializers the type asks for (their objects are written in
    the same transaction: `BUILTIN_INITIALIZERS`), mirror the owner's membership for the portal,
    and record spec.cluster/spec.URL and the phase on the Workspace. Everything is computed and
    validated before the first write, so the writes — each holds the revision counter's lock until
    commit — come back to back. Returns the phase reached, or None when there was nothing to
    schedule (already scheduled, deleting, or gone).

    Why one transaction: a workspace made in five (schedule; two namespaces and a binding; Ready)
    held that lock across five commits, which capped creation at a few hundred a second whatever
    the CPUs, and a reader could see a half-initialized cluster."""
    parent_path = cluster_path(cluster)
    with transaction.atomic():
        ws = backend.get(_ws_key(cluster, name), for_update=True)
        if ws is None or (ws.get("spec") or {}).get("cluster") or ws["metadata"].get("deletionTimestamp"):
            return None
        # 82 random bits: no lookup for a clash. Should one happen, the LogicalCluster's unique key
        # refuses it, the transaction rolls back whole and the task's retry draws another name.
        lc_name = new_cluster_name()
        path = f"{parent_path}:{name}"
        ws_type = ws["spec"]["type"]
        types = workspace_types()
        type_spec = ((_type_body(ws_type["name"], types) or {}).get("spec")) or {}
        initializers = sorted(
            f"{ws_type['path']}:{t}"
            for t in _type_names_with_extends(ws_type["name"], types)
            if ((_type_body(t, types) or {}).get("spec") or {}).get("initializer")
        )
        owner = (ws["metadata"].get("annotations") or {}).get(OWNER_ANNOTATION, "")
        external = settings.KCP_EXTERNAL_URL.rstrip("/")
        lc: Obj = {
            "apiVersion": f"{CORE}/v1alpha1",
            "kind": "LogicalCluster",
            "metadata": {
                "name": "cluster",
                "annotations": {
                    PATH_ANNOTATION: path,
                    TYPE_ANNOTATION: f"{ws_type['path']}:{ws_type['name']}",
                    SHARD_ANNOTATION: shard_choose(cluster=cluster),
                    **({OWNER_ANNOTATION: owner} if owner else {}),
                },
                "finalizers": ["core.kcp.io/logicalcluster-deletion"],
                "creationTimestamp": now_rfc3339(),
            },
            "spec": {
                "owner": {
                    "apiVersion": f"{TENANCY}/v1alpha1",
                    "resource": "workspaces",
                    "name": name,
                    "cluster": cluster,
                    "uid": ws["metadata"]["uid"],
                },
                "initializers": initializers,
                **({"createdBy": _owner_info(owner)} if owner else {}),
            },
            "status": {"phase": "Initializing", "URL": f"{external}/clusters/{lc_name}", "initializers": initializers},
        }
        labels = dict(type_spec.get("additionalWorkspaceLabels") or {})
        if labels:
            lc["metadata"]["labels"] = labels
        builtin = [i for i in initializers if i in BUILTIN_INITIALIZERS]
        remaining = [i for i in initializers if i not in BUILTIN_INITIALIZERS]
        phase = "Initializing" if remaining else "Ready"
        lc["status"].update(phase=phase, initializers=remaining)
        objects = [item for i in builtin for item in BUILTIN_INITIALIZERS[i](lc_name, lc)]
        ws = copy.deepcopy(ws)
        ws["spec"]["cluster"] = lc_name
        ws["spec"]["URL"] = f"{external}/clusters/{path}"
        status = ws.setdefault("status", {})
        status["phase"] = phase
        status["initializers"] = remaining
        _set_condition(status, "WorkspaceScheduled", "True")
        if phase == "Ready":
            _set_condition(status, "WorkspaceInitialized", "True")
            _members_mirror(cluster=cluster, name=name, objects=objects)
        ctx = RequestContext(cluster=lc_name, field_manager="kcp-initializers")
        prepared = STORE.prepare_creates(ctx, objects)
        # The writes, back to back. The owner's binding is mirrored above; its RBAC hook would
        # only repeat that after commit.
        backend.create(_lc_key(lc_name), lc)
        STORE.write_prepared(ctx, prepared, after_commit_hooks=False)
        backend.update(_ws_key(cluster, name), ws, prev_labels=ws["metadata"].get("labels") or {})
        return phase


def _members_mirror(*, cluster: str, name: str, objects: list[tuple[ResourceInfo, str, Obj]]) -> None:
    """The portal's membership of a workspace that becomes Ready in its scheduling transaction:
    what the ClusterRoleBindings among `objects` grant (the new cluster has no others)."""
    bindings = [body for info, _, body in objects if (info.group, info.resource) == (RBAC, "clusterrolebindings")]
    row = workspace_row_id(cluster=cluster, name=name)
    if row is not None:
        workspace_members_apply(workspace_pk=row[0], desired=members_from_bindings(bindings))


def _owner_info(owner: str) -> Obj:
    import json

    try:
        info = json.loads(owner)
        return info if isinstance(info, dict) else {}
    except ValueError:
        return {}


def workspace_initialize_step(*, cluster: str, name: str) -> str:
    """For a scheduled workspace that is not Ready yet: run the built-in initializers still pending
    on its LogicalCluster (one left over by an interrupted or older scheduling); when no
    initializer is left — those owned by external controllers stay until they remove them, as in
    kcp — both the LogicalCluster and the Workspace become Ready. Returns the Workspace's phase
    ("" when it is gone)."""
    ws = backend.get(_ws_key(cluster, name))
    if ws is None or ws["metadata"].get("deletionTimestamp"):
        return _phase(ws)
    lc_name = (ws.get("spec") or {}).get("cluster")
    if not lc_name:
        return _phase(ws)
    lc = backend.get(_lc_key(lc_name))
    if lc is None:
        return _phase(ws)
    pending = list((lc.get("status") or {}).get("initializers") or [])
    for initializer in [i for i in pending if i in BUILTIN_INITIALIZERS]:
        ctx = RequestContext(cluster=lc_name, field_manager="kcp-initializers")
        for item in BUILTIN_INITIALIZERS[initializer](lc_name, lc):
            try:
                STORE.create(item[0], ctx, item[1], item[2])
            except errors.AlreadyExists:
                pass
        pending.remove(initializer)
    with transaction.atomic():
        lc = backend.get(_lc_key(lc_name), for_update=True)
        ws = backend.get(_ws_key(cluster, name), for_update=True)
        if lc is None or ws is None:
            return _phase(ws)
        lc = copy.deepcopy(lc)
        lc_status = lc.setdefault("status", {})
        remaining = [i for i in lc_status.get("initializers") or [] if i in pending]
        phase = "Ready" if not remaining else "Initializing"
        if lc_status.get("initializers") != remaining or lc_status.get("phase") != phase:
            lc_status["initializers"] = remaining
            lc_status["phase"] = phase
            backend.update(_lc_key(lc_name), lc, prev_labels=lc["metadata"].get("labels") or {})
        ws = copy.deepcopy(ws)
        ws_status = ws.setdefault("status", {})
        if ws_status.get("phase") != phase or ws_status.get("initializers") != remaining:
            ws_status["phase"] = phase
            ws_status["initializers"] = remaining
            if phase == "Ready":
                _set_condition(ws_status, "WorkspaceInitialized", "True")
            backend.update(_ws_key(cluster, name), ws, prev_labels=ws["metadata"].get("labels") or {})
            if phase == "Ready":
                transaction.on_commit(lambda: workspace_members_sync(cluster=cluster, name=name), robust=True)
        return _phase(ws)


def _universal_objects(lc_name: str, lc: Obj) -> list[tuple[ResourceInfo, str, Obj]]:
    """root:universal: namespaces default and kube-system, and the creator as cluster-admin."""
    namespaces = REGISTRY.resolve(cluster=lc_name, group="", version="v1", resource="namespaces")
    bindings = REGISTRY.resolve(cluster=lc_name, group=RBAC, version="v1", resource="clusterrolebindings")
    assert namespaces is not None and bindings is not None
    objects: list[tuple[ResourceInfo, str, Obj]] = [
        (namespaces, "", {"metadata": {"name": ns}}) for ns in ("default", "kube-system")
    ]
    owner = _owner_info((lc["metadata"].get("annotations") or {}).get(OWNER_ANNOTATION, ""))
    if owner.get("username"):
        binding = {
            "metadata": {"name": "workspace-admin"},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"apiGroup": RBAC, "kind": "User", "name": owner["username"]}],
        }
        objects.append((bindings, "", binding))
    return objects


#: Initializers the reconciler runs itself: name → the objects it creates in the new cluster.
BUILTIN_INITIALIZERS: dict[str, Callable[[str, Obj], list[tuple[ResourceInfo, str, Obj]]]] = {
    UNIVERSAL_INITIALIZER: _universal_objects,
}


def workspace_delete_step(*, cluster: str, name: str) -> None:
    """Delete a Workspace's logical cluster and every descendant: all their objects in bulk (one
    statement per table, DELETED events for watchers), then the LogicalClusters, then the
    Workspace itself (its finalizer released). The descendants are found by ownership
    (`workspace_subtree`), never by path."""
    ws = backend.get(_ws_key(cluster, name))
    if ws is None:
        return
    lc_name = (ws.get("spec") or {}).get("cluster")
    with transaction.atomic():
        ws = backend.get(_ws_key(cluster, name), for_update=True)
        if ws is None:
            return
        if lc_name:
            workspace_tree_purge(clusters=workspace_subtree(cluster=lc_name))
        ws = copy.deepcopy(ws)
        ws.setdefault("status", {})["phase"] = "Deleting"
        finalizers = [f for f in ws["metadata"].get("finalizers") or [] if f != LC_FINALIZER]
        if finalizers:
            ws["metadata"]["finalizers"] = finalizers
            backend.update(_ws_key(cluster, name), ws, prev_labels=ws["metadata"].get("labels") or {})
        else:
            ws["metadata"].pop("finalizers", None)
            backend.delete(_ws_key(cluster, name), ws)


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


def workspace_tree_purge(*, clusters: list[str]) -> int:
    """Remove every object of the given logical clusters, finalizers notwithstanding: deleting a
    workspace deletes its content. Bulk per table; each row still gets its DELETED event."""
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


# --- bootstrap ------------------------------------------------------------------------------------


def workspaces_bootstrap() -> None:
    """The root LogicalCluster and the built-in WorkspaceTypes (idempotent)."""
    ctx = RequestContext(cluster=ROOT, field_manager="kcp-bootstrap")
    from .kinds import LOGICAL_CLUSTERS, WORKSPACE_TYPES

    with transaction.atomic():
        if backend.get(_lc_key(ROOT)) is None:
            external = settings.KCP_EXTERNAL_URL.rstrip("/")
            STORE.create(
                LOGICAL_CLUSTERS,
                ctx,
                "",
                {
                    "metadata": {
                        "name": "cluster",
                        "annotations": {
                            PATH_ANNOTATION: ROOT,
                            TYPE_ANNOTATION: "root:root",
                            SHARD_ANNOTATION: shard_choose(cluster=ROOT),
                        },
                    },
                    "spec": {},
                },
            )
            lc = backend.get(_lc_key(ROOT), for_update=True)
            assert lc is not None
            lc["status"] = {"phase": "Ready", "URL": f"{external}/clusters/root"}
            backend.update(_lc_key(ROOT), lc, prev_labels={})
    for type_name, spec in BUILTIN_TYPES.items():
        try:
            STORE.create(WORKSPACE_TYPES, ctx, "", {"metadata": {"name": type_name}, "spec": spec})
        except errors.AlreadyExists:
            pass
    _root_rbac(ctx)


def _root_rbac(ctx: RequestContext) -> None:
    """kcp's root bootstrap policy: every authenticated user may enter root and read the
    workspace catalogue there (creating workspaces in root stays with admins)."""
    rbac = "rbac.authorization.k8s.io"
    roles = REGISTRY.resolve(cluster=ROOT, group=rbac, version="v1", resource="clusterroles")
    bindings = REGISTRY.resolve(cluster=ROOT, group=rbac, version="v1", resource="clusterrolebindings")
    assert roles is not None and bindings is not None
    objects = [
        (
            roles,
            {
                "metadata": {"name": "system:kcp:tenancy:reader"},
                "rules": [
                    {
                        "apiGroups": [TENANCY],
                        "resources": ["workspaces", "workspacetypes"],
                        "verbs": ["get", "list", "watch"],
                    },
                    {"apiGroups": [CORE], "resources": ["logicalclusters"], "verbs": ["get", "list", "watch"]},
                ],
            },
        ),
        (
            roles,
            {
                "metadata": {"name": "system:kcp:workspacetypes:use"},
                "rules": [
                    {
                        "apiGroups": [TENANCY],
                        "resources": ["workspacetypes"],
                        "verbs": ["use"],
                        "resourceNames": ["universal", "organization", "team"],
                    }
                ],
            },
        ),
        (
            bindings,
            {
                "metadata": {"name": "system:kcp:authenticated:workspacetype-use"},
                "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": "system:kcp:workspacetypes:use"},
                "subjects": [{"apiGroup": rbac, "kind": "Group", "name": "system:authenticated"}],
            },
        ),
        (
            bindings,
            {
                "metadata": {"name": "system:kcp:tenancy:authenticated:access"},
                "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": "system:kcp:workspace:access"},
                "subjects": [{"apiGroup": rbac, "kind": "Group", "name": "system:authenticated"}],
            },
        ),
        (
            bindings,
            {
                "metadata": {"name": "system:kcp:tenancy:authenticated:reader"},
                "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": "system:kcp:tenancy:reader"},
                "subjects": [{"apiGroup": rbac, "kind": "Group", "name": "system:authenticated"}],
            },
        ),
    ]
    for info, body in objects:
        try:
            STORE.create(info, ctx, "", body)
        except errors.AlreadyExists:
            pass


# --- as a user (the portal) -----------------------------------------------------------------------


def workspace_create(*, user: Any, cluster: str, name: str, type_name: str = "") -> Obj:
    """Create a child Workspace of `cluster` as `user`: the API's authorization (create on
    workspaces there) and admission (types, `use` on the type) — the same path as a POST."""
    from kube.authz.authorizer import authorize
    from kube.authz.rbac import Attributes

    from .kinds import WORKSPACES

    authorize(user, cluster, Attributes.for_resource(user, "create", "workspaces", api_group=TENANCY))
    body: Obj = {"apiVersion": f"{TENANCY}/v1alpha1", "kind": "Workspace", "metadata": {"name": name}, "spec": {}}
    if type_name:
        body["spec"]["type"] = {"name": type_name, "path": ROOT_TYPES_PATH}
    ctx = RequestContext(cluster=cluster, user=user, field_manager="kcp-portal")
    return STORE.create(WORKSPACES, ctx, "", body)


def workspace_delete(*, user: Any, cluster: str, name: str) -> Obj:
    """Delete the Workspace `name` of `cluster` (and its whole tree) as `user`, as a DELETE would."""
    from kube.authz.authorizer import authorize
    from kube.authz.rbac import Attributes

    from .kinds import WORKSPACES

    authorize(user, cluster, Attributes.for_resource(user, "delete", "workspaces", api_group=TENANCY, name=name))
    ctx = RequestContext(cluster=cluster, user=user, field_manager="kcp-portal")
    return STORE.delete(WORKSPACES, ctx, "", name, {})
