"""Read-side rules of the portal's workspace pages, all evaluated as the logged-in user with the
same authorizer as the API.

* "My workspaces" are the workspaces the user may *enter* (kcp's `access` verb, checked in each
  workspace's own RBAC), on every shard. Candidates are logical cluster names: the portal
  membership index (workspaces.members, global database, one indexed query; written by the shard
  holding each cluster), the clusters of this shard whose ClusterRoleBindings name the user or
  one of their groups (so a lost index write hides nothing here), and for an admin every cluster
  this shard holds. Path, phase and shard come from the global directory
  (`shards.models.DirectoryEntry`, one query); a name it does not hold is not shown (each shard
  publishes its clusters there at start: `logicalclusters_publish`).
* Confirmation. A cluster the directory places on this shard is shown only when it is here and
  the authorizer lets the user enter it, so a stale or forged index row never shows too much. A
  cluster on another shard cannot be authorized here (its RBAC is there, and no shard reads
  another's): it is shown when the index names it for the user and the directory routes it
  (Initializing/Ready), linked to `/workspaces/<path>/`, which the front proxy sends to the owning
  shard, whose authorizer decides before anything of the workspace is shown. A stale or forged
  index row for such a cluster therefore shows its path and name to that user (until the owning
  shard's next sync rewrites its rows), never its content; writing index rows takes the global
  database, which also holds every token. A cluster of another shard that the index does not
  name for the user is never shown. The index holds User subjects only: a membership through a
  Group binding is listed by the shard holding that cluster, not by the others.
* Ancestors of an accessible workspace appear as plain path segments; a sibling's name never
  appears unless the user may access that sibling.
* A workspace the user may not enter and a workspace that does not exist give the same answer
  (`workspace_get_for_user` raises the same NotFound for both); a workspace another shard holds is
  not found here either (its pages are served by its own shard).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q

from kube import errors
from kube.authz.user import UserInfo
from kube.registry.authorized import AuthorizedClient
from kube.registry.context import RequestContext
from kube.registry.store import STORE
from kube.storage.models import StoredObject
from shards.models import PHASE_DELETING, ROUTED_PHASES, DirectoryEntry
from shards.selectors import local_shard_name

from .admission import workspace_admit_type, workspace_type_use_check
from .kinds import WORKSPACES
from .members import workspace_members_mirrored
from .models import LogicalClusterRow, WorkspaceRow, WorkspaceTypeRow
from .names import ROOT, TENANCY

RBAC = "rbac.authorization.k8s.io"
#: Groups every user has: bindings to them are blanket grants, not membership.
BLANKET_GROUPS = ("system:authenticated", "system:unauthenticated")


@dataclass(frozen=True)
class WorkspaceView:
    """One workspace as a page shows it."""

    path: str
    name: str
    cluster: str  # its own logical cluster ("" while Scheduling)
    parent_cluster: str  # where its Workspace object lives ("" for root)
    phase: str
    type_name: str
    shard: str = ""  # the shard holding its logical cluster (where its pages are served)

    @property
    def segments(self) -> list[tuple[str, str]]:
        """Breadcrumb: (segment, path up to it)."""
        parts = self.path.split(":")
        return [(p, ":".join(parts[: i + 1])) for i, p in enumerate(parts)]


@dataclass
class TreeNode:
    name: str
    path: str
    accessible: bool
    phase: str = ""
    type_name: str = ""
    shard: str = ""  # set when another shard holds it
    children: list[TreeNode] = field(default_factory=list)


def _may_enter(user: UserInfo, cluster: str) -> bool:
    return AuthorizedClient(user=user, cluster=cluster).can_path("access", "/")


def _allowed(user: UserInfo, cluster: str, verb: str, resource: str, *, group: str = TENANCY, name: str = "") -> bool:
    return AuthorizedClient(user=user, cluster=cluster).can(verb, resource, group=group, name=name)


def _display_phase(body: dict[str, Any], phase: str) -> str:
    return "Terminating" if (body.get("metadata") or {}).get("deletionTimestamp") else (phase or "Scheduling")


def workspace_summary(*, body: dict[str, Any], parent_path: str) -> dict[str, str]:
    """What a page (and its live updates) shows of a child Workspace object."""
    md = body.get("metadata") or {}
    name = str(md.get("name", ""))
    return {
        "name": name,
        "path": f"{parent_path}:{name}",
        "phase": _display_phase(body, str((body.get("status") or {}).get("phase", ""))),
        "type": str(((body.get("spec") or {}).get("type") or {}).get("name", "")),
    }


def workspaces_accessible(*, user: UserInfo, cluster: str = "*") -> list[WorkspaceView]:
    """Every workspace (below root) `user` may enter, on any shard, sorted by path (candidates and
    confirmation: the module docstring). `cluster="*"`: all of them; else those whose Workspace
    object lives in the logical cluster `cluster` (its children)."""
    indexed = set(workspace_members_mirrored(username=user.name))
    candidates = set(indexed)
    held_here = LogicalClusterRow.objects.filter(name="cluster").exclude(cluster=ROOT)
    # A Django superuser has every cluster here as a candidate (as guardian's get_objects_for_user
    # had it); the authorizer still decides.
    if user.is_admin or get_user_model().objects.filter(username=user.name, is_superuser=True).exists():
        held = set(held_here.values_list("cluster", flat=True))
        candidates |= held
    else:
        subject_q = Q(body__subjects__contains=[{"kind": "User", "name": user.name}])
        for group in user.groups:
            if group not in BLANKET_GROUPS:
                subject_q |= Q(body__subjects__contains=[{"kind": "Group", "name": group}])
        candidates.update(
            StoredObject.objects.filter(subject_q, group=RBAC, resource="clusterrolebindings")
            .values_list("cluster", flat=True)
            .distinct()
        )
        held = set(held_here.filter(cluster__in=candidates).values_list("cluster", flat=True)) if candidates else set()
    candidates.discard(ROOT)
    here = local_shard_name()
    out = []
    for name, (view, entry) in _views_of(held | (candidates & indexed)).items():
        if cluster != "*" and view.parent_cluster != cluster:
            continue
        if entry.shard == here:
            if name not in held or not _may_enter(user, name):
                continue
        elif name not in indexed or entry.phase not in ROUTED_PHASES:
            continue  # another shard's: only what the index names and the proxy routes
        out.append(view)
    return sorted(out, key=lambda w: w.path)


def _views_of(names: set[str]) -> dict[str, tuple[WorkspaceView, DirectoryEntry]]:
    """Logical cluster name → (how a page shows its workspace, its directory entry) for those of
    `names` the directory holds. Two queries whatever the number: the directory (global) and the
    Workspace objects that live on this shard."""
    if not names:
        return {}
    entries = DirectoryEntry.objects.filter(name__in=names)
    rows = {r.logical_cluster: r for r in WorkspaceRow.objects.filter(logical_cluster__in=names)}
    return {e.name: (_view_of(e, rows.get(e.name)), e) for e in entries}


def _view_of(entry: DirectoryEntry, row: WorkspaceRow | None) -> WorkspaceView:
    """The directory's path and shard; the Workspace object's name, phase and type when it lives
    here (it shows Terminating), else the directory's."""
    if row is not None:
        return WorkspaceView(
            path=entry.path,
            name=row.name,
            cluster=entry.name,
            parent_cluster=row.cluster,
            phase=_display_phase(row.body, row.phase),
            type_name=row.type_name,
            shard=entry.shard,
        )
    return WorkspaceView(
        path=entry.path,
        name=entry.workspace or entry.path.rsplit(":", 1)[-1],
        cluster=entry.name,
        parent_cluster=entry.parent,
        phase="Terminating" if entry.phase == PHASE_DELETING else entry.phase,
        type_name=entry.type.rsplit(":", 1)[-1],
        shard=entry.shard,
    )


def workspace_tree(*, user: UserInfo) -> list[TreeNode]:
    """The accessible workspaces as a tree under their ancestors (ancestors not accessible are
    plain segments; nothing else of theirs is shown)."""
    nodes: dict[str, TreeNode] = {}
    roots: list[TreeNode] = []
    root_accessible = user.is_admin
    for ws in workspaces_accessible(user=user):
        parts = ws.path.split(":")
        for i in range(1, len(parts) + 1):
            path = ":".join(parts[:i])
            node = nodes.get(path)
            if node is None:
                node = nodes[path] = TreeNode(name=parts[i - 1], path=path, accessible=path == ROOT and root_accessible)
                if i == 1:
                    roots.append(node)
                else:
                    nodes[":".join(parts[: i - 1])].children.append(node)
        node = nodes[ws.path]
        node.accessible, node.phase, node.type_name = True, ws.phase, ws.type_name
        node.shard = ws.shard if ws.shard != local_shard_name() else ""
    if not roots and root_accessible:
        roots.append(TreeNode(name=ROOT, path=ROOT, accessible=True))
    return roots


def workspace_get_for_user(*, path: str, user: UserInfo) -> WorkspaceView:
    """The workspace at `path` if this shard holds its logical cluster and `user` may enter it;
    otherwise (or when there is none) the same NotFound, so existence never leaks. The path is
    looked up in the directory as the API resolves it (`addressing.cluster_at_path`: a live entry
    placed on this shard), in one query that also gives what the page shows."""
    missing = errors.NotFound(f'workspace "{path}" not found', kind="workspaces", group=TENANCY, name=path)
    if path == ROOT:
        if not _may_enter(user, ROOT):
            raise missing
        return WorkspaceView(
            path=ROOT,
            name=ROOT,
            cluster=ROOT,
            parent_cluster="",
            phase="Ready",
            type_name="root",
            shard=local_shard_name(),
        )
    entry = DirectoryEntry.objects.filter(path=path).exclude(phase=PHASE_DELETING).first()
    if entry is None or entry.shard != local_shard_name():
        raise missing
    if not LogicalClusterRow.objects.filter(cluster=entry.name, name="cluster").exists():
        raise missing  # placed here, not made yet
    if not _may_enter(user, entry.name):
        raise missing
    return _view_of(entry, WorkspaceRow.objects.filter(logical_cluster=entry.name).first())


def workspace_children_visible(*, user: UserInfo, cluster: str) -> set[str] | None:
    """Which children of the workspace `cluster` the user may see: None = all of them (the user is a
    member there, not merely covered by a blanket grant, and may list workspaces), else the names
    of the children they may access."""
    if user.is_admin or (
        cluster != ROOT and _allowed(user, cluster, "list", "workspaces") and _is_member(user, cluster)
    ):
        return None
    return {w.name for w in workspaces_accessible(user=user, cluster=cluster)}


def _is_member(user: UserInfo, cluster: str) -> bool:
    return any(w.cluster == cluster for w in workspaces_accessible(user=user)) if not user.is_admin else True


def workspace_children(*, user: UserInfo, workspace: WorkspaceView) -> list[dict[str, str]]:
    visible = workspace_children_visible(user=user, cluster=workspace.cluster)
    rows = WorkspaceRow.objects.filter(cluster=workspace.cluster).order_by("name")
    if visible is not None:
        rows = rows.filter(name__in=visible)
    return [workspace_summary(body=r.body, parent_path=workspace.path) for r in rows]


def workspace_children_listed(*, user: UserInfo, cluster: str, parent_path: str) -> tuple[int, list[dict[str, str]]]:
    """(list revision, summaries) of the child Workspaces in `cluster` the user may see, read at one
    revision so a page's live stream resumes from it. Read with the server's identity and filtered
    by `workspace_children_visible`, not by the user's `list` on workspaces: a member who may enter
    a child sees it even without listing rights in the parent, and never a sibling's name."""
    visible = workspace_children_visible(user=user, cluster=cluster)
    result = STORE.list(WORKSPACES, RequestContext(cluster=cluster), "")
    rows = [
        workspace_summary(body=o, parent_path=parent_path)
        for o in result.items
        if visible is None or o["metadata"]["name"] in visible
    ]
    return result.revision, sorted(rows, key=lambda r: r["name"])


@dataclass(frozen=True)
class WorkspaceAbilities:
    create_child: bool
    delete: bool
    manage_members: bool
    list_children: bool


def workspace_abilities(*, user: UserInfo, workspace: WorkspaceView) -> WorkspaceAbilities:
    """What the pages offer (the server checks again on every write)."""
    delete = bool(workspace.parent_cluster) and _allowed(
        user, workspace.parent_cluster, "delete", "workspaces", name=workspace.name
    )
    return WorkspaceAbilities(
        create_child=_allowed(user, workspace.cluster, "create", "workspaces"),
        delete=delete,
        manage_members=workspace.cluster != ROOT
        and _allowed(user, workspace.cluster, "create", "clusterrolebindings", group=RBAC),
        list_children=_allowed(user, workspace.cluster, "list", "workspaces"),
    )


def workspace_types_allowed(*, user: UserInfo, cluster: str) -> list[str]:
    """WorkspaceTypes a child of `cluster` may have and `user` may use, default first."""
    out = []
    for name in WorkspaceTypeRow.objects.filter(cluster=ROOT).order_by("name").values_list("name", flat=True):
        candidate: dict[str, Any] = {"metadata": {"name": "candidate"}, "spec": {"type": {"name": name}}}
        try:
            workspace_admit_type(workspace=candidate, parent_cluster=cluster)
            workspace_type_use_check(user=user, type_name=name)
        except errors.StatusError:
            continue
        out.append(name)
    default: dict[str, Any] = {"metadata": {"name": "candidate"}, "spec": {}}
    try:
        workspace_admit_type(workspace=default, parent_cluster=cluster)
        first = default["spec"]["type"]["name"]
        if first in out:
            out.remove(first)
            out.insert(0, first)
    except errors.StatusError:
        pass
    return out


def workspace_authorize(*, user: UserInfo, cluster: str, verb: str, resource: str, name: str = "") -> None:
    """Raise Forbidden unless the user may `verb` `resource` (tenancy.kcp.io) in `cluster`."""
    AuthorizedClient(user=user, cluster=cluster).check(verb, resource, group=TENANCY, name=name)


def workspace_breadcrumb(*, user: UserInfo, path: str) -> list[tuple[str, str, bool]]:
    """(segment, path, may open) for each segment of `path`: ancestors the user may not open are
    plain text. An ancestor on another shard may be opened when "my workspaces" would list it
    (the index names it for the user; its shard decides when it is opened)."""
    out = []
    parts = path.split(":")
    remote: set[str] | None = None
    for i, segment in enumerate(parts):
        prefix = ":".join(parts[: i + 1])
        try:
            workspace_get_for_user(path=prefix, user=user)
            ok = True
        except errors.NotFound:
            if remote is None:
                remote = _remote_paths(user=user, paths=[":".join(parts[: j + 1]) for j in range(len(parts))])
            ok = prefix in remote
        out.append((segment, prefix, ok))
    return out


def _remote_paths(*, user: UserInfo, paths: list[str]) -> set[str]:
    """Which of `paths` are routed workspaces another shard holds that the index names for `user`
    (linked as in "my workspaces": their own shard authorizes when they are opened)."""
    entries = dict(
        DirectoryEntry.objects.filter(path__in=paths, phase__in=ROUTED_PHASES)
        .exclude(shard=local_shard_name())
        .values_list("name", "path")
    )
    if not entries:
        return set()
    return {entries[name] for name in set(workspace_members_mirrored(username=user.name)) & set(entries)}


def workspace_progress(*, cluster: str, name: str) -> tuple[str, str] | None:
    """The logical cluster and phase Workspace `name` in `cluster` records, or None when this shard
    has no such Workspace (its parent cluster lives elsewhere): one indexed read, for the
    directory follower deciding whether a notification needs a task."""
    row = WorkspaceRow.objects.filter(cluster=cluster, name=name).values_list("logical_cluster", "phase").first()
    return (str(row[0]), str(row[1])) if row is not None else None
