"""kube.schema.jsonpath: the JSONPath subset of CRD printer columns and scale paths."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kube.schema import jsonpath
from kube.schema.jsonpath import Field, Filter, Index, Path, Recursive, Slice, Wildcard

OBJ: dict[str, Any] = {
    "metadata": {"name": "w1", "labels": {"app.kubernetes.io/name": "web"}, "annotations": {"a.b": "dotted"}},
    "spec": {"size": 3, "a.b": "bracketed", "tags": ["x", "y", "z"], "replicas": 0},
    "status": {
        "conditions": [
            {"type": "Progressing", "status": "True", "n": 1},
            {"type": "Ready", "status": "False", "n": 2},
            {"type": "Ready", "status": "True", "n": 3},
        ]
    },
    "items": [{"name": "a"}, {"name": "b"}, {"other": 1}],
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (".spec.size", [3]),
        ("{.spec.size}", [3]),
        (" { .spec.size } ", [3]),
        ("$.spec.size", [3]),
        ("{$.spec.size}", [3]),
        (".metadata.name", ["w1"]),
        (".spec.replicas", [0]),
        (".spec['a.b']", ["bracketed"]),
        ('.spec["a.b"]', ["bracketed"]),
        (".metadata.annotations.a\\.b", ["dotted"]),
        (".metadata.labels.app\\.kubernetes\\.io/name", ["web"]),
        (".metadata['labels', 'name']", [{"app.kubernetes.io/name": "web"}, "w1"]),
        (".status.conditions[0].type", ["Progressing"]),
        (".status.conditions[-1].n", [3]),
        (".status.conditions[5].type", []),
        (".status.conditions[-9].type", []),
        (".status.conditions[0,2].n", [1, 3]),
        (".status.conditions[1:].n", [2, 3]),
        (".status.conditions[:2].n", [1, 2]),
        (".status.conditions[::2].n", [1, 3]),
        (".status.conditions[*].type", ["Progressing", "Ready", "Ready"]),
        (".status.conditions.*.n", [1, 2, 3]),
        (".items[*].name", ["a", "b"]),
        ('.status.conditions[?(@.type=="Ready")].status', ["False", "True"]),
        (".status.conditions[?(@.type=='Ready')].n", [2, 3]),
        ('.status.conditions[?(@.type != "Ready")].n', [1]),
        (".status.conditions[?(@.n > 1)].n", [2, 3]),
        (".status.conditions[?(@.n >= 2.5)].n", [3]),
        (".status.conditions[?(@.n < 2)].type", ["Progressing"]),
        (".status.conditions[?(@.n <= 2)].n", [1, 2]),
        (".items[?(@.name)].name", ["a", "b"]),
        (".items[?(@.other==1)]", [{"other": 1}]),
        ('.status.conditions[?(@.n=="1")].n', []),  # incomparable types never match
        (".status.conditions[?(@.type > 1)].n", []),
        ("..name", ["w1", "a", "b"]),
        ("..n", [1, 2, 3]),
        (".spec.missing", []),
        (".spec.size.deeper", []),
        (".spec.tags.name", []),
        (".metadata[0]", []),
        (".", [OBJ]),
    ],
)
def test_find(path: str, expected: list[Any]) -> None:
    assert jsonpath.parse(path).find(OBJ) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (".spec.size", 3),
        (".items[*].name", "a"),  # the column printer shows the first match
        ('.status.conditions[?(@.type=="Ready")].status', "False"),
        (".spec.nope", None),
        (".spec.replicas", 0),
    ],
)
def test_get_first(path: str, expected: Any) -> None:
    assert jsonpath.get(OBJ, path) == expected


def test_parse_structure_and_cache() -> None:
    p = jsonpath.parse('{.status.conditions[?(@.type=="Ready")].status}')
    assert p.steps == (
        Field("status"),
        Field("conditions"),
        Filter((Field("type"),), "==", "Ready"),
        Field("status"),
    )
    assert jsonpath.parse('{.status.conditions[?(@.type=="Ready")].status}') is p
    assert jsonpath.parse("..x").steps == (Recursive(), Field("x"))
    assert jsonpath.parse(".a[*]").steps == (Field("a"), Wildcard())
    assert jsonpath.parse(".a[1:2]").steps == (Field("a"), Slice(1, 2, None))
    assert jsonpath.parse(".a[1]").steps == (Field("a"), Index((1,)))
    assert p.field_names is None
    assert jsonpath.parse(".spec.replicas").field_names == ("spec", "replicas")


@pytest.mark.parametrize(
    ("literal", "value"),
    [("true", True), ("false", False), ("null", None), ("1.5", 1.5), ("-2", -2), ("'x y'", "x y")],
)
def test_filter_literals(literal: str, value: Any) -> None:
    step = jsonpath.parse(f".a[?(@.b == {literal})]").steps[1]
    assert isinstance(step, Filter) and step.literal == value


@pytest.mark.parametrize(
    "path",
    [
        "",
        "   ",
        "{}",
        "{.a",
        "{.a}{.b}",
        ".a..",
        ".a.",
        ".a[",
        ".a[]",
        ".a[x]",
        ".a['x",
        ".a['x'",
        ".a[?(@.b==)]",
        ".a[?(@.b==nope)]",
        ".a[?(@.b==1e999)]",
        ".a[?(.b)]",
        ".a[?@.b]",
        ".a[?(@.b",
        ".a[?(@..b)]",
        ".a[?(@.b[?(@.c)])]",
        ".a[1:2:0]",
        ".a[1:2:-1]",
        ".a[99999999999999999999]",
        "spec.size",
        ".a b",
        ".a)",
        "x" * 5000,
    ],
)
def test_parse_errors(path: str) -> None:
    with pytest.raises(ValueError, match="JSONPath"):
        jsonpath.parse(path)


def test_parse_rejects_non_strings() -> None:
    with pytest.raises(ValueError):
        jsonpath.parse(5)  # type: ignore[arg-type]


def test_get_raises_only_for_bad_paths() -> None:
    with pytest.raises(ValueError):
        jsonpath.get(OBJ, "nope")
    assert jsonpath.get(OBJ, jsonpath.parse(".spec.size")) == 3


@pytest.mark.parametrize("obj", [None, 5, "str", [], [1, 2], {"spec": None}, {"spec": [1]}, {"spec": "x"}])
def test_find_on_wrong_types_never_raises(obj: Any) -> None:
    for path in (".spec.size", ".spec[0]", ".spec[*]", "..size", '.spec[?(@.a=="b")]', ".spec[1:]", "."):
        jsonpath.parse(path).find(obj)


def test_recursive_descent_on_deep_objects() -> None:
    deep: Any = {"v": 0}
    for i in range(5000):
        deep = {"n": deep, "v": i + 1}
    assert len(jsonpath.parse("..v").find(deep)) == 5001


def test_set_value() -> None:
    obj: dict[str, Any] = {"spec": {"replicas": 1}}
    jsonpath.set_value(obj, ".spec.replicas", 5)
    assert obj == {"spec": {"replicas": 5}}
    jsonpath.set_value(obj, "{.spec.nested.deeper}", True)
    assert obj["spec"]["nested"] == {"deeper": True}
    jsonpath.set_value(obj, ".spec['a.b']", 1)
    assert obj["spec"]["a.b"] == 1
    empty: dict[str, Any] = {"spec": None}
    jsonpath.set_value(empty, ".spec.replicas", 2)
    assert empty == {"spec": {"replicas": 2}}


@pytest.mark.parametrize(
    ("obj", "path"),
    [
        ({"spec": "x"}, ".spec.replicas"),
        ({"spec": [1]}, ".spec.replicas"),
        ({}, ".spec[0]"),
        ({}, ".spec[*].x"),
        ({}, "..x"),
        ({}, "."),
        ({}, "bad"),
        ([], ".spec"),
    ],
)
def test_set_value_errors(obj: Any, path: str) -> None:
    with pytest.raises(ValueError):
        jsonpath.set_value(obj, path, 1)


def test_path_is_hashable_and_frozen() -> None:
    p = jsonpath.parse(".a.b")
    assert isinstance(p, Path) and hash(p) == hash(jsonpath.parse(".a.b"))
    with pytest.raises(AttributeError):
        p.source = "x"  # type: ignore[misc]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=".[]'\"?@()=!<>*:,{}$ab0123-\\ ", max_size=40))
def test_parse_fuzz_only_value_error(text: str) -> None:
    try:
        path = jsonpath.parse(text)
    except ValueError:
        return
    path.find(OBJ)
