"""JSON Patch (RFC 6902) as the apiserver applies it: 400 for undecodable bodies, 422 for
operations that fail, 413 past 10,000 operations."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kube import errors
from kube.patch.json_patch import MAX_OPERATIONS, REJECTED, apply_json_patch

CM: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {
        "name": "cm",
        "namespace": "default",
        "resourceVersion": "7",
        "labels": {"app": "web"},
        "managedFields": [
            {
                "manager": "kubectl-client-side-apply",
                "operation": "Update",
                "apiVersion": "v1",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:data": {"f:a": {}}},
            }
        ],
    },
    "data": {"a": "1", "b": "2"},
    "list": [1, 2, 3],
}


@pytest.mark.parametrize(
    ("ops", "check"),
    [
        ([{"op": "add", "path": "/data/c", "value": "3"}], lambda o: o["data"] == {"a": "1", "b": "2", "c": "3"}),
        ([{"op": "remove", "path": "/data/a"}], lambda o: o["data"] == {"b": "2"}),
        ([{"op": "replace", "path": "/data/a", "value": "x"}], lambda o: o["data"]["a"] == "x"),
        ([{"op": "move", "from": "/data/a", "path": "/data/z"}], lambda o: o["data"] == {"b": "2", "z": "1"}),
        ([{"op": "copy", "from": "/data/a", "path": "/data/z"}], lambda o: o["data"]["z"] == o["data"]["a"] == "1"),
        ([{"op": "add", "path": "/list/-", "value": 4}], lambda o: o["list"] == [1, 2, 3, 4]),
        ([{"op": "add", "path": "/list/0", "value": 0}], lambda o: o["list"] == [0, 1, 2, 3]),
        ([{"op": "remove", "path": "/list/1"}], lambda o: o["list"] == [1, 3]),
        (
            [{"op": "add", "path": "/metadata/labels/app.kubernetes.io~1name", "value": "x"}],
            lambda o: o["metadata"]["labels"]["app.kubernetes.io/name"] == "x",
        ),
        (
            [{"op": "test", "path": "/data/a", "value": "1"}, {"op": "replace", "path": "/data/b", "value": "9"}],
            lambda o: o["data"]["b"] == "9",
        ),
        # kubectl's client-side -> server-side apply migration (csaupgrade)
        (
            [
                {
                    "op": "replace",
                    "path": "/metadata/managedFields",
                    "value": [{"manager": "kubectl", "operation": "Apply"}],
                },
                {"op": "replace", "path": "/metadata/resourceVersion", "value": "7"},
            ],
            lambda o: o["metadata"]["managedFields"] == [{"manager": "kubectl", "operation": "Apply"}],
        ),
        (
            [{"op": "replace", "path": "/metadata/managedFields", "value": [{}]}],
            lambda o: o["metadata"]["managedFields"] == [{}],
        ),
        ([], lambda o: o == CM),
        (None, lambda o: o == CM),
        # a `test` for null on a missing path succeeds, as in Go's json-patch
        ([{"op": "test", "path": "/metadata/annotations", "value": None}], lambda o: o == CM),
    ],
)
def test_operations(ops: Any, check: Any) -> None:
    before = copy.deepcopy(CM)
    result = apply_json_patch(CM, ops)
    assert check(result)
    assert CM == before, "the input must not be modified"


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "test", "path": "/data/a", "value": "2"}],
        [{"op": "test", "path": "/data/missing", "value": "x"}],
        [{"op": "remove", "path": "/data/missing"}],
        [{"op": "replace", "path": "/nope/deeper", "value": 1}],
        [{"op": "add", "path": "/nope/deeper", "value": 1}],
        [{"op": "add", "path": "/list/9", "value": 1}],
        [{"op": "move", "from": "/missing", "path": "/x"}],
        [{"op": "frobnicate", "path": "/data"}],
        [{"path": "/data"}],
        [{"op": "add", "path": "data", "value": 1}],
        [{"op": "replace", "path": "", "value": [1, 2]}],
    ],
)
def test_failed_operations_are_422(ops: list[dict[str, Any]]) -> None:
    with pytest.raises(errors.Invalid) as info:
        apply_json_patch(CM, ops)
    assert info.value.code == 422
    assert info.value.message == REJECTED
    assert info.value.causes and info.value.causes[0].field == "patch"


def test_failure_is_atomic() -> None:
    before = copy.deepcopy(CM)
    with pytest.raises(errors.Invalid):
        apply_json_patch(CM, [{"op": "remove", "path": "/data/a"}, {"op": "test", "path": "/data/b", "value": "x"}])
    assert CM == before


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"op": "add", "path": "/a", "value": 1}, "cannot unmarshal object"),
        ("add", "cannot unmarshal string"),
        (3, "cannot unmarshal number"),
        ([1], "into Go value of type jsonpatch.Operation"),
        (["op"], "cannot unmarshal string"),
    ],
)
def test_undecodable_body_is_400(body: Any, fragment: str) -> None:
    with pytest.raises(errors.BadRequest) as info:
        apply_json_patch(CM, body)
    assert info.value.code == 400
    assert fragment in info.value.message


def test_too_many_operations() -> None:
    ops = [{"op": "test", "path": "/kind", "value": "ConfigMap"}] * (MAX_OPERATIONS + 1)
    with pytest.raises(errors.RequestEntityTooLarge) as info:
        apply_json_patch(CM, ops)
    assert info.value.code == 413
    assert info.value.message == "The allowed maximum operations in a JSON patch is 10000, got 10001"
