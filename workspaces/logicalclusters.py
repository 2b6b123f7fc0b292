"""The owning shard's side of placement: logical clusters made from directory entries, their
built-in initializers, the move from Initializing to Ready, and the purge of deleted ones.

The parent's shard decides (`workspaces.services.workspace_schedule_step`): it resolves the
Workspace's type into a `placement_spec` (the type, its initializers, the owner, the labels the
type adds) and commits a directory entry naming the chosen shard. The chosen shard needs nothing
else: it never reads the parent's shard, so no shard holds another's credentials.

`logicalclusters_pull` is that shard's loop body (run on each directory notification for the
shard, and by the periodic resync as a safety net), over the entries placed on it, oldest first:

1. an entry being deleted: the logical cluster's objects purged, then the entry removed;
2. an entry still Scheduling: the LogicalCluster and the built-in initializers' objects written in
   one transaction (`logicalcluster_materialize`), then the entry moved to the LogicalCluster's
   phase; an entry deleted meanwhile gets its fresh cluster purged at once.

Every step is idempotent: a LogicalCluster that exists already is taken as made (its owner UID
must match the entry's), and an entry already in its phase is left alone. When parent and child
share a shard, the scheduler calls `logicalcluster_materialize` itself, inside its own transaction
(the single-shard fast path)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction

from kube import errors
from kube.registry import REGISTRY, ResourceInfo
from kube.registry.context import RequestContext
from kube.registry.purge import purge_clusters
from kube.registry.store import STORE
from kube.timefmt import now_rfc3339
from shards.directory import (
    Placement,
    directory_local_names,
    directory_pending,
    directory_publish,
    directory_remove,
    directory_set_phase,
)
from shards.models import PHASE_DELETING, PHASE_INITIALIZING, PHASE_READY, PHASE_SCHEDULING
from shards.selectors import local_shard_name

from .addressing import ownership_paths
from .admission import type_body, type_names_with_extends, workspace_types
from .kinds import LOGICAL_CLUSTERS
from .members import workspace_members_sync
from .models import LogicalClusterRow
from .names import CORE, OWNER_ANNOTATION, PATH_ANNOTATION, ROOT, SHARD_ANNOTATION, TENANCY, TYPE_ANNOTATION

Obj = dict[str, Any]
RBAC = "rbac.authorization.k8s.io"
UNIVERSAL_INITIALIZER = "root:universal"
LC_DELETION_FINALIZER = "core.kcp.io/logicalcluster-deletion"


def _system(cluster: str, field_manager: str = "") -> RequestContext:
    return RequestContext(cluster=cluster, field_manager=field_manager)


def owner_info(owner: str) -> Obj:
    """The owner annotation (JSON user info) as a dict; {} when absent or malformed."""
    try:
        info = json.loads(owner)
        return info if isinstance(info, dict) else {}
    except ValueError:
        return {}


def placement_spec(*, ws: Obj) -> tuple[str, Obj]:
    """(type `path:name`, spec) a directory entry carries for the Workspace `ws`: its resolved
    initializers (the type and the types it extends that initialize), the owner annotation and
    the labels the type adds. Computed where the type lives (the parent's shard)."""
    ws_type = ws["spec"]["type"]
    types = workspace_types()
    type_spec = ((type_body(ws_type["name"], types) or {}).get("spec")) or {}
    initializers = sorted(
        f"{ws_type['path']}:{t}"
        for t in type_names_with_extends(ws_type["name"], types)
        if ((type_body(t, types) or {}).get("spec") or {}).get("initializer")
    )
    spec: Obj = {"initializers": initializers}
    owner = (ws["metadata"].get("annotations") or {}).get(OWNER_ANNOTATION, "")
    if owner:
        spec["owner"] = owner
    labels = dict(type_spec.get("additionalWorkspaceLabels") or {})
    if labels:
        spec["labels"] = labels
    return f"{ws_type['path']}:{ws_type['name']}", spec


def _logical_cluster_body(p: Placement) -> Obj:
    owner = str(p.spec.get("owner") or "")
    initializers = list(p.spec.get("initializers") or [])
    external = settings.KCP_EXTERNAL_URL.rstrip("/")
    lc: Obj = {
        "apiVersion": f"{CORE}/v1alpha1",
        "kind": "LogicalCluster",
        "metadata": {
            "name": "cluster",
            "annotations": {
                PATH_ANNOTATION: p.path,
                TYPE_ANNOTATION: p.type,
                SHARD_ANNOTATION: p.shard,
                **({OWNER_ANNOTATION: owner} if owner else {}),
            },
            "finalizers": [LC_DELETION_FINALIZER],
            "creationTimestamp": now_rfc3339(),
        },
        "spec": {
            "owner": {
                "apiVersion": f"{TENANCY}/v1alpha1",
                "resource": "workspaces",
                "name": p.workspace,
                "cluster": p.parent,
                "uid": p.owner_uid,
            },
            "initializers": initializers,
            **({"createdBy": owner_info(owner)} if owner else {}),
        },
        "status": {"phase": PHASE_INITIALIZING, "URL": f"{external}/clusters/{p.name}", "initializers": initializers},
    }
    labels = p.spec.get("labels")
    if isinstance(labels, dict) and labels:
        lc["metadata"]["labels"] = dict(labels)
    return lc


def logicalcluster_birth_phase(*, initializers: list[str]) -> str:
    """The phase a logical cluster is created in: Ready when the system runs all of its
    initializers itself, Initializing while others' remain."""
    return PHASE_INITIALIZING if any(i not in BUILTIN_INITIALIZERS for i in initializers) else PHASE_READY


def logicalcluster_materialize(
    *, placement: Placement, fresh: bool = False
) -> tuple[str, list[str], list[tuple[ResourceInfo, str, Obj]]]:
    """Create the LogicalCluster of `placement` on this shard with the built-in initializers'
    objects, in the caller's transaction; (phase, initializers left, objects written). The
    phase is Ready unless initializers owned by other controllers remain. A LogicalCluster that
    exists already is left as it is and its phase returned (no objects). `fresh`: the placement
    was drawn in the caller's transaction, so nothing of it can exist yet (no lookup)."""
    existing = None if fresh else STORE.lookup(LOGICAL_CLUSTERS, cluster=placement.name, name="cluster")
    if existing is not None:
        owner = ((existing.get("spec") or {}).get("owner") or {}).get("uid", "")
        if placement.owner_uid and owner != placement.owner_uid:
            raise errors.Conflict(f"logical cluster {placement.name} belongs to another workspace")
        status = existing.get("status") or {}
        return str(status.get("phase") or PHASE_INITIALIZING), list(status.get("initializers") or []), []
    lc = _logical_cluster_body(placement)
    initializers = list(lc["status"]["initializers"])
    builtin = [i for i in initializers if i in BUILTIN_INITIALIZERS]
    remaining = [i for i in initializers if i not in BUILTIN_INITIALIZERS]
    phase = logicalcluster_birth_phase(initializers=initializers)
    lc["status"].update(phase=phase, initializers=remaining)
    objects = [item for i in builtin for item in BUILTIN_INITIALIZERS[i](placement.name, lc)]
    ctx = _system(placement.name, "kcp-initializers")
    # The LogicalCluster through its strategy, with the status the system gives it at birth and
    # no managedFields (nobody applies it); the initializers' objects as any create.
    prepared = STORE.prepare_creates(ctx, [(LOGICAL_CLUSTERS, "", lc)], keep_status=True, managed_fields=False)
    prepared += STORE.prepare_creates(ctx, objects)
    STORE.write_prepared(ctx, prepared, after_commit_hooks=False)
    return phase, remaining, objects


def logicalcluster_initialize(*, name: str) -> tuple[str, list[str]] | None:
    """For a logical cluster on this shard that is not Ready: run the built-in initializers still
    pending (left by an interrupted placement), and once no initializer is left — those owned by
    other controllers stay until they remove them, as in kcp — make it Ready. Its directory entry
    follows the phase. (phase, initializers left), or None when it is not here."""
    lc = STORE.lookup(LOGICAL_CLUSTERS, cluster=name, name="cluster")
    if lc is None:
        return None
    pending = list((lc.get("status") or {}).get("initializers") or [])
    for initializer in [i for i in pending if i in BUILTIN_INITIALIZERS]:
        ctx = _system(name, "kcp-initializers")
        for item in BUILTIN_INITIALIZERS[initializer](name, lc):
            try:
                STORE.create(item[0], ctx, item[1], item[2])
            except errors.AlreadyExists:
                pass
        pending.remove(initializer)

    def drop_done(current: Obj) -> None:
        status = current.setdefault("status", {})
        remaining = [i for i in status.get("initializers") or [] if i in pending]
        status["initializers"] = remaining
        status["phase"] = PHASE_INITIALIZING if remaining else PHASE_READY

    with transaction.atomic():
        written = STORE.guaranteed_update(
            LOGICAL_CLUSTERS,
            _system(name),
            "",
            "cluster",
            drop_done,
            current=lc,
            subresource="status",
            hooks=False,
            managed_fields=False,
        )
        if written is None:
            return None
        remaining = list(written["status"].get("initializers") or [])
        phase = PHASE_INITIALIZING if remaining else PHASE_READY
        directory_set_phase(name=name, phase=phase)
        if phase == PHASE_READY and (lc.get("status") or {}).get("phase") != PHASE_READY:
            # Bindings written while it initialized were not mirrored (workspace_owner_of).
            transaction.on_commit(lambda: workspace_members_sync(logical_cluster=name), robust=True)
    return phase, remaining


def logicalclusters_pull(*, shard: str | None = None) -> int:
    """Act on the directory entries placed on this shard (see the module docstring for the
    steps). Returns how many entries were handled."""
    shard = shard or local_shard_name()
    handled = 0
    for placement in directory_pending(shard=shard):
        if placement.phase == PHASE_DELETING:
            logicalcluster_purge(names=[placement.name])
        elif placement.phase == PHASE_SCHEDULING:
            try:
                with transaction.atomic():
                    phase, _, _ = logicalcluster_materialize(placement=placement)
            except errors.AlreadyExists:
                continue  # a concurrent pull made it: the next pass moves the entry
            if not directory_set_phase(name=placement.name, phase=phase):
                logicalcluster_purge(names=[placement.name])
            elif phase == PHASE_READY:
                # The owner's binding, written without hooks: this shard indexes its cluster.
                workspace_members_sync(logical_cluster=placement.name)
        handled += 1
    return handled


def logicalcluster_purge(*, names: list[str]) -> None:
    """Empty these logical clusters of this shard (every object, finalizers notwithstanding:
    deleting a workspace deletes its content), then drop their directory entries (only entries
    already marked Deleting), after the purge committed."""
    if not names:
        return
    with transaction.atomic():
        purge_clusters(clusters=names)
        transaction.on_commit(lambda: directory_remove(names=names), robust=True)


def logicalclusters_publish(*, shard: str | None = None) -> int:
    """Enter this shard's logical clusters that the directory lacks (a data dir from before the
    directory, a restored global database): each with its path by ownership on this shard, its
    owner, type and phase. Idempotent; returns how many were added. Run at start."""
    shard = shard or local_shard_name()
    known = directory_local_names(shard=shard)
    local = set(LogicalClusterRow.objects.filter(name="cluster").values_list("cluster", flat=True))
    if not local - known:
        return 0
    rows = LogicalClusterRow.objects.filter(name="cluster", cluster__in=sorted(local - known))
    missing: dict[str, Obj] = {
        str(cluster): body if isinstance(body, dict) else json.loads(body)
        for cluster, body in rows.values_list("cluster", "body")
    }
    paths = ownership_paths(list(missing))
    entries = []
    for cluster, lc in missing.items():
        path = paths.get(cluster) or (ROOT if cluster == ROOT else "")
        if not path:
            continue  # not below root on this shard: its owner lives elsewhere and published it
        owner = (lc.get("spec") or {}).get("owner") or {}
        status = lc.get("status") or {}
        phase = str(status.get("phase") or PHASE_READY)
        annotations = lc["metadata"].get("annotations") or {}
        entries.append(
            Placement(
                name=cluster,
                path=path,
                parent=str(owner.get("cluster") or ""),
                workspace=str(owner.get("name") or ""),
                owner_uid=str(owner.get("uid") or ""),
                shard=shard,
                phase=PHASE_DELETING if phase == "Deleting" else phase,
                type=str(annotations.get(TYPE_ANNOTATION, "")),
                spec={"initializers": list((lc.get("spec") or {}).get("initializers") or [])},
            )
        )
    return directory_publish(entries=entries)


# --- built-in initializers ------------------------------------------------------------------------


def _universal_objects(lc_name: str, lc: Obj) -> list[tuple[ResourceInfo, str, Obj]]:
    """root:universal: namespaces default and kube-system, and the creator as cluster-admin."""
    namespaces = REGISTRY.resolve(cluster=lc_name, group="", version="v1", resource="namespaces")
    bindings = REGISTRY.resolve(cluster=lc_name, group=RBAC, version="v1", resource="clusterrolebindings")
    assert namespaces is not None and bindings is not None
    objects: list[tuple[ResourceInfo, str, Obj]] = [
        (namespaces, "", {"metadata": {"name": ns}}) for ns in ("default", "kube-system")
    ]
    owner = owner_info((lc["metadata"].get("annotations") or {}).get(OWNER_ANNOTATION, ""))
    if owner.get("username"):
        binding = {
            "metadata": {"name": "workspace-admin"},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"apiGroup": RBAC, "kind": "User", "name": owner["username"]}],
        }
        objects.append((bindings, "", binding))
    return objects


#: Initializers the system runs itself: name → the objects it creates in the new cluster.
BUILTIN_INITIALIZERS: dict[str, Callable[[str, Obj], list[tuple[ResourceInfo, str, Obj]]]] = {
    UNIVERSAL_INITIALIZER: _universal_objects,
}

__all__ = [
    "BUILTIN_INITIALIZERS",
    "UNIVERSAL_INITIALIZER",
    "logicalcluster_birth_phase",
    "logicalcluster_initialize",
    "logicalcluster_materialize",
    "logicalcluster_purge",
    "logicalclusters_publish",
    "logicalclusters_pull",
    "owner_info",
    "placement_spec",
]
