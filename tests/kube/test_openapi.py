"""OpenAPI v3 documents (kube/endpoints/openapi/) as kubectl 1.35 reads them.

The checks mirror what kubectl does with a GV document (reference/kube-clients.md §4):
cli-runtime's fieldValidation verifier (a PATCH op whose GVK *object* matches and which has a
`fieldValidation` query parameter), the apply patcher (SMP listed in the PATCH requestBody, then
`PatchMetaFromOpenAPIV3` walking `components.schemas`), and `kubectl explain` (schemas found by
their GVK *list*). Run: `.venv/bin/python -m pytest tests/kube/test_openapi.py -p no:django -q`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from kube.endpoints import openapi as oa
from kube.registry.resources import ResourceInfo
from kube.registry.strategy import Strategy
from kube.schema import Schema

JSON = dict[str, Any]
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
SMP = "application/strategic-merge-patch+json"
GENERIC_PATCH_TYPES = {"application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"}


class CustomResourceStrategy(Strategy):
    """Like the CR strategy: no strategic merge patch, no unconditional update."""

    allow_strategic_merge_patch = False
    allow_unconditional_update = False


WIDGET_SCHEMA: JSON = {
    "type": "object",
    "description": "A widget.",
    "properties": {
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "properties": {
                "size": {"type": "integer", "description": "How big."},
                "color": {"type": "string", "nullable": True, "enum": ["red", "blue"]},
                "parts": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
                },
                "port": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
            },
        },
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    },
}


def _core() -> list[ResourceInfo]:
    s = Strategy()
    return [
        ResourceInfo("", "v1", "configmaps", "ConfigMap", True, s, short_names=("cm",)),
        ResourceInfo("", "v1", "secrets", "Secret", True, s),
        ResourceInfo("", "v1", "namespaces", "Namespace", False, s, subresources=("status", "finalize")),
        ResourceInfo(
            "",
            "v1",
            "serviceaccounts",
            "ServiceAccount",
            True,
            s,
            extra_subresources={"token": ("authentication.k8s.io", "v1", "TokenRequest", ("create",))},
        ),
    ]


def _rbac() -> list[ResourceInfo]:
    return [ResourceInfo("rbac.authorization.k8s.io", "v1", "roles", "Role", True, Strategy())]


def _custom(schema: JSON | None = WIDGET_SCHEMA) -> list[ResourceInfo]:
    strategy = CustomResourceStrategy()
    return [
        ResourceInfo(
            "example.com",
            "v1",
            "widgets",
            "Widget",
            True,
            strategy,
            subresources=("status", "scale"),
            origin="crd",
            schema_loader=(lambda: Schema(schema, {})) if schema is not None else None,
        ),
        ResourceInfo("example.com", "v1", "gadgets", "Gadget", False, strategy, origin="crd"),
    ]


ALL_GVS = {
    ("", "v1"): _core,
    ("rbac.authorization.k8s.io", "v1"): _rbac,
    ("example.com", "v1"): _custom,
}


@pytest.fixture(params=sorted(ALL_GVS), ids=lambda gv: oa.gv_path(*gv))
def gv_doc(request: pytest.FixtureRequest) -> tuple[str, str, list[ResourceInfo], JSON]:
    group, version = request.param
    resources = ALL_GVS[(group, version)]()
    return group, version, resources, oa.openapi_document(group, version, resources)


def _walk(node: Any) -> Iterator[Any]:
    stack = [node]
    while stack:
        cur = stack.pop()
        yield cur
        if isinstance(cur, dict):
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)


def _operations(doc: JSON) -> Iterator[tuple[str, str, JSON]]:
    for path, item in doc["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


def _param_names(op: JSON, where: str = "query") -> set[str]:
    return {p["name"] for p in op.get("parameters", []) if p["in"] == where}


# --- the index and small helpers -----------------------------------------------------------------


def test_gv_path() -> None:
    assert oa.gv_path("", "v1") == "api/v1"
    assert oa.gv_path("apps", "v1") == "apis/apps/v1"
    assert oa.gv_path("rbac.authorization.k8s.io", "v1") == "apis/rbac.authorization.k8s.io/v1"


def test_index_urls_have_hash_and_no_cluster_prefix() -> None:
    index = oa.openapi_index({"apis/example.com/v1": "BBB", "api/v1": "AAA"})
    assert index == {
        "paths": {
            "api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=AAA"},
            "apis/example.com/v1": {"serverRelativeURL": "/openapi/v3/apis/example.com/v1?hash=BBB"},
        }
    }
    assert list(index["paths"]) == ["api/v1", "apis/example.com/v1"]
    assert all("/clusters/" not in v["serverRelativeURL"] for v in index["paths"].values())


def test_generated_schema_name() -> None:
    assert oa.generated_schema_name("example.com", "v1", "Widget") == "com.example.v1.Widget"
    assert oa.generated_schema_name("apis.kcp.io", "v1alpha1", "APIExport") == "io.kcp.apis.v1alpha1.APIExport"


# --- structure -----------------------------------------------------------------------------------


def test_document_is_loosely_valid_openapi_3_0(gv_doc: tuple[str, str, list[ResourceInfo], JSON]) -> None:
    *_, doc = gv_doc
    assert doc["openapi"] == "3.0.0"
    assert isinstance(doc["info"]["title"], str) and isinstance(doc["info"]["version"], str)
    assert isinstance(doc["paths"], dict) and doc["paths"]
    assert isinstance(doc["components"]["schemas"], dict)
    json.dumps(doc)  # plain JSON data
    op_ids: list[str] = []
    for path, item in doc["paths"].items():
        assert path.startswith("/")
        assert set(item) <= {*HTTP_METHODS, "parameters"}
        templated = set(re.findall(r"{(\w+)}", path))
        declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        assert templated == declared, path
        assert all(p["required"] is True for p in item.get("parameters", []) if p["in"] == "path")
        for method in HTTP_METHODS:
            if method not in item:
                continue
            op = item[method]
            op_ids.append(op["operationId"])
            assert op["responses"] and all(re.fullmatch(r"\d{3}", code) for code in op["responses"])
            for response in op["responses"].values():
                assert isinstance(response["description"], str)
            for p in op.get("parameters", []):
                assert p["in"] in ("query", "path", "header", "cookie") and p["name"] and "schema" in p
            if "requestBody" in op:
                assert op["requestBody"]["content"]
    assert len(op_ids) == len(set(op_ids)), "operationIds must be unique"


def test_collection_item_and_subresource_paths() -> None:
    doc = oa.openapi_document("", "v1", _core())
    paths = doc["paths"]
    assert set(paths["/api/v1/namespaces/{namespace}/configmaps"]) == {"get", "post", "delete", "parameters"}
    assert set(paths["/api/v1/configmaps"]) == {"get"}  # cluster-wide list of a namespaced resource
    assert set(paths["/api/v1/namespaces/{namespace}/configmaps/{name}"]) == {
        "get",
        "put",
        "patch",
        "delete",
        "parameters",
    }
    # cluster-scoped: no cluster-wide duplicate, and its subresources
    assert set(paths["/api/v1/namespaces"]) == {"get", "post", "delete"}
    assert set(paths["/api/v1/namespaces/{name}/status"]) == {"get", "put", "patch", "parameters"}
    assert set(paths["/api/v1/namespaces/{name}/finalize"]) == {"put", "parameters"}
    token = paths["/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"]["post"]
    assert token["x-kubernetes-group-version-kind"] == {
        "group": "authentication.k8s.io",
        "version": "v1",
        "kind": "TokenRequest",
    }
    assert token["operationId"] == "createCoreV1NamespacedServiceAccountToken"
    assert "io.k8s.api.authentication.v1.TokenRequest" in doc["components"]["schemas"]

    custom = oa.openapi_document("example.com", "v1", _custom())["paths"]
    scale = custom["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}/scale"]["patch"]
    assert scale["x-kubernetes-group-version-kind"] == {"group": "autoscaling", "version": "v1", "kind": "Scale"}
    status = custom["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}/status"]["patch"]
    assert status["x-kubernetes-group-version-kind"] == {"group": "example.com", "version": "v1", "kind": "Widget"}
    assert "/apis/example.com/v1/gadgets/{name}" in custom


def test_verbs_limit_operations() -> None:
    group = "authorization.k8s.io"
    reviews = ResourceInfo(
        group, "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False, Strategy(), verbs=("create",)
    )
    doc = oa.openapi_document("authorization.k8s.io", "v1", [reviews])
    assert list(doc["paths"]) == ["/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"]
    assert set(doc["paths"]["/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"]) == {"post"}


def test_operation_ids_follow_upstream() -> None:
    core = oa.openapi_document("", "v1", _core())["paths"]
    assert core["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"]["operationId"] == (
        "patchCoreV1NamespacedConfigMap"
    )
    assert core["/api/v1/configmaps"]["get"]["operationId"] == "listCoreV1ConfigMapForAllNamespaces"
    assert core["/api/v1/namespaces/{namespace}/configmaps"]["delete"]["operationId"] == (
        "deleteCoreV1CollectionNamespacedConfigMap"
    )
    assert core["/api/v1/namespaces/{name}/status"]["put"]["operationId"] == "replaceCoreV1NamespaceStatus"
    assert core["/api/v1/namespaces/{name}"]["get"]["tags"] == ["core_v1"]
    rbac = oa.openapi_document("rbac.authorization.k8s.io", "v1", _rbac())["paths"]
    op = rbac["/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/roles/{name}"]["patch"]
    assert op["operationId"] == "patchRbacAuthorizationV1NamespacedRole"
    assert op["tags"] == ["rbacAuthorization_v1"]


# --- what kubectl needs ----------------------------------------------------------------------------


def test_every_patch_has_gvk_object_and_field_validation(gv_doc: tuple[str, str, list[ResourceInfo], JSON]) -> None:
    *_, doc = gv_doc
    patches = [op for _, method, op in _operations(doc) if method == "patch"]
    assert patches
    for op in patches:
        gvk = op["x-kubernetes-group-version-kind"]
        assert isinstance(gvk, dict) and set(gvk) == {"group", "version", "kind"}
        assert {"dryRun", "fieldManager", "fieldValidation", "force"} <= _param_names(op)
        assert op["requestBody"]["content"]


def test_post_and_put_have_field_validation(gv_doc: tuple[str, str, list[ResourceInfo], JSON]) -> None:
    *_, doc = gv_doc
    writes = [op for _, method, op in _operations(doc) if method in ("post", "put")]
    assert writes
    for op in writes:
        assert {"dryRun", "fieldManager", "fieldValidation"} <= _param_names(op)
        assert isinstance(op["x-kubernetes-group-version-kind"], dict)


def _supports_field_validation(doc: JSON, group: str, version: str, kind: str) -> bool:
    """cli-runtime's supportsQueryParamV3: the first PATCH op with the GVK decides."""
    for _, method, op in _operations(doc):
        if method == "patch" and op.get("x-kubernetes-group-version-kind") == {
            "group": group,
            "version": version,
            "kind": kind,
        }:
            return any(p["name"] == "fieldValidation" and p["in"] == "query" for p in op.get("parameters", []))
    return False


def test_kubectl_field_validation_check_passes_for_every_kind(
    gv_doc: tuple[str, str, list[ResourceInfo], JSON],
) -> None:
    group, version, resources, doc = gv_doc
    for info in resources:
        assert _supports_field_validation(doc, group, version, info.kind), info.kind
    if (group, version) == ("", "v1"):  # kubectl's proxy check for CRDs missing from the index
        assert _supports_field_validation(doc, "", "v1", "Namespace")


def test_strategic_merge_patch_only_where_supported() -> None:
    for group, version in (("", "v1"), ("rbac.authorization.k8s.io", "v1")):
        doc = oa.openapi_document(group, version, ALL_GVS[(group, version)]())
        for path, method, op in _operations(doc):
            if method == "patch":
                assert set(op["requestBody"]["content"]) == GENERIC_PATCH_TYPES | {SMP}, path
    doc = oa.openapi_document("example.com", "v1", _custom())
    patches = [(path, op) for path, method, op in _operations(doc) if method == "patch"]
    assert len(patches) == 4  # widgets, widgets/status, widgets/scale, gadgets
    for path, op in patches:
        assert set(op["requestBody"]["content"]) == GENERIC_PATCH_TYPES, path
        for media in op["requestBody"]["content"].values():
            assert media["schema"] == {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}


def test_responses_reference_the_kind() -> None:
    doc = oa.openapi_document("", "v1", _core())
    item = doc["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]
    ref = {"$ref": "#/components/schemas/io.k8s.api.core.v1.ConfigMap"}
    for method in ("get", "put", "patch"):
        assert item[method]["responses"]["200"]["content"]["application/json"]["schema"] == ref
    listing = doc["paths"]["/api/v1/configmaps"]["get"]["responses"]["200"]["content"]["application/json"]
    assert listing["schema"] == {"$ref": "#/components/schemas/io.k8s.api.core.v1.ConfigMapList"}
    assert item["put"]["requestBody"]["content"]["*/*"]["schema"] == ref


# --- components ------------------------------------------------------------------------------------


def test_every_ref_resolves(gv_doc: tuple[str, str, list[ResourceInfo], JSON]) -> None:
    *_, doc = gv_doc
    schemas = doc["components"]["schemas"]
    refs = [n["$ref"] for n in _walk(doc) if isinstance(n, dict) and isinstance(n.get("$ref"), str)]
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


def test_components_are_exactly_the_closure(gv_doc: tuple[str, str, list[ResourceInfo], JSON]) -> None:
    """Nothing unreferenced: the schemas reachable from the paths plus Status/DeleteOptions/Patch."""
    *_, doc = gv_doc
    schemas = doc["components"]["schemas"]

    def refs(node: Any) -> set[str]:
        return {
            n["$ref"].removeprefix("#/components/schemas/")
            for n in _walk(node)
            if isinstance(n, dict) and isinstance(n.get("$ref"), str)
        }

    reachable: set[str] = set()
    todo = refs(doc["paths"]) | set(oa.ALWAYS_INCLUDED)
    while todo:
        name = todo.pop()
        if name not in reachable:
            reachable.add(name)
            todo |= refs(schemas[name])
    assert set(schemas) == reachable


def test_no_type_lists_and_no_json_schema_refs(gv_doc: tuple[str, str, list[ResourceInfo], JSON]) -> None:
    *_, doc = gv_doc
    for node in _walk(doc["components"]):
        if isinstance(node, dict):
            assert not isinstance(node.get("type"), list), node
            assert node.get("type") != "null"
            ref = node.get("$ref")
            if isinstance(ref, str):
                assert "$defs" not in ref
                assert set(node) == {"$ref"}, "a $ref with siblings must be wrapped in allOf"


def test_builtin_schema_conversion() -> None:
    doc = oa.openapi_document("", "v1", _core())
    schemas = doc["components"]["schemas"]
    cm = schemas["io.k8s.api.core.v1.ConfigMap"]
    assert cm["x-kubernetes-group-version-kind"] == [{"group": "", "kind": "ConfigMap", "version": "v1"}]
    assert cm["type"] == "object"
    assert cm["properties"]["data"] == {
        "additionalProperties": {"type": "string"},
        "description": cm["properties"]["data"]["description"],
        "type": "object",
    }
    assert cm["properties"]["binaryData"]["additionalProperties"] == {"format": "byte", "type": "string"}
    metadata = cm["properties"]["metadata"]
    assert metadata["allOf"] == [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]
    assert metadata["description"].startswith("Standard object's metadata")
    object_meta = schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]
    managed = object_meta["properties"]["managedFields"]
    assert managed["type"] == "array" and managed["x-kubernetes-list-type"] == "atomic"
    assert managed["items"] == {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry"}
    owners = object_meta["properties"]["ownerReferences"]
    assert owners["x-kubernetes-patch-merge-key"] == "uid" and owners["x-kubernetes-patch-strategy"] == "merge"
    assert schemas["io.k8s.apimachinery.pkg.apis.meta.v1.Time"] == {
        "description": schemas["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]["description"],
        "format": "date-time",
        "type": "string",
    }
    assert "required" in schemas["io.k8s.api.core.v1.ConfigMapList"]


def test_to_openapi_schema_unit() -> None:
    refs: set[str] = set()
    out = oa.to_openapi_schema(
        {
            "type": ["object", "null"],
            "properties": {
                "a": {"type": ["string", "null"], "format": "date-time", "enum": ["x"]},
                "b": {"$ref": "#/$defs/B", "description": "about b", "x-kubernetes-map-type": "atomic"},
                "c": {"$ref": "#/$defs/C"},
                "c2": {"$ref": "#/$defs/C", "type": ["object", "null"]},
                "d": {"type": "array", "items": {"$ref": "#/$defs/Missing", "description": "gone"}},
                "e": {"oneOf": [{"type": ["string", "null"]}, {"type": ["integer", "null"]}]},
                "f": {"additionalProperties": False, "type": "object", "nullable": True},
            },
            "x-kubernetes-group-version-kind": [{"group": "g", "kind": "K", "version": "v"}],
        },
        known=lambda name: name != "Missing",
        refs=refs,
    )
    assert out == {
        "type": "object",
        "properties": {
            "a": {"type": "string", "format": "date-time", "enum": ["x"]},
            "b": {
                "allOf": [{"$ref": "#/components/schemas/B"}],
                "description": "about b",
                "x-kubernetes-map-type": "atomic",
            },
            "c": {"$ref": "#/components/schemas/C"},
            "c2": {"allOf": [{"$ref": "#/components/schemas/C"}], "type": "object"},
            "d": {"type": "array", "items": {"description": "gone", "x-kubernetes-preserve-unknown-fields": True}},
            "e": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "f": {"additionalProperties": False, "type": "object", "nullable": True},
        },
        "x-kubernetes-group-version-kind": [{"group": "g", "kind": "K", "version": "v"}],
    }
    assert refs == {"B", "C"}
    # OpenAPI-form input passes through unchanged
    assert oa.to_openapi_schema(out) == out


def test_custom_resource_schema() -> None:
    doc = oa.openapi_document("example.com", "v1", _custom())
    schemas = doc["components"]["schemas"]
    widget = schemas["com.example.v1.Widget"]
    assert widget["x-kubernetes-group-version-kind"] == [{"group": "example.com", "kind": "Widget", "version": "v1"}]
    assert widget["type"] == "object" and widget["description"] == "A widget."
    assert widget["properties"]["metadata"] == {
        "allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]
    }
    assert widget["properties"]["apiVersion"]["type"] == "string"
    assert widget["properties"]["kind"]["type"] == "string"
    assert widget["properties"]["spec"] == WIDGET_SCHEMA["properties"]["spec"]
    assert widget["properties"]["status"] == {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in schemas
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry" in schemas
    assert "io.k8s.api.autoscaling.v1.Scale" in schemas

    widget_list = schemas["com.example.v1.WidgetList"]
    assert widget_list["x-kubernetes-group-version-kind"] == [
        {"group": "example.com", "kind": "WidgetList", "version": "v1"}
    ]
    assert widget_list["properties"]["items"]["items"] == {"$ref": "#/components/schemas/com.example.v1.Widget"}

    gadget = schemas["com.example.v1.Gadget"]  # no schema at all
    assert gadget["type"] == "object" and gadget["x-kubernetes-preserve-unknown-fields"] is True
    assert gadget["x-kubernetes-group-version-kind"] == [{"group": "example.com", "kind": "Gadget", "version": "v1"}]
    assert gadget["properties"]["metadata"]["allOf"][0]["$ref"].endswith(".ObjectMeta")
    # the caller's structural schema is left untouched
    assert WIDGET_SCHEMA["properties"]["metadata"] == {"type": "object"}


def test_custom_schema_refs_into_its_own_defs() -> None:
    """A kind whose Schema carries definitions (JSON-schema flavour) gets them converted and included."""
    defs = {"my.Part": {"type": ["object", "null"], "properties": {"name": {"type": ["string", "null"]}}}}
    node = {"type": "object", "properties": {"part": {"$ref": "#/$defs/my.Part"}, "x": {"$ref": "#/$defs/Nope"}}}
    info = ResourceInfo(
        "things.io", "v1", "things", "Thing", True, CustomResourceStrategy(), schema_loader=lambda: Schema(node, defs)
    )
    schemas = oa.openapi_document("things.io", "v1", [info])["components"]["schemas"]
    thing = schemas["io.things.v1.Thing"]
    assert thing["properties"]["part"] == {"$ref": "#/components/schemas/my.Part"}
    assert thing["properties"]["x"] == {"x-kubernetes-preserve-unknown-fields": True}
    assert schemas["my.Part"] == {"type": "object", "properties": {"name": {"type": "string"}}}


def _kubectl_patch_meta(schemas: JSON, root: JSON, path: list[str]) -> JSON:
    """strategicpatch.PatchMetaFromOpenAPIV3: property lookup, then resolve allOf[0] / $ref.

    Returns the node holding the patch markers of the last path element."""
    current = root
    marker_node: JSON = root
    for key in path:
        is_list = key.endswith("[]")
        key = key.removesuffix("[]")
        marker_node = current["properties"][key]  # kubectl: "unable to find api field" otherwise
        current = marker_node
        if is_list:
            current = current["items"]
        if current.get("allOf"):
            current = current["allOf"][0]
        if "$ref" in current:
            current = schemas[current["$ref"].removeprefix("#/components/schemas/")]
    return marker_node


def test_strategic_merge_patch_metadata_reachable_like_kubectl() -> None:
    pods = ResourceInfo("", "v1", "pods", "Pod", True, Strategy(), subresources=("status",))
    doc = oa.openapi_document("", "v1", [pods])
    schemas = doc["components"]["schemas"]
    pod_gvk = {"group": "", "kind": "Pod", "version": "v1"}
    pod = next(s for s in schemas.values() if pod_gvk in s.get("x-kubernetes-group-version-kind", []))
    containers = _kubectl_patch_meta(schemas, pod, ["spec", "containers"])
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    env = _kubectl_patch_meta(schemas, pod, ["spec", "containers[]", "env"])
    assert env["x-kubernetes-patch-merge-key"] == "name"
    finalizers = _kubectl_patch_meta(schemas, pod, ["metadata", "finalizers"])
    assert finalizers["x-kubernetes-list-type"] == "set"


# --- determinism, hashing, caching ------------------------------------------------------------------


def test_hash_is_stable_and_order_independent() -> None:
    first = oa.openapi_document("", "v1", _core())
    again = oa.openapi_document("", "v1", list(reversed(_core())))
    assert oa.document_json(first) == oa.document_json(again)
    assert oa.document_hash(first) == oa.document_hash(again)
    assert re.fullmatch(r"[0-9A-F]{128}", oa.document_hash(first))
    # building other documents in between changes nothing (shared cached schemas are not mutated)
    oa.openapi_document("example.com", "v1", _custom())
    oa.openapi_document("rbac.authorization.k8s.io", "v1", _rbac())
    assert oa.document_hash(oa.openapi_document("", "v1", _core())) == oa.document_hash(first)
    # resources of other group/versions are ignored
    mixed = oa.openapi_document("", "v1", _core() + _rbac() + _custom())
    assert oa.document_hash(mixed) == oa.document_hash(first)


def test_hash_changes_with_content() -> None:
    base = oa.document_hash(oa.openapi_document("example.com", "v1", _custom()))
    other_schema = {**WIDGET_SCHEMA, "description": "Another widget."}
    assert oa.document_hash(oa.openapi_document("example.com", "v1", _custom(other_schema))) != base
    assert oa.document_hash(oa.openapi_document("example.com", "v1", _custom()[:1])) != base


def test_render_document_matches_and_caches() -> None:
    rendered = oa.render_document("example.com", "v1", _custom())
    doc = oa.openapi_document("example.com", "v1", _custom())
    assert rendered.body == oa.document_json(doc)
    assert rendered.hash == oa.document_hash(doc)
    assert oa.render_document("example.com", "v1", list(reversed(_custom()))) is rendered  # content-keyed
    changed = oa.render_document("example.com", "v1", _custom({**WIDGET_SCHEMA, "description": "changed"}))
    assert changed.hash != rendered.hash


def test_warm_build_is_fast() -> None:
    resources = _core()
    oa.openapi_document("", "v1", resources)  # warm-up: converts the definitions used
    start = time.perf_counter()
    for _ in range(10):
        oa.document_hash(oa.openapi_document("", "v1", resources))
    per_doc = (time.perf_counter() - start) / 10
    assert per_doc < 0.05, f"{per_doc * 1000:.1f} ms per document"
