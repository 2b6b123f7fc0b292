"""Field sets (FieldsV1) and the schema-aware walks server-side apply is built on."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kube.patch.fieldpath import Path, canonical_pe, fields_to_set, iterate, path_string, set_to_fields
from kube.patch.typed import TypedError, compare, field_set, merge, remove_items, with_named_parents
from kube.schema.core import Schema, builtin_definitions, schema_for_gvk

DEFS = builtin_definitions()
POD = schema_for_gvk("", "v1", "Pod")
CONFIG_MAP = schema_for_gvk("", "v1", "ConfigMap")
ROLE = schema_for_gvk("rbac.authorization.k8s.io", "v1", "Role")
LIST_MAP = {
    "type": "array",
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["name"],
    "items": {"type": "object", "properties": {"name": {"type": "string"}, "value": {"type": "integer"}}},
}
SET = {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}
CRD = Schema(
    {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "replicas": {"type": "integer"},
                    "ports": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"port": {"type": "integer"}}},
                    },
                    "selector": {
                        "type": "object",
                        "x-kubernetes-map-type": "atomic",
                        "additionalProperties": {"type": "string"},
                    },
                    "env": LIST_MAP,
                    "tags": SET,
                    "extra": {
                        "type": "object",
                        "additionalProperties": {"type": "object", "properties": {"x": {"type": "string"}}},
                    },
                },
            }
        },
    },
    {},
)

NGINX_KEY = 'k:{"name":"nginx"}'
PORT_KEY = 'k:{"containerPort":80,"protocol":"TCP"}'
# what the apiserver records for `kubectl apply --server-side` of a small pod
POD_FIELDS: dict[str, Any] = {
    "f:metadata": {"f:finalizers": {'v:"example.com/x"': {}}, "f:labels": {"f:app": {}}},
    "f:spec": {
        "f:containers": {
            NGINX_KEY: {
                ".": {},
                "f:image": {},
                "f:name": {},
                "f:ports": {PORT_KEY: {".": {}, "f:containerPort": {}, "f:protocol": {}}},
            }
        }
    },
}
POD_OBJ: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p", "namespace": "ns", "labels": {"app": "web"}, "finalizers": ["example.com/x"]},
    "spec": {"containers": [{"name": "nginx", "image": "nginx", "ports": [{"containerPort": 80, "protocol": "TCP"}]}]},
}


def strings(paths: set[Path]) -> set[str]:
    return {path_string(p) for p in paths}


# --- FieldsV1 ---------------------------------------------------------------------------------------
def test_fields_round_trip_keeps_upstream_key_order() -> None:
    paths = fields_to_set(POD_FIELDS)
    assert json.dumps(set_to_fields(paths)) == json.dumps(POD_FIELDS)
    assert (("f:spec", "f:containers", NGINX_KEY)) in paths
    assert ("f:spec", "f:containers") not in paths, "a parent without `.` is not a member"


def test_member_with_children_gets_a_dot() -> None:
    paths = {("f:metadata", "f:labels"), ("f:metadata", "f:labels", "f:a"), ("f:data", "f:b")}
    assert set_to_fields(paths) == {"f:data": {"f:b": {}}, "f:metadata": {"f:labels": {".": {}, "f:a": {}}}}
    assert list(set_to_fields(paths)) == ["f:data", "f:metadata"]


def test_element_order_fields_keys_values_indexes() -> None:
    paths = {("f:l", "i:2"), ("f:l", 'v:"b"'), ("f:l", 'k:{"a":1}'), ("f:l", "f:z"), ("f:l", "i:10"), ("f:l", 'v:"a"')}
    assert list(set_to_fields(paths)["f:l"]) == ["f:z", 'k:{"a":1}', 'v:"a"', 'v:"b"', "i:2", "i:10"]


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ('k:{"protocol":"TCP","containerPort":80}', 'k:{"containerPort":80,"protocol":"TCP"}'),
        ('k:{ "name" : "a" }', 'k:{"name":"a"}'),
        ('v:"x"', 'v:"x"'),
        ("v:1.0", "v:1"),
        ('v:{"b":1,"a":2}', 'v:{"a":2,"b":1}'),
        ('v:"<&>"', 'v:"\\u003c\\u0026\\u003e"'),
        ("i:07", "i:7"),
        ("f:weird name", "f:weird name"),
    ],
)
def test_canonical_elements(raw: str, canonical: str) -> None:
    assert canonical_pe(raw) == canonical
    assert fields_to_set({raw: {}}) == {(canonical,)}


@pytest.mark.parametrize(
    "fields",
    [[], "x", {"f:a": []}, {"x:a": {}}, {"k:notjson": {}}, {"k:[1]": {}}, {"k:{}": {}}, {"i:one": {}}, {"f": {}}],
)
def test_malformed_fields(fields: Any) -> None:
    with pytest.raises(ValueError):
        fields_to_set(fields)


def test_empty_and_null_fields() -> None:
    assert fields_to_set(None) == set()
    assert fields_to_set({}) == set()
    assert fields_to_set({".": {}, "f:a": {".": {}}}) == {("f:a",)}


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (("f:data", "f:size"), ".data.size"),
        (("f:spec", "f:containers", NGINX_KEY, "f:image"), '.spec.containers[name="nginx"].image'),
        (("f:ports", PORT_KEY), '.ports[containerPort=80,protocol="TCP"]'),
        (("f:metadata", "f:finalizers", 'v:"a/b"'), '.metadata.finalizers[="a/b"]'),
        (("f:x", "v:true", "i:3"), ".x[=true][3]"),
    ],
)
def test_path_string(path: Path, text: str) -> None:
    assert path_string(path) == text


def test_iterate_lists_members_before_children() -> None:
    paths = {("f:b", "f:x"), ("f:a",), ("f:b",), ("f:c",), ("f:b", "f:a", "f:z")}
    assert iterate(paths) == [("f:a",), ("f:b",), ("f:c",), ("f:b", "f:x"), ("f:b", "f:a", "f:z")]


# --- field sets of objects --------------------------------------------------------------------------
def test_field_set_of_a_pod_matches_upstream() -> None:
    owned = field_set(POD_OBJ, POD)
    identity = {("f:apiVersion",), ("f:kind",), ("f:metadata", "f:name"), ("f:metadata", "f:namespace")}
    assert owned - identity == fields_to_set(POD_FIELDS)


@pytest.mark.parametrize(
    ("schema", "obj", "expected"),
    [
        (CONFIG_MAP, {"data": {"a": "1"}, "binaryData": {}}, {".data.a", ".binaryData"}),
        (
            CONFIG_MAP,
            {"metadata": {"labels": {"a": "1"}, "annotations": None}},
            {".metadata.labels.a", ".metadata.annotations"},
        ),
        (
            CONFIG_MAP,
            {"metadata": {"ownerReferences": [{"uid": "u1", "name": "o"}]}},
            {'.metadata.ownerReferences[uid="u1"]'},
        ),  # OwnerReference is an atomic struct
        (ROLE, {"rules": [{"verbs": ["get"]}]}, {".rules"}),
        (
            CRD,
            {"spec": {"replicas": 1, "ports": [{"port": 1}], "selector": {"a": "b"}}},
            {".spec.replicas", ".spec.ports", ".spec.selector"},
        ),
        (
            CRD,
            {"spec": {"env": [{"name": "A", "value": 1}], "tags": ["x", "y"]}},
            {
                '.spec.env[name="A"]',
                '.spec.env[name="A"].name',
                '.spec.env[name="A"].value',
                '.spec.tags[="x"]',
                '.spec.tags[="y"]',
            },
        ),
        (CRD, {"spec": {"extra": {"k": {"x": "1"}}}}, {".spec.extra.k", ".spec.extra.k.x"}),
        (CRD, {"spec": {"env": []}}, set()),
        (
            None,
            {"spec": {"a": {"b": 1}, "l": [1, 2]}, "metadata": {"finalizers": ["f"]}},
            {".spec", ".spec.a", ".spec.a.b", ".spec.l", '.metadata.finalizers[="f"]'},
        ),
    ],
    ids=[
        "map keys and empty maps",
        "labels and null",
        "ownerReferences by uid",
        "atomic rules",
        "crd lists atomic",
        "list-map and set",
        "map of structs",
        "empty granular list",
        "no schema",
    ],
)
def test_field_set(schema: Schema | None, obj: dict[str, Any], expected: set[str]) -> None:
    assert strings(field_set(obj, schema)) == expected


def test_field_set_reports_nulls() -> None:
    nulls: set[Path] = set()
    field_set({"data": {"a": None}, "metadata": {"labels": None}}, CONFIG_MAP, nulls)
    assert strings(nulls) == {".data.a", ".metadata.labels"}


def test_list_map_keys() -> None:
    with pytest.raises(TypedError, match="duplicate entries for key"):
        field_set({"spec": {"env": [{"name": "A"}, {"name": "A"}]}}, CRD)
    with pytest.raises(TypedError, match=r'omits all key fields \["name"\]'):
        field_set({"spec": {"env": [{"value": 1}]}}, CRD)
    with pytest.raises(TypedError, match="may not have a null element"):
        field_set({"spec": {"env": [None]}}, CRD)
    with pytest.raises(TypedError, match="without keys has an element that's a map"):
        field_set({"spec": {"tags": [{"a": 1}]}}, CRD)
    two_keys = dict(LIST_MAP, **{"x-kubernetes-list-map-keys": ["name", "proto"]})
    assert strings(field_set({"l": [{"name": "a"}]}, Schema({"properties": {"l": two_keys}}, {}))) == {
        '.l[name="a"]',
        '.l[name="a"].name',
    }, "an absent key field is left out of the key"
    defaulted = dict(LIST_MAP, items={"type": "object", "properties": {"name": {"type": "string", "default": "d"}}})
    assert strings(field_set({"l": [{}]}, Schema({"properties": {"l": defaulted}}, {}))) == {'.l[name="d"]'}
    # built-ins that only declare a patch merge key for a list-map still key by it
    legacy = {
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-patch-merge-key": "id",
        "items": {"type": "object"},
    }
    assert strings(field_set({"l": [{"id": 1}]}, Schema({"properties": {"l": legacy}}, {}))) == {
        ".l[id=1]",
        ".l[id=1].id",
    }


def test_with_named_parents() -> None:
    paths = {("f:spec", "f:containers", NGINX_KEY, "f:image"), ("f:metadata", "f:labels", "f:app")}
    assert strings(with_named_parents(paths, POD)) == {
        '.spec.containers[name="nginx"].image',
        ".spec",
        ".spec.containers",
        ".metadata.labels.app",
        ".metadata",
        ".metadata.labels",
    }
    assert strings(with_named_parents({("f:spec", "f:a", "f:b")}, None)) == {".spec.a.b"}


# --- compare, merge, remove ----------------------------------------------------------------------------
def test_compare() -> None:
    old = {"data": {"a": "1", "b": "2"}, "metadata": {"labels": {"x": "1"}}}
    new = {"data": {"a": "1", "b": "3", "c": "4"}, "metadata": {"annotations": {"y": "1"}}}
    diff = compare(old, new, CONFIG_MAP)
    assert strings(diff.modified) == {".data.b"}
    assert strings(diff.added) == {".data.c", ".metadata.annotations", ".metadata.annotations.y"}
    assert strings(diff.removed) == {".metadata.labels", ".metadata.labels.x"}
    assert strings(compare({}, {"spec": {"a": {"b": [1]}}}, None).added) == {".spec", ".spec.a", ".spec.a.b"}
    assert not compare({"d": {}}, {"d": {}}, None).changed
    nulled = compare(
        {"spec": {"selector": {"a": "1"}, "extra": {"k": {"x": "1"}}}}, {"spec": {"selector": None, "extra": None}}, CRD
    )
    assert strings(nulled.modified) == {".spec.selector"}, "an atomic map is a leaf"
    assert strings(nulled.removed) == {".spec.extra.k", ".spec.extra.k.x"}, "null reads as an empty granular map"
    assert strings(compare({"d": True}, {"d": 1}, None).modified) == {".d"}


@pytest.mark.parametrize(
    ("live", "config", "expected"),
    [
        (["a", "b", "c", "d"], ["a", "aprime", "c", "cprime"], ["a", "b", "aprime", "c", "d", "cprime"]),
        (["a", "x", "b"], ["b", "a"], ["x", "b", "a"]),
        (["a", "b", "x"], ["b", "a"], ["b", "x", "a"]),
        ([], ["a"], ["a"]),
        (["a"], [], ["a"]),
    ],
)
def test_merge_keeps_live_only_items_in_place(live: list[str], config: list[str], expected: list[str]) -> None:
    assert merge({"spec": {"tags": live}}, {"spec": {"tags": config}}, CRD) == {"spec": {"tags": expected}}


def test_merge_by_schema() -> None:
    live = {
        "spec": {
            "replicas": 1,
            "ports": [{"port": 1}],
            "selector": {"a": "1", "b": "2"},
            "env": [{"name": "A", "value": 1}, {"name": "B", "value": 2}],
        }
    }
    config = {"spec": {"ports": [{"port": 2}], "selector": {"c": "3"}, "env": [{"name": "B", "value": 3}]}}
    assert merge(live, config, CRD) == {
        "spec": {
            "replicas": 1,
            "ports": [{"port": 2}],
            "selector": {"c": "3"},
            "env": [{"name": "A", "value": 1}, {"name": "B", "value": 3}],
        }
    }
    with pytest.raises(TypedError, match="duplicate"):
        merge(live, {"spec": {"env": [{"name": "C"}, {"name": "C"}]}}, CRD)
    # null against a non-empty granular map or list keeps its items, as in structured-merge-diff
    assert merge(live, {"spec": {"env": None, "selector": None}}, CRD)["spec"]["env"] == live["spec"]["env"]
    assert merge(live, {"spec": {"env": None, "selector": None}}, CRD)["spec"]["selector"] is None


def test_remove_items() -> None:
    obj = {"spec": {"env": [{"name": "A", "value": 1}, {"name": "B"}], "tags": ["x"], "replicas": 2}}
    removed = remove_items(
        obj,
        {
            ("f:spec", "f:env", 'k:{"name":"A"}'),
            ("f:spec", "f:tags", 'v:"x"'),
            ("f:spec", "f:env", 'k:{"name":"B"}', "f:name"),
        },
        CRD,
    )
    assert removed == {"spec": {"replicas": 2}}, "emptied lists and items disappear"
    assert remove_items(obj, set(), CRD) is obj
