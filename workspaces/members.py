"""Workspace membership for the portal, kept in agreement with the workspace's RBAC.

RBAC is the single source of truth: a member is a User subject of a ClusterRoleBinding in the
workspace's logical cluster. django-guardian object permissions on the Workspace row mirror it
(`admin_workspace` for cluster-admin/admin, `view_workspacerow` for edit/view/access), so the
portal can list "my workspaces" with one indexed query and API and portal always answer the same.
The portal changes membership only through `workspace_member_grant/revoke`, which write RBAC;
the mirror follows (after commit, and on every RBAC change through the on_change hook)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from guardian.shortcuts import assign_perm, get_users_with_perms, remove_perm

from kube import errors
from kube.authz.authorizer import authorize
from kube.authz.rbac import Attributes
from kube.authz.user import UserInfo
from kube.registry import REGISTRY
from kube.registry.context import RequestContext
from kube.registry.store import STORE
from kube.storage.models import StoredObject

from .models import WorkspaceRow

RBAC = "rbac.authorization.k8s.io"
ADMIN, VIEW = "admin_workspace", "view_workspacerow"
ROLE_OF_CLUSTER_ROLE = {
    "cluster-admin": ADMIN,
    "admin": ADMIN,
    "edit": VIEW,
    "view": VIEW,
    "system:kcp:workspace:access": VIEW,
}
PORTAL_ROLES = {"admin": "cluster-admin", "edit": "edit", "view": "view"}


def workspace_members_desired(*, logical_cluster: str) -> dict[str, str]:
    """user name → strongest permission granted by the cluster's ClusterRoleBindings."""
    out: dict[str, str] = {}
    rows = StoredObject.objects.filter(cluster=logical_cluster, group=RBAC, resource="clusterrolebindings")
    for body in rows.values_list("body", flat=True):
        perm = ROLE_OF_CLUSTER_ROLE.get((body.get("roleRef") or {}).get("name", ""))
        if perm is None:
            continue
        for subject in body.get("subjects") or []:
            if isinstance(subject, dict) and subject.get("kind") == "User" and subject.get("name"):
                if out.get(subject["name"]) != ADMIN:
                    out[subject["name"]] = perm
    return out


def workspace_members_sync(*, cluster: str, name: str) -> dict[str, str]:
    """Make the guardian permissions on the Workspace equal what its RBAC grants."""
    ws = WorkspaceRow.objects.filter(cluster=cluster, name=name).first()
    if ws is None or not ws.logical_cluster:
        return {}
    desired = workspace_members_desired(logical_cluster=ws.logical_cluster)
    users = get_user_model()
    with transaction.atomic():
        current: Any = get_users_with_perms(ws, attach_perms=True, with_group_users=False)
        for user, perms in current.items():
            want = desired.get(user.get_username())
            for perm in (ADMIN, VIEW):
                if perm in perms and not _implies(want, perm):
                    remove_perm(perm, user, ws)
        for username, perm in desired.items():
            user, _ = users.objects.get_or_create(username=username)
            for p in (ADMIN, VIEW) if perm == ADMIN else (VIEW,):
                assign_perm(p, user, ws)
    return desired


def _implies(granted: str | None, perm: str) -> bool:
    return granted == ADMIN or granted == perm


def _binding_name(username: str, role: str) -> str:
    return f"kcp-member:{role}:{username}"


def workspace_member_grant(*, actor: UserInfo, cluster: str, name: str, username: str, role: str) -> None:
    """Portal: grant `role` (admin/edit/view) in a workspace, as `actor` (who must be allowed to
    create ClusterRoleBindings there, and may not grant more than they hold)."""
    if role not in PORTAL_ROLES:
        raise errors.BadRequest(f"role must be one of {', '.join(PORTAL_ROLES)}")
    lc = _logical_cluster(cluster, name)
    info = REGISTRY.resolve(cluster=lc, group=RBAC, version="v1", resource="clusterrolebindings")
    assert info is not None
    authorize(
        actor,
        lc,
        Attributes.for_resource(actor, "create", "clusterrolebindings", api_group=RBAC),
    )
    if role == "admin":
        authorize(
            actor,
            lc,
            Attributes.for_resource(actor, "*", "*", api_group="*"),
        )
    ctx = RequestContext(cluster=lc, user=actor, field_manager="kcp-portal")
    try:
        STORE.create(
            info,
            ctx,
            "",
            {
                "metadata": {"name": _binding_name(username, role)},
                "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": PORTAL_ROLES[role]},
                "subjects": [{"apiGroup": RBAC, "kind": "User", "name": username}],
            },
        )
    except errors.AlreadyExists:
        pass


def workspace_member_revoke(*, actor: UserInfo, cluster: str, name: str, username: str) -> None:
    """Portal: remove every portal grant of `username`; refuses to remove the last admin."""
    lc = _logical_cluster(cluster, name)
    info = REGISTRY.resolve(cluster=lc, group=RBAC, version="v1", resource="clusterrolebindings")
    assert info is not None
    desired = workspace_members_desired(logical_cluster=lc)
    admins = {u for u, p in desired.items() if p == ADMIN}
    if admins == {username}:
        raise errors.Forbidden(f'"{username}" is the last admin of the workspace')
    ctx = RequestContext(cluster=lc, user=actor, field_manager="kcp-portal")
    for role in PORTAL_ROLES:
        try:
            STORE.delete(info, ctx, "", _binding_name(username, role))
        except errors.NotFound:
            pass


def _logical_cluster(cluster: str, name: str) -> str:
    ws = WorkspaceRow.objects.filter(cluster=cluster, name=name).first()
    if ws is None or not ws.logical_cluster:
        raise errors.not_found("workspaces", name, "tenancy.kcp.io")
    return ws.logical_cluster


def _on_binding_change(cluster: str, obj: dict[str, Any], event_type: str) -> None:
    from .models import LogicalClusterRow

    owner = LogicalClusterRow.objects.filter(cluster=cluster, name="cluster").values_list("body", flat=True).first()
    spec_owner = ((owner or {}).get("spec") or {}).get("owner") or {}
    if spec_owner.get("cluster") and spec_owner.get("name"):
        from .tasks import sync_workspace_members

        sync_workspace_members.delay(spec_owner["cluster"], spec_owner["name"])


def register() -> None:
    from kube.registry.store import on_change

    on_change(RBAC, "clusterrolebindings", _on_binding_change)
