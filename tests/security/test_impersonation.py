"""Privileged identities cannot be taken by impersonation, whatever a workspace's RBAC grants.

A tenant is cluster-admin of their own workspace and may write any RBAC there, including
`impersonate` on every user and group. Before this guard, that let them act as `system:masters`
and so skip the `bind` check on other tenants' exports (and every other check that trusts a
privileged group). kcp refuses impersonation of privileged groups by requesters who do not hold
them; so do we."""

from __future__ import annotations

from typing import Any

import pytest

from tests.apis.test_bindings import bind, provider
from tests.conftest import Api
from tests.factories import at, make

CRBS = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
CLUSTERROLES = "/apis/rbac.authorization.k8s.io/v1/clusterroles"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"

PRIVILEGED_GROUPS = [
    "system:masters",
    "system:kcp:admin",
    "system:kcp:logical-cluster-admin",
    "system:kcp:external-logical-cluster-admin",
    "system:kcp:workspace-bootstrapper",
    "system:kcp:initializer:root:universal",
]
PRIVILEGED_USERS = ["system:kcp:controller", "system:kcp:anything", "system:apiserver", "system:kube-scheduler"]


def _tenant(api: Api, name: str, *, groups: list[str] | None = None) -> Api:
    """`mallory`, cluster-admin of root:<name> and granted `impersonate` on everything there."""
    from kube.authz.tokens import token_issue

    make(api, name)
    home = at(api, f"root:{name}")
    home.post(
        CRBS,
        {
            "metadata": {"name": "mallory-admin"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "User", "name": "mallory", "apiGroup": "rbac.authorization.k8s.io"}],
        },
    )
    mallory = Api(api.client, token_issue(user_name="mallory", groups=groups or []), cluster=f"root:{name}")
    # Everything a workspace admin can write for themselves: impersonate any user and group.
    assert (
        mallory.post(
            CLUSTERROLES,
            {
                "metadata": {"name": "impersonator"},
                "rules": [
                    {"apiGroups": [""], "resources": ["users", "groups", "serviceaccounts"], "verbs": ["impersonate"]}
                ],
            },
        ).status_code
        == 201
    )
    assert (
        mallory.post(
            CRBS,
            {
                "metadata": {"name": "mallory-impersonates"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "impersonator"},
                "subjects": [{"kind": "User", "name": "mallory", "apiGroup": "rbac.authorization.k8s.io"}],
            },
        ).status_code
        == 201
    )
    return mallory


@pytest.mark.parametrize("group", PRIVILEGED_GROUPS)
def test_a_workspace_admin_cannot_impersonate_a_privileged_group(api: Api, group: str) -> None:
    mallory = _tenant(api, "evil")
    r = mallory.get(CONFIGMAPS, headers={"Impersonate-User": "mallory", "Impersonate-Group": group})
    assert r.status_code == 403, r.content
    assert r.json()["kind"] == "Status" and group in r.json()["message"]
    # Hidden among ordinary groups, or with spaces around it, it is still refused.
    r = mallory.get(CONFIGMAPS, headers={"Impersonate-User": "x", "Impersonate-Group": f"devs, {group} ,ops"})
    assert r.status_code == 403


@pytest.mark.parametrize("user", PRIVILEGED_USERS)
def test_a_workspace_admin_cannot_impersonate_a_privileged_user(api: Api, user: str) -> None:
    mallory = _tenant(api, "evil")
    r = mallory.get(CONFIGMAPS, headers={"Impersonate-User": user})
    assert r.status_code == 403, r.content
    assert user in r.json()["message"]


def test_ordinary_impersonation_still_works_inside_the_workspace(api: Api) -> None:
    mallory = _tenant(api, "evil")
    r = mallory.post(
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        headers={"Impersonate-User": "mallory", "Impersonate-Group": "devs"},
    )
    assert r.status_code == 201, r.content
    info = r.json()["status"]["userInfo"]
    assert info["username"] == "mallory" and set(info["groups"]) == {"devs", "system:authenticated"}


def test_impersonating_system_masters_does_not_bypass_the_bind_check(api: Api) -> None:
    """The escalation end to end: another tenant's export stays unbindable."""
    provider(api)  # root:provider exports wildwest, nobody else may bind it
    mallory = _tenant(api, "evil")
    before = mallory.get("/apis/apis.kcp.io/v1alpha2/apibindings").json()["items"]
    r = mallory.post(
        "/apis/apis.kcp.io/v1alpha2/apibindings",
        {
            "apiVersion": "apis.kcp.io/v1alpha2",
            "kind": "APIBinding",
            "metadata": {"name": "stolen"},
            "spec": {"reference": {"export": {"path": "root:provider", "name": "wildwest.example.com"}}},
        },
        headers={"Impersonate-User": "mallory", "Impersonate-Group": "system:masters"},
    )
    assert r.status_code == 403, r.content
    assert bind(mallory, "root:provider").status_code == 403  # and without impersonation, as before
    assert mallory.get("/apis/apis.kcp.io/v1alpha2/apibindings").json()["items"] == before


def test_impersonation_does_not_reach_the_wildcard_cluster_or_other_workspaces(api: Api) -> None:
    mallory = _tenant(api, "evil")
    make(api, "victim")
    at(api, "root:victim").post(CONFIGMAPS, {"metadata": {"name": "secret"}, "data": {"k": "victim-data"}})
    headers = {"Impersonate-User": "mallory", "Impersonate-Group": "system:masters"}
    for cluster in ("*", "root:victim", "root"):
        r = Api(mallory.client, mallory.token, cluster=cluster).get(
            "/api/v1/configmaps" if cluster == "*" else CONFIGMAPS, headers=headers
        )
        assert r.status_code == 403, (cluster, r.content)
        assert b"victim-data" not in r.content


def test_a_requester_may_impersonate_privileged_groups_it_holds(api: Api, client: Any) -> None:
    """kcp's rule: privilege can be kept, never gained. An operator in system:kcp:admin may act
    as system:kcp:admin (e.g. to drop other groups) but not as system:masters; system:masters may
    impersonate anyone."""
    from kube.authz.tokens import token_issue

    operator = Api(client, token_issue(user_name="operator", groups=["system:kcp:admin"]))
    ok = operator.get(CONFIGMAPS, headers={"Impersonate-User": "operator", "Impersonate-Group": "system:kcp:admin"})
    assert ok.status_code == 200, ok.content
    refused = operator.get(CONFIGMAPS, headers={"Impersonate-User": "operator", "Impersonate-Group": "system:masters"})
    assert refused.status_code == 403
    as_controller = {"Impersonate-User": "system:kcp:controller", "Impersonate-Group": "system:masters"}
    assert api.get(CONFIGMAPS, headers=as_controller).status_code == 200


def test_a_token_cannot_forge_privilege_through_its_own_groups_in_another_workspace(api: Api) -> None:
    """A service account token of workspace A, impersonating in A, is still confined to A: the
    impersonated identity is bound to the cluster it was granted in."""
    from tests.factories import sa_token

    make(api, "a")
    make(api, "b")
    a = at(api, "root:a")
    token = sa_token(a)
    a.post(
        CRBS,
        {
            "metadata": {"name": "robot-admin"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": "robot", "namespace": "default"}],
        },
    )
    robot_in_b = Api(api.client, token, cluster="root:b")
    r = robot_in_b.get(CONFIGMAPS, headers={"Impersonate-User": "kcp-admin", "Impersonate-Group": "system:kcp:admin"})
    assert r.status_code == 403
