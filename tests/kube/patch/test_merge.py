"""JSON Merge Patch (RFC 7386) and the patch generator used by tests and the portal."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kube import errors
from kube.patch.merge import apply_merge_patch, create_merge_patch

# RFC 7386 appendix A, wrapped in an object where the RFC's target or result is not one.
RFC_7386 = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    ({"x": ["a", "b"]}, {"x": ["c", "d"]}, {"x": ["c", "d"]}),
    ({"x": {"a": "b"}}, {"x": {"a": "b"}}, {"x": {"a": "b"}}),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ({"x": [1, 2]}, {"x": {"a": "b", "c": None}}, {"x": {"a": "b"}}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "expected"), RFC_7386)
def test_rfc_7386_examples(target: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]) -> None:
    before = copy.deepcopy(target)
    assert apply_merge_patch(target, patch) == expected
    assert target == before


@pytest.mark.parametrize("patch", [None, [], ["a"], "x", 1, True])
def test_non_object_patch_is_400(patch: Any) -> None:
    with pytest.raises(errors.BadRequest) as info:
        apply_merge_patch({"a": 1}, patch)
    assert info.value.message == "Invalid JSON Patch"


def test_kubectl_label_and_scale_shapes() -> None:
    obj = {"metadata": {"name": "x", "labels": {"a": "1", "b": "2"}}, "spec": {"replicas": 1}}
    patched = apply_merge_patch(obj, {"metadata": {"labels": {"a": None, "c": "3"}}, "spec": {"replicas": 3}})
    assert patched == {"metadata": {"name": "x", "labels": {"b": "2", "c": "3"}}, "spec": {"replicas": 3}}


@pytest.mark.parametrize(
    ("original", "modified", "patch"),
    [
        ({"a": 1}, {"a": 1}, {}),
        ({"a": 1}, {"a": 2}, {"a": 2}),
        ({"a": 1, "b": 2}, {"a": 1}, {"b": None}),
        ({"a": {"x": 1, "y": 2}}, {"a": {"x": 1, "y": 3}}, {"a": {"y": 3}}),
        ({"a": {"x": 1}}, {"a": {"x": 1}, "b": [1]}, {"b": [1]}),
        ({"a": [1, 2]}, {"a": [2, 1]}, {"a": [2, 1]}),
        ({"a": True}, {"a": 1}, {"a": 1}),
        ({"a": {"x": 1}}, {"a": "s"}, {"a": "s"}),
    ],
)
def test_create_merge_patch(original: dict[str, Any], modified: dict[str, Any], patch: dict[str, Any]) -> None:
    assert create_merge_patch(original, modified) == patch
    assert apply_merge_patch(original, patch) == modified


@pytest.mark.parametrize(("target", "patch", "expected"), RFC_7386)
def test_create_merge_patch_round_trips(
    target: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert apply_merge_patch(target, create_merge_patch(target, expected)) == expected
