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
import json
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
from kube.registry.purge import purge_clusters
from kube.registry.store import STORE
from kube.timefmt import now_rfc3339
from shards.services import local_shard_name, shard_choose, shard_unschedulable_reason

from .addressing import cluster_at_path as cluster_at_path
from .addressing import cluster_path as cluster_path
from .addressing import cluster_paths as cluster_paths
from .addressing import cluster_resolve as cluster_resolve
from .addressing import new_cluster_name
from .addressing import workspace_subtree as workspace_subtree
from .admission import logicalcluster_admit_change as logicalcluster_admit_change
from .admission import type_body, type_names_with_extends
from .admission import workspace_admit_type as workspace_admit_type
from .admission import workspace_type_use_check as workspace_type_use_check
from .admission import workspace_types as workspace_types
from .kinds import LOGICAL_CLUSTERS, WORKSPACE_TYPES, WORKSPACES
from .members import RBAC, members_from_bindings, workspace_members_apply, workspace_members_sync, workspace_row_id
from .names import (
    CORE,
    LC_FINALIZER,
    OWNER_ANNOTATION,
    PATH_ANNOTATION,
    ROOT,
    ROOT_TYPES_PATH,
    SHARD_ANNOTATION,
    TENANCY,
    TYPE_ANNOTATION,
)

Obj = dict[str, Any]
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
    """A Workspace being deleted: its logical cluster and every descendant (found by ownership,
    `workspace_subtree`, never by path) emptied in bulk — one statement per table, DELETED
    events for watchers — then the Workspace's finalizer released (it goes when no other holds
    it), in one transaction with the Workspace's row locked."""
    if not pass_.workspace["metadata"].get("deletionTimestamp"):
        return True
    lc_name = (pass_.workspace.get("spec") or {}).get("cluster")
    with transaction.atomic():
        ws = STORE.lookup(WORKSPACES, cluster=pass_.cluster, name=pass_.name, for_update=True)
        if ws is None:
            pass_.phase = ""
            return False
        if lc_name:
            purge_clusters(clusters=workspace_subtree(cluster=lc_name))
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
    """Scheduling → Ready (or Initializing while initializers owned by other controllers remain),
    in one transaction: pick the shard (`shard_choose`, one statement: an eligible shard matching
    spec.location.selector; none → WorkspaceScheduled=False, reason Unschedulable, retried by the
    resync and by Shard changes; another shard → the choice recorded and left to that shard, which
    creates the LogicalCluster), name the logical cluster, create its
    LogicalCluster, run the built-in initializers the type asks for (their objects are written in
    the same transaction: `BUILTIN_INITIALIZERS`), mirror the owner's membership for the portal,
    and record spec.cluster/spec.URL and the phase on the Workspace. Everything is computed and
    validated before the first write, so the writes — each holds the revision counter's lock until
    commit — come back to back. Done once it scheduled; hands over when there was nothing to
    schedule (already scheduled, or deleting).

    Why one transaction: a workspace made in five (schedule; two namespaces and a binding; Ready)
    held that lock across five commits, which capped creation at a few hundred a second whatever
    the CPUs, and a reader could see a half-initialized cluster."""
    if (pass_.workspace.get("spec") or {}).get("cluster"):
        return True
    cluster, name = pass_.cluster, pass_.name
    parent_path = cluster_path(cluster)
    with transaction.atomic():
        ws = STORE.lookup(WORKSPACES, cluster=cluster, name=name, for_update=True)
        if ws is None:
            pass_.phase = ""
            return False
        if (ws.get("spec") or {}).get("cluster") or ws["metadata"].get("deletionTimestamp"):
            pass_.workspace, pass_.phase = ws, _phase(ws)
            return True
        selector = ((ws.get("spec") or {}).get("location") or {}).get("selector")
        shard = shard_choose(cluster=cluster, selector=selector)
        if shard is None:
            pass_.workspace = _unschedulable(cluster, ws, shard_unschedulable_reason(selector=selector))
            pass_.phase = _phase(pass_.workspace)
            return False
        # 82 random bits: no lookup for a clash. Should one happen, the LogicalCluster's unique key
        # refuses it, the transaction rolls back whole and the task's retry draws another name.
        lc_name = new_cluster_name()
        if shard != local_shard_name():
            pass_.workspace = _placed_elsewhere(cluster, ws, lc_name, shard)
            pass_.phase = _phase(pass_.workspace)
            return False
        path = f"{parent_path}:{name}"
        ws_type = ws["spec"]["type"]
        types = workspace_types()
        type_spec = ((type_body(ws_type["name"], types) or {}).get("spec")) or {}
        initializers = sorted(
            f"{ws_type['path']}:{t}"
            for t in type_names_with_extends(ws_type["name"], types)
            if ((type_body(t, types) or {}).get("spec") or {}).get("initializer")
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
                    SHARD_ANNOTATION: shard,
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
        new_ws = copy.deepcopy(ws)
        new_ws["metadata"].setdefault("annotations", {})[SHARD_ANNOTATION] = shard
        new_ws["spec"]["cluster"] = lc_name
        new_ws["spec"]["URL"] = f"{external}/clusters/{path}"
        status = new_ws.setdefault("status", {})
        status["phase"] = phase
        status["initializers"] = remaining
        now = now_rfc3339()
        set_condition(status, type="WorkspaceScheduled", status=True, now=now)
        if phase == "Ready":
            set_condition(status, type="WorkspaceInitialized", status=True, now=now)
            _members_mirror(cluster=cluster, name=name, objects=objects)
        ctx = _system(lc_name, "kcp-initializers")
        # The LogicalCluster through its strategy, with the status the system gives it at birth
        # and no managedFields (nobody applies it); the initializers' objects as any create.
        prepared = STORE.prepare_creates(ctx, [(LOGICAL_CLUSTERS, "", lc)], keep_status=True, managed_fields=False)
        prepared += STORE.prepare_creates(ctx, objects)
        # The writes, back to back. The owner's binding is mirrored above; its RBAC hook would
        # only repeat that after commit.
        STORE.write_prepared(ctx, prepared, after_commit_hooks=False)
        # prepare=False: spec.cluster and spec.URL are the fields the strategy keeps from clients.
        pass_.workspace = STORE.update_locked(
            WORKSPACES, _system(cluster), ws, new_ws, prepare=False, hooks=False, managed_fields=False
        )
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


def _placed_elsewhere(cluster: str, ws: Obj, lc_name: str, shard: str) -> Obj:
    """Another shard was chosen: the choice is recorded on the Workspace (spec.cluster and the
    `core.kcp.io/shard` annotation, as kcp's scheduler records it) and that shard creates the
    LogicalCluster and runs the initializers itself (placement is pulled: no shard writes
    another's database). The Workspace stays Scheduling until then."""
    new = copy.deepcopy(ws)
    new["spec"]["cluster"] = lc_name
    new["metadata"].setdefault("annotations", {})[SHARD_ANNOTATION] = shard
    set_condition(
        new.setdefault("status", {}),
        type="WorkspaceScheduled",
        status=True,
        reason="Scheduled",
        message=f"placed on shard {shard}, which creates the logical cluster",
    )
    return STORE.update_locked(WORKSPACES, _system(cluster), ws, new, prepare=False, hooks=False, managed_fields=False)


def _members_mirror(*, cluster: str, name: str, objects: list[tuple[ResourceInfo, str, Obj]]) -> None:
    """The portal's membership of a workspace that becomes Ready in its scheduling transaction:
    what the ClusterRoleBindings among `objects` grant (the new cluster has no others)."""
    bindings = [body for info, _, body in objects if (info.group, info.resource) == (RBAC, "clusterrolebindings")]
    row = workspace_row_id(cluster=cluster, name=name)
    if row is not None:
        workspace_members_apply(workspace_pk=row[0], desired=members_from_bindings(bindings))


def _owner_info(owner: str) -> Obj:
    try:
        info = json.loads(owner)
        return info if isinstance(info, dict) else {}
    except ValueError:
        return {}


def workspace_initialize_step(pass_: WorkspacePass) -> bool:
    """For a scheduled workspace that is not Ready yet: run the built-in initializers still pending
    on its LogicalCluster (one left over by an interrupted or older scheduling); when no
    initializer is left — those owned by external controllers stay until they remove them, as in
    kcp — both the LogicalCluster and the Workspace become Ready (guaranteed status updates, in
    one transaction, written only when they change). Always the last step."""
    ws = pass_.workspace
    cluster, name = pass_.cluster, pass_.name
    pass_.phase = _phase(ws)
    lc_name = (ws.get("spec") or {}).get("cluster")
    if ws["metadata"].get("deletionTimestamp") or not lc_name:
        return False
    lc = STORE.lookup(LOGICAL_CLUSTERS, cluster=lc_name, name="cluster")
    if lc is None:
        return False
    pending = list((lc.get("status") or {}).get("initializers") or [])
    for initializer in [i for i in pending if i in BUILTIN_INITIALIZERS]:
        ctx = _system(lc_name, "kcp-initializers")
        for item in BUILTIN_INITIALIZERS[initializer](lc_name, lc):
            try:
                STORE.create(item[0], ctx, item[1], item[2])
            except errors.AlreadyExists:
                pass
        pending.remove(initializer)

    def drop_done(current: Obj) -> None:
        status = current.setdefault("status", {})
        remaining = [i for i in status.get("initializers") or [] if i in pending]
        status["initializers"] = remaining
        status["phase"] = "Initializing" if remaining else "Ready"

    with transaction.atomic():
        lc = STORE.guaranteed_update(
            LOGICAL_CLUSTERS,
            _system(lc_name),
            "",
            "cluster",
            drop_done,
            current=lc,
            subresource="status",
            hooks=False,
            managed_fields=False,
        )
        if lc is None:
            return False
        remaining = list(lc["status"].get("initializers") or [])
        phase = "Initializing" if remaining else "Ready"

        def mirror(current: Obj) -> None:
            status = current.setdefault("status", {})
            if status.get("phase") != phase or status.get("initializers") != remaining:
                status["phase"] = phase
                status["initializers"] = remaining
                if phase == "Ready":
                    set_condition(status, type="WorkspaceInitialized", status=True)

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
        if phase == "Ready" and _phase(ws) != "Ready":
            transaction.on_commit(lambda: workspace_members_sync(cluster=cluster, name=name), robust=True)
    pass_.workspace, pass_.phase = written, _phase(written)
    return False


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
