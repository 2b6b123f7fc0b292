"""Workspace membership for the portal, kept in agreement with the workspace's RBAC.

RBAC is the single source of truth: a member is a User subject of a ClusterRoleBinding in the
workspace's own logical cluster. django-guardian object permissions mirror it (`admin_workspace`
for cluster-admin/admin, `view_logicalclusterrow` for edit/view/access), so the portal can list
"my workspaces" with one indexed query and API and portal always answer the same. The portal
changes membership only through `workspace_member_grant/revoke`, which write RBAC; the mirror
follows (after commit, and on every RBAC change through the on_change hook).

The key of the index. A row is (user, permission, content type, object_pk) with the content type
of `LogicalClusterRow` and object_pk = the workspace's logical cluster name:
* the name is unique across every shard (16 random characters chosen once by placement; `root`
  for root), where a shard's WorkspaceRow primary key is not (two shards' rows collide on the
  same pk, and no shard can resolve another's);
* the logical cluster is where the ClusterRoleBindings live and change, so the shard that owns it
  (and only that shard: `workspace_members_sync` refuses a cluster it does not hold) writes its
  rows from its own RBAC, with no read of the parent's shard, where the Workspace object lives;
* it is the key of the global directory (`shards.models.DirectoryEntry.name`), so a reader turns
  index rows into paths, phases and shards with one more global query (workspaces.selectors).
LogicalClusterRow's content type says what the key names (a logical cluster); object_pk is the
cluster's name, not that row's primary key, so guardian's object shortcuts and its backend
(`has_perm(perm, obj)`, `get_perms`), which use `obj.pk`, must not be used on these rows: only this
module writes and reads them.

Two databases: RBAC lives on the shard, the guardian rows (with users, permissions and content
types) in the global database (kcpsite.dbrouter; the same database in single-shard mode). No
statement joins the two, and no transaction spans them. The mirror is an index, never the
authority: a mirror row whose RBAC rolled back or was removed grants nothing (the portal confirms
every candidate it can with the authorizer, the API never reads the mirror), and a mirror write
lost after the shard committed is redone by the next sync of that cluster (every RBAC change and
the Ready transition sync after commit; `workspace_members_reindex` rebuilds a shard's part)."""

from __future__ import annotations

import functools
import json
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection, connections, router, transaction
from guardian.models import UserObjectPermission

from kube import errors
from kube.authz.authorizer import policy_for
from kube.authz.user import UserInfo
from kube.registry import REGISTRY
from kube.registry.authorized import AuthorizedClient
from kube.registry.tables import column_name
from kube.storage.models import StoredObject

from .models import LogicalClusterRow, WorkspaceRow
from .names import ROOT

RBAC = "rbac.authorization.k8s.io"
ADMIN, VIEW = "admin_workspace", "view_logicalclusterrow"
#: The member permission of the former key (WorkspaceRow primary keys), dropped by the reindex.
OLD_VIEW = "view_workspacerow"
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
    return members_from_bindings(_cluster_role_bindings(logical_cluster))


def members_from_bindings(bindings: list[dict[str, Any]]) -> dict[str, str]:
    """user name → strongest permission these ClusterRoleBinding bodies grant."""
    out: dict[str, str] = {}
    for body in bindings:
        perm = ROLE_OF_CLUSTER_ROLE.get((body.get("roleRef") or {}).get("name", ""))
        if perm is None:
            continue
        for subject in body.get("subjects") or []:
            if isinstance(subject, dict) and subject.get("kind") == "User" and subject.get("name"):
                if out.get(subject["name"]) != ADMIN:
                    out[subject["name"]] = perm
    return out


def _cluster_role_bindings(logical_cluster: str) -> list[dict[str, Any]]:
    """Bodies of the cluster's ClusterRoleBindings (the one source of membership)."""
    with connection.cursor() as cur:
        cur.execute(_member_sql()["bindings"], [logical_cluster, RBAC, "clusterrolebindings"])
        return [json.loads(body) if isinstance(body, str) else body for (body,) in cur.fetchall()]


def workspace_members_sync(*, logical_cluster: str) -> dict[str, str]:
    """Make the index rows of `logical_cluster` equal what its ClusterRoleBindings grant, when
    this shard holds the cluster (its LogicalCluster object is here); otherwise do nothing and
    return {}: another shard's RBAC is not readable here, and "no bindings" read from a cluster
    this shard does not hold would revoke every member.

    Runs after every RBAC change (and for a workspace made Ready outside its scheduling
    transaction), so it reads and writes guardian's UserObjectPermission rows with plain SQL (a
    handful of statements; the ORM's join compilation cost more than the queries, and guardian's
    shortcuts cost five to ten queries per user and permission)."""
    if not LogicalClusterRow.objects.filter(cluster=logical_cluster, name="cluster").exists():
        return {}
    desired = workspace_members_desired(logical_cluster=logical_cluster)
    workspace_members_apply(logical_cluster=logical_cluster, desired=desired)
    return desired


def workspace_members_apply(*, logical_cluster: str, desired: dict[str, str]) -> None:
    """Grant and revoke index rows of `logical_cluster` until they are exactly `desired` (user
    name → ADMIN or VIEW). Users are created through the user model when first granted. Runs in a
    transaction of its own, or in the caller's (without a savepoint: a failure here fails the
    caller's transaction, as the scheduling step wants) when the guardian rows share the shard's
    database. With a separate global database there is no common transaction: the global one
    commits at the end of this call, before the caller's shard transaction. A shard rollback after
    it leaves mirror rows for grants that never committed, which grant nothing (see the module
    docstring; tests/kcpsite/test_global_database.py); a failure here still fails the caller.
    Only the shard holding the cluster calls this (the scheduling step that creates it, or
    `workspace_members_sync`)."""
    alias = router.db_for_write(UserObjectPermission)
    want = {(user, p) for user, perm in desired.items() for p in ((ADMIN, VIEW) if perm == ADMIN else (VIEW,))}
    content_type = ContentType.objects.db_manager(alias).get_for_model(LogicalClusterRow).pk
    key: list[Any] = [content_type, logical_cluster]
    with transaction.atomic(using=alias, savepoint=False), connections[alias].cursor() as cur:
        cur.execute(_member_sql()["granted"], [*key, ADMIN, VIEW])
        current = {(str(u), str(p)) for u, p in cur.fetchall()}
        for username, codename in current - want:
            cur.execute(_member_sql()["revoke"], [*key, username, codename])
        missing = sorted(want - current)
        if missing:
            names = sorted({u for u, _ in missing})
            cur.execute(_member_sql()["known_users"], [names])
            known = {str(u) for (u,) in cur.fetchall()}
            users = get_user_model()
            for username in names:
                if username not in known:
                    users.objects.db_manager(alias).get_or_create(defaults=None, **{users.USERNAME_FIELD: username})
            cur.execute(_member_sql()["grant"], [*key, [u for u, _ in missing], [c for _, c in missing], content_type])


def workspace_members_mirrored(*, username: str, permission: str = VIEW) -> list[str]:
    """Logical cluster names on which the index grants `username` `permission` (every member has
    VIEW): one query on the global database. The names are candidates, not grants: the caller
    resolves them in the directory and confirms them with the authorizer where it can."""
    users = get_user_model()
    return [
        str(name)
        for name in UserObjectPermission.objects.filter(
            **{f"user__{users.USERNAME_FIELD}": username},
            permission__codename=permission,
            content_type=ContentType.objects.get_for_model(LogicalClusterRow),
        ).values_list("object_pk", flat=True)
    ]


def workspace_members_reindex() -> int:
    """Rebuild this shard's part of the index from its RBAC; returns how many clusters it synced.

    Every Ready logical cluster held here and owned by a Workspace is synced from its own
    ClusterRoleBindings, and the rows of the former key (WorkspaceRow's content type, object_pk a
    shard-local primary key) are deleted. The old rows are not translated: a pk names a row of
    whichever shard wrote it, and resolving it on another shard is the collision the new key
    removes; RBAC, the source of the index, is on this shard anyway. Safe to run on every shard in
    any order and any number of times: each rewrites only its own clusters' rows, and the old rows
    are read by nobody. Run once per shard database by workspaces migration 0004 (a shard with no
    Ready cluster returns before touching the global database, which during a fresh split-mode
    install is not migrated yet)."""
    owned = [
        lc
        for lc, body in LogicalClusterRow.objects.filter(name="cluster", phase="Ready")
        .exclude(cluster=ROOT)
        .values_list("cluster", "body")
        if ((body or {}).get("spec") or {}).get("owner")
    ]
    if not owned:
        return 0
    alias = router.db_for_write(UserObjectPermission)
    _index_permissions(alias)
    old = ContentType.objects.db_manager(alias).get_for_model(WorkspaceRow)
    UserObjectPermission.objects.using(alias).filter(
        content_type=old, permission__codename__in=(ADMIN, OLD_VIEW)
    ).delete()
    bindings: dict[str, list[dict[str, Any]]] = {}
    with connection.cursor() as cur:
        cur.execute(_member_sql()["bindings_of"], [owned, RBAC, "clusterrolebindings"])
        for cluster, body in cur.fetchall():
            bindings.setdefault(str(cluster), []).append(json.loads(body) if isinstance(body, str) else body)
    for lc in owned:
        workspace_members_apply(logical_cluster=lc, desired=members_from_bindings(bindings.get(lc, [])))
    return len(owned)


def _index_permissions(alias: str) -> None:
    """The index's two permissions on LogicalClusterRow, created if missing: Django creates them
    after `migrate` of the global database, which in split mode runs after the shard's."""
    content_type = ContentType.objects.db_manager(alias).get_for_model(LogicalClusterRow)
    for codename, name in ((ADMIN, "Administer the workspace"), (VIEW, "Can view logical cluster row")):
        Permission.objects.db_manager(alias).get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )


@functools.cache
def _member_sql() -> dict[str, str]:
    """The statements of workspace_members_sync, with table and column names from the models
    (built on first use: the user model is only known once apps are loaded)."""
    users = get_user_model()
    quote = connection.ops.quote_name
    uop, user, perm = (quote(m._meta.db_table) for m in (UserObjectPermission, users, Permission))
    username = quote(column_name(users, users.USERNAME_FIELD))
    assert users._meta.pk is not None
    user_pk = quote(column_name(users, users._meta.pk.name))
    return {
        "bindings": f'SELECT body FROM {quote(StoredObject._meta.db_table)} WHERE cluster = %s AND "group" = %s '
        "AND resource = %s",
        "bindings_of": f"SELECT cluster, body FROM {quote(StoredObject._meta.db_table)} "
        'WHERE cluster = ANY(%s::text[]) AND "group" = %s AND resource = %s',
        "granted": f"SELECT u.{username}, p.codename FROM {uop} g JOIN {user} u ON u.{user_pk} = g.user_id "
        f"JOIN {perm} p ON p.id = g.permission_id "
        "WHERE g.content_type_id = %s AND g.object_pk = %s AND p.codename IN (%s, %s)",
        "revoke": f"DELETE FROM {uop} g USING {user} u, {perm} p WHERE g.content_type_id = %s AND g.object_pk = %s "
        f"AND u.{user_pk} = g.user_id AND u.{username} = %s AND p.id = g.permission_id AND p.codename = %s",
        "known_users": f"SELECT {username} FROM {user} WHERE {username} = ANY(%s::text[])",
        # Every missing (user, permission) pair in one statement: the pairs arrive as two arrays.
        "grant": f"INSERT INTO {uop} (user_id, permission_id, content_type_id, object_pk) "
        f"SELECT u.{user_pk}, p.id, %s, %s FROM unnest(%s::text[], %s::text[]) AS m(username, codename) "
        f"JOIN {user} u ON u.{username} = m.username "
        f"JOIN {perm} p ON p.content_type_id = %s AND p.codename = m.codename ON CONFLICT DO NOTHING",
    }


SUBJECT_KINDS = ("User", "Group")
ROLE_OF_BINDING = {"cluster-admin": "admin", "admin": "admin", "edit": "edit", "view": "view"}
ACCESS_ROLE = "system:kcp:workspace:access"


def _binding_name(username: str, role: str, kind: str = "User") -> str:
    return f"kcp-member:{role}:{username}" if kind == "User" else f"kcp-member:{role}:group:{username}"


def workspace_members_list(*, logical_cluster: str) -> list[tuple[str, str, str]]:
    """(subject kind, subject name, portal role) of every User/Group the cluster's ClusterRoleBindings
    grant admin/edit/view, strongest role per subject, sorted by kind and name."""
    rank = {"admin": 3, "edit": 2, "view": 1}
    out: dict[tuple[str, str], str] = {}
    for body in _cluster_role_bindings(logical_cluster):
        role = ROLE_OF_BINDING.get((body.get("roleRef") or {}).get("name", ""))
        if role is None:
            continue
        for subject in body.get("subjects") or []:
            if not isinstance(subject, dict) or subject.get("kind") not in SUBJECT_KINDS or not subject.get("name"):
                continue
            key = (str(subject["kind"]), str(subject["name"]))
            if rank[role] > rank.get(out.get(key, ""), 0):
                out[key] = role
    return sorted((k, n, r) for (k, n), r in out.items())


def _check_no_escalation(client: AuthorizedClient, role: str) -> None:
    """Nobody grants more than they hold: the actor must be allowed every rule of the granted role."""
    if role == "admin":
        client.check("*", "*", group="*")
        return
    for rule in policy_for(client.cluster).cluster_role_rules(PORTAL_ROLES[role]) or []:
        for group in rule.get("apiGroups") or []:
            for resource in rule.get("resources") or []:
                subresource = ""
                if "/" in resource:
                    resource, _, subresource = resource.partition("/")
                for verb in rule.get("verbs") or []:
                    try:
                        client.check(verb, resource, group=group, subresource=subresource)
                    except errors.Forbidden:
                        raise errors.Forbidden(
                            f'granting "{role}" needs every permission it gives; you may not {verb} {resource}',
                            kind="clusterrolebindings",
                            group=RBAC,
                        ) from None


def workspace_member_grant(
    *, actor: UserInfo, logical_cluster: str, username: str, role: str, kind: str = "User"
) -> None:
    """Portal: grant `role` (admin/edit/view) in the workspace whose logical cluster is
    `logical_cluster` (held by this shard) to a User or Group, as `actor` (who must be allowed to
    create ClusterRoleBindings there, and may not grant more than they hold). The workspace is
    named by its own cluster, not by its Workspace object: that lives in the parent's cluster,
    possibly on another shard."""
    if role not in PORTAL_ROLES:
        raise errors.BadRequest(f"role must be one of {', '.join(PORTAL_ROLES)}")
    if kind not in SUBJECT_KINDS:
        raise errors.BadRequest("kind must be User or Group")
    if not username or username.startswith("system:"):
        raise errors.BadRequest("a member name is required (names starting with system: are reserved)")
    lc = _held(logical_cluster)
    info = REGISTRY.resolve(cluster=lc, group=RBAC, version="v1", resource="clusterrolebindings")
    assert info is not None
    client = AuthorizedClient(user=actor, cluster=lc, field_manager="kcp-portal")
    client.check("create", "clusterrolebindings", group=RBAC)  # before the escalation check's message
    _check_no_escalation(client, role)
    # edit/view carry no non-resource rules: a member also needs kcp's `access` to enter at all.
    roles = [(role, PORTAL_ROLES[role])] + ([] if role == "admin" else [("access", ACCESS_ROLE)])
    for binding_role, cluster_role in roles:
        try:
            client.create(
                info,
                "",
                {
                    "metadata": {"name": _binding_name(username, binding_role, kind)},
                    "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": cluster_role},
                    "subjects": [{"apiGroup": RBAC, "kind": kind, "name": username}],
                },
            )
        except errors.AlreadyExists:
            pass


def workspace_member_revoke(*, actor: UserInfo, logical_cluster: str, username: str, kind: str = "User") -> None:
    """Portal: remove every portal grant of `username` (a User or Group) in the workspace whose
    logical cluster is `logical_cluster`, as `actor` (who must be allowed to delete
    ClusterRoleBindings there); refuses to remove the last admin."""
    if kind not in SUBJECT_KINDS:
        raise errors.BadRequest("kind must be User or Group")
    lc = _held(logical_cluster)
    info = REGISTRY.resolve(cluster=lc, group=RBAC, version="v1", resource="clusterrolebindings")
    assert info is not None
    client = AuthorizedClient(user=actor, cluster=lc, field_manager="kcp-portal")
    client.check("delete", "clusterrolebindings", group=RBAC)  # up front: revoking is removing grants
    admins = {(k, n) for k, n, r in workspace_members_list(logical_cluster=lc) if r == "admin"}
    if admins == {(kind, username)}:
        raise errors.Forbidden(f'"{username}" is the last admin of the workspace')
    for body in _cluster_role_bindings(lc):
        if (body.get("roleRef") or {}).get("name", "") not in (*ROLE_OF_BINDING, ACCESS_ROLE):
            continue
        subjects = [s for s in body.get("subjects") or [] if isinstance(s, dict)]
        kept = [s for s in subjects if (s.get("kind"), s.get("name")) != (kind, username)]
        if len(kept) == len(subjects):
            continue
        binding = body["metadata"]["name"]
        try:
            if kept:
                client.update(info, "", binding, {**body, "subjects": kept})
            else:
                client.delete(info, "", binding)
        except errors.NotFound:
            pass


def _held(logical_cluster: str) -> str:
    """`logical_cluster` if this shard holds it, live and below root; else NotFound (no write
    lands in a cluster that does not exist here, whoever asks)."""
    live = LogicalClusterRow.objects.filter(cluster=logical_cluster, name="cluster", deletion_timestamp__isnull=True)
    if logical_cluster == ROOT or not live.exists():
        raise errors.not_found("workspaces", logical_cluster, "tenancy.kcp.io")
    return logical_cluster


def workspace_owner_of(*, logical_cluster: str) -> tuple[str, str] | None:
    """(parent cluster, Workspace name) owning a Ready logical cluster held by this shard, or None
    (not Ready yet, not here, or not owned by a Workspace). Until the cluster is Ready its
    Workspace is not shown in the portal, and the Ready transition syncs membership after it
    commits (reading every binding committed before it): RBAC changes before then need no sync of
    their own."""
    lc = (
        LogicalClusterRow.objects.filter(cluster=logical_cluster, name="cluster").values_list("body", flat=True).first()
    )
    if ((lc or {}).get("status") or {}).get("phase") != "Ready":
        return None
    owner = ((lc or {}).get("spec") or {}).get("owner") or {}
    if owner.get("cluster") and owner.get("name"):
        return str(owner["cluster"]), str(owner["name"])
    return None
