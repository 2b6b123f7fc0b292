"""Workspaces through the real API views, with the reconciler run in-process (the e2e tests drive
the same steps through a real Celery worker)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.factories import WS, at, make, reconcile_all


def test_workspace_becomes_ready_with_url_cluster_and_type(api: Api) -> None:
    r = api.post(WS, {"metadata": {"name": "alpha"}})
    assert r.status_code == 201
    assert r.json()["status"]["phase"] == "Scheduling"
    assert r.json()["spec"]["type"] == {"name": "universal", "path": "root"}
    reconcile_all()
    ws = api.get(f"{WS}/alpha").json()
    assert ws["status"]["phase"] == "Ready"
    assert len(ws["spec"]["cluster"]) == 16 and ws["spec"]["URL"].endswith("/clusters/root:alpha")
    child = at(api, "root:alpha")
    lc = child.get("/apis/core.kcp.io/v1alpha1/logicalclusters/cluster").json()
    assert lc["metadata"]["annotations"]["kcp.io/path"] == "root:alpha"
    assert lc["status"]["phase"] == "Ready"
    names = {n["metadata"]["name"] for n in child.get("/api/v1/namespaces").json()["items"]}
    assert {"default", "kube-system"} <= names
    crb = child.get("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/workspace-admin").json()
    assert crb["roleRef"]["name"] == "cluster-admin" and crb["subjects"][0]["name"] == "admin"
    table = api.get(WS, headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}).json()
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Type", "Region", "Phase", "URL", "Age"]


def test_addressing_by_path_and_by_logical_cluster_name(api: Api) -> None:
    ws = make(api, "addr")
    by_path, by_name = at(api, "root:addr"), at(api, ws["spec"]["cluster"])
    by_path.post("/api/v1/namespaces/default/configmaps", {"metadata": {"name": "c"}})
    cm = by_name.get("/api/v1/namespaces/default/configmaps/c").json()
    assert cm["metadata"]["annotations"]["kcp.io/cluster"] == ws["spec"]["cluster"]
    assert at(api, "root:nope").get("/api/v1/namespaces").status_code == 404
    assert at(api, "nonexistent12345").get("/api/v1/namespaces").status_code == 404


def test_isolation_between_siblings_and_parent(api: Api) -> None:
    make(api, "a")
    make(api, "b")
    a, b = at(api, "root:a"), at(api, "root:b")
    a.post("/api/v1/namespaces/default/configmaps", {"metadata": {"name": "only-a"}, "data": {"x": "1"}})
    assert b.get("/api/v1/namespaces/default/configmaps/only-a").status_code == 404
    assert api.get("/api/v1/namespaces/default/configmaps/only-a").status_code == 404
    b.post("/api/v1/namespaces/default/configmaps", {"metadata": {"name": "only-a"}, "data": {"x": "b"}})
    assert a.get("/api/v1/namespaces/default/configmaps/only-a").json()["data"] == {"x": "1"}
    assert [i["metadata"]["name"] for i in b.get("/api/v1/configmaps").json()["items"]] == ["only-a"]


def test_nested_workspaces_and_type_constraints(api: Api) -> None:
    org = make(api, "org", "organization")
    assert org["spec"]["type"]["name"] == "organization"
    org_api = at(api, "root:org")
    r = org_api.post(WS, {"metadata": {"name": "team1"}, "spec": {"type": {"name": "team", "path": "root"}}})
    assert r.status_code == 201
    reconcile_all()
    team = org_api.get(f"{WS}/team1").json()
    assert team["status"]["phase"] == "Ready" and team["spec"]["URL"].endswith("/clusters/root:org:team1")
    r = api.post(WS, {"metadata": {"name": "bad"}, "spec": {"type": {"name": "team", "path": "root"}}})
    assert r.status_code == 422 and "does not allow parent type" in r.json()["message"]
    r = org_api.post(WS, {"metadata": {"name": "bad"}, "spec": {"type": {"name": "organization", "path": "root"}}})
    assert r.status_code == 422
    r = api.post(WS, {"metadata": {"name": "bad"}, "spec": {"type": {"name": "nope", "path": "root"}}})
    assert r.status_code == 422 and "does not exist" in r.json()["message"]
    assert api.post(WS, {"metadata": {"name": "Bad_Name"}}).status_code == 422


def test_workspace_types_are_listed(api: Api) -> None:
    names = {t["metadata"]["name"] for t in api.get("/apis/tenancy.kcp.io/v1alpha1/workspacetypes").json()["items"]}
    assert {"root", "universal", "organization", "team"} <= names


def test_deleting_a_workspace_deletes_the_whole_tree(api: Api) -> None:
    from workspaces.models import LogicalClusterRow

    make(api, "top")
    top = at(api, "root:top")
    top.post(WS, {"metadata": {"name": "mid"}})
    reconcile_all()
    mid = at(api, "root:top:mid")
    mid.post(WS, {"metadata": {"name": "leaf"}})
    reconcile_all()
    leaf = at(api, "root:top:mid:leaf")
    leaf.post("/api/v1/namespaces/default/configmaps", {"metadata": {"name": "c", "finalizers": ["x.io/hold"]}})
    assert LogicalClusterRow.objects.filter(path__startswith="root:top").count() == 3
    r = api.delete(f"{WS}/top")
    assert r.status_code == 200 and r.json()["metadata"]["deletionTimestamp"]
    reconcile_all()
    assert api.get(f"{WS}/top").status_code == 404
    assert LogicalClusterRow.objects.filter(path__startswith="root:top").count() == 0
    for gone in ("root:top", "root:top:mid", "root:top:mid:leaf"):
        assert at(api, gone).get("/api/v1/namespaces").status_code == 404
    assert api.get("/api/v1/namespaces/default").status_code == 200


def test_system_fields_cannot_be_set_by_clients(api: Api) -> None:
    r = api.post(WS, {"metadata": {"name": "sneaky"}, "spec": {"cluster": "root", "URL": "https://evil"}})
    assert r.status_code == 201
    assert "cluster" not in r.json()["spec"] and "URL" not in r.json()["spec"]
    reconcile_all()
    ws = api.get(f"{WS}/sneaky").json()
    ws["spec"]["cluster"] = "root"
    r = api.put(f"{WS}/sneaky", ws)
    assert r.status_code == 200 and r.json()["spec"]["cluster"] != "root"


@pytest.mark.parametrize("path", ["/api/v1/namespaces", "/apis/core.kcp.io/v1alpha1/logicalclusters"])
def test_wildcard_cluster_is_for_admins(api: Api, client: Any, path: str) -> None:
    from kube.authz.tokens import token_issue

    make(api, "w1")
    assert at(api, "*").get(path).status_code == 200
    user = Api(client, token_issue(user_name="bob", groups=[]), cluster="*")
    assert user.get(path).status_code == 403


def test_deleting_a_wide_and_deep_tree(api: Api) -> None:
    """150 workspaces in three levels go in one deletion; every object gets its DELETED event."""
    from kube.storage.models import Event
    from workspaces.models import LogicalClusterRow, WorkspaceRow

    make(api, "big")
    big = at(api, "root:big")
    for i in range(7):
        big.post(WS, {"metadata": {"name": f"m{i}"}})
    reconcile_all()
    for i in range(7):
        mid = at(api, f"root:big:m{i}")
        for j in range(20):
            mid.post(WS, {"metadata": {"name": f"l{j}"}})
    reconcile_all()
    assert LogicalClusterRow.objects.filter(path__startswith="root:big").count() == 148
    before = Event.objects.filter(type="DELETED").count()
    api.delete(f"{WS}/big")
    reconcile_all()
    assert LogicalClusterRow.objects.filter(path__startswith="root:big").count() == 0
    assert not WorkspaceRow.objects.filter(name__startswith="l").exists()
    # every namespace, binding, logical cluster and child workspace of the tree was announced
    assert Event.objects.filter(type="DELETED").count() - before >= 148 * 4
