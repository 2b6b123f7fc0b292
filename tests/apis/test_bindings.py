"""APIBindings through the real views, with the reconcilers run in-process: lifecycle, the bind
check, naming conflicts, identity separation, the provider's virtual workspace, permission claims,
the maximal permission policy and unbinding."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.factories import (
    COWBOY_GROUP,
    apibinding_body,
    apiexport_body,
    at,
    cowboy_schema,
    crd_for_schema,
    export_resource,
    make,
)

SCHEMAS = "/apis/apis.kcp.io/v1alpha1/apiresourceschemas"
EXPORTS = "/apis/apis.kcp.io/v1alpha2/apiexports"
BINDINGS = "/apis/apis.kcp.io/v1alpha2/apibindings"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
GROUP = COWBOY_GROUP
COWBOYS = f"/apis/{GROUP}/v1alpha1/namespaces/default/cowboys"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


def cluster_of(api: Api, path: str) -> str:
    parent, _, name = path.rpartition(":")
    return at(api, parent).get(f"/apis/tenancy.kcp.io/v1alpha1/workspaces/{name}").json()["spec"]["cluster"]


def provider(api: Api, name: str = "provider", *, claims: list[dict[str, Any]] | None = None, mpp: bool = False) -> Api:
    from apis.services import apiexport_reconcile

    make(api, name)
    p = at(api, f"root:{name}")
    assert p.post(SCHEMAS, cowboy_schema()).status_code == 201
    spec: dict[str, Any] = {}
    if claims:
        spec["permissionClaims"] = claims
    if mpp:
        spec["maximalPermissionPolicy"] = {"local": {}}
    cowboys = export_resource(group=GROUP, plural="cowboys", schema=f"v1.cowboys.{GROUP}")
    r = p.post(EXPORTS, apiexport_body(name=GROUP, resources=[cowboys], **spec))
    assert r.status_code == 201, r.content
    assert apiexport_reconcile(cluster=cluster_of(api, f"root:{name}"), name=GROUP)
    return p


def bind(consumer: Api, export_path: str, *, claims: list[dict[str, Any]] | None = None, name: str = "wildwest") -> Any:
    body = apibinding_body(name=name, path=export_path, export=GROUP)
    if claims:
        body["spec"]["permissionClaims"] = claims
    return consumer.post(BINDINGS, body)


def reconcile(api: Api, path: str, name: str = "wildwest") -> dict[str, Any]:
    from apis.bindings import apibinding_reconcile
    from apis.claims import apibinding_claims_sync

    cluster = cluster_of(api, path)
    apibinding_reconcile(cluster=cluster, name=name)
    apibinding_claims_sync(cluster=cluster, name=name)
    return at(api, path).get(f"{BINDINGS}/{name}").json()


def consumer(api: Api, name: str, export_path: str = "root:provider", **kw: Any) -> Api:
    make(api, name)
    c = at(api, f"root:{name}")
    r = bind(c, export_path, **kw)
    assert r.status_code == 201, r.content
    binding = reconcile(api, f"root:{name}")
    assert binding["status"]["phase"] == "Bound", binding["status"]
    return c


def cowboy(name: str, intent: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": f"{GROUP}/v1alpha1", "kind": "Cowboy", "metadata": {"name": name}}
    if intent:
        body["spec"] = {"intent": intent}
    return body


def vw(api: Api, path: str = "root:provider", token: str | None = None) -> Any:
    """A client for the provider's virtual workspace: .get("*", "/apis/...")."""

    class View:
        def request(self, method: str, cluster: str, url: str, body: Any = None, **kw: Any) -> Any:
            prefix = f"/services/apiexport/{path}/{GROUP}/clusters/{cluster}"
            client = Api(api.client, api.token if token is None else token)
            client.prefix = prefix
            return client.request(method, url, body, **kw)

        def get(self, cluster: str, url: str) -> Any:
            return self.request("GET", cluster, url)

    return View()


# --- lifecycle --------------------------------------------------------------------------------------


def test_bind_serves_the_api_with_schema_validation_and_defaults(api: Api) -> None:
    provider(api)
    c = consumer(api, "consumer")
    binding = c.get(f"{BINDINGS}/wildwest").json()
    identity = at(api, "root:provider").get(f"{EXPORTS}/{GROUP}").json()["status"]["identityHash"]
    assert binding["status"]["boundResources"] == [
        {
            "group": GROUP,
            "resource": "cowboys",
            "schema": {
                "name": f"v1.cowboys.{GROUP}",
                "UID": at(api, "root:provider").get(f"{SCHEMAS}/v1.cowboys.{GROUP}").json()["metadata"]["uid"],
                "identityHash": identity,
            },
            "storageVersions": ["v1alpha1"],
        }
    ]
    conditions = {x["type"]: x["status"] for x in binding["status"]["conditions"]}
    assert conditions["APIExportValid"] == conditions["InitialBindingCompleted"] == conditions["Ready"] == "True"
    assert binding["status"]["apiExportClusterName"] == cluster_of(api, "root:provider")
    assert binding["metadata"]["finalizers"] == ["apis.kcp.io/apibinding-finalizer"]
    discovery = c.get(f"/apis/{GROUP}/v1alpha1").json()
    assert [r["name"] for r in discovery["resources"]] == ["cowboys", "cowboys/status"]
    assert c.get(f"{CRDS}").json()["items"] == []  # no CRD appears in the consumer
    lucky = cowboy("lucky")
    lucky["spec"] = {"horses": 2}
    r = c.post(COWBOYS, lucky)
    assert r.status_code == 201, r.content
    assert r.json()["spec"] == {"intent": "ride", "horses": 2}  # defaulted from the schema
    bad = cowboy("bad")
    bad["spec"] = {"horses": "many"}
    assert c.post(COWBOYS, bad).status_code == 422
    assert f"apis/{GROUP}/v1alpha1" in c.get("/openapi/v3").json()["paths"]
    make(api, "unbound")
    assert at(api, "root:unbound").get(COWBOYS).status_code == 404


def test_binding_to_a_missing_export_waits_with_a_condition(api: Api) -> None:
    make(api, "lonely")
    c = at(api, "root:lonely")
    assert bind(c, "root:nowhere").status_code == 201
    binding = reconcile(api, "root:lonely")
    assert binding["status"]["phase"] == "Binding"
    cond = {x["type"]: x for x in binding["status"]["conditions"]}["APIExportValid"]
    assert cond["status"] == "False" and cond["reason"] == "APIExportNotFound"
    assert c.get(COWBOYS).status_code == 404


def test_reference_is_immutable_and_status_is_not_writable(api: Api) -> None:
    provider(api)
    c = consumer(api, "consumer")
    current = c.get(f"{BINDINGS}/wildwest").json()
    current["spec"]["reference"]["export"]["name"] = "other"
    r = c.put(f"{BINDINGS}/wildwest", current)
    assert r.status_code == 422 and "immutable" in r.json()["message"]
    assert c.put(f"{BINDINGS}/wildwest/status", current).status_code == 404
    forged = c.get(f"{BINDINGS}/wildwest").json()
    forged["status"]["phase"] = "Forged"
    assert c.put(f"{BINDINGS}/wildwest", forged).json()["status"]["phase"] == "Bound"


# --- authorization of binding -----------------------------------------------------------------------


def _user(api: Api, name: str) -> Api:
    from kube.authz.tokens import token_issue

    return Api(api.client, token_issue(user_name=name, groups=[]))


def test_bind_needs_the_bind_verb_on_the_export(api: Api) -> None:
    p = provider(api)
    make(api, "tenant")
    t = at(api, "root:tenant")
    t.post(
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        {
            "metadata": {"name": "alice-admin"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}],
        },
    )
    alice = at(_user(api, "alice"), "root:tenant")
    r = bind(alice, "root:provider")
    assert r.status_code == 403 and "no permission to bind" in r.json()["message"]
    assert (
        bind(alice, "root:does-not-exist").json()["message"].replace("does-not-exist", "provider")
        == r.json()["message"]
    )  # the same answer whether or not the export exists
    p.post(
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        {
            "metadata": {"name": "bind-wildwest"},
            "rules": [
                {
                    "apiGroups": ["apis.kcp.io"],
                    "resources": ["apiexports"],
                    "resourceNames": [GROUP],
                    "verbs": ["bind"],
                },
                {"nonResourceURLs": ["/"], "verbs": ["access"]},
            ],
        },
    )
    p.post(
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        {
            "metadata": {"name": "alice-binds"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "bind-wildwest"},
            "subjects": [{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}],
        },
    )
    assert bind(alice, "root:provider").status_code == 201


# --- conflicts and identity ------------------------------------------------------------------------


def _crd() -> dict[str, Any]:
    return crd_for_schema(cowboy_schema())


def test_local_crd_with_the_same_names_is_a_naming_conflict(api: Api) -> None:
    provider(api)
    make(api, "haslocal")
    c = at(api, "root:haslocal")
    assert c.post(CRDS, _crd()).status_code == 201
    bind(c, "root:provider")
    binding = reconcile(api, "root:haslocal")
    assert binding["status"]["phase"] == "Binding"
    conds = {x["type"]: x for x in binding["status"]["conditions"]}
    assert conds["InitialBindingCompleted"]["reason"] == "NamingConflicts"
    assert conds["BindingUpToDate"]["status"] == "False"
    assert "CustomResourceDefinition" in conds["BindingUpToDate"]["message"]


def test_a_crd_cannot_take_a_bound_resource(api: Api) -> None:
    provider(api)
    c = consumer(api, "consumer")
    r = c.post(CRDS, _crd())
    assert r.status_code == 403 and "bound by an APIBinding" in r.json()["message"]


def test_two_providers_exporting_the_same_resource_keep_separate_objects(api: Api) -> None:
    from kube.storage.models import StoredObject

    provider(api, "p1")
    provider(api, "p2")
    one = consumer(api, "one", "root:p1")
    two = consumer(api, "two", "root:p2")
    assert one.post(COWBOYS, cowboy("a")).status_code == 201
    assert two.post(COWBOYS, cowboy("b")).status_code == 201
    assert [
        i["metadata"]["name"] for i in vw(api, "root:p1").get("*", f"/apis/{GROUP}/v1alpha1/cowboys").json()["items"]
    ] == ["a"]
    assert [
        i["metadata"]["name"] for i in vw(api, "root:p2").get("*", f"/apis/{GROUP}/v1alpha1/cowboys").json()["items"]
    ] == ["b"]
    stored = set(StoredObject.objects.filter(group=GROUP).values_list("resource", flat=True))
    assert len(stored) == 2 and all(r.startswith("cowboys:") for r in stored)
    # a second binding in the same workspace to the other export's same resource conflicts
    r = bind(one, "root:p2", name="second")
    assert r.status_code == 201
    second = reconcile(api, "root:one", "second")
    assert {x["type"]: x.get("reason") for x in second["status"]["conditions"]}["BindingUpToDate"] == "NamingConflicts"


# --- the provider's virtual workspace --------------------------------------------------------------


def test_provider_view_lists_gets_and_updates_across_consumers(api: Api) -> None:
    provider(api)
    a, b = consumer(api, "ca"), consumer(api, "cb")
    a.post(COWBOYS, cowboy("x", "shoot"))
    b.post(COWBOYS, cowboy("y"))
    view = vw(api)
    listed = view.get("*", f"/apis/{GROUP}/v1alpha1/cowboys").json()
    clusters = {i["metadata"]["name"]: i["metadata"]["annotations"]["kcp.io/cluster"] for i in listed["items"]}
    assert clusters == {"x": cluster_of(api, "root:ca"), "y": cluster_of(api, "root:cb")}
    ca = cluster_of(api, "root:ca")
    obj = view.get(ca, f"{COWBOYS}/x").json()
    assert obj["spec"]["intent"] == "shoot"
    obj["status"] = {"result": "done"}
    r = view.request("PUT", ca, f"{COWBOYS}/x/status", obj)
    assert r.status_code == 200, r.content
    assert a.get(f"{COWBOYS}/x").json()["status"] == {"result": "done"}
    # per-cluster requests only reach consumers of this export; writes across `*` are refused
    make(api, "stranger")
    assert view.get(cluster_of(api, "root:stranger"), COWBOYS).status_code == 404
    assert view.request("POST", "*", COWBOYS, cowboy("z")).status_code == 405
    # bindings of the export are visible read-only
    bindings = view.get("*", BINDINGS).json()["items"]
    assert sorted(i["metadata"]["annotations"]["kcp.io/cluster"] for i in bindings) == sorted(
        [ca, cluster_of(api, "root:cb")]
    )
    assert view.request("DELETE", ca, f"{BINDINGS}/wildwest").status_code == 405


def test_provider_view_needs_apiexports_content(api: Api) -> None:
    p = provider(api)
    consumer(api, "ca")
    bob = _user(api, "bob")
    forbidden = vw(api, token=bob.token).get("*", f"/apis/{GROUP}/v1alpha1/cowboys")
    assert forbidden.status_code == 403
    assert vw(api, "root:nothing-here", token=bob.token).get("*", f"/apis/{GROUP}/v1alpha1/cowboys").status_code == 403
    p.post(
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        {
            "metadata": {"name": "content"},
            "rules": [
                {"apiGroups": ["apis.kcp.io"], "resources": ["apiexports/content"], "verbs": ["*"]},
                {"nonResourceURLs": ["/"], "verbs": ["access"]},
            ],
        },
    )
    p.post(
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        {
            "metadata": {"name": "bob-content"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "content"},
            "subjects": [{"kind": "User", "name": "bob", "apiGroup": "rbac.authorization.k8s.io"}],
        },
    )
    assert vw(api, token=bob.token).get("*", f"/apis/{GROUP}/v1alpha1/cowboys").status_code == 200
    # the consumer's own data stays out of bob's reach outside the view
    assert at(bob, "root:ca").get(COWBOYS).status_code == 403


# --- permission claims -----------------------------------------------------------------------------

CM_CLAIM = {"group": "", "resource": "configmaps", "verbs": ["get", "list", "watch", "create"]}


def test_claims_accepted_and_rejected(api: Api) -> None:
    provider(api, claims=[CM_CLAIM])
    yes = consumer(
        api,
        "yes",
        claims=[{"group": "", "resource": "configmaps", "selector": {"matchAll": True}, "state": "Accepted"}],
    )
    no = consumer(
        api, "no", claims=[{"group": "", "resource": "configmaps", "selector": {"matchAll": True}, "state": "Rejected"}]
    )
    yes.post(CONFIGMAPS, {"metadata": {"name": "shared"}})
    no.post(CONFIGMAPS, {"metadata": {"name": "private"}})
    view = vw(api)
    names = sorted(i["metadata"]["name"] for i in view.get("*", "/api/v1/configmaps").json()["items"])
    assert "shared" in names and "private" not in names
    assert "kube-root-ca.crt" not in names or all(
        i["metadata"]["annotations"]["kcp.io/cluster"] == cluster_of(api, "root:yes")
        for i in view.get("*", "/api/v1/configmaps").json()["items"]
    )
    no_cluster = cluster_of(api, "root:no")
    assert view.get(no_cluster, f"{CONFIGMAPS}/private").status_code == 404
    yes_cluster = cluster_of(api, "root:yes")
    r = view.request("POST", yes_cluster, CONFIGMAPS, {"metadata": {"name": "from-provider"}})
    assert r.status_code == 201, r.content
    assert yes.get(f"{CONFIGMAPS}/from-provider").status_code == 200
    assert view.request("DELETE", yes_cluster, f"{CONFIGMAPS}/shared").status_code == 405  # verb not claimed
    binding = yes.get(f"{BINDINGS}/wildwest").json()
    assert binding["status"]["appliedPermissionClaims"][0]["verbs"] == CM_CLAIM["verbs"]
    # a client cannot strip the claim label, nor forge it in a workspace that rejected the claim
    cm = yes.get(f"{CONFIGMAPS}/shared").json()
    cm["metadata"]["labels"] = {}
    assert any(k.startswith("claimed.") for k in yes.put(f"{CONFIGMAPS}/shared", cm).json()["metadata"]["labels"])
    forged = {
        "metadata": {"name": "forged", "labels": dict(yes.get(f"{CONFIGMAPS}/shared").json()["metadata"]["labels"])}
    }
    assert not no.post(CONFIGMAPS, forged).json()["metadata"].get("labels")
    # rejecting later takes the objects out of the provider's view
    binding["spec"]["permissionClaims"][0]["state"] = "Rejected"
    assert yes.put(f"{BINDINGS}/wildwest", binding).status_code == 200
    reconcile(api, "root:yes")
    assert view.get("*", "/api/v1/configmaps").json()["items"] == []


def test_claims_the_export_does_not_make_are_invalid(api: Api) -> None:
    provider(api)
    c = consumer(api, "c", claims=[{"group": "", "resource": "secrets", "state": "Accepted"}])
    conds = {x["type"]: x for x in c.get(f"{BINDINGS}/wildwest").json()["status"]["conditions"]}
    assert conds["PermissionClaimsValid"]["status"] == "False"
    assert vw(api).get("*", "/api/v1/secrets").status_code == 404


# --- maximal permission policy ---------------------------------------------------------------------


def test_maximal_permission_policy_limits_consumers(api: Api) -> None:
    p = provider(api, mpp=True)
    c = consumer(api, "mpp")
    c.post(
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        {
            "metadata": {"name": "carol-admin"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "User", "name": "carol", "apiGroup": "rbac.authorization.k8s.io"}],
        },
    )
    carol = at(_user(api, "carol"), "root:mpp")
    r = carol.get(COWBOYS)
    assert r.status_code == 403 and "maximal permission policy" in r.json()["message"]
    assert carol.get(CONFIGMAPS).status_code == 200  # only bound resources are limited
    p.post(
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        {
            "metadata": {"name": "cowboy-reader"},
            "rules": [{"apiGroups": [GROUP], "resources": ["cowboys"], "verbs": ["get", "list"]}],
        },
    )
    p.post(
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        {
            "metadata": {"name": "mpp-authenticated"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cowboy-reader"},
            "subjects": [
                {
                    "kind": "Group",
                    "name": "apis.kcp.io:binding:system:authenticated",
                    "apiGroup": "rbac.authorization.k8s.io",
                }
            ],
        },
    )
    assert carol.get(COWBOYS).status_code == 200
    assert carol.post(COWBOYS, cowboy("nope")).status_code == 403


# --- unbinding -------------------------------------------------------------------------------------


def test_deleting_the_binding_deletes_bound_objects_and_the_api(api: Api) -> None:
    from kube.storage.models import StoredObject

    provider(api, claims=[CM_CLAIM])
    c = consumer(api, "bye", claims=[{"group": "", "resource": "configmaps", "state": "Accepted"}])
    c.post(COWBOYS, cowboy("x"))
    c.post(CONFIGMAPS, {"metadata": {"name": "mine"}})
    assert c.delete(f"{BINDINGS}/wildwest").status_code == 200
    assert c.get(f"{COWBOYS}/x").status_code == 200  # still served while the binding finalizes
    reconcile_deleted = __import__("apis.bindings", fromlist=["x"]).apibinding_reconcile
    assert reconcile_deleted(cluster=cluster_of(api, "root:bye"), name="wildwest") == ""
    assert c.get(f"{BINDINGS}/wildwest").status_code == 404
    assert c.get(COWBOYS).status_code == 404
    assert not StoredObject.objects.filter(cluster=cluster_of(api, "root:bye"), group=GROUP).exists()
    cm = c.get(f"{CONFIGMAPS}/mine").json()  # claimed objects stay, released
    assert not any(k.startswith("claimed.") for k in (cm["metadata"].get("labels") or {}))


@pytest.mark.parametrize("n", [1000])
def test_one_export_bound_by_a_thousand_workspaces(api: Api, n: int) -> None:
    """Bindings cost rows, not per-consumer machinery: 1,000 consumers of one export, each with an
    object, are listed by the provider in one request. Setup goes through the Store and the
    reconcilers in-process (the code the API and Celery run) to keep the suite fast; what is
    checked goes through the provider's virtual workspace over HTTP."""
    from apis.bindings import apibinding_reconcile
    from apis.kinds import API_BINDINGS
    from kube.registry import REGISTRY
    from kube.registry.context import RequestContext
    from kube.registry.store import STORE
    from workspaces.models import WorkspaceRow
    from workspaces.services import workspace_reconcile

    provider(api)
    workspaces = REGISTRY.resolve(cluster="root", group="tenancy.kcp.io", version="v1alpha1", resource="workspaces")
    assert workspaces is not None
    for i in range(n):
        STORE.create(workspaces, RequestContext(cluster="root"), "", {"metadata": {"name": f"t{i}"}})
        workspace_reconcile(cluster="root", name=f"t{i}")
    clusters = dict(
        WorkspaceRow.objects.filter(cluster="root", name__startswith="t", phase="Ready").values_list(
            "name", "logical_cluster"
        )
    )
    assert len(clusters) == n
    binding = {"spec": {"reference": {"export": {"path": "root:provider", "name": GROUP}}}}
    for name, lc in clusters.items():
        ctx = RequestContext(cluster=lc)
        STORE.create(API_BINDINGS, ctx, "", {"metadata": {"name": "wildwest"}, **binding})
        assert apibinding_reconcile(cluster=lc, name="wildwest") == "Bound"
        cowboys = REGISTRY.resolve(cluster=lc, group=GROUP, version="v1alpha1", resource="cowboys")
        assert cowboys is not None and cowboys.origin == "apibinding"
        STORE.create(cowboys, ctx, "default", cowboy(name))
    make(api, "stranger")
    view = vw(api)
    items = view.get("*", f"/apis/{GROUP}/v1alpha1/cowboys").json()["items"]
    assert sorted(i["metadata"]["name"] for i in items) == sorted(clusters)
    assert {i["metadata"]["annotations"]["kcp.io/cluster"] for i in items} == set(clusters.values())
    page = view.get("*", f"/apis/{GROUP}/v1alpha1/cowboys?limit=100").json()
    assert len(page["items"]) == 100 and page["metadata"]["remainingItemCount"] == n - 100
    one = next(iter(clusters.values()))
    assert [i["metadata"]["name"] for i in view.get(one, COWBOYS).json()["items"]] == [
        k for k, v in clusters.items() if v == one
    ]


def test_a_schema_in_use_cannot_be_deleted(api: Api) -> None:
    p = provider(api)
    r = p.delete(f"{SCHEMAS}/v1.cowboys.{GROUP}")
    assert r.status_code == 403 and "referenced by APIExport" in r.json()["message"]
    assert p.delete(f"{EXPORTS}/{GROUP}").status_code == 200
    assert p.delete(f"{SCHEMAS}/v1.cowboys.{GROUP}").status_code == 200


def test_deleting_the_export_is_reported_on_bindings(api: Api) -> None:
    p = provider(api)
    c = consumer(api, "orphan")
    c.post(COWBOYS, cowboy("kept"))
    assert p.delete(f"{EXPORTS}/{GROUP}").status_code == 200
    binding = reconcile(api, "root:orphan")
    cond = {x["type"]: x for x in binding["status"]["conditions"]}["APIExportValid"]
    assert cond["status"] == "False" and cond["reason"] == "APIExportNotFound"
    assert c.get(f"{COWBOYS}/kept").status_code == 200  # objects and API stay; the condition says why


# --- v1alpha1 ---------------------------------------------------------------------------------------

EXPORTS_V1 = "/apis/apis.kcp.io/v1alpha1/apiexports"
BINDINGS_V1 = "/apis/apis.kcp.io/v1alpha1/apibindings"


def test_v1alpha1_is_served_and_converted(api: Api) -> None:
    from apis.services import apiexport_reconcile

    make(api, "old")
    p = at(api, "root:old")
    p.post(SCHEMAS, cowboy_schema())
    r = p.post(
        EXPORTS_V1,
        {
            "apiVersion": "apis.kcp.io/v1alpha1",
            "kind": "APIExport",
            "metadata": {"name": GROUP},
            "spec": {
                "latestResourceSchemas": [f"v1.cowboys.{GROUP}"],
                "permissionClaims": [{"group": "", "resource": "configmaps", "all": True}],
            },
        },
    )
    assert r.status_code == 201, r.content
    assert r.json()["apiVersion"] == "apis.kcp.io/v1alpha1"
    assert r.json()["spec"]["latestResourceSchemas"] == [f"v1.cowboys.{GROUP}"]
    v2 = p.get(f"{EXPORTS}/{GROUP}").json()
    assert v2["spec"]["resources"] == [
        {"group": GROUP, "name": "cowboys", "schema": f"v1.cowboys.{GROUP}", "storage": {"crd": {}}}
    ]
    assert v2["spec"]["permissionClaims"] == [{"group": "", "resource": "configmaps", "verbs": ["*"]}]
    apiexport_reconcile(cluster=cluster_of(api, "root:old"), name=GROUP)
    # a v1alpha1 round trip keeps what v1alpha1 cannot say (verbs set at v1alpha2)
    v2 = p.get(f"{EXPORTS}/{GROUP}").json()
    v2["spec"]["permissionClaims"][0]["verbs"] = ["get", "list"]
    assert p.put(f"{EXPORTS}/{GROUP}", v2).status_code == 200
    v1 = p.get(f"{EXPORTS_V1}/{GROUP}").json()
    assert v1["spec"]["permissionClaims"] == [{"group": "", "resource": "configmaps", "all": True}]
    assert p.put(f"{EXPORTS_V1}/{GROUP}", v1).status_code == 200
    assert p.get(f"{EXPORTS}/{GROUP}").json()["spec"]["permissionClaims"][0]["verbs"] == ["get", "list"]
    patched = p.patch(f"{EXPORTS_V1}/{GROUP}", {"metadata": {"labels": {"tier": "old"}}})
    assert patched.status_code == 200 and patched.json()["spec"]["latestResourceSchemas"] == [f"v1.cowboys.{GROUP}"]
    # bindings at v1alpha1 with `all` claims
    make(api, "oldc")
    c = at(api, "root:oldc")
    r = c.post(
        BINDINGS_V1,
        {
            "apiVersion": "apis.kcp.io/v1alpha1",
            "kind": "APIBinding",
            "metadata": {"name": "wildwest"},
            "spec": {
                "reference": {"export": {"path": "root:old", "name": GROUP}},
                "permissionClaims": [{"group": "", "resource": "configmaps", "all": True, "state": "Accepted"}],
            },
        },
    )
    assert r.status_code == 201, r.content
    stored = c.get(f"{BINDINGS}/wildwest").json()
    assert stored["spec"]["permissionClaims"] == [
        {"group": "", "resource": "configmaps", "state": "Accepted", "selector": {"matchAll": True}}
    ]
    assert reconcile(api, "root:oldc")["status"]["phase"] == "Bound"
    v1b = c.get(f"{BINDINGS_V1}/wildwest").json()
    assert v1b["status"]["phase"] == "Bound" and v1b["status"]["appliedPermissionClaims"][0]["all"] is True
    group = api.get("/apis/apis.kcp.io").json()
    assert group["preferredVersion"]["version"] == "v1alpha2"
    assert [v["version"] for v in group["versions"]] == ["v1alpha2", "v1alpha1"]


def test_export_changes_reach_existing_bindings(api: Api) -> None:
    from apis.services import apiexport_reconcile

    p = provider(api)
    c = consumer(api, "follower")
    second = cowboy_schema(group="ranch.example.com")
    assert p.post(SCHEMAS, second).status_code == 201
    export = p.get(f"{EXPORTS}/{GROUP}").json()
    export["spec"]["resources"].append(
        {"group": "ranch.example.com", "name": "cowboys", "schema": "v1.cowboys.ranch.example.com"}
    )
    assert p.put(f"{EXPORTS}/{GROUP}", export).status_code == 200
    apiexport_reconcile(cluster=cluster_of(api, "root:provider"), name=GROUP)
    binding = reconcile(api, "root:follower")
    assert sorted(b["group"] for b in binding["status"]["boundResources"]) == sorted([GROUP, "ranch.example.com"])
    assert c.get("/apis/ranch.example.com/v1alpha1/namespaces/default/cowboys").status_code == 200


def test_claims_on_another_exports_resource_need_its_identity(api: Api) -> None:
    """Provider B claims provider A's cowboys (by A's identity hash); a consumer bound to both
    accepts, and B then sees exactly the consumer's cowboys of A."""
    from apis.services import apiexport_reconcile

    provider(api, "pa")
    identity = at(api, "root:pa").get(f"{EXPORTS}/{GROUP}").json()["status"]["identityHash"]
    make(api, "pb")
    b = at(api, "root:pb")
    claim = {"group": GROUP, "resource": "cowboys", "identityHash": identity, "verbs": ["get", "list", "watch"]}
    r = b.post(
        EXPORTS,
        {
            "apiVersion": "apis.kcp.io/v1alpha2",
            "kind": "APIExport",
            "metadata": {"name": "observer"},
            "spec": {"permissionClaims": [claim]},
        },
    )
    assert r.status_code == 201, r.content
    apiexport_reconcile(cluster=cluster_of(api, "root:pb"), name="observer")
    c = consumer(api, "both", "root:pa")
    c.post(COWBOYS, cowboy("seen"))
    accepted = {k: v for k, v in claim.items() if k != "verbs"} | {"state": "Accepted"}
    r = c.post(
        BINDINGS,
        {
            "apiVersion": "apis.kcp.io/v1alpha2",
            "kind": "APIBinding",
            "metadata": {"name": "observer"},
            "spec": {"reference": {"export": {"path": "root:pb", "name": "observer"}}, "permissionClaims": [accepted]},
        },
    )
    assert r.status_code == 201, r.content
    assert reconcile(api, "root:both", "observer")["status"]["phase"] == "Bound"
    root = Api(api.client, api.token)
    root.prefix = ""
    listed = root.get(f"/services/apiexport/root:pb/observer/clusters/*/apis/{GROUP}/v1alpha1/cowboys").json()
    assert "items" in listed, listed
    assert [i["metadata"]["name"] for i in listed["items"]] == ["seen"]
