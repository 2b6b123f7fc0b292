"""kube.schema.customresource: prune → default → validate on plain dicts, worded as the apiserver words it."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kube.errors import FieldErrors
from kube.schema import Schema
from kube.schema import customresource as cr
from tests.factories import widget_crd

Obj = dict[str, Any]


def causes(errs: FieldErrors) -> list[tuple[str, str, str]]:
    return [(c.field, c.reason, c.message) for c in errs.causes]


def widget(**spec: Any) -> Obj:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": spec}


def pipeline(obj: Obj, schema: Obj) -> tuple[Obj, list[str], FieldErrors]:
    pruned, removed = cr.prune(obj, schema)
    defaulted = cr.apply_defaults(pruned, schema)
    return defaulted, removed, cr.validate(defaulted, schema)


# --- the Widget CRD of the conformance suite -------------------------------------------------------------------


def test_widget_happy_path(widget_schema: Obj) -> None:
    obj = widget(size=3, extra={"x": 1})
    obj["status"] = {"ready": True, "bogus": 1}
    obj["metadata"]["unknownMeta"] = 1
    out, removed, errs = pipeline(obj, widget_schema)
    assert removed == ["metadata.unknownMeta", "spec.extra", "status.bogus"]
    assert out == {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w1"},
        "spec": {"size": 3, "color": "blue"},
        "status": {"ready": True},
    }
    assert not errs
    assert obj["spec"]["extra"] == {"x": 1}, "prune must not modify its input"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"size": -1},
            [
                (
                    "spec.size",
                    "FieldValueInvalid",
                    "Invalid value: -1: spec.size in body should be greater than or equal to 0",
                )
            ],
        ),
        (
            {"size": "string"},
            [
                (
                    "spec.size",
                    "FieldValueTypeInvalid",
                    'Invalid value: "string": spec.size in body must be of type integer: "string"',
                )
            ],
        ),
        (
            {"size": "3"},
            [
                (
                    "spec.size",
                    "FieldValueTypeInvalid",
                    'Invalid value: "string": spec.size in body must be of type integer: "string"',
                )
            ],
        ),
        (
            {"size": 1.5},
            [
                (
                    "spec.size",
                    "FieldValueTypeInvalid",
                    'Invalid value: "number": spec.size in body must be of type integer: "number"',
                ),
                (
                    "<nil>",
                    "FieldValueInvalid",
                    'Invalid value: "": Checked value must be of type integer (default format) in spec.size',
                ),
            ],
        ),
        ({"size": 2.0}, []),
        (
            {"size": True},
            [
                (
                    "spec.size",
                    "FieldValueTypeInvalid",
                    'Invalid value: "boolean": spec.size in body must be of type integer: "boolean"',
                )
            ],
        ),
        (
            {"size": [1]},
            [
                (
                    "spec.size",
                    "FieldValueTypeInvalid",
                    'Invalid value: "array": spec.size in body must be of type integer: "array"',
                )
            ],
        ),
        (
            {"size": {"a": 1}},
            [
                (
                    "spec.size",
                    "FieldValueTypeInvalid",
                    'Invalid value: "object": spec.size in body must be of type integer: "object"',
                )
            ],
        ),
        (
            {"color": 5},
            [
                (
                    "spec.color",
                    "FieldValueTypeInvalid",
                    'Invalid value: "integer": spec.color in body must be of type string: "integer"',
                )
            ],
        ),
        (
            {"size": 10**30},
            [
                (
                    "spec.size",
                    "FieldValueTypeInvalid",
                    'Invalid value: "number": spec.size in body must be of type integer: "number"',
                ),
                (
                    "<nil>",
                    "FieldValueInvalid",
                    'Invalid value: "": Checked value must be of type integer (default format) in spec.size',
                ),
            ],
        ),
        (
            {"size": -(10**30)},
            [
                (
                    "spec.size",
                    "FieldValueTypeInvalid",
                    'Invalid value: "number": spec.size in body must be of type integer: "number"',
                ),
                (
                    "<nil>",
                    "FieldValueInvalid",
                    'Invalid value: "": Checked value must be of type integer (default format) in spec.size',
                ),
                (
                    "spec.size",
                    "FieldValueInvalid",
                    "Invalid value: -1e+30: spec.size in body should be greater than or equal to 0",
                ),
            ],
        ),
        ({"size": 2**63 - 1}, []),
    ],
)
def test_widget_validation_messages(widget_schema: Obj, spec: Obj, expected: list[Any]) -> None:
    _, _, errs = pipeline(widget(**spec), widget_schema)
    assert causes(errs) == expected


def test_widget_null_fields_are_dropped_or_defaulted(widget_schema: Obj) -> None:
    out, removed, errs = pipeline(widget(size=None, color=None), widget_schema)
    assert out["spec"] == {"color": "blue"}
    assert removed == [] and not errs


def test_status_subresource_validation_path(widget_schema: Obj) -> None:
    errs = cr.validate({"ready": "yes"}, widget_schema["properties"]["status"], path="status", root=False)
    assert causes(errs) == [
        (
            "status.ready",
            "FieldValueTypeInvalid",
            'Invalid value: "string": ready in body must be of type boolean: "string"',
        )
    ]


def test_accepts_schema_wrapper(widget_schema: Obj) -> None:
    wrapped = Schema(widget_schema, {})
    assert cr.prune(widget(size=1, x=1), wrapped)[1] == ["spec.x"]
    assert not cr.validate(widget(size=1), wrapped)


# --- pruning ---------------------------------------------------------------------------------------------------

PRUNE_SCHEMA: Obj = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "known": {"type": "string"},
                "list": {"type": "array", "items": {"type": "object", "properties": {"a": {"type": "string"}}}},
                "map": {
                    "type": "object",
                    "additionalProperties": {"type": "object", "properties": {"k": {"type": "string"}}},
                },
                "anymap": {"type": "object", "additionalProperties": True},
                "free": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "properties": {"typed": {"type": "object", "properties": {"t": {"type": "string"}}}},
                },
                "freelist": {
                    "type": "array",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "items": {"type": "object", "properties": {"i": {"type": "string"}}},
                },
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "properties": {"spec": {"type": "object", "properties": {"x": {"type": "string"}}}},
                },
                "intstr": {"x-kubernetes-int-or-string": True},
                "nested": {"type": "object", "properties": {"metadata": {"type": "object"}}},
            },
        }
    },
}


@pytest.mark.parametrize(
    ("spec", "kept", "removed"),
    [
        ({"known": "a", "unknown": 1}, {"known": "a"}, ["spec.unknown"]),
        (
            {"list": [{"a": "x", "b": 1}, {"c": {"d": 1}}, "scalar"]},
            {"list": [{"a": "x"}, {}, "scalar"]},
            ["spec.list[0].b", "spec.list[1].c"],
        ),
        ({"map": {"one": {"k": "v", "z": 1}}}, {"map": {"one": {"k": "v"}}}, ["spec.map.one.z"]),
        (
            {"anymap": {"a": 1, "b": {"deep": 1}, "c": [{"x": 1}, [{"y": 2}]]}},
            {"anymap": {"a": 1, "b": {}, "c": [{}, [{}]]}},
            ["spec.anymap.b.deep", "spec.anymap.c[0].x", "spec.anymap.c[1][0].y"],
        ),
        (
            {"free": {"anything": {"goes": [1]}, "typed": {"t": "x", "u": 1}}},
            {"free": {"anything": {"goes": [1]}, "typed": {"t": "x"}}},
            ["spec.free.typed.u"],
        ),
        ({"freelist": [{"i": "x", "j": 1}]}, {"freelist": [{"i": "x", "j": 1}]}, []),
        (
            {
                "template": {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": "p", "bogus": 1},
                    "spec": {"x": "1", "y": 2},
                    "other": 1,
                }
            },
            {"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"x": "1"}}},
            ["spec.template.other", "spec.template.spec.y", "spec.template.metadata.bogus"],
        ),
        ({"intstr": {"a": 1}}, {"intstr": {}}, ["spec.intstr.a"]),
        (
            {"nested": {"metadata": {"a": 1}, "apiVersion": "x"}},
            {"nested": {"metadata": {}}},
            ["spec.nested.apiVersion", "spec.nested.metadata.a"],
        ),
    ],
)
def test_prune(spec: Obj, kept: Obj, removed: list[str]) -> None:
    out, got = cr.prune({"apiVersion": "a/v1", "kind": "K", "spec": spec}, PRUNE_SCHEMA)
    assert out == {"apiVersion": "a/v1", "kind": "K", "spec": kept}
    assert got == removed


def test_prune_root_keeps_type_meta_and_trims_object_meta() -> None:
    obj = {
        "apiVersion": "a/v1",
        "kind": "K",
        "metadata": {
            "name": "n",
            "labels": {"a": "b"},
            "zzz": 1,
            "ownerReferences": [{"uid": "u", "extra": 1}],
            "managedFields": [{"manager": "m", "fieldsV1": {"f:x": {}}, "nope": 1}],
        },
        "unknown": 1,
    }
    out, removed = cr.prune(obj, {"type": "object"})
    assert removed == ["metadata.zzz", "metadata.ownerReferences[0].extra", "metadata.managedFields[0].nope", "unknown"]
    assert out["metadata"] == {
        "name": "n",
        "labels": {"a": "b"},
        "ownerReferences": [{"uid": "u"}],
        "managedFields": [{"manager": "m", "fieldsV1": {"f:x": {}}}],
    }
    assert cr.prune(obj, {"type": "object"}, prune_metadata=False)[0]["metadata"] == obj["metadata"]


def test_prune_root_preserve_unknown_fields() -> None:
    out, removed = cr.prune(
        {"x": {"y": 1}, "kind": "K"}, {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    )
    assert out == {"x": {"y": 1}, "kind": "K"} and removed == []


def test_prune_result_shares_nothing_with_input() -> None:
    obj = {"spec": {"free": {"a": {"b": [1, {"c": 2}]}}, "list": [{"a": "x"}]}, "metadata": {"labels": {"a": "b"}}}
    out, _ = cr.prune(obj, PRUNE_SCHEMA)
    out["spec"]["free"]["a"]["b"][1]["c"] = 3
    out["spec"]["list"][0]["a"] = "y"
    out["metadata"]["labels"]["a"] = "c"
    assert obj == {
        "spec": {"free": {"a": {"b": [1, {"c": 2}]}}, "list": [{"a": "x"}]},
        "metadata": {"labels": {"a": "b"}},
    }


@pytest.mark.parametrize("obj", [None, 5, "x", [1, {"a": 1}]])
def test_prune_non_object(obj: Any) -> None:
    assert cr.prune(obj, PRUNE_SCHEMA) == (obj, [])


# --- defaulting ------------------------------------------------------------------------------------------------

DEFAULT_SCHEMA: Obj = {
    "type": "object",
    "properties": {
        "metadata": {"type": "object", "properties": {"name": {"type": "string", "default": "never"}}},
        "spec": {
            "type": "object",
            "default": {},
            "properties": {
                "a": {"type": "string", "default": "A"},
                "obj": {
                    "type": "object",
                    "default": {"x": [1, 2]},
                    "properties": {"x": {"type": "array", "items": {"type": "integer"}}},
                },
                "nullable": {"type": "string", "nullable": True, "default": "N"},
                "list": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "default": {"filled": True},
                        "properties": {"b": {"type": "integer", "default": 7}, "filled": {"type": "boolean"}},
                    },
                },
                "map": {
                    "type": "object",
                    "additionalProperties": {"type": "object", "properties": {"c": {"type": "string", "default": "C"}}},
                },
                "plainmap": {"type": "object", "additionalProperties": {"type": "string"}},
                "embedded": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "x-kubernetes-preserve-unknown-fields": True,
                    "properties": {
                        "metadata": {"type": "object", "properties": {"namespace": {"type": "string", "default": "ns"}}}
                    },
                },
            },
        },
    },
}


BASE: Obj = {"a": "A", "obj": {"x": [1, 2]}, "nullable": "N"}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({}, {"spec": BASE}),
        ({"spec": None}, {"spec": BASE}),
        ({"spec": {"a": None, "obj": None, "nullable": None}}, {"spec": {**BASE, "nullable": None}}),
        (
            {"spec": {"a": "set", "list": [{}, None, {"b": None}, {"b": 1}]}},
            {"spec": {**BASE, "a": "set", "list": [{"b": 7}, {"filled": True, "b": 7}, {"b": 7}, {"b": 1}]}},
        ),
        (
            {"spec": {"map": {"k": {}, "n": None}, "plainmap": {"x": None, "y": "1"}}},
            {"spec": {**BASE, "map": {"k": {"c": "C"}}, "plainmap": {"y": "1"}}},
        ),
        ({"spec": {"embedded": {"metadata": {}}}}, {"spec": {**BASE, "embedded": {"metadata": {"namespace": "ns"}}}}),
        ({"metadata": {}}, {"metadata": {}, "spec": BASE}),
        ({"metadata": None}, {"spec": BASE}),  # a null the schema does not allow is dropped, as upstream
        ({"spec": {"unknown": None}}, {"spec": {"unknown": None, **BASE}}),
    ],
)
def test_apply_defaults(obj: Obj, expected: Obj) -> None:
    out = cr.apply_defaults(copy.deepcopy(obj), DEFAULT_SCHEMA)
    assert out == expected
    assert json.dumps(out, sort_keys=True) == json.dumps(expected, sort_keys=True)


def test_defaults_are_deep_copies() -> None:
    one = cr.apply_defaults({}, DEFAULT_SCHEMA)
    one["spec"]["obj"]["x"].append(3)
    two = cr.apply_defaults({}, DEFAULT_SCHEMA)
    assert two["spec"]["obj"]["x"] == [1, 2]
    assert DEFAULT_SCHEMA["properties"]["spec"]["properties"]["obj"]["default"] == {"x": [1, 2]}


def test_apply_defaults_returns_same_object() -> None:
    obj: Obj = {}
    assert cr.apply_defaults(obj, DEFAULT_SCHEMA) is obj
    assert cr.apply_defaults("x", DEFAULT_SCHEMA) == "x"


# --- validation: keyword table ---------------------------------------------------------------------------------


def v(schema: Obj, value: Any) -> list[tuple[str, str, str]]:
    root = {"type": "object", "properties": {"x": schema}}
    return causes(cr.validate({"x": value}, root))


@pytest.mark.parametrize(
    ("schema", "value", "expected"),
    [
        (
            {"type": "string", "enum": ["a", "b"]},
            "x",
            [("x", "FieldValueNotSupported", 'Unsupported value: "x": supported values: "a", "b"')],
        ),
        (
            {"type": "integer", "enum": [1, 2]},
            3,
            [("x", "FieldValueNotSupported", 'Unsupported value: 3: supported values: "1", "2"')],
        ),
        ({"type": "integer", "enum": [1, 2]}, 2, []),
        ({"type": "number", "enum": [3]}, 3.7, []),  # kube-openapi converts 3.7 to the enum's int64 type
        (
            {"enum": [{"a": 1}, [1, 2.5]]},
            {"a": 2},
            [("x", "FieldValueNotSupported", 'Unsupported value: {"a":2}: supported values: "{\\"a\\":1}", "[1,2.5]"')],
        ),
        ({"enum": [{"a": 1}]}, {"a": 1}, []),
        (
            {"type": "string", "nullable": True, "enum": ["a"]},
            None,
            [("x", "FieldValueNotSupported", 'Unsupported value: null: supported values: "a"')],
        ),
        ({"type": "string", "nullable": True}, None, []),
        (
            {"type": "integer", "minimum": 0, "exclusiveMinimum": True},
            0,
            [("x", "FieldValueInvalid", "Invalid value: 0: x in body should be greater than 0")],
        ),
        (
            {"type": "integer", "maximum": 10},
            11,
            [("x", "FieldValueInvalid", "Invalid value: 11: x in body should be less than or equal to 10")],
        ),
        (
            {"type": "number", "maximum": 1.5, "exclusiveMaximum": True},
            1.5,
            [("x", "FieldValueInvalid", "Invalid value: 1.5: x in body should be less than 1.5")],
        ),
        (
            {"type": "number", "minimum": 0.25},
            0.125,
            [("x", "FieldValueInvalid", "Invalid value: 0.125: x in body should be greater than or equal to 0.25")],
        ),
        (
            {"type": "integer", "multipleOf": 5},
            7,
            [("x", "FieldValueInvalid", "Invalid value: 7: x in body should be a multiple of 5")],
        ),
        ({"type": "integer", "multipleOf": 5}, -10, []),
        (
            {"type": "number", "multipleOf": 0.5},
            1.25,
            [("x", "FieldValueInvalid", "Invalid value: 1.25: x in body should be a multiple of 0.5")],
        ),
        ({"type": "number", "multipleOf": 0.1}, 0.3, []),
        (
            {"type": "integer", "format": "int32"},
            2**31,
            [
                (
                    "<nil>",
                    "FieldValueInvalid",
                    'Invalid value: "": Checked value must be of type integer with format int32 in x',
                )
            ],
        ),
        (
            {"type": "integer", "format": "int32"},
            True,
            [("x", "FieldValueTypeInvalid", 'Invalid value: "": x in body must be of type int32: ""')],
        ),
        (
            {"type": "string", "maxLength": 3},
            "abcd",
            [("x", "FieldValueTooLong", "Too long: may not be more than 3 bytes")],
        ),
        (
            {"type": "string", "maxLength": 1},
            "ab",
            [("x", "FieldValueTooLong", "Too long: may not be more than 1 byte")],
        ),
        ({"type": "string", "maxLength": 3}, "äöü", []),
        (
            {"type": "string", "minLength": 3},
            "ab",
            [("x", "FieldValueInvalid", 'Invalid value: "ab": x in body should be at least 3 chars long')],
        ),
        (
            {"type": "string", "pattern": "^[a-z]+$"},
            "abc1",
            [("x", "FieldValueInvalid", "Invalid value: \"abc1\": x in body should match '^[a-z]+$'")],
        ),
        (
            {"type": "string", "pattern": "^[a-z]+$"},
            "abc\n",
            [("x", "FieldValueInvalid", "Invalid value: \"abc\\n\": x in body should match '^[a-z]+$'")],
        ),
        ({"type": "string", "pattern": "b"}, "abc", []),
        (
            {"type": "string", "pattern": "(?=x)"},
            "x",
            [
                (
                    "x",
                    "FieldValueInvalid",
                    'Invalid value: "x": x in body should match \'(?=x), but pattern is invalid: '
                    "error parsing regexp: invalid or unsupported Perl syntax: `(?=`'",
                )
            ],
        ),
        (
            {"type": "array", "minItems": 2},
            [1],
            [("x", "FieldValueInvalid", "Invalid value: 1: x in body should have at least 2 items")],
        ),
        (
            {"type": "array", "maxItems": 1},
            [1, 2],
            [("x", "FieldValueTooMany", "Too many: 2: must have at most 1 item")],
        ),
        (
            {"type": "array", "uniqueItems": True},
            [1, 2, 1],
            [("x", "FieldValueInvalid", 'Invalid value: "": x in body shouldn\'t contain duplicates')],
        ),
        ({"type": "array", "uniqueItems": True}, [1, 1.5, "1"], []),
        (
            {"type": "object", "minProperties": 1},
            {},
            [("x", "FieldValueInvalid", "Invalid value: 0: x in body should have at least 1 properties")],
        ),
        (
            {"type": "object", "maxProperties": 1},
            {"a": 1, "b": 2},
            [("x", "FieldValueTooMany", "Too many: 2: must have at most 1 item")],
        ),
        (
            {"type": "object", "additionalProperties": {"type": "integer"}},
            {"a": 1, "b": "x"},
            [
                (
                    "x.b",
                    "FieldValueTypeInvalid",
                    'Invalid value: "string": x.b in body must be of type integer: "string"',
                )
            ],
        ),
        (
            {"type": "object", "additionalProperties": False},
            {"a": 1},
            [("x", "FieldValueInvalid", 'Invalid value: "a": x.a in body is a forbidden property')],
        ),
        (
            {"type": "object", "required": ["a", "b"], "properties": {"a": {"type": "string"}}},
            {"a": None},
            [
                ("x.a", "FieldValueTypeInvalid", 'Invalid value: "null": x.a in body must be of type string: "null"'),
                ("x.b", "FieldValueRequired", "Required value"),
            ],
        ),
        (
            {"type": "array", "items": {"type": "integer"}},
            [1, "a", None],
            [
                (
                    "x[1]",
                    "FieldValueTypeInvalid",
                    'Invalid value: "string": x[1] in body must be of type integer: "string"',
                ),
                (
                    "x[2]",
                    "FieldValueTypeInvalid",
                    'Invalid value: "null": x[2] in body must be of type integer: "null"',
                ),
            ],
        ),
        ({"x-kubernetes-int-or-string": True}, 5, []),
        ({"x-kubernetes-int-or-string": True}, "5%", []),
        (
            {"x-kubernetes-int-or-string": True},
            1.5,
            [
                (
                    "x",
                    "FieldValueTypeInvalid",
                    'Invalid value: "number": x in body must be of type integer,string: "number"',
                )
            ],
        ),
        (
            {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
            True,
            [
                (
                    "x",
                    "FieldValueTypeInvalid",
                    'Invalid value: "boolean": x in body must be of type integer,string: "boolean"',
                ),
                ("<nil>", "FieldValueInvalid", 'Invalid value: "": "x" must validate at least one schema (anyOf)'),
                (
                    "x",
                    "FieldValueTypeInvalid",
                    'Invalid value: "boolean": x in body must be of type integer: "boolean"',
                ),
            ],
        ),
        (
            {"type": "string", "oneOf": [{"pattern": "^a"}, {"pattern": "b$"}]},
            "ab",
            [
                (
                    "<nil>",
                    "FieldValueInvalid",
                    'Invalid value: "": "x" must validate one and only one schema (oneOf). Found 2 valid alternatives',
                )
            ],
        ),
        (
            {"type": "string", "oneOf": [{"pattern": "^a"}, {"pattern": "b$"}]},
            "c",
            [
                (
                    "<nil>",
                    "FieldValueInvalid",
                    'Invalid value: "": "x" must validate one and only one schema (oneOf). Found none valid',
                ),
                ("x", "FieldValueInvalid", "Invalid value: \"c\": x in body should match '^a'"),
            ],
        ),
        (
            {"type": "string", "allOf": [{"minLength": 2}, {"maxLength": 3}]},
            "a",
            [
                ("x", "FieldValueInvalid", 'Invalid value: "a": x in body should be at least 2 chars long'),
                ("<nil>", "FieldValueInvalid", 'Invalid value: "": "x" must validate all the schemas (allOf)'),
            ],
        ),
        (
            {"type": "string", "not": {"enum": ["no"]}},
            "no",
            [("<nil>", "FieldValueInvalid", 'Invalid value: "": "x" must not validate the schema (not)')],
        ),
        ({"type": "string", "format": "date-time"}, "2024-01-02T03:04:05Z", []),
        (
            {"type": "string", "format": "date-time"},
            "yesterday",
            [
                (
                    "x",
                    "FieldValueTypeInvalid",
                    'Invalid value: "yesterday": x in body must be of type date-time: "yesterday"',
                )
            ],
        ),
        (
            {"type": "string", "format": "date"},
            "2024-02-30",
            [
                (
                    "x",
                    "FieldValueTypeInvalid",
                    'Invalid value: "2024-02-30": x in body must be of type date: "2024-02-30"',
                )
            ],
        ),
        ({"type": "string", "format": "byte"}, "aGVsbG8=", []),
        (
            {"type": "string", "format": "byte"},
            "not base64!",
            [
                (
                    "x",
                    "FieldValueTypeInvalid",
                    'Invalid value: "not base64!": x in body must be of type byte: "not base64!"',
                )
            ],
        ),
        ({"type": "string", "format": "made-up"}, "anything", []),
        ({"type": "string", "format": "uuid"}, "123e4567-e89b-12d3-a456-426614174000", []),
        ({"type": "string", "format": "ipv4"}, "10.0.0.1", []),
        (
            {"type": "string", "format": "ipv4"},
            "::1",
            [("x", "FieldValueTypeInvalid", 'Invalid value: "::1": x in body must be of type ipv4: "::1"')],
        ),
        ({"type": "string", "format": "cidr"}, "10.0.0.0/8", []),
        ({"type": "string", "format": "duration"}, "1h30m", []),
        (
            {"type": "string", "format": "k8s-short-name"},
            "Bad_Name",
            [
                (
                    "x",
                    "FieldValueTypeInvalid",
                    'Invalid value: "Bad_Name": x in body must be of type k8s-short-name: "Bad_Name"',
                )
            ],
        ),
        ({"type": "integer", "format": "made-up"}, 5, []),
    ],
)
def test_keywords(schema: Obj, value: Any, expected: list[Any]) -> None:
    assert v(schema, value) == expected


def test_root_metadata_only_name_and_generate_name() -> None:
    schema = {
        "type": "object",
        "properties": {
            "metadata": {
                "type": "object",
                "properties": {"name": {"type": "string", "maxLength": 5}, "labels": {"type": "integer"}},
            }
        },
    }
    obj = {"metadata": {"name": "toolong", "labels": {"a": "b"}}}
    assert causes(cr.validate(obj, schema)) == [
        ("metadata.name", "FieldValueTooLong", "Too long: may not be more than 5 bytes")
    ]


def test_embedded_resources() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "t": {
                        "type": "object",
                        "x-kubernetes-embedded-resource": True,
                        "x-kubernetes-preserve-unknown-fields": True,
                    },
                    "m": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "x-kubernetes-embedded-resource": True,
                            "x-kubernetes-preserve-unknown-fields": True,
                        },
                    },
                },
            },
        },
    }
    ok = {"spec": {"t": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", "labels": {"a": "b"}}}}}
    assert not cr.validate(ok, schema)
    bad = {
        "spec": {
            "t": {"kind": "Bad_Kind", "metadata": {"name": "a/b", "namespace": "Not-Valid"}},
            "m": {"k": {"apiVersion": "a/b/c", "kind": 5, "metadata": []}},
        }
    }
    assert causes(cr.validate(bad, schema)) == [
        ("spec.t.apiVersion", "FieldValueRequired", "Required value"),
        (
            "spec.t.kind",
            "FieldValueInvalid",
            'Invalid value: "Bad_Kind": may have mixed case, but should otherwise match: a DNS-1035 label must consist '
            "of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an "
            "alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
            "'[a-z]([-a-z0-9]*[a-z0-9])?')",
        ),
        ("spec.t.metadata.name", "FieldValueInvalid", "Invalid value: \"a/b\": may not contain '/'"),
        (
            "spec.t.metadata.namespace",
            "FieldValueInvalid",
            'Invalid value: "Not-Valid": a lowercase RFC 1123 label must consist of lower case alphanumeric characters '
            "or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used "
            "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        ),
        ("spec.m[k].apiVersion", "FieldValueInvalid", 'Invalid value: "a/b/c": unexpected GroupVersion string: a/b/c'),
        ("spec.m[k].kind", "FieldValueInvalid", "Invalid value: 5: must be a string"),
        (
            "spec.m[k].metadata",
            "FieldValueInvalid",
            "Invalid value: []: json: cannot unmarshal array into Go value of type v1.ObjectMeta",
        ),
    ]


def test_list_type_set_and_map() -> None:
    schema = {
        "type": "object",
        "properties": {
            "s": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "integer"}},
            "o": {
                "type": "array",
                "x-kubernetes-list-type": "set",
                "items": {
                    "type": "object",
                    "x-kubernetes-map-type": "atomic",
                    "x-kubernetes-preserve-unknown-fields": True,
                },
            },
            "m": {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
                "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
            },
            "mm": {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["a", "b"],
                "items": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}},
            },
        },
    }
    obj = {
        "s": [1, 2, 1, 1, 2],
        "o": [{"a": 1}, {"a": 1.0}],
        "m": [{"name": "x"}, {"name": "y"}, {"name": "x"}],
        "mm": [{"a": "1", "b": 1}, {"a": "1", "b": 2}, {"b": 1, "a": "1"}],
    }
    assert causes(cr.validate(obj, schema)) == [
        ("m[2].name", "FieldValueRequired", "Required value")[:0]
        or ("s[2]", "FieldValueDuplicate", "Duplicate value: 1"),
        ("s[4]", "FieldValueDuplicate", "Duplicate value: 2"),
        ("o[1]", "FieldValueDuplicate", 'Duplicate value: {"a":1}'),
        ("m[2]", "FieldValueDuplicate", 'Duplicate value: {"name":"x"}'),
        ("mm[2]", "FieldValueDuplicate", 'Duplicate value: {"a":"1","b":1}'),
    ]
    assert causes(cr.validate({"m": ["str"]}, schema)) == [
        ("m[0]", "FieldValueTypeInvalid", 'Invalid value: "string": m[0] in body must be of type object: "string"'),
        ("m[0]", "FieldValueInvalid", 'Invalid value: "str": must be an object for an array of list-type map'),
    ]


def test_errors_are_deduplicated() -> None:
    schema = {"type": "object", "properties": {"x": {"type": "string", "allOf": [{"minLength": 2}, {"minLength": 2}]}}}
    assert len(cr.validate({"x": "a"}, schema).causes) == 2


# --- patterns: Go regexp syntax ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("^abc$", "abc", True),
        ("^abc$", "abc\n", False),  # Go's $ is the end of text
        ("(?m)^abc$", "x\nabc\ny", True),
        ("^a\\z", "a", True),
        ("^\\d+$", "١٢", False),  # RE2's \d is ASCII
        ("^[[:alpha:]]+$", "abcXYZ", True),
        ("^[[:digit:]]+$", "12a", False),
        ("^\\pL+$", "héllo", True),
        ("^\\p{Lu}", "Abc", True),
        ("(?<year>\\d{4})", "2024", True),
        ("\\Qa.b\\E", "a.b", True),
        ("\\Qa.b\\E", "axb", False),
        ("(?i)^ABC$", "abc", True),
        ("a{2,3}", "aa", True),
    ],
)
def test_compile_pattern(pattern: str, text: str, matches: bool) -> None:
    match, error = cr.compile_pattern(pattern)
    assert error == "" and match is not None
    assert match(text) is matches


@pytest.mark.parametrize(
    ("pattern", "error"),
    [
        ("(?=a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"),
        ("(?<!a)b", "error parsing regexp: invalid or unsupported Perl syntax: `(?<!`"),
        ("(a)\\1", "error parsing regexp: invalid escape sequence: `\\1`"),
        ("a\\Z", "error parsing regexp: invalid escape sequence: `\\Z`"),
        ("a**", "error parsing regexp: invalid nested repetition operator: `**`"),
        ("a++", "error parsing regexp: invalid nested repetition operator: `++`"),
        ("(abc", "error parsing regexp: missing ), unterminated subpattern at position 0"),
        ("abc\\", "error parsing regexp: trailing backslash at end of expression: ``"),
    ],
)
def test_compile_pattern_errors(pattern: str, error: str) -> None:
    assert cr.compile_pattern(pattern) == (None, error)


# --- adversarial inputs --------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=25,
)


@settings(max_examples=250, deadline=None)
@given(json_values)
def test_pipeline_never_raises_on_any_value(value: Any) -> None:
    for schema in (widget_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"], PRUNE_SCHEMA, DEFAULT_SCHEMA):
        obj = {"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "n"}, "spec": value, "status": value}
        out, _ = cr.prune(obj, schema)
        cr.apply_defaults(out, schema)
        cr.validate(out, schema)
        cr.validate(value, schema, root=False)


schema_nodes = st.recursive(
    st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(["string", "integer", "number", "boolean", "object", "array", "null", 5, ""]),
            "nullable": st.booleans(),
            "format": st.sampled_from(["int32", "date-time", "byte", "nope", 1]),
            "minimum": st.integers(-5, 5) | st.floats(allow_nan=False) | st.text(max_size=2),
            "maxLength": st.integers(-1, 3) | st.none(),
            "pattern": st.sampled_from(["^a", "(", "(?=x)", "[", "\\p{Zz}", 5]),
            "enum": st.lists(st.integers(0, 3) | st.text(max_size=2), max_size=3) | st.just("x"),
            "multipleOf": st.sampled_from([0, -1, 0.5, 3, "x"]),
            "x-kubernetes-int-or-string": st.booleans(),
            "x-kubernetes-preserve-unknown-fields": st.booleans(),
            "x-kubernetes-embedded-resource": st.booleans(),
            "x-kubernetes-list-type": st.sampled_from(["set", "map", "atomic", "x", 3]),
            "x-kubernetes-list-map-keys": st.lists(st.sampled_from(["a", "b", 1]), max_size=2),
            "default": json_values,
            "additionalProperties": st.booleans(),
            "required": st.lists(st.sampled_from(["a", "b", 1]), max_size=2) | st.just("a"),
        },
    ),
    lambda children: st.fixed_dictionaries(
        {},
        optional={
            "properties": st.dictionaries(st.sampled_from(["a", "b", "metadata"]), children, max_size=3) | st.just([]),
            "items": children | st.lists(children, max_size=2),
            "additionalProperties": children,
            "anyOf": st.lists(children, max_size=2),
            "allOf": st.lists(children, max_size=2),
            "oneOf": st.lists(children, max_size=2),
            "not": children,
            "type": st.sampled_from(["object", "array"]),
        },
    ),
    max_leaves=12,
)


@settings(max_examples=250, deadline=None)
@given(schema_nodes, json_values)
def test_pipeline_never_raises_on_any_schema(schema: Any, value: Any) -> None:
    obj = {"apiVersion": "x/v1", "kind": "K", "a": value, "b": [value, {"a": value}]}
    out, _ = cr.prune(obj, schema)
    cr.apply_defaults(out, schema)
    cr.validate(out, schema)
    cr.validate(value, schema, root=False)


@pytest.mark.parametrize("junk", [None, 5, "x", [], {"type": 5, "properties": [], "items": "x"}])
def test_junk_schemas(junk: Any) -> None:
    obj = {"apiVersion": "x/v1", "spec": {"a": 1}}
    cr.prune(obj, junk)
    cr.apply_defaults(copy.deepcopy(obj), junk)
    cr.validate(obj, junk)


def deep_schema(levels: int) -> Obj:
    node: Obj = {"type": "string"}
    for _ in range(levels):
        node = {"type": "object", "properties": {"n": node}}
    return node


def deep_value(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = {"n": value}
    return value


@pytest.mark.parametrize("levels", [10, cr.MAX_DEPTH - 1, cr.MAX_DEPTH + 5, 600])
def test_deep_nesting(levels: int) -> None:
    schema = deep_schema(levels)
    obj = deep_value(levels)
    out, removed = cr.prune(obj, schema)
    assert removed == []
    cr.apply_defaults(out, schema)
    errs = cr.validate(out, schema)
    assert not errs
    bad = deep_value(levels - 1)  # an object where a string is expected, at the bottom
    cr.validate(bad, schema)


def test_deeply_nested_schemaless_values() -> None:
    value: Any = [1]
    for _ in range(3000):
        value = [value, {"k": 1}]
    out, removed = cr.prune({"spec": {"anymap": {"v": value}}}, PRUNE_SCHEMA)
    assert len(removed) == 3000
    pruned = out["spec"]["anymap"]["v"]
    for _ in range(3000):
        assert pruned[1] == {}
        pruned = pruned[0]


def test_huge_and_odd_numbers() -> None:
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "number", "maximum": 1e308, "minimum": -1e308},
            "i": {"type": "integer", "maximum": 1e30},
            "u": {"maximum": 1e30},
        },
    }
    assert not cr.validate({"n": 10**400}, schema) or True  # inf: rendered, never raises
    assert causes(cr.validate({"i": 5}, schema)) == [
        (
            "<nil>",
            "FieldValueInvalid",
            'Invalid value: "": Maximum boundary value must be of type integer (default format) in i',
        )
    ]
    # Go's int64(1e30) on amd64 is MinInt64: an untyped node with an int value and a huge maximum fails, as upstream
    assert causes(cr.validate({"u": 5}, schema)) == [
        ("u", "FieldValueInvalid", "Invalid value: 5: u in body should be less than or equal to -9223372036854775808")
    ]


# --- caching and performance -------------------------------------------------------------------------------------


def test_compiled_schema_is_shared_between_equal_schemas() -> None:
    cr.clear_cache()
    a = widget_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    b = widget_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert a is not b
    assert cr._compiled(a).root is cr._compiled(b).root
    assert cr._compiled(a) is cr._compiled(a)


def test_cache_is_bounded() -> None:
    cr.clear_cache()
    for i in range(cr.CACHE_SIZE + 50):
        cr.validate({}, {"type": "object", "properties": {f"p{i}": {"type": "string"}}})
    assert len(cr._BY_ID.data) <= cr.CACHE_SIZE and len(cr._BY_CONTENT.data) <= cr.CACHE_SIZE


def test_typical_widget_write_is_fast(widget_schema: Obj) -> None:
    obj = widget(size=3)
    obj["metadata"].update({"namespace": "default", "labels": {"app": "demo"}})
    pipeline(obj, widget_schema)
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        pipeline(obj, widget_schema)
    per_call = (time.perf_counter() - start) / n
    assert per_call < 0.001, f"{per_call * 1e6:.0f}µs per prune+default+validate"


# --- ReDoS: tenant-controlled patterns must match in linear time ----------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("^(a+)+$", "a" * 20000 + "!"),
        ("^(a|aa)*b$", "a" * 20000),
        ("^(a*)*$", "a" * 20000 + "b"),
        ("^([a-z0-9]+-?)*[a-z0-9]$", "a" * 20000 + "-"),
        ("^(.*a){12}$", "a" * 2000 + "b"),
        ("^x*y*x*y*z$", "xy" * 3000),
    ],
)
def test_pathological_patterns_are_linear(pattern: str, text: str) -> None:
    match, error = cr.compile_pattern(pattern)
    assert match is not None and error == ""
    start = time.perf_counter()
    assert match(text) is False
    assert time.perf_counter() - start < 2.0
    assert match(text[:5].replace("!", "").replace("-", "") or "a") in (True, False)


def test_pathological_pattern_through_validate() -> None:
    schema = {"type": "object", "properties": {"s": {"type": "string", "pattern": "^(a+)+$"}}}
    start = time.perf_counter()
    errs = cr.validate({"s": "a" * 5000 + "!"}, schema)
    assert time.perf_counter() - start < 2.0
    assert [c.field for c in errs.causes] == ["s"]


_atoms = st.sampled_from(["a", "b", ".", "[ab]", "[^a]", "\\d", "\\w", "(a|b)", "(ab|a)", "x", "\\.", "[a-c]"])
_quant = st.sampled_from(["", "*", "+", "?", "{2}", "{1,3}", "*?", "+?"])
_patterns = (
    st.lists(st.tuples(_atoms, _quant), min_size=1, max_size=5)
    .map(lambda parts: "".join(a + q for a, q in parts))
    .flatmap(
        lambda p: st.sampled_from([p, "^" + p, p + "$", "^" + p + "$", "(?i)" + p, "(" + p + ")+", "^(" + p + ")*$"])
    )
)


@settings(max_examples=400, deadline=None)
@given(_patterns, st.text(alphabet="abcxAB1._\n", max_size=12))
def test_nfa_agrees_with_re(pattern: str, text: str) -> None:
    import re

    translated = cr._translate_go_regexp(pattern)
    nfa = cr._NFA.build(translated, force=True)
    assert nfa is not None
    assert nfa.search(text) == (re.compile(translated).search(text) is not None), (pattern, translated, text)


@pytest.mark.parametrize(
    ("pattern", "risky"),
    [
        ("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", False),
        ("^(Always|Never)$", False),
        ("^[0-9]+(m|Mi|Gi)?$", False),
        ("^(a+)+$", True),
        ("^([a-z]+\\.)*[a-z]+$", True),
        ("(a|b)*", False),  # sre folds single-character alternatives into a class: safe
        ("(ab|a)*", True),
        ("a*b*c*", True),
    ],
)
def test_risky_pattern_detection(pattern: str, risky: bool) -> None:
    match, _ = cr.compile_pattern(pattern)
    assert isinstance(getattr(match, "__self__", None), cr._NFA) is risky
