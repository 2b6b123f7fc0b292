"""Strategic merge patch: upstream's own test vectors plus the built-in kinds this server serves."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from kube import errors
from kube.patch.strategic import apply_strategic_merge_patch
from kube.schema.core import Schema, builtin_definitions, schema_for_gvk

# The schema of upstream's test type `MergeItem` (patch_test.go), as OpenAPI v3.
_ITEM_REF = {"$ref": "#/components/schemas/mergeItem"}
MERGE_ITEM_DEFS: dict[str, Any] = {
    "mergeItem": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "value": {"type": "string"},
            "other": {"type": "string"},
            "mergingList": {
                "type": "array",
                "items": _ITEM_REF,
                "x-kubernetes-patch-strategy": "merge",
                "x-kubernetes-patch-merge-key": "name",
            },
            "nonMergingList": {"type": "array", "items": _ITEM_REF},
            "mergingIntList": {"type": "array", "items": {"type": "integer"}, "x-kubernetes-patch-strategy": "merge"},
            "nonMergingIntList": {"type": "array", "items": {"type": "integer"}},
            "mergeItemPtr": {
                "allOf": [_ITEM_REF],
                "x-kubernetes-patch-strategy": "merge",
                "x-kubernetes-patch-merge-key": "name",
            },
            "simpleMap": {"type": "object", "additionalProperties": {"type": "string"}},
            "replacingItem": {"x-kubernetes-patch-strategy": "replace"},
            "retainKeysMap": {
                "allOf": [{"$ref": "#/components/schemas/retainKeysMergeItem"}],
                "x-kubernetes-patch-strategy": "retainKeys",
            },
            "retainKeysMergingList": {
                "type": "array",
                "items": _ITEM_REF,
                "x-kubernetes-patch-merge-key": "name",
                "x-kubernetes-patch-strategy": "merge,retainKeys",
            },
            "jsonItem": {},
        },
    },
    "retainKeysMergeItem": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "value": {"type": "string"},
            "other": {"type": "string"},
            "simpleMap": {"type": "object", "additionalProperties": {"type": "string"}},
            "mergingList": {
                "type": "array",
                "items": _ITEM_REF,
                "x-kubernetes-patch-strategy": "merge",
                "x-kubernetes-patch-merge-key": "name",
            },
            "nonMergingList": {"type": "array", "items": _ITEM_REF},
            "mergingIntList": {"type": "array", "items": {"type": "integer"}, "x-kubernetes-patch-strategy": "merge"},
        },
    },
}
MERGE_ITEM = Schema(MERGE_ITEM_DEFS["mergeItem"], MERGE_ITEM_DEFS)

UPSTREAM = json.loads((Path(__file__).parent / "testdata" / "strategic_upstream.json").read_text())["cases"]


def _sorted_lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted_lists(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_sorted_lists(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v.get("name") if isinstance(v, dict) else v, sort_keys=True))
    return value


@pytest.mark.parametrize("case", UPSTREAM, ids=[c["name"] for c in UPSTREAM])
def test_upstream_vectors(case: dict[str, Any]) -> None:
    original = copy.deepcopy(case["original"])
    if "expectedError" in case:
        with pytest.raises(errors.BadRequest) as info:
            apply_strategic_merge_patch(original, case["patch"], MERGE_ITEM)
        assert case["expectedError"] in info.value.message
        return
    result = apply_strategic_merge_patch(original, case["patch"], MERGE_ITEM)
    if case.get("unorderedLists"):
        assert _sorted_lists(result) == _sorted_lists(case["expected"])
    else:
        assert result == case["expected"]
    assert original == case["original"], "the input must not be modified"


# --- built-in kinds -------------------------------------------------------------------------------
DEFS = builtin_definitions()
POD_SPEC = Schema(DEFS["io.k8s.api.core.v1.PodSpec"], DEFS)
POD = schema_for_gvk("", "v1", "Pod")
CONFIG_MAP = schema_for_gvk("", "v1", "ConfigMap")
NAMESPACE = schema_for_gvk("", "v1", "Namespace")
ROLE = schema_for_gvk("rbac.authorization.k8s.io", "v1", "Role")

SPEC = {
    "containers": [
        {
            "name": "app",
            "image": "app:1",
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            "ports": [{"containerPort": 80, "protocol": "TCP"}],
            "args": ["--x", "--y"],
        },
        {"name": "sidecar", "image": "side:1"},
    ],
    "volumes": [{"name": "data", "emptyDir": {}}],
    "nodeSelector": {"disk": "ssd"},
}

POD_SPEC_CASES: list[tuple[str, dict[str, Any], Any]] = [
    (
        "merge a container by name",
        {"containers": [{"name": "app", "image": "app:2"}]},
        lambda r: (
            r["containers"][0]["image"] == "app:2"
            and r["containers"][0]["env"] == SPEC["containers"][0]["env"]
            and len(r["containers"]) == 2
        ),
    ),
    (
        "new container without $setElementOrder goes first, as upstream",
        {"containers": [{"name": "new", "image": "n"}]},
        lambda r: [c["name"] for c in r["containers"]] == ["new", "app", "sidecar"],
    ),
    (
        "$setElementOrder places the new container",
        {
            "$setElementOrder/containers": [{"name": "app"}, {"name": "sidecar"}, {"name": "new"}],
            "containers": [{"name": "new", "image": "n"}],
        },
        lambda r: [c["name"] for c in r["containers"]] == ["app", "sidecar", "new"],
    ),
    (
        "$patch: delete removes a container",
        {"containers": [{"name": "sidecar", "$patch": "delete"}]},
        lambda r: [c["name"] for c in r["containers"]] == ["app"],
    ),
    (
        "$patch: replace replaces the list",
        {"containers": [{"$patch": "replace"}, {"name": "only", "image": "o"}]},
        lambda r: r["containers"] == [{"name": "only", "image": "o"}],
    ),
    (
        "nested env merges by name and null deletes a field",
        {
            "containers": [
                {
                    "name": "app",
                    "env": [
                        {"name": "B", "value": None, "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                        {"name": "C", "value": "3"},
                    ],
                }
            ]
        },
        lambda r: (
            r["containers"][0]["env"]
            == [
                {"name": "A", "value": "1"},
                {"name": "B", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "C", "value": "3"},
            ]
        ),
    ),
    (
        "a new item goes before the live items that follow the patched ones",
        {"containers": [{"name": "app", "env": [{"name": "A", "value": "0"}, {"name": "Z", "value": "9"}]}]},
        lambda r: [e["name"] for e in r["containers"][0]["env"]] == ["A", "Z", "B"],
    ),
    (
        "ports merge by containerPort",
        {"containers": [{"name": "app", "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 443}]}]},
        lambda r: (
            r["containers"][0]["ports"]
            == [{"containerPort": 80, "protocol": "TCP", "name": "http"}, {"containerPort": 443}]
        ),
    ),
    (
        "atomic args are replaced",
        {"containers": [{"name": "app", "args": ["--z"]}]},
        lambda r: r["containers"][0]["args"] == ["--z"],
    ),
    (
        "maps merge, null deletes a key",
        {"nodeSelector": {"disk": None, "zone": "a"}},
        lambda r: r["nodeSelector"] == {"zone": "a"},
    ),
    (
        "retainKeys on a volume clears the other volume source",
        {
            "$setElementOrder/volumes": [{"name": "data"}],
            "volumes": [{"$retainKeys": ["configMap", "name"], "name": "data", "configMap": {"name": "cm"}}],
        },
        lambda r: r["volumes"] == [{"name": "data", "configMap": {"name": "cm"}}],
    ),
    (
        "$setElementOrder reorders without other changes",
        {"$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}]},
        lambda r: [c["name"] for c in r["containers"]] == ["sidecar", "app"],
    ),
    ("$patch: delete on a map empties it", {"nodeSelector": {"$patch": "delete"}}, lambda r: r["nodeSelector"] == {}),
    (
        "$patch: replace on a map replaces it",
        {"nodeSelector": {"$patch": "replace", "zone": "b"}},
        lambda r: r["nodeSelector"] == {"zone": "b"},
    ),
    (
        "a new list is taken without its directives",
        {
            "initContainers": [
                {"name": "init", "image": "i", "env": [{"name": "X", "value": "1"}]},
                {"name": "gone", "$patch": "delete"},
            ]
        },
        lambda r: r["initContainers"] == [{"name": "init", "image": "i", "env": [{"name": "X", "value": "1"}]}],
    ),
    (
        "directives inside a new map do not leak",
        {
            "affinity": {
                "nodeAffinity": {
                    "$retainKeys": ["x"],
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "$setElementOrder/nodeSelectorTerms": [],
                        "nodeSelectorTerms": [],
                    },
                }
            }
        },
        lambda r: (
            r["affinity"]
            == {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}}
        ),
    ),
]


@pytest.mark.parametrize(("patch", "check"), [c[1:] for c in POD_SPEC_CASES], ids=[c[0] for c in POD_SPEC_CASES])
def test_pod_spec(patch: dict[str, Any], check: Any) -> None:
    before = copy.deepcopy(SPEC)
    result = apply_strategic_merge_patch(SPEC, patch, POD_SPEC)
    assert check(result), result
    assert SPEC == before


def test_kubectl_three_way_patch_on_a_pod() -> None:
    live = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "labels": {"app": "x", "tier": "web"}},
        "spec": copy.deepcopy(SPEC),
    }
    patch = {
        "metadata": {
            "labels": {"tier": None},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
        },
        "spec": {
            "$setElementOrder/containers": [{"name": "app"}],
            "containers": [
                {
                    "$setElementOrder/env": [{"name": "A"}],
                    "name": "app",
                    "image": "app:3",
                    "env": [{"$patch": "delete", "name": "B"}],
                },
                {"$patch": "delete", "name": "sidecar"},
            ],
        },
    }
    result = apply_strategic_merge_patch(live, patch, POD)
    assert result["metadata"]["labels"] == {"app": "x"}
    assert result["spec"]["containers"] == [
        {
            "name": "app",
            "image": "app:3",
            "env": [{"name": "A", "value": "1"}],
            "ports": [{"containerPort": 80, "protocol": "TCP"}],
            "args": ["--x", "--y"],
        }
    ]


def test_metadata_lists_of_every_kind() -> None:
    owner = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d", "uid": "u1"}
    live = {"metadata": {"name": "cm", "finalizers": ["a", "b"], "ownerReferences": [owner]}, "data": {"k": "v"}}
    patch = {
        "metadata": {
            "finalizers": ["c"],
            "$deleteFromPrimitiveList/finalizers": ["a"],
            "ownerReferences": [
                {"uid": "u1", "controller": True},
                {"apiVersion": "v1", "kind": "Secret", "name": "s", "uid": "u2"},
            ],
        }
    }
    result = apply_strategic_merge_patch(live, patch, CONFIG_MAP)
    # new primitives go before the remaining live ones, as upstream orders them
    assert result["metadata"]["finalizers"] == ["c", "b"]
    assert result["metadata"]["ownerReferences"] == [
        {**owner, "controller": True},
        {"apiVersion": "v1", "kind": "Secret", "name": "s", "uid": "u2"},
    ]
    # metadata is always read with ObjectMeta, even without a schema
    assert apply_strategic_merge_patch(live, patch, None)["metadata"]["finalizers"] == ["c", "b"]


@pytest.mark.parametrize(
    ("schema", "live", "patch", "expected"),
    [
        (CONFIG_MAP, {"data": {"a": "1", "b": "2"}}, {"data": {"b": None, "c": "3"}}, {"data": {"a": "1", "c": "3"}}),
        (CONFIG_MAP, {"data": {"a": "1"}}, {"data": {"$patch": "replace", "z": "9"}}, {"data": {"z": "9"}}),
        (
            NAMESPACE,
            {"spec": {"finalizers": ["kubernetes", "x"]}},
            {"spec": {"finalizers": ["y"]}},
            {"spec": {"finalizers": ["y"]}},
        ),
        (
            ROLE,
            {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
            {"rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]},
            {"rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]},
        ),
        (
            None,
            {"spec": {"items": [{"name": "a", "v": 1}]}},
            {"spec": {"items": [{"name": "b"}]}},
            {"spec": {"items": [{"name": "b"}]}},
        ),
        (
            None,
            {"spec": {"a": {"b": 1, "c": 2}}},
            {"spec": {"a": {"c": None, "d": [None]}}},
            {"spec": {"a": {"b": 1, "d": [None]}}},
        ),
    ],
    ids=[
        "configmap data",
        "map $patch replace",
        "namespace finalizers are atomic",
        "role rules are atomic",
        "no schema: lists replaced",
        "no schema: maps merged",
    ],
)
def test_replacement_and_maps(
    schema: Schema | None, live: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert apply_strategic_merge_patch(live, patch, schema) == expected


@pytest.mark.parametrize(
    ("patch", "error", "fragment"),
    [
        ({"containers": [{"image": "x"}]}, errors.BadRequest, "does not contain declared merge key: name"),
        ({"containers": [{"$patch": "delete"}]}, errors.BadRequest, "does not contain declared merge key"),
        ({"containers": [{"$patch": "merge", "name": "app"}]}, errors.BadRequest, "merging lists cannot yet"),
        ({"containers": [{"$patch": "bogus", "name": "app"}]}, errors.BadRequest, "unknown patch type: bogus"),
        ({"nodeSelector": {"$patch": "bogus"}}, errors.BadRequest, "unknown patch type: bogus"),
        ({"$retainKeys": "volumes"}, errors.BadRequest, "invalid patch format of retainKeys"),
        ({"$retainKeys": ["volumes"], "containers": []}, errors.BadRequest, "invalid patch format of retainKeys"),
        ({"$setElementOrder/containers": {"name": "x"}}, errors.BadRequest, "setElementOrder"),
        ({"$setElementOrder": []}, errors.BadRequest, "invalid patch format of setElementOrder list"),
        ({"$deleteFromPrimitiveList": ["x"]}, errors.BadRequest, "invalid patch format of primitive list"),
        (
            {"$setElementOrder/containers": [{"name": "sidecar"}], "containers": [{"name": "app", "image": "x"}]},
            errors.BadRequest,
            "doesn't match $setElementOrder list",
        ),
    ],
)
def test_malformed_patches(patch: dict[str, Any], error: type[errors.StatusError], fragment: str | None) -> None:
    with pytest.raises(error) as info:
        apply_strategic_merge_patch(SPEC, patch, POD_SPEC)
    if fragment:
        assert fragment in info.value.message


def test_list_errors() -> None:
    merging = {"mergingIntList": [1, 2]}
    with pytest.raises(errors.Invalid) as invalid:
        apply_strategic_merge_patch(merging, {"mergingIntList": [[3]]}, MERGE_ITEM)
    assert invalid.value.code == 422
    with pytest.raises(errors.BadRequest, match="list element types are not identical"):
        apply_strategic_merge_patch(merging, {"mergingIntList": ["3"]}, MERGE_ITEM)


@pytest.mark.parametrize("patch", [None, [], "x", 3])
def test_non_object_patch_is_400(patch: Any) -> None:
    with pytest.raises(errors.BadRequest, match="cannot unmarshal"):
        apply_strategic_merge_patch({}, patch, CONFIG_MAP)
