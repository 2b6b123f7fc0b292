"""What stays the system's even inside a tenant's own workspace: kinds in kcp's API groups (a
tenant's CRD or exported schema there would pose as a system API), and the LogicalCluster, whose
spec and status steer scheduling, initialization and deletion (kcp's ReservedCRDGroups and
LogicalCluster admission)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.factories import at, cowboy_schema, make, reconcile_all, schema_for_crd, widget_crd, workspace_admin

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
SCHEMAS = "/apis/apis.kcp.io/v1alpha1/apiresourceschemas"
LC = "/apis/core.kcp.io/v1alpha1/logicalclusters/cluster"
WS = "/apis/tenancy.kcp.io/v1alpha1/workspaces"


def _crd(group: str, plural: str = "widgets") -> dict[str, Any]:
    return widget_crd(group=group, plural=plural, scope="Cluster")


def _schema(group: str) -> dict[str, Any]:
    return schema_for_crd(_crd(group))


@pytest.mark.parametrize("group", ["tenancy.kcp.io", "core.kcp.io", "apis.kcp.io", "kcp.io", "evil.internal.kcp.io"])
def test_a_tenant_cannot_define_kinds_in_kcp_groups(api: Api, group: str) -> None:
    make(api, "tenant")
    mallory = workspace_admin(api, "root:tenant")
    for url, body in ((CRDS, _crd(group)), (SCHEMAS, _schema(group))):
        r = mallory.post(url, body)
        assert r.status_code == 403, (url, r.content)
        assert f'API group "{group}" is reserved for the system' in r.json()["message"]
    assert mallory.get(CRDS).json()["items"] == []
    assert mallory.get(f"/apis/{group}/v1alpha1/widgets").status_code == 404
    # Look-alike groups outside the domain are the tenant's.
    assert mallory.post(CRDS, _crd("notkcp.io")).status_code == 201
    assert mallory.post(SCHEMAS, _schema("kcp.io.example.com")).status_code == 201
    # The system may.
    assert at(api, "root:tenant").post(CRDS, _crd(group, "gadgets")).status_code == 201


def test_a_tenant_cannot_delete_its_logical_cluster(api: Api) -> None:
    make(api, "tenant")
    mallory = workspace_admin(api, "root:tenant")
    before = mallory.get(LC).json()
    r = mallory.delete(LC)
    assert r.status_code == 403, r.content
    assert "deleted with its workspace" in r.json()["message"]
    assert mallory.get(LC).json() == before
    assert mallory.get("/api/v1/namespaces").status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        {"spec": {"owner": {"cluster": "root", "name": "victim", "resource": "workspaces"}}},
        {"spec": {"directlyDeletable": True}},
        {"status": {"phase": "Ready"}},
        {"status": {"initializers": ["root:forged"]}},
        {"status": {"URL": "https://evil.example.com/clusters/root"}},
    ],
    ids=["owner", "directlyDeletable", "phase", "add-initializer", "url"],
)
def test_a_tenant_cannot_rewrite_its_logical_cluster(api: Api, change: dict[str, Any]) -> None:
    make(api, "tenant")
    mallory = workspace_admin(api, "root:tenant")
    before = mallory.get(LC).json()
    for suffix in ("", "/status"):
        r = mallory.patch(LC + suffix, change)
        assert r.status_code == 403 or (r.status_code == 200 and r.json() == before), (suffix, r.content)
    after = mallory.get(LC).json()
    assert after["spec"] == before["spec"] and after["status"] == before["status"]


def _gated_workspace(api: Api) -> Api:
    """root:held of type `gated` (an external initializer), its admin `mallory`."""
    assert (
        api.post(
            "/apis/tenancy.kcp.io/v1alpha1/workspacetypes",
            {
                "metadata": {"name": "gated"},
                "spec": {"initializer": True, "extend": {"with": [{"name": "universal", "path": "root"}]}},
            },
        ).status_code
        == 201
    )
    assert (
        api.post(WS, {"metadata": {"name": "held"}, "spec": {"type": {"name": "gated", "path": "root"}}}).status_code
        == 201
    )
    reconcile_all()
    assert api.get(f"{WS}/held").json()["status"]["phase"] == "Initializing"
    return workspace_admin(api, "root:held")


def test_a_workspace_admin_cannot_skip_an_initializer(api: Api) -> None:
    mallory = _gated_workspace(api)
    lc = mallory.get(LC).json()
    assert lc["status"]["initializers"] == ["root:gated"]
    lc["status"]["initializers"] = []
    r = mallory.put(LC + "/status", lc)
    assert r.status_code == 403, r.content
    reconcile_all()
    assert api.get(f"{WS}/held").json()["status"]["phase"] == "Initializing"


def test_the_initializers_controller_removes_itself(api: Api) -> None:
    """With `initialize` on the WorkspaceType in its workspace (kcp's verb), the initializer's
    controller may remove its own entry — and nothing else."""
    _gated_workspace(api)
    api.post(
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        {
            "metadata": {"name": "gated-initializer"},
            "rules": [
                {
                    "apiGroups": ["tenancy.kcp.io"],
                    "resources": ["workspacetypes"],
                    "resourceNames": ["gated"],
                    "verbs": ["initialize"],
                },
                {"nonResourceURLs": ["/"], "verbs": ["access"]},
            ],
        },
    )
    api.post(
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        {
            "metadata": {"name": "gated-initializer"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "gated-initializer"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "init-bot"}],
        },
    )
    bot = workspace_admin(api, "root:held", user="init-bot")  # and cluster-admin of the workspace
    lc = bot.get(LC).json()
    forged = {**lc, "status": {**lc["status"], "initializers": [], "phase": "Ready"}}
    assert bot.put(LC + "/status", forged).status_code == 403  # only its own entry, not the phase
    lc["status"]["initializers"] = []
    r = bot.put(LC + "/status", lc)
    assert r.status_code == 200, r.content
    reconcile_all()
    assert api.get(f"{WS}/held").json()["status"]["phase"] == "Ready"


def test_a_parent_admin_cannot_write_a_workspaces_status(api: Api) -> None:
    """kcp serves workspaces/status read-only to users; the reconciler mirrors the logical cluster."""
    mallory = _gated_workspace(api)  # root:held, Initializing
    parent_admin = workspace_admin(api, "root", user="mallory")
    ws = parent_admin.get(f"{WS}/held").json()
    forged = {**ws, "status": {**ws["status"], "phase": "Ready", "initializers": []}}
    r = parent_admin.put(f"{WS}/held/status", forged)
    assert r.status_code == 403, r.content
    r = parent_admin.patch(f"{WS}/held/status", {"status": {"phase": "Ready"}})
    assert r.status_code == 403, r.content
    assert api.get(f"{WS}/held").json()["status"] == ws["status"]
    assert mallory.get(LC).json()["status"]["phase"] == "Initializing"


def test_a_tenants_v1alpha1_round_trips_pass_the_reserved_metadata_check(api: Api) -> None:
    """The v1alpha1 view of an APIExport carries what v1alpha1 cannot say in a kcp.io annotation
    of the server's (apis.conversion); a tenant resending it, or leaving it out, is no forgery."""
    from tests.apis.test_bindings import EXPORTS, EXPORTS_V1, GROUP, SCHEMAS

    make(api, "old")
    mallory = workspace_admin(api, "root:old")
    assert mallory.post(SCHEMAS, cowboy_schema()).status_code == 201
    v1_body = {
        "apiVersion": "apis.kcp.io/v1alpha1",
        "kind": "APIExport",
        "metadata": {"name": GROUP},
        "spec": {
            "latestResourceSchemas": [f"v1.cowboys.{GROUP}"],
            "permissionClaims": [{"group": "", "resource": "configmaps", "all": True}],
        },
    }
    assert mallory.post(EXPORTS_V1, v1_body).status_code == 201
    v2 = mallory.get(f"{EXPORTS}/{GROUP}").json()
    v2["spec"]["permissionClaims"][0]["verbs"] = ["get", "list"]
    assert mallory.put(f"{EXPORTS}/{GROUP}", v2).status_code == 200
    v1 = mallory.get(f"{EXPORTS_V1}/{GROUP}").json()
    r = mallory.put(f"{EXPORTS_V1}/{GROUP}", v1)  # resent as read, the server's annotation included
    assert r.status_code == 200, r.content
    r = mallory.patch(f"{EXPORTS_V1}/{GROUP}", {"metadata": {"labels": {"tier": "old"}}})
    assert r.status_code == 200, r.content
    assert mallory.get(f"{EXPORTS}/{GROUP}").json()["spec"]["permissionClaims"][0]["verbs"] == ["get", "list"]
    r = mallory.put(f"{EXPORTS_V1}/{GROUP}", {**v1_body, "metadata": {"name": GROUP}})  # a manifest without it
    assert r.status_code == 200, r.content
