"""Portal membership (the django-guardian index, keyed by logical cluster name) and workspace RBAC
agree, whichever side changes."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from guardian.models import UserObjectPermission

from kube import errors
from kube.authz.user import UserInfo
from tests.conftest import Api
from tests.factories import at, make
from workspaces.members import (
    workspace_member_grant,
    workspace_member_revoke,
    workspace_members_mirrored,
    workspace_members_sync,
)
from workspaces.models import LogicalClusterRow, WorkspaceRow

CRB = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"


def lc(workspace: str = "club") -> str:
    return WorkspaceRow.objects.get(name=workspace).logical_cluster


def perms(username: str, workspace: str = "club") -> set[str]:
    """The index's permissions of `username` on the workspace's logical cluster."""
    return set(
        UserObjectPermission.objects.filter(
            user__username=username,
            content_type=ContentType.objects.get_for_model(LogicalClusterRow),
            object_pk=lc(workspace),
        ).values_list("permission__codename", flat=True)
    )


def test_creator_is_admin_member(api: Api) -> None:
    make(api, "club")
    workspace_members_sync(logical_cluster=lc())
    assert perms("admin") == {"admin_workspace", "view_logicalclusterrow"}
    # The index (global database) names the club by its logical cluster name, the key of the
    # global directory, not by a shard's row.
    assert workspace_members_mirrored(username="admin") == [lc()]


def test_rbac_changes_show_in_the_portal_and_back(api: Api, client: Any) -> None:
    make(api, "club")
    club = at(api, "root:club")
    club.post(
        CRB,
        {
            "metadata": {"name": "bob-view"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob"}],
        },
    )
    workspace_members_sync(logical_cluster=lc())
    assert perms("bob") == {"view_logicalclusterrow"}
    club.delete(f"{CRB}/bob-view")
    workspace_members_sync(logical_cluster=lc())
    assert perms("bob") == set()
    admin = UserInfo(name="admin", groups=("system:authenticated",))
    workspace_member_grant(actor=admin, logical_cluster=lc(), username="carol", role="admin")
    workspace_members_sync(logical_cluster=lc())
    assert perms("carol") == {"admin_workspace", "view_logicalclusterrow"}
    carol_token = __import__("kube.authz.tokens", fromlist=["token_issue"]).token_issue(user_name="carol", groups=[])
    assert Api(client, carol_token, cluster="root:club").get("/api/v1/namespaces").status_code == 200
    workspace_member_revoke(actor=admin, logical_cluster=lc(), username="carol")
    workspace_members_sync(logical_cluster=lc())
    assert perms("carol") == set()
    assert Api(client, carol_token, cluster="root:club").get("/api/v1/namespaces").status_code == 403


def test_nobody_grants_more_than_they_hold(api: Api) -> None:
    make(api, "club")
    club = at(api, "root:club")
    club.post(
        CRB,
        {
            "metadata": {"name": "dan-edit"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "dan"}],
        },
    )
    dan = UserInfo(name="dan", groups=("system:authenticated",))
    with pytest.raises(errors.Forbidden):
        workspace_member_grant(actor=dan, logical_cluster=lc(), username="eve", role="admin")
    with pytest.raises(errors.Forbidden):
        workspace_member_grant(actor=dan, logical_cluster=lc(), username="eve", role="view")
    outsider = UserInfo(name="mallory", groups=("system:authenticated",))
    with pytest.raises(errors.Forbidden):
        workspace_member_grant(actor=outsider, logical_cluster=lc(), username="mallory", role="admin")


def test_the_last_admin_stays(api: Api) -> None:
    make(api, "club")
    admin = UserInfo(name="admin", groups=("system:authenticated",))
    workspace_member_grant(actor=admin, logical_cluster=lc(), username="admin", role="admin")
    club = at(api, "root:club")
    club.delete(f"{CRB}/workspace-admin")
    with pytest.raises(errors.Forbidden):
        workspace_member_revoke(actor=admin, logical_cluster=lc(), username="admin")


def _bind(api: Api, name: str, user: str, role: str) -> None:
    r = api.post(
        CRB,
        {
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        },
    )
    assert r.status_code == 201, r.content


def test_sync_downgrades_and_touches_only_its_own_workspace(api: Api) -> None:
    """admin → view drops exactly admin_workspace; syncing one workspace never changes another's
    grants to the same user (the sync writes guardian's rows with plain SQL)."""
    make(api, "club")
    make(api, "pub")
    club, pub = at(api, "root:club"), at(api, "root:pub")
    _bind(club, "dora-admin", "dora", "admin")
    _bind(pub, "dora-admin", "dora", "admin")
    workspace_members_sync(logical_cluster=lc())
    workspace_members_sync(logical_cluster=lc("pub"))
    assert perms("dora", "club") == perms("dora", "pub") == {"admin_workspace", "view_logicalclusterrow"}

    assert club.delete(f"{CRB}/dora-admin").status_code == 200
    _bind(club, "dora-view", "dora", "view")
    workspace_members_sync(logical_cluster=lc())
    assert perms("dora", "club") == {"view_logicalclusterrow"}
    assert perms("dora", "pub") == {"admin_workspace", "view_logicalclusterrow"}
    workspace_members_sync(logical_cluster=lc())  # idempotent
    assert perms("dora", "club") == {"view_logicalclusterrow"}
