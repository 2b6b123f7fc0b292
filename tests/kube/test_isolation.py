"""Tenant isolation, adversarially: a token that is cluster-admin in workspace A, aimed at
workspace B by path, by logical cluster name and by wildcard, for every kind and verb, gets
401/403/404, reads no byte of B's data and changes nothing. B's continue tokens and watch
revisions used from A yield only A's data."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Api
from tests.factories import at, make, sa_token

KINDS = [
    ("/api/v1/namespaces/default/configmaps", {"metadata": {"name": "victim"}, "data": {"secret": "b-data"}}),
    ("/api/v1/namespaces/default/secrets", {"metadata": {"name": "victim"}, "stringData": {"secret": "b-data"}}),
    ("/api/v1/namespaces/default/serviceaccounts", {"metadata": {"name": "victim"}}),
    (
        "/apis/coordination.k8s.io/v1/namespaces/default/leases",
        {"metadata": {"name": "victim"}, "spec": {"holderIdentity": "b-data"}},
    ),
    ("/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles", {"metadata": {"name": "victim"}, "rules": []}),
    ("/apis/rbac.authorization.k8s.io/v1/clusterroles", {"metadata": {"name": "victim"}, "rules": []}),
    ("/api/v1/namespaces", {"metadata": {"name": "victim"}}),
]


@pytest.fixture
def tenants(api: Api) -> dict[str, Any]:
    make(api, "tenant-a")
    make(api, "tenant-b")
    a, b = at(api, "root:tenant-a"), at(api, "root:tenant-b")
    token = sa_token(a)
    a.post(
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        {
            "metadata": {"name": "robot-admin"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": "robot", "namespace": "default"}],
        },
    )
    for path, body in KINDS:
        assert b.post(path, body).status_code == 201, path
    b_cluster = api.get("/apis/tenancy.kcp.io/v1alpha1/workspaces/tenant-b").json()["spec"]["cluster"]
    return {"a": a, "b": b, "token": token, "b_cluster": b_cluster}


def _snapshot(b: Api) -> str:
    return json.dumps([b.get(path).json()["items"] for path, _ in KINDS], sort_keys=True)


@pytest.mark.parametrize("target", ["path", "name", "wildcard"])
def test_no_verb_on_any_kind_reaches_another_workspace(tenants: dict[str, Any], target: str) -> None:
    a, b, token = tenants["a"], tenants["b"], tenants["token"]
    cluster = {"path": "root:tenant-b", "name": tenants["b_cluster"], "wildcard": "*"}[target]
    attacker = Api(a.client, token, cluster=cluster)
    mine = Api(a.client, token, cluster="root:tenant-a")
    assert mine.get("/api/v1/namespaces/default/configmaps").status_code == 200  # the token works at home
    before = _snapshot(b)
    for path, body in KINDS:
        item = f"{path}/victim"
        attempts = [
            attacker.get(path),
            attacker.get(item),
            attacker.get(path + "?watch=false&limit=1"),
            attacker.post(path, {**body, "metadata": {"name": "planted"}}),
            attacker.put(item, body),
            attacker.patch(item, {"metadata": {"labels": {"pwned": "1"}}}),
            attacker.delete(item),
            attacker.delete(path),
        ]
        for r in attempts:
            assert r.status_code in (401, 403, 404, 405), (path, r.status_code, r.content[:200])
            assert b"b-data" not in r.content and b"victim" not in r.content
    assert _snapshot(b) == before


def test_continue_tokens_and_revisions_of_b_only_yield_a(tenants: dict[str, Any]) -> None:
    a, b, token = tenants["a"], tenants["b"], tenants["token"]
    for i in range(3):
        b.post("/api/v1/namespaces/default/configmaps", {"metadata": {"name": f"page{i}"}})
    page = b.get("/api/v1/namespaces/default/configmaps?limit=1").json()
    mine = Api(a.client, token, cluster="root:tenant-a")
    r = mine.get(f"/api/v1/namespaces/default/configmaps?limit=1&continue={page['metadata']['continue']}")
    assert r.status_code in (200, 400, 410)
    assert b"page" not in r.content and b"victim" not in r.content
    for item in r.json().get("items", []) if r.status_code == 200 else []:
        assert item["metadata"]["annotations"]["kcp.io/cluster"] != tenants["b_cluster"]


def test_identity_headers_are_never_trusted(tenants: dict[str, Any]) -> None:
    a, token = tenants["a"], tenants["token"]
    attacker = Api(a.client, token, cluster="root:tenant-b")
    for headers in (
        {"X-Remote-User": "kcp-admin", "X-Remote-Group": "system:masters"},
        {"Impersonate-User": "kcp-admin", "Impersonate-Group": "system:masters"},
    ):
        r = attacker.get("/api/v1/namespaces/default/configmaps", headers=headers)
        assert r.status_code in (401, 403), headers
        assert b"b-data" not in r.content
    home = Api(a.client, token, cluster="root:tenant-a")
    r = home.get(
        "/api/v1/namespaces/default/configmaps",
        headers={"Impersonate-User": "system:serviceaccount:default:robot", "Impersonate-Group": "team-a"},
    )
    assert r.status_code == 200  # cluster-admin in A may impersonate, but only within A
    r = home.get(
        "/api/v1/namespaces/default/configmaps",
        headers={"Impersonate-User": "kcp-admin", "Impersonate-Group": "system:masters"},
    )
    assert r.status_code == 403  # and never a privileged group (tests/security/test_impersonation.py)
    assert (
        Api(a.client, token, cluster="*")
        .get("/api/v1/configmaps", headers={"Impersonate-Group": "system:masters", "Impersonate-User": "x"})
        .status_code
        == 403
    )
