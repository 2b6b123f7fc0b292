"""Authentication and RBAC through the real views: user and service-account tokens, the workspace
access gate, RBAC per logical cluster, reviews, and tokens that stay in their own workspace."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.factories import at, make, sa_token

CM = "/api/v1/namespaces/default/configmaps"
SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


def can_i(api: Api, verb: str, resource: str, namespace: str = "default") -> bool:
    r = api.post(
        SSAR,
        {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "spec": {"resourceAttributes": {"verb": verb, "resource": resource, "namespace": namespace}},
        },
    )
    assert r.status_code == 201, r.content
    return bool(r.json()["status"]["allowed"])


def test_user_without_grants_is_forbidden_with_the_apiserver_message(api: Api, client: Any) -> None:
    from kube.authz.tokens import token_issue

    bob = Api(client, token_issue(user_name="bob", groups=[]))
    r = bob.get(CM)
    assert r.status_code == 403
    assert r.json()["message"] == (
        'configmaps is forbidden: User "bob" cannot list resource "configmaps" '
        'in API group "" in the namespace "default"'
    )
    assert bob.get("/apis/tenancy.kcp.io/v1alpha1/workspaces").status_code == 200  # root's reader role
    assert bob.get("/api").status_code == 200  # discovery for every authenticated user
    assert not can_i(bob, "list", "configmaps")
    assert can_i(api, "list", "configmaps")
    assert at(bob, "*").get(CM.replace("/namespaces/default", "")).status_code == 403


def test_service_account_rbac_in_its_workspace(api: Api) -> None:
    make(api, "rb")
    ws = at(api, "root:rb")
    robot = Api(ws.client, sa_token(ws), cluster="root:rb")
    r = robot.get(CM)
    assert r.status_code == 403 and "system:serviceaccount:default:robot" in r.json()["message"]
    assert not can_i(robot, "list", "configmaps")
    ws.post(
        "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
        {
            "metadata": {"name": "cm-reader"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}],
        },
    )
    ws.post(
        "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
        {
            "metadata": {"name": "cm-reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cm-reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "robot", "namespace": "default"}],
        },
    )
    assert robot.get(CM).status_code == 200
    assert can_i(robot, "list", "configmaps")
    assert robot.post(CM, {"metadata": {"name": "nope"}}).status_code == 403
    who = robot.post(
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        {"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1"},
    ).json()
    assert who["status"]["userInfo"]["username"] == "system:serviceaccount:default:robot"


def test_service_account_token_is_bound_to_its_workspace(api: Api) -> None:
    make(api, "ta")
    make(api, "tb")
    a, b = at(api, "root:ta"), at(api, "root:tb")
    token = sa_token(a)
    a.post(
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        {
            "metadata": {"name": "robot-admin"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": "robot", "namespace": "default"}],
        },
    )
    b.post(CM, {"metadata": {"name": "secret-of-b"}})
    in_a, in_b = Api(a.client, token, cluster="root:ta"), Api(a.client, token, cluster="root:tb")
    assert in_a.get(CM).status_code == 200
    r = in_b.get(CM)
    assert r.status_code == 403 and b"secret-of-b" not in r.content
    assert Api(a.client, token, cluster="*").get("/api/v1/configmaps").status_code == 403
    a.delete("/api/v1/namespaces/default/serviceaccounts/robot")
    assert in_a.get(CM).status_code == 401  # the token dies with its ServiceAccount


def test_rules_review_lists_the_grants(api: Api, client: Any) -> None:
    from kube.authz.tokens import token_issue

    api.post(
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        {
            "metadata": {"name": "carol-view"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "carol"}],
        },
    )
    carol = Api(client, token_issue(user_name="carol", groups=[]))
    assert carol.get(CM).status_code == 200 and carol.post(CM, {"metadata": {"name": "x"}}).status_code == 403
    r = carol.post(
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        {"kind": "SelfSubjectRulesReview", "spec": {"namespace": "default"}},
    )
    rules = r.json()["status"]["resourceRules"]
    assert any("configmaps" in rule.get("resources", []) and "list" in rule["verbs"] for rule in rules)


def test_creating_workspaces_needs_create_in_the_parent_and_use_of_the_type(api: Api, client: Any) -> None:
    from kube.authz.tokens import token_issue

    make(api, "parent")
    parent = at(api, "root:parent")
    dave = Api(client, token_issue(user_name="dave", groups=[]), cluster="root:parent")
    ws = "/apis/tenancy.kcp.io/v1alpha1/workspaces"
    assert dave.post(ws, {"metadata": {"name": "d1"}}).status_code == 403  # cannot even enter
    parent.post(
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        {
            "metadata": {"name": "dave-admin"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "dave"}],
        },
    )
    assert dave.post(ws, {"metadata": {"name": "d1"}}).status_code == 201  # universal: usable by everyone
    api.post("/apis/tenancy.kcp.io/v1alpha1/workspacetypes", {"metadata": {"name": "restricted"}, "spec": {}})
    r = dave.post(ws, {"metadata": {"name": "d2"}, "spec": {"type": {"name": "restricted", "path": "root"}}})
    assert r.status_code == 403 and "workspacetypes" in r.json()["message"]
