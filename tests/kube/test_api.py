"""The Kubernetes API through the real DRF views and a real database (no clients, no server):
status codes, Status bodies and object semantics."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.conftest import Api

CM = "/api/v1/namespaces/default/configmaps"


def cm(name: str, data: dict[str, str] | None = None, **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **meta}, "data": data or {}}


def status_of(resp: Any) -> dict[str, Any]:
    body = resp.json()
    assert body["kind"] == "Status" and body["apiVersion"] == "v1" and body["status"] == "Failure", body
    assert body["code"] == resp.status_code
    return body


def test_unauthenticated_requests_get_401_status(anonymous: Api) -> None:
    r = anonymous.get(CM)
    assert r.status_code == 401
    assert status_of(r)["reason"] == "Unauthorized"


def test_wrong_token_gets_401(client: Any, root: None) -> None:
    r = Api(client, "not-a-token").get(CM)
    assert r.status_code == 401


def test_health_and_version_are_public(anonymous: Api, client: Any) -> None:
    for p in ("/healthz", "/livez", "/readyz"):
        assert client.get(p).content == b"ok"
    v = client.get("/version/").json()
    assert v["major"] == "1" and v["gitVersion"].startswith("v1.35")


def test_create_get_list_delete(api: Api) -> None:
    r = api.post(CM, cm("c1", {"a": "1"}))
    assert r.status_code == 201, r.content
    obj = r.json()
    md = obj["metadata"]
    assert isinstance(md["resourceVersion"], str) and md["resourceVersion"].isdigit()
    assert len(md["uid"]) == 36 and md["creationTimestamp"].endswith("Z")
    assert md["namespace"] == "default"
    assert api.get(f"{CM}/c1").json()["data"] == {"a": "1"}
    lst = api.get(CM).json()
    assert lst["kind"] == "ConfigMapList" and lst["apiVersion"] == "v1"
    assert [i["metadata"]["name"] for i in lst["items"]] == ["c1"]
    assert int(lst["metadata"]["resourceVersion"]) >= int(md["resourceVersion"])
    r = api.delete(f"{CM}/c1")
    assert r.status_code == 200
    r = api.get(f"{CM}/c1")
    assert r.status_code == 404
    body = status_of(r)
    assert body["reason"] == "NotFound" and body["message"] == 'configmaps "c1" not found'
    assert body["details"] == {"name": "c1", "kind": "configmaps"}


def test_empty_list_has_items_array(api: Api) -> None:
    assert api.get("/api/v1/namespaces/default/secrets").json()["items"] == []


def test_create_without_kind_or_content_type_defaults_from_url(api: Api) -> None:
    r = api.post(CM, {"metadata": {"name": "bare"}, "data": {"x": "y"}}, content_type="")
    assert r.status_code == 201, r.content
    assert r.json()["kind"] == "ConfigMap" and r.json()["apiVersion"] == "v1"


def test_mismatched_kind_or_namespace_is_400(api: Api) -> None:
    assert api.post(CM, {**cm("x"), "kind": "Secret"}).status_code == 400
    r = api.post(CM, cm("x", namespace="other"))
    assert r.status_code == 400
    assert "does not match the namespace" in status_of(r)["message"]


def test_already_exists(api: Api) -> None:
    api.post(CM, cm("dup"))
    r = api.post(CM, cm("dup"))
    assert r.status_code == 409
    assert status_of(r)["reason"] == "AlreadyExists"


def test_invalid_name_is_422_with_causes(api: Api) -> None:
    r = api.post(CM, cm("Bad_Name"))
    assert r.status_code == 422
    body = status_of(r)
    assert body["reason"] == "Invalid"
    assert body["details"]["causes"][0]["field"] == "metadata.name"


def test_missing_namespace_is_404(api: Api) -> None:
    r = api.post("/api/v1/namespaces/nope/configmaps", cm("x"))
    assert r.status_code == 404
    assert status_of(r)["message"] == 'namespaces "nope" not found'


def test_strict_field_validation(api: Api) -> None:
    bad = {**cm("u"), "spec": {"x": 1}}
    r = api.post(CM + "?fieldValidation=Strict", bad)
    assert r.status_code == 400
    assert 'unknown field "spec"' in status_of(r)["message"]
    r = api.post(CM + "?fieldValidation=Warn", bad)
    assert r.status_code == 201 and "spec" not in r.json()
    assert 'unknown field \\"spec\\"' in r.headers["Warning"]
    r = api.post(CM + "?fieldValidation=Bogus", cm("v"))
    assert r.status_code == 400


def test_generate_name(api: Api) -> None:
    r = api.post(CM, {"metadata": {"generateName": "gen-"}})
    assert r.status_code == 201
    name = r.json()["metadata"]["name"]
    assert name.startswith("gen-") and len(name) == 9


def test_dry_run_persists_nothing(api: Api) -> None:
    r = api.post(CM + "?dryRun=All", cm("dry"))
    assert r.status_code == 201
    assert api.get(f"{CM}/dry").status_code == 404
    assert api.post(CM + "?dryRun=Sometimes", cm("dry")).status_code in (400, 422)


def test_update_optimistic_concurrency_and_unconditional(api: Api) -> None:
    obj = api.post(CM, cm("o", {"v": "1"})).json()
    stale = dict(obj)
    obj["data"] = {"v": "2"}
    r = api.put(f"{CM}/o", obj)
    assert r.status_code == 200 and r.json()["data"] == {"v": "2"}
    stale["data"] = {"v": "stale"}
    r = api.put(f"{CM}/o", stale)
    assert r.status_code == 409 and status_of(r)["reason"] == "Conflict"
    # Built-ins accept an update without resourceVersion (helm's release Secrets need it).
    unconditional = cm("o", {"v": "3"})
    r = api.put(f"{CM}/o", unconditional)
    assert r.status_code == 200 and r.json()["data"] == {"v": "3"}


def test_noop_update_keeps_resource_version(api: Api) -> None:
    obj = api.post(CM, cm("same", {"v": "1"})).json()
    again = api.put(f"{CM}/same", obj).json()
    assert again["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]


def test_patch_types(api: Api) -> None:
    api.post(CM, cm("p", {"a": "1"}))
    r = api.patch(f"{CM}/p", {"data": {"b": "2"}}, content_type="application/strategic-merge-patch+json")
    assert r.status_code == 200 and r.json()["data"] == {"a": "1", "b": "2"}
    r = api.patch(f"{CM}/p", {"data": {"a": None}}, content_type="application/merge-patch+json")
    assert r.json()["data"] == {"b": "2"}
    r = api.patch(
        f"{CM}/p", [{"op": "add", "path": "/data/c", "value": "3"}], content_type="application/json-patch+json"
    )
    assert r.json()["data"] == {"b": "2", "c": "3"}
    r = api.patch(
        f"{CM}/p", [{"op": "test", "path": "/data/c", "value": "nope"}], content_type="application/json-patch+json"
    )
    assert r.status_code == 422
    r = api.patch(f"{CM}/p", {"data": {}}, content_type="text/plain")
    assert r.status_code == 415


def test_server_side_apply_creates_and_conflicts(api: Api) -> None:
    body = cm("s", {"owned": "by-a"})
    r = api.patch(f"{CM}/s?fieldManager=a", body, content_type="application/apply-patch+yaml")
    assert r.status_code == 201, r.content
    mf = r.json()["metadata"]["managedFields"]
    assert any(m["manager"] == "a" and m["operation"] == "Apply" for m in mf)
    r = api.patch(f"{CM}/s?fieldManager=b", cm("s", {"owned": "by-b"}), content_type="application/apply-patch+yaml")
    assert r.status_code == 409
    assert status_of(r)["details"]["causes"][0]["reason"] == "FieldManagerConflict"
    r = api.patch(
        f"{CM}/s?fieldManager=b&force=true", cm("s", {"owned": "by-b"}), content_type="application/apply-patch+yaml"
    )
    assert r.status_code == 200 and r.json()["data"]["owned"] == "by-b"
    r = api.patch(f"{CM}/s", cm("s"), content_type="application/apply-patch+yaml")
    assert r.status_code in (400, 422)


def test_yaml_apply_body(api: Api) -> None:
    yaml_body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\ndata:\n  k: v\n"
    r = api.patch(f"{CM}/y?fieldManager=t", yaml_body, content_type="application/apply-patch+yaml")
    assert r.status_code == 201 and r.json()["data"] == {"k": "v"}


def test_finalizers_hold_deletion(api: Api) -> None:
    api.post(CM, cm("f", finalizers=["example.com/hold"]))
    r = api.delete(f"{CM}/f", {"propagationPolicy": "Background"})
    assert r.status_code == 200 and r.json()["metadata"]["deletionTimestamp"]
    r = api.patch(f"{CM}/f", {"metadata": {"finalizers": ["example.com/hold", "example.com/new"]}})
    assert r.status_code == 422
    r = api.patch(f"{CM}/f", {"metadata": {"finalizers": None}})
    assert r.status_code == 200
    assert api.get(f"{CM}/f").status_code == 404


def test_delete_preconditions(api: Api) -> None:
    obj = api.post(CM, cm("pre")).json()
    r = api.delete(f"{CM}/pre", {"preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}})
    assert r.status_code == 409
    r = api.delete(f"{CM}/pre", {"preconditions": {"resourceVersion": obj["metadata"]["resourceVersion"]}})
    assert r.status_code == 200


def test_label_and_field_selectors(api: Api) -> None:
    for i, tier in enumerate(["web", "web", "db", "cache"]):
        api.post(CM, cm(f"l{i}", labels={"tier": tier, "idx": str(i)}))

    def names(q: str) -> list[str]:
        return sorted(i["metadata"]["name"] for i in api.get(f"{CM}?{q}").json()["items"])

    assert names("labelSelector=tier%3Dweb") == ["l0", "l1"]
    assert names("labelSelector=tier+in+(db,cache)") == ["l2", "l3"]
    assert names("labelSelector=tier!%3Dweb,idx") == ["l2", "l3"]
    assert names("labelSelector=!idx") == []
    assert names("fieldSelector=metadata.name%3Dl2") == ["l2"]
    assert names("fieldSelector=metadata.name!%3Dl2") == ["l0", "l1", "l3"]
    assert api.get(f"{CM}?fieldSelector=spec.nope%3Dx").status_code == 400
    assert api.get(f"{CM}?labelSelector=%3D%3D%3D").status_code == 400


def test_pagination_and_expired_continue(api: Api) -> None:
    for i in range(7):
        api.post(CM, cm(f"pg{i}"))
    page = api.get(f"{CM}?limit=3").json()
    seen = [i["metadata"]["name"] for i in page["items"]]
    assert page["metadata"]["remainingItemCount"] == 4
    while page["metadata"].get("continue"):
        page = api.get(f"{CM}?limit=3&continue={page['metadata']['continue']}").json()
        seen += [i["metadata"]["name"] for i in page["items"]]
    assert seen == [f"pg{i}" for i in range(7)]
    from kube.storage.backend import compact

    token = api.get(f"{CM}?limit=3").json()["metadata"]["continue"]
    api.post(CM, cm("later"))
    compact(older_than_seconds=-1)
    r = api.get(f"{CM}?limit=3&continue={token}")
    assert r.status_code == 410 and status_of(r)["reason"] == "Expired"
    assert api.get(f"{CM}?limit=3&continue=garbage!").status_code == 400


def test_cluster_wide_list(api: Api) -> None:
    api.post("/api/v1/namespaces", {"metadata": {"name": "other"}})
    api.post(CM, cm("a"))
    api.post("/api/v1/namespaces/other/configmaps", cm("b"))
    names = sorted(
        (i["metadata"]["namespace"], i["metadata"]["name"]) for i in api.get("/api/v1/configmaps").json()["items"]
    )
    assert ("default", "a") in names and ("other", "b") in names


def test_table_output(api: Api) -> None:
    api.post(CM, cm("t", {"a": "1", "b": "2"}))
    tbl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    r = api.get(CM, headers={"Accept": tbl})
    assert r.headers["Content-Type"].startswith("application/json;as=Table")
    t = r.json()
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert t["rows"][0]["cells"][:2] == ["t", 2]
    assert t["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    assert t["metadata"]["resourceVersion"]
    r = api.get(f"{CM}/t?includeObject=Object", headers={"Accept": tbl})
    assert r.json()["rows"][0]["object"]["data"] == {"a": "1", "b": "2"}


def test_status_subresource_on_namespace(api: Api) -> None:
    ns = api.post("/api/v1/namespaces", {"metadata": {"name": "st"}, "status": {"phase": "Bogus"}}).json()
    assert ns["status"]["phase"] == "Active"
    assert ns["spec"]["finalizers"] == ["kubernetes"]
    st = api.get("/api/v1/namespaces/st/status").json()
    assert st["metadata"]["name"] == "st"


def test_secrets_string_data_and_type(api: Api) -> None:
    r = api.post("/api/v1/namespaces/default/secrets", {"metadata": {"name": "s"}, "stringData": {"k": "v"}})
    assert r.status_code == 201
    s = r.json()
    assert s["type"] == "Opaque" and s["data"] == {"k": base64.b64encode(b"v").decode()}
    assert "stringData" not in s


def test_body_limits_and_garbage(api: Api) -> None:
    r = api.post(CM, b"{not json")
    assert r.status_code == 400
    big = cm("big", {"x": "y" * (4 * 1024 * 1024)})
    assert api.post(CM, big).status_code == 413
    large = cm("large", {"x": "y" * (2 * 1024 * 1024)})
    r = api.post(CM, large)
    assert r.status_code == 422
    deep: Any = {}
    cur = deep
    for _ in range(5000):
        cur["a"] = {}
        cur = cur["a"]
    r = api.post(CM, ('{"metadata":{"name":"deep"},"data":' + "[" * 100000 + "]" * 100000 + "}").encode())
    assert 400 <= r.status_code < 500


def test_unknown_paths_are_404_status(api: Api) -> None:
    for p in ("/api/v1/pods", "/apis/apps/v1/namespaces/default/deployments", "/apis/nope", "/api/v2"):
        r = api.get(p)
        assert r.status_code == 404, p
        status_of(r)


def test_unknown_logical_cluster_is_404(client: Any, admin_token: str) -> None:
    r = Api(client, admin_token, cluster="root:nope").get(CM)
    assert r.status_code == 404


@pytest.mark.parametrize("path", ["/api", "/apis", "/api/v1", "/apis/rbac.authorization.k8s.io/v1"])
def test_legacy_discovery(api: Api, path: str) -> None:
    r = api.get(path)
    assert r.status_code == 200
    assert r.json()["kind"] in ("APIVersions", "APIGroupList", "APIResourceList")


def test_aggregated_discovery(api: Api) -> None:
    accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    r = api.get("/apis", headers={"Accept": accept})
    assert r.headers["Content-Type"] == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    groups = {i["metadata"]["name"] for i in r.json()["items"]}
    assert {"rbac.authorization.k8s.io", "coordination.k8s.io", "events.k8s.io", "apiextensions.k8s.io"} <= groups
    core = api.get("/api", headers={"Accept": accept}).json()
    resources = {r["resource"] for r in core["items"][0]["versions"][0]["resources"]}
    assert {"namespaces", "configmaps", "secrets", "serviceaccounts", "events"} <= resources
    assert "pods" not in resources
    for r in core["items"][0]["versions"][0]["resources"]:
        assert r["responseKind"]["kind"]


def test_openapi_index_and_documents(api: Api) -> None:
    index = api.get("/openapi/v3").json()
    url = index["paths"]["api/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/api/v1?hash=")
    doc = api.get(url).json()
    patch_ops = [op["patch"] for op in doc["paths"].values() if "patch" in op]
    assert patch_ops and all(any(p["name"] == "fieldValidation" for p in op["parameters"]) for op in patch_ops)
    assert api.get("/openapi/v3/apis/nope/v1").status_code == 404
