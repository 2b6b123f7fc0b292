"""Workspace business rules: the reconciler that takes a Workspace from Scheduling through
Initializing to Ready and deletes whole trees, the bootstrap of root, and the portal's writes.
Addressing lives in workspaces.addressing, type and LogicalCluster admission in
workspaces.admission (their public names are re-exported here).

`workspace_reconcile` runs WORKSPACE_STEPS in order on a `WorkspacePass`; each step is a
function testable alone that returns True to hand over to the next or False when the pass is
done (`pass_.phase` is then the answer):

1. `workspace_delete_step`: a Workspace being deleted: its logical cluster and every one below
   it emptied in bulk, then its finalizer released — done;
2. `workspace_schedule_step`: an unscheduled Workspace: its LogicalCluster, the built-in
   initializers' objects and spec.cluster/status in one transaction — done;
3. `workspace_initialize_step`: a scheduled Workspace not Ready: built-in initializers still
   pending run, then LogicalCluster and Workspace become Ready once no initializer is left.

Every write goes through kube's registry (Store): strategies, admission and validation run;
controller hooks and managedFields are left out explicitly where the reconciler writes what it
will not react to. A repeated or interrupted pass is harmless."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from kube import errors
from kube.registry import REGISTRY, ResourceInfo
from kube.registry.authorized import AuthorizedClient
from kube.registry.conditions import set_condition
from kube.registry.context import RequestContext
from kube.registry.store import STORE
from kube.timefmt import now_rfc3339
from shards.directory import (
    Placement,
    directory_get,
    directory_is_local,
    directory_mark_deleting,
    directory_of_owner,
    directory_place,
    directory_publish,
    directory_set_phase,
)
from shards.services import local_shard_name, shard_choose, shard_unschedulable_reason

from .addressing import cluster_at_path as cluster_at_path
from .addressing import cluster_path as cluster_path
from .addressing import cluster_paths as cluster_paths
from .addressing import cluster_resolve as cluster_resolve
from .addressing import new_cluster_name
from .admission import logicalcluster_admit_change as logicalcluster_admit_change
from .admission import workspace_admit_type as workspace_admit_type
from .admission import workspace_type_use_check as workspace_type_use_check
from .admission import workspace_types as workspace_types
from .kinds import LOGICAL_CLUSTERS, WORKSPACE_TYPES, WORKSPACES
from .logicalclusters import BUILTIN_INITIALIZERS as BUILTIN_INITIALIZERS
from .logicalclusters import UNIVERSAL_INITIALIZER as UNIVERSAL_INITIALIZER
from .logicalclusters import (
    logicalcluster_birth_phase,
    logicalcluster_initialize,
    logicalcluster_materialize,
    logicalcluster_purge,
    placement_spec,
)
from .members import RBAC, members_from_bindings, workspace_members_apply
from .names import (
    CORE,
    LC_FINALIZER,
    PATH_ANNOTATION,
    ROOT,
    ROOT_TYPES_PATH,
    SHARD_ANNOTATION,
    TENANCY,
    TYPE_ANNOTATION,
)

Obj = dict[str, Any]

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


def _phase(ws: Obj | None) -> str:
    return str(((ws or {}).get("status") or {}).get("phase", ""))


@dataclass
class WorkspacePass:
    """One pass of the reconciler over Workspace `name` of `cluster`: the Workspace as last read
    or written (each step hands it on, so a new workspace is read once, not once per step), and
    the phase reached ("" once the Workspace is gone)."""

    cluster: str
    name: str
    workspace: Obj
    phase: str = ""


#: A step: True to hand over to the next one, False when the pass is done.
WorkspaceStep = Callable[[WorkspacePass], bool]


def workspace_reconcile(*, cluster: str, name: str) -> str:
    """Run WORKSPACE_STEPS once; returns the phase reached ("" when the Workspace is gone)."""
    ws = STORE.lookup(WORKSPACES, cluster=cluster, name=name)
    if ws is None:
        return ""
    pass_ = WorkspacePass(cluster=cluster, name=name, workspace=ws, phase=_phase(ws))
    for step in WORKSPACE_STEPS:
        if not step(pass_):
            break
    return pass_.phase


def _system(cluster: str, field_manager: str = "") -> RequestContext:
    return RequestContext(cluster=cluster, field_manager=field_manager)


def workspace_delete_step(pass_: WorkspacePass) -> bool:
    """A Workspace being deleted: its directory entry and every entry below it marked Deleting
    (one statement: from then on no route serves them), the logical clusters among them that
    live on this shard emptied in bulk — one statement per table, DELETED events for watchers —
    and the Workspace's finalizer released (it goes when no other holds it), in one transaction
    with the Workspace's row locked; the shards holding the others purge theirs when they pull
    the marks (`logicalclusters_pull`). Done."""
    if not pass_.workspace["metadata"].get("deletionTimestamp"):
        return True
    lc_name = (pass_.workspace.get("spec") or {}).get("cluster")
    with transaction.atomic():
        ws = STORE.lookup(WORKSPACES, cluster=pass_.cluster, name=pass_.name, for_update=True)
        if ws is None:
            pass_.phase = ""
            return False
        if lc_name:
            marked = directory_mark_deleting(name=lc_name)
            here = local_shard_name()
            # No entry at all: a placement never committed, or the marks were already handled;
            # a LogicalCluster of that name here is purged all the same.
            local = [name for name, shard in marked if shard == here] if marked else [lc_name]
            logicalcluster_purge(names=local)
        new = copy.deepcopy(ws)
        new.setdefault("status", {})["phase"] = "Deleting"
        finalizers = [f for f in new["metadata"].get("finalizers") or [] if f != LC_FINALIZER]
        if finalizers:
            new["metadata"]["finalizers"] = finalizers
        else:
            new["metadata"].pop("finalizers", None)
        # prepare=False: the strategy keeps status from a main-resource write; this one sets both.
        left = STORE.update_locked(
            WORKSPACES, _system(pass_.cluster), ws, new, prepare=False, hooks=False, managed_fields=False
        )
    gone = not WORKSPACES.strategy.deletion_held(left)
    pass_.workspace, pass_.phase = left, "" if gone else "Deleting"
    return False


def workspace_schedule_step(pass_: WorkspacePass) -> bool:
    """Scheduling → placed, and on the same shard → Ready (or Initializing while initializers
    owned by other controllers remain), in one transaction with the Workspace locked:

    - the placement: the entry already committed for this Workspace (its UID) if an earlier pass
      got that far, else a shard chosen (`shard_choose`, one statement: an eligible shard matching
      spec.location.selector; none → WorkspaceScheduled=False, reason Unschedulable, retried by
      the resync and by Shard changes), a logical cluster name drawn and the directory entry
      committed (`directory_place`) with what the owning shard needs (`placement_spec`);
    - another shard: spec.cluster, spec.URL and the shard annotation recorded (as kcp's
      scheduler does) and the rest left to that shard, which pulls the entry, creates the
      LogicalCluster and moves the entry on; `workspace_initialize_step` follows it from there;
    - this shard: the LogicalCluster and the built-in initializers' objects written
      (`logicalcluster_materialize`), the owner's membership mirrored for the portal, the
      Workspace's spec.cluster/spec.URL and phase recorded, and the entry moved to the phase.

    With one database (single-shard mode) all of it is one transaction. With a global database
    the entry commits first and moves last, just before the shard's commit: a crash in between
    leaves a placement the next pass (or the shard's pull) finds and completes, never a second
    one. Everything is computed before the shard's first write, so the writes — each holds the
    revision counter's lock until commit — come back to back. Done once it scheduled; hands over
    when there was nothing to schedule (already scheduled, or deleting).

    Why one transaction: a workspace made in five (schedule; two namespaces and a binding; Ready)
    held that lock across five commits, which capped creation at a few hundred a second whatever
    the CPUs, and a reader could see a half-initialized cluster."""
    if (pass_.workspace.get("spec") or {}).get("cluster"):
        return True
    cluster, name = pass_.cluster, pass_.name
    with transaction.atomic():
        ws = STORE.lookup(WORKSPACES, cluster=cluster, name=name, for_update=True)
        if ws is None:
            pass_.phase = ""
            return False
        if (ws.get("spec") or {}).get("cluster") or ws["metadata"].get("deletionTimestamp"):
            pass_.workspace, pass_.phase = ws, _phase(ws)
            return True
        # With a global database an earlier pass may have committed the entry and died before
        # this transaction did; with one database both rolled back together.
        fresh = directory_is_local()
        placement = None if fresh else directory_of_owner(owner_uid=ws["metadata"]["uid"])
        if placement is None:
            fresh = True
            selector = ((ws.get("spec") or {}).get("location") or {}).get("selector")
            shard = shard_choose(cluster=cluster, selector=selector)
            if shard is None:
                pass_.workspace = _unschedulable(cluster, ws, shard_unschedulable_reason(selector=selector))
                pass_.phase = _phase(pass_.workspace)
                return False
            ws_type, spec = placement_spec(ws=ws)
            # With one database the entry is written in this transaction, so it can carry the
            # phase the logical cluster is born with; with a global one it is Scheduling until
            # the cluster exists (moved just before this transaction commits, below).
            born = logicalcluster_birth_phase(initializers=spec["initializers"])
            # 82 random bits: no lookup for a clash. Should one happen, the entry's key refuses
            # it, the transaction rolls back whole and the task's retry draws another name.
            placement = directory_place(
                name=new_cluster_name(),
                path=f"{cluster_path(cluster)}:{name}",
                parent=cluster,
                workspace=name,
                owner_uid=ws["metadata"]["uid"],
                shard=shard,
                type=ws_type,
                spec=spec,
                phase=born if shard == local_shard_name() and directory_is_local() else "Scheduling",
            )
        external = settings.KCP_EXTERNAL_URL.rstrip("/")
        new_ws = copy.deepcopy(ws)
        new_ws["metadata"].setdefault("annotations", {})[SHARD_ANNOTATION] = placement.shard
        new_ws["spec"]["cluster"] = placement.name
        new_ws["spec"]["URL"] = f"{external}/clusters/{placement.path}"
        status = new_ws.setdefault("status", {})
        now = now_rfc3339()
        if placement.shard != local_shard_name():
            set_condition(
                status,
                type="WorkspaceScheduled",
                status=True,
                reason="Scheduled",
                message=f"placed on shard {placement.shard}, which creates the logical cluster",
                now=now,
            )
            pass_.workspace = STORE.update_locked(
                WORKSPACES, _system(cluster), ws, new_ws, prepare=False, hooks=False, managed_fields=False
            )
            pass_.phase = _phase(pass_.workspace)
            return False
        phase, remaining, objects = logicalcluster_materialize(placement=placement, fresh=fresh)
        status["phase"] = phase
        status["initializers"] = remaining
        set_condition(status, type="WorkspaceScheduled", status=True, now=now)
        if phase == "Ready":
            set_condition(status, type="WorkspaceInitialized", status=True, now=now)
            _members_mirror(logical_cluster=placement.name, objects=objects)
        # prepare=False: spec.cluster and spec.URL are the fields the strategy keeps from clients.
        pass_.workspace = STORE.update_locked(
            WORKSPACES, _system(cluster), ws, new_ws, prepare=False, hooks=False, managed_fields=False
        )
        if placement.phase != phase:
            directory_set_phase(name=placement.name, phase=phase)
    pass_.phase = phase
    return False


def _unschedulable(cluster: str, ws: Obj, message: str) -> Obj:
    """No shard is eligible: the Workspace (locked by the caller) stays Scheduling with
    WorkspaceScheduled=False, reason Unschedulable (kcp's); written only when that changes. The
    periodic resync and every Shard change retry it."""
    new = copy.deepcopy(ws)
    status = new.setdefault("status", {})
    set_condition(status, type="WorkspaceScheduled", status=False, reason="Unschedulable", message=message)
    return STORE.update_locked(
        WORKSPACES, _system(cluster), ws, new, subresource="status", hooks=False, managed_fields=False
    )


def _members_mirror(*, logical_cluster: str, objects: list[tuple[ResourceInfo, str, Obj]]) -> None:
    """The portal's membership of a workspace that becomes Ready in its scheduling transaction:
    what the ClusterRoleBindings among `objects` grant (the new cluster has no others)."""
    bindings = [body for info, _, body in objects if (info.group, info.resource) == (RBAC, "clusterrolebindings")]
    workspace_members_apply(logical_cluster=logical_cluster, desired=members_from_bindings(bindings))


def workspace_initialize_step(pass_: WorkspacePass) -> bool:
    """For a scheduled workspace that is not Ready yet: its logical cluster's progress mirrored
    onto it. On this shard the logical cluster is moved on first (`logicalcluster_initialize`:
    built-in initializers left over run, Ready once no initializer is left); on another shard its
    directory entry tells the phase the owning shard reached. The Workspace's phase and
    initializers follow (a guaranteed status update, written only when they change). Always the
    last step."""
    ws = pass_.workspace
    cluster, name = pass_.cluster, pass_.name
    pass_.phase = _phase(ws)
    lc_name = (ws.get("spec") or {}).get("cluster")
    if ws["metadata"].get("deletionTimestamp") or not lc_name:
        return False
    progress = logicalcluster_initialize(name=lc_name)
    if progress is None:
        placement = directory_get(name=lc_name)
        if placement is None or placement.phase not in ("Initializing", "Ready"):
            return False  # not made yet (Scheduling), or going away
        initializers = list(placement.spec.get("initializers") or [])
        progress = (placement.phase, initializers if placement.phase == "Initializing" else [])
    phase, remaining = progress

    def mirror(current: Obj) -> None:
        status = current.setdefault("status", {})
        if status.get("phase") != phase or status.get("initializers") != remaining:
            status["phase"] = phase
            status["initializers"] = remaining
            if phase == "Ready":
                set_condition(status, type="WorkspaceInitialized", status=True)

    with transaction.atomic():
        written = STORE.guaranteed_update(
            WORKSPACES,
            _system(cluster),
            "",
            name,
            mirror,
            current=ws,
            subresource="status",
            hooks=False,
            managed_fields=False,
        )
        if written is None:
            pass_.phase = ""
            return False
    pass_.workspace, pass_.phase = written, _phase(written)
    return False


WORKSPACE_STEPS: tuple[WorkspaceStep, ...] = (
    workspace_delete_step,
    workspace_schedule_step,
    workspace_initialize_step,
)


# --- bootstrap ------------------------------------------------------------------------------------


def workspaces_bootstrap() -> None:
    """The root LogicalCluster and the built-in WorkspaceTypes (idempotent)."""
    ctx = RequestContext(cluster=ROOT, field_manager="kcp-bootstrap")
    if STORE.lookup(LOGICAL_CLUSTERS, cluster=ROOT, name="cluster") is None:
        external = settings.KCP_EXTERNAL_URL.rstrip("/")
        # root lives on the shard that bootstraps it
        annotations = {PATH_ANNOTATION: ROOT, TYPE_ANNOTATION: "root:root", SHARD_ANNOTATION: local_shard_name()}
        try:
            STORE.create(
                LOGICAL_CLUSTERS,
                ctx,
                "",
                {
                    "metadata": {"name": "cluster", "annotations": annotations},
                    "spec": {},
                    "status": {"phase": "Ready", "URL": f"{external}/clusters/root"},
                },
                keep_status=True,
            )
        except errors.AlreadyExists:
            pass  # another process bootstrapping at the same time
    # root's entry in the directory (the shard that holds root publishes it; it never moves)
    root = Placement(
        name=ROOT,
        path=ROOT,
        parent="",
        workspace="",
        owner_uid="",
        shard=local_shard_name(),
        phase="Ready",
        type="root:root",
        spec={},
    )
    directory_publish(entries=[root])
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
    body: Obj = {"apiVersion": f"{TENANCY}/v1alpha1", "kind": "Workspace", "metadata": {"name": name}, "spec": {}}
    if type_name:
        body["spec"]["type"] = {"name": type_name, "path": ROOT_TYPES_PATH}
    return AuthorizedClient(user=user, cluster=cluster, field_manager="kcp-portal").create(WORKSPACES, "", body)


def workspace_delete(*, user: Any, cluster: str, name: str) -> Obj:
    """Delete the Workspace `name` of `cluster` (and its whole tree) as `user`, as a DELETE would."""
    return AuthorizedClient(user=user, cluster=cluster, field_manager="kcp-portal").delete(WORKSPACES, "", name, {})
