"""CustomResourceDefinitions per logical cluster, through the real views and database."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests import factories
from tests.conftest import Api
from tests.factories import crd_body, crd_version, resource_names

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
TBL = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def widget_crd(*, group: str = "example.com", scope: str = "Namespaced", **version_extra: Any) -> dict[str, Any]:
    """The Widget CRD of these tests: the conformance Widget plus a scale subresource, a priority-1
    printer column, a short name, the `all` category and a free-form field."""
    return crd_body(
        group=group,
        scope=scope,
        names=resource_names(
            plural="widgets", kind="Widget", singular=None, list_kind=None, short_names=["wd"], categories=["all"]
        ),
        versions=[
            crd_version(
                subresources={
                    "status": {},
                    "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"},
                },
                printer_columns=[
                    {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                    {"name": "Color", "type": "string", "jsonPath": ".spec.color", "priority": 1},
                ],
                schema={
                    "type": "object",
                    "properties": {
                        "spec": {
                            "type": "object",
                            "properties": {
                                "size": {"type": "integer", "minimum": 0},
                                "color": {"type": "string", "default": "blue"},
                                "replicas": {"type": "integer"},
                                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                            },
                        },
                        "status": {
                            "type": "object",
                            "properties": {"ready": {"type": "boolean"}, "replicas": {"type": "integer"}},
                        },
                    },
                },
                **version_extra,
            )
        ],
    )


def widget(name: str, **spec: Any) -> dict[str, Any]:
    return factories.widget(name=name, **spec)


W = "/apis/example.com/v1/namespaces/default/widgets"


@pytest.fixture
def crd(api: Api) -> dict[str, Any]:
    r = api.post(CRDS, widget_crd())
    assert r.status_code == 201, r.content
    return r.json()


def conditions(crd: dict[str, Any]) -> dict[str, str]:
    return {c["type"]: c["status"] for c in crd["status"]["conditions"]}


def test_crd_is_defaulted_and_established_in_the_create_response(crd: dict[str, Any]) -> None:
    names = crd["spec"]["names"]
    assert names["singular"] == "widget" and names["listKind"] == "WidgetList"
    assert crd["spec"]["conversion"] == {"strategy": "None"}
    assert conditions(crd) == {"NamesAccepted": "True", "Established": "True"}
    assert crd["status"]["acceptedNames"]["plural"] == "widgets"
    assert crd["status"]["storedVersions"] == ["v1"]


def test_crd_validation(api: Api) -> None:
    bad = widget_crd()
    bad["metadata"]["name"] = "wrong.example.com"
    r = api.post(CRDS, bad)
    assert r.status_code == 422
    two = widget_crd()
    two["spec"]["versions"].append({**copy.deepcopy(two["spec"]["versions"][0]), "name": "v2"})
    r = api.post(CRDS, two)
    assert r.status_code == 422 and "storage" in r.json()["message"]
    unstructured = widget_crd()
    unstructured["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["x"] = {}
    assert api.post(CRDS, unstructured).status_code == 422


def test_discovery_and_openapi_follow_the_crd(api: Api, crd: dict[str, Any]) -> None:
    res = api.get("/apis/example.com/v1").json()["resources"]
    byname = {r["name"]: r for r in res}
    assert byname["widgets"]["kind"] == "Widget" and byname["widgets"]["shortNames"] == ["wd"]
    assert byname["widgets/scale"]["kind"] == "Scale" and "widgets/status" in byname
    groups = [g["name"] for g in api.get("/apis").json()["groups"]]
    assert "example.com" in groups
    index = api.get("/openapi/v3").json()["paths"]
    assert "apis/example.com/v1" in index
    doc = api.get(index["apis/example.com/v1"]["serverRelativeURL"]).json()
    assert any("Widget" in name for name in doc["components"]["schemas"])
    api.delete(f"{CRDS}/widgets.example.com")
    from kube.builtin.customresources import crd_cleanup

    crd_cleanup(cluster="root", name="widgets.example.com")
    assert api.get("/apis/example.com/v1").status_code == 404
    assert "apis/example.com/v1" not in api.get("/openapi/v3").json()["paths"]


def test_custom_resource_defaulting_pruning_and_validation(api: Api, crd: dict[str, Any]) -> None:
    r = api.post(W, widget("w1", size=3, nope=True, free={"any": {"thing": 1}}))
    assert r.status_code == 201, r.content
    spec = r.json()["spec"]
    assert spec == {"size": 3, "color": "blue", "free": {"any": {"thing": 1}}}
    assert r.json()["metadata"]["generation"] == 1
    r = api.post(W + "?fieldValidation=Strict", widget("w2", size=1, nope=True))
    assert r.status_code == 400 and 'unknown field "spec.nope"' in r.json()["message"]
    r = api.post(W, widget("w3", size=-1))
    assert r.status_code == 422
    cause = r.json()["details"]["causes"][0]
    assert cause["field"] == "spec.size"
    r = api.post(W, widget("w4", size="big"))
    assert r.status_code == 422


def test_custom_resource_update_rules(api: Api, crd: dict[str, Any]) -> None:
    obj = api.post(W, widget("u", size=1)).json()
    r = api.put(f"{W}/u", widget("u", size=2))
    assert r.status_code == 422 and "resourceVersion" in r.json()["message"]
    obj["spec"]["size"] = 2
    r = api.put(f"{W}/u", obj)
    assert r.status_code == 200 and r.json()["metadata"]["generation"] == 2
    r = api.patch(f"{W}/u", {"spec": {"size": 5}}, content_type="application/strategic-merge-patch+json")
    assert r.status_code == 415
    r = api.patch(f"{W}/u", {"metadata": {"labels": {"a": "b"}}})
    assert r.status_code == 200 and r.json()["metadata"]["generation"] == 2


def test_status_subresource(api: Api, crd: dict[str, Any]) -> None:
    r = api.post(W, {**widget("s", size=1), "status": {"ready": True}})
    assert "status" not in r.json() or not r.json()["status"].get("ready")
    r = api.patch(f"{W}/s/status", {"status": {"ready": True}})
    assert r.status_code == 200 and r.json()["status"]["ready"] is True
    gen = r.json()["metadata"]["generation"]
    r = api.patch(f"{W}/s", {"spec": {"size": 2}, "status": {"ready": False}})
    assert r.json()["status"]["ready"] is True and r.json()["metadata"]["generation"] == gen + 1


def test_scale_subresource(api: Api, crd: dict[str, Any]) -> None:
    api.post(W, widget("sc", size=1, replicas=2))
    s = api.get(f"{W}/sc/scale").json()
    assert s["kind"] == "Scale" and s["apiVersion"] == "autoscaling/v1" and s["spec"]["replicas"] == 2
    r = api.patch(f"{W}/sc/scale", {"spec": {"replicas": 5}})
    assert r.status_code == 200 and r.json()["spec"]["replicas"] == 5
    assert api.get(f"{W}/sc").json()["spec"]["replicas"] == 5
    s = api.get(f"{W}/sc/scale").json()
    s["spec"]["replicas"] = 1
    assert api.put(f"{W}/sc/scale", s, content_type="").json()["spec"]["replicas"] == 1


def test_printer_columns(api: Api, crd: dict[str, Any]) -> None:
    api.post(W, widget("p", size=7))
    t = api.get(W, headers={"Accept": TBL}).json()
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Size", "Color"]
    assert t["columnDefinitions"][2]["priority"] == 1
    assert t["rows"][0]["cells"] == ["p", 7, "blue"]


def test_same_crd_name_with_different_schemas_in_different_clusters(api: Api, client: Any, crd: dict[str, Any]) -> None:
    from kube.endpoints import paths

    previous = paths._resolver
    paths.set_cluster_resolver(lambda p: p if p in ("root", "other") else None)
    try:
        other = Api(client, api.token, cluster="other")
        loose = widget_crd()
        loose["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"] = {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
        }
        # The namespace must exist in the other cluster too.
        assert other.post("/api/v1/namespaces", {"metadata": {"name": "default"}}).status_code == 201
        assert other.post(CRDS, loose).status_code == 201
        assert other.post(W, widget("x", size=-5, extra="kept")).status_code == 201
        assert api.post(W, widget("x", size=-5)).status_code == 422
        assert api.get(f"{W}/x").status_code == 404
        api.delete(f"{CRDS}/widgets.example.com")
        assert other.get(f"{W}/x").status_code == 200
    finally:
        paths.set_cluster_resolver(previous)


def test_name_conflicts_are_reported_not_shadowed(api: Api, crd: dict[str, Any]) -> None:
    clash = widget_crd()
    clash["metadata"]["name"] = "gadgets.example.com"
    clash["spec"]["names"] = {"plural": "gadgets", "kind": "Widget"}
    r = api.post(CRDS, clash)
    assert r.status_code == 201
    assert conditions(r.json()) == {"NamesAccepted": "False", "Established": "False"}
    assert "gadgets" not in {x["name"] for x in api.get("/apis/example.com/v1").json()["resources"]}


def test_deleting_a_crd_deletes_its_resources(api: Api, crd: dict[str, Any]) -> None:
    from kube.builtin.customresources import crd_cleanup
    from kube.storage.models import StoredObject

    for i in range(3):
        api.post(W, widget(f"d{i}", size=i))
    r = api.delete(f"{CRDS}/widgets.example.com")
    assert r.status_code == 200 and r.json()["metadata"]["deletionTimestamp"]
    assert crd_cleanup(cluster="root", name="widgets.example.com") is True
    assert not StoredObject.objects.filter(group="example.com").exists()
    assert api.get(f"{CRDS}/widgets.example.com").status_code == 404
    assert api.get(W).status_code == 404


def test_conflict_resolves_when_the_holder_goes(api: Api, crd: dict[str, Any]) -> None:
    from kube.builtin.customresources import crd_cleanup

    clash = widget_crd()
    clash["metadata"]["name"] = "gizmos.example.com"
    clash["spec"]["names"] = {"plural": "gizmos", "kind": "Widget"}
    assert conditions(api.post(CRDS, clash).json())["Established"] == "False"
    api.delete(f"{CRDS}/widgets.example.com")
    assert crd_cleanup(cluster="root", name="widgets.example.com")
    assert conditions(api.get(f"{CRDS}/gizmos.example.com").json())["Established"] == "True"
    assert "gizmos" in {r["name"] for r in api.get("/apis/example.com/v1").json()["resources"]}


def test_ten_thousand_clusters_each_with_their_own_crd(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """10,000 logical clusters each hold their own CRD (same name, different schema). Each serves
    its own schema, and the per-process catalogue cache stays bounded (here to 256 entries, so
    resolving 1,000 of them exercises eviction); the cost of a cluster is its rows."""
    import copy as _copy

    from django.utils import timezone

    from kcpsite.bootstrap import bootstrap_root
    from kube.builtin import customresources
    from kube.registry import REGISTRY
    from kube.registry.context import RequestContext
    from kube.registry.store import STORE
    from kube.storage.models import StoredObject

    bootstrap_root()
    info = REGISTRY.resolve(
        cluster="root", group="apiextensions.k8s.io", version="v1", resource="customresourcedefinitions"
    )
    assert info is not None
    template = STORE.create(info, RequestContext(cluster="root"), "", widget_crd(group="many.example.com"))
    rows = []
    for i in range(10_000):
        body = _copy.deepcopy(template)
        body["metadata"]["uid"] = f"00000000-0000-0000-0000-{i:012d}"
        spec_props = body["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        spec_props["size"]["minimum"] = i
        rows.append(
            StoredObject(
                cluster=f"c{i}",
                group="apiextensions.k8s.io",
                resource="customresourcedefinitions",
                namespace="",
                name=body["metadata"]["name"],
                uid=body["metadata"]["uid"],
                resource_version=1,
                body=body,
                created=timezone.now(),
            )
        )
    StoredObject.objects.bulk_create(rows, batch_size=1000)
    from kube.storage.signature import SignatureCache

    monkeypatch.setattr(customresources, "CACHE", SignatureCache(256))
    for i in range(0, 10_000, 10):
        served = REGISTRY.resolve(cluster=f"c{i}", group="many.example.com", version="v1", resource="widgets")
        assert served is not None
        schema = served.schema()
        assert schema is not None
        spec = schema.path("spec", "size")
        assert spec is not None and spec.node["minimum"] == i
    assert len(customresources.CACHE._entries) == 256
    assert StoredObject.objects.filter(group="apiextensions.k8s.io").count() == 10_001
    assert REGISTRY.resolve(cluster="c-none", group="many.example.com", version="v1", resource="widgets") is None
