"""kube.meta_validation: ObjectMeta rules and messages as the real apiserver reports them."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kube.errors import FieldErrors, Invalid
from kube.meta_validation import (
    finalizer_warnings,
    go_quote,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_label_value,
    is_qualified_name,
    render_bad_value,
    restore_system_fields,
    validate_annotations,
    validate_finalizers,
    validate_generate_name,
    validate_labels,
    validate_name,
    validate_object_meta,
    validate_object_meta_update,
    validate_owner_references,
)

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    r"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
KEY_NAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
    "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
TS = "2024-05-01T12:00:00Z"


def causes(errs: FieldErrors) -> list[tuple[str, str, str]]:
    return [(c.reason, c.field, c.message) for c in errs.causes]


def messages(errs: FieldErrors) -> list[str]:
    return [f"{c.field}: {c.message}" for c in errs.causes]


# --- string format checks ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a", []),
        ("example.com", []),
        ("a-b.c-d", []),
        ("0.1", []),
        ("x" * 253, []),
        ("x" * 254, ["must be no more than 253 characters"]),
        ("Bad_Name", [SUBDOMAIN_MSG]),
        ("", [SUBDOMAIN_MSG]),
        ("-a", [SUBDOMAIN_MSG]),
        ("a.", [SUBDOMAIN_MSG]),
        ("a..b", [SUBDOMAIN_MSG]),
        ("a\n", [SUBDOMAIN_MSG]),  # $ must not match before a trailing newline
        ("é", [SUBDOMAIN_MSG]),
        ("-" * 254, ["must be no more than 253 characters", SUBDOMAIN_MSG]),
    ],
)
def test_is_dns1123_subdomain(value: str, expected: list[str]) -> None:
    assert is_dns1123_subdomain(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a", []),
        ("my-name", []),
        ("123-abc", []),
        ("x" * 63, []),
        ("x" * 64, ["must be no more than 63 characters"]),
        ("a.b", ["must not contain dots"]),
        ("A", [LABEL_MSG]),
        ("a_b", [LABEL_MSG]),
        ("", [LABEL_MSG]),
        ("a-", [LABEL_MSG]),
        ("x" * 30 + "." + "x" * 40, ["must be no more than 63 characters", "must not contain dots"]),
    ],
)
def test_is_dns1123_label(value: str, expected: list[str]) -> None:
    assert is_dns1123_label(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a", []),
        ("MyName", []),
        ("my.name", []),
        ("123-abc", []),
        ("a_b", []),
        ("app.kubernetes.io/name", []),
        ("example.com/Upper_Case.ok-1", []),
        ("x" * 63, []),
        ("x" * 253 + "/" + "y" * 63, []),
        ("x" * 64, ["name part must be no more than 63 bytes"]),
        ("é", [KEY_NAME_MSG]),
        ("ab" * 31 + "é", ["name part must be no more than 63 bytes", KEY_NAME_MSG]),  # 64 bytes, 63 chars
        ("", ["name part must be non-empty", KEY_NAME_MSG]),
        ("a/", ["name part must be non-empty", KEY_NAME_MSG]),
        ("/a", ["prefix part must be non-empty"]),
        ("Example.com/a", ["prefix part " + SUBDOMAIN_MSG]),
        ("x" * 254 + "/a", ["prefix part must be no more than 253 bytes"]),
        ("_a", [KEY_NAME_MSG]),
        ("a b", [KEY_NAME_MSG]),
        (
            "a/b/c",
            [
                "a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix "
                "and '/' (e.g. 'example.com/MyName')"
            ],
        ),
    ],
)
def test_is_qualified_name(value: str, expected: list[str]) -> None:
    assert is_qualified_name(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", []),
        ("a", []),
        ("My_Value-1.0", []),
        ("x" * 63, []),
        ("x" * 64, ["must be no more than 63 bytes"]),
        ("-a", [VALUE_MSG]),
        ("a b", [VALUE_MSG]),
        ("a/b", [VALUE_MSG]),
        ("-" * 64, ["must be no more than 63 bytes", VALUE_MSG]),
    ],
)
def test_is_label_value(value: str, expected: list[str]) -> None:
    assert is_label_value(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", '"plain"'),
        ('a"b', '"a\\"b"'),
        ("a\\b", '"a\\\\b"'),
        ("\n\t\r\a\b\f\v", '"\\n\\t\\r\\a\\b\\f\\v"'),
        ("\x00\x1f\x7f", '"\\x00\\x1f\\x7f"'),
        ("é漢🙂", '"é漢🙂"'),
        ("\u200b", '"\\u200b"'),
        ("\U000e0001", '"\\U000e0001"'),
        ("\ud800", '"\ufffd"'),
    ],
)
def test_go_quote(value: str, expected: str) -> None:
    assert go_quote(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("x", '"x"'),
        (None, "null"),
        (True, "true"),
        (5, "5"),
        (-3, "-3"),
        (1.5, "1.5"),
        (1.0, "1"),
        (123456.0, "123456"),
        (1e6, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-2.5e-7, "-2.5e-07"),
        (0.0, "0"),
        (["a", 1, None], '["a",1,null]'),
        ({"b": 1, "a": "<&>"}, '{"a":"\\u003c\\u0026\\u003e","b":1}'),
        ([], "[]"),
        (["\ud800"], '["\\ufffd"]'),
        ([float("nan")], '"<list>"'),
    ],
)
def test_render_bad_value(value: Any, expected: str) -> None:
    assert render_bad_value(value) == expected


# --- names ---------------------------------------------------------------------------------------------------


def test_validate_name_bad_name_exact_message() -> None:
    assert causes(validate_name("Bad_Name")) == [
        ("FieldValueInvalid", "metadata.name", f'Invalid value: "Bad_Name": {SUBDOMAIN_MSG}')
    ]


@pytest.mark.parametrize(
    ("name", "label", "expected"),
    [
        ("demo", False, []),
        ("demo.example.com", False, []),
        ("kube-system", True, []),
        ("", False, []),
        (None, False, []),
        ("a.b", True, ['metadata.name: Invalid value: "a.b": must not contain dots']),
        ("Default", True, [f'metadata.name: Invalid value: "Default": {LABEL_MSG}']),
        ("x" * 254, False, [f'metadata.name: Invalid value: "{"x" * 254}": must be no more than 253 characters']),
        (
            "-" * 254,
            False,
            [
                f'metadata.name: Invalid value: "{"-" * 254}": must be no more than 253 characters',
                f'metadata.name: Invalid value: "{"-" * 254}": {SUBDOMAIN_MSG}',
            ],
        ),
        ("a/b", False, [f'metadata.name: Invalid value: "a/b": {SUBDOMAIN_MSG}']),
        ("..", False, [f'metadata.name: Invalid value: "..": {SUBDOMAIN_MSG}']),
        ('x"\n', False, [f'metadata.name: Invalid value: "x\\"\\n": {SUBDOMAIN_MSG}']),
        (5, False, ["metadata.name: Invalid value: 5: must be of type string"]),
        (["a"], False, ['metadata.name: Invalid value: ["a"]: must be of type string']),
    ],
)
def test_validate_name(name: Any, label: bool, expected: list[str]) -> None:
    assert messages(validate_name(name, label=label)) == expected


def test_deeply_nested_bad_value_is_rendered_not_raised() -> None:
    deep: Any = "x"
    for _ in range(5000):
        deep = [deep]
    assert messages(validate_name(deep)) == ['metadata.name: Invalid value: "<list>": must be of type string']


def test_validate_name_custom_path() -> None:
    assert messages(validate_name("A", label=True, path="spec.x")) == [f'spec.x: Invalid value: "A": {LABEL_MSG}']


@pytest.mark.parametrize(
    ("prefix", "label", "expected"),
    [
        ("web-", False, []),
        ("web-", True, []),
        ("web", False, []),
        ("a.b-", False, []),
        ("-", False, [f'metadata.generateName: Invalid value: "-": {SUBDOMAIN_MSG}']),
        ("Web-", False, [f'metadata.generateName: Invalid value: "Web-": {SUBDOMAIN_MSG}']),
        ("a.b-", True, ['metadata.generateName: Invalid value: "a.b-": must not contain dots']),
        ("web--", False, []),
        (3, False, ["metadata.generateName: Invalid value: 3: must be of type string"]),
    ],
)
def test_validate_generate_name(prefix: Any, label: bool, expected: list[str]) -> None:
    assert messages(validate_generate_name(prefix, label=label)) == expected


# --- labels and annotations ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (None, []),
        ({}, []),
        ({"app": "web", "app.kubernetes.io/name": "", "X_y": "Z.1"}, []),
        ({"bad key": "v"}, [f'metadata.labels: Invalid value: "bad key": {KEY_NAME_MSG}']),
        ({"k": "bad value"}, [f'metadata.labels: Invalid value: "bad value": {VALUE_MSG}']),
        ({"k": "v" * 64}, [f'metadata.labels: Invalid value: "{"v" * 64}": must be no more than 63 bytes']),
        (
            {"Example.com/k": "-"},
            [
                f'metadata.labels: Invalid value: "Example.com/k": prefix part {SUBDOMAIN_MSG}',
                f'metadata.labels: Invalid value: "-": {VALUE_MSG}',
            ],
        ),
        ({"k": 1}, ["metadata.labels[k]: Invalid value: 1: must be of type string"]),
        ({"k": None}, ["metadata.labels[k]: Invalid value: null: must be of type string"]),
        ({"k": True}, ["metadata.labels[k]: Invalid value: true: must be of type string"]),
        (["a=b"], ['metadata.labels: Invalid value: ["a=b"]: must be of type object']),
        ("a=b", ['metadata.labels: Invalid value: "a=b": must be of type object']),
    ],
)
def test_validate_labels(labels: Any, expected: list[str]) -> None:
    assert messages(validate_labels(labels, "metadata.labels")) == expected


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        (None, []),
        ({"kubectl.kubernetes.io/last-applied-configuration": '{"a": "<b>"}', "free": "any text\n at all"}, []),
        # Keys are checked case-insensitively: an upper-case prefix is fine here, unlike for labels.
        ({"Example.COM/Key": "v"}, []),
        ({"İ": "v"}, []),  # Go lower-cases U+0130 to plain "i"
        ({"bad key": "v"}, [f'metadata.annotations: Invalid value: "bad key": {KEY_NAME_MSG}']),
        ({"k": 1}, ["metadata.annotations[k]: Invalid value: 1: must be of type string"]),
        ([], ["metadata.annotations: Invalid value: []: must be of type object"]),
    ],
)
def test_validate_annotations(annotations: Any, expected: list[str]) -> None:
    assert messages(validate_annotations(annotations, "metadata.annotations")) == expected


@pytest.mark.parametrize(
    ("sizes", "too_long"),
    [
        ([("k", 262144 - 1)], False),
        ([("k", 262144)], True),
        ([("a", 131071), ("b", 131071)], False),
        ([("a", 131071), ("b", 131072)], True),
    ],
)
def test_annotation_size_limit(sizes: list[tuple[str, int]], too_long: bool) -> None:
    errs = validate_annotations({k: "x" * n for k, n in sizes})
    expected = [("FieldValueTooLong", "metadata.annotations", "Too long: may not be more than 262144 bytes")]
    assert causes(errs) == (expected if too_long else [])


def test_annotation_size_counts_utf8_bytes() -> None:
    assert validate_annotations({"k": "é" * 131072})  # 262144 bytes + 1 for the key
    assert not validate_annotations({"k": "é" * 131071})


# --- finalizers ----------------------------------------------------------------------------------------------

NOT_QUALIFIED = "name is neither a standard finalizer name nor is it fully qualified"


@pytest.mark.parametrize(
    ("finalizers", "qualified", "expected"),
    [
        (None, True, []),
        ([], True, []),
        (["kubernetes", "orphan", "example.com/cleanup"], True, []),
        (["foregroundDeletion"], True, []),
        (["foo"], True, [f'metadata.finalizers[0]: Invalid value: "foo": {NOT_QUALIFIED}']),
        (["a/b", "foo"], True, [f'metadata.finalizers[1]: Invalid value: "foo": {NOT_QUALIFIED}']),
        (["foo"], False, []),
        (["Kubernetes"], True, [f'metadata.finalizers[0]: Invalid value: "Kubernetes": {NOT_QUALIFIED}']),
        (
            ["bad name/x"],
            True,
            [f'metadata.finalizers: Invalid value: "bad name/x": prefix part {SUBDOMAIN_MSG}'],
        ),
        (
            ["bad name"],
            True,
            [
                f'metadata.finalizers: Invalid value: "bad name": {KEY_NAME_MSG}',
                f'metadata.finalizers[0]: Invalid value: "bad name": {NOT_QUALIFIED}',
            ],
        ),
        (
            ["orphan", "foregroundDeletion"],
            True,
            [
                'metadata.finalizers: Invalid value: ["orphan","foregroundDeletion"]: '
                "finalizer orphan and foregroundDeletion cannot be both set"
            ],
        ),
        ("orphan", True, ['metadata.finalizers: Invalid value: "orphan": must be of type array']),
        ([1], True, ["metadata.finalizers[0]: Invalid value: 1: must be of type string"]),
    ],
)
def test_validate_finalizers(finalizers: Any, qualified: bool, expected: list[str]) -> None:
    assert messages(validate_finalizers(finalizers, "metadata.finalizers", qualified=qualified)) == expected


def test_finalizer_warnings_for_custom_resources() -> None:
    assert finalizer_warnings(["foo", "example.com/x", "orphan", 3]) == [
        'metadata.finalizers: "foo": prefer a domain-qualified finalizer name including a path (/) to avoid '
        "accidental conflicts with other finalizer writers"
    ]
    assert finalizer_warnings(None) == []


# --- owner references ----------------------------------------------------------------------------------------

REF = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "6f1d"}


@pytest.mark.parametrize(
    ("refs", "expected"),
    [
        (None, []),
        ([REF], []),
        ([{**REF, "controller": True, "blockOwnerDeletion": True}, {**REF, "name": "other"}], []),
        ([{**REF, "apiVersion": "v1"}], []),
        (
            [{}],
            [
                'metadata.ownerReferences.apiVersion: Invalid value: "": version must not be empty',
                'metadata.ownerReferences.kind: Invalid value: "": must not be empty',
                'metadata.ownerReferences.name: Invalid value: "": must not be empty',
                'metadata.ownerReferences.uid: Invalid value: "": must not be empty',
            ],
        ),
        (
            [{**REF, "apiVersion": "apps/"}],
            ['metadata.ownerReferences.apiVersion: Invalid value: "apps/": version must not be empty'],
        ),
        (
            [{**REF, "apiVersion": "a/b/c"}],
            ['metadata.ownerReferences.apiVersion: Invalid value: "a/b/c": version must not be empty'],
        ),
        (
            [{"apiVersion": "v1", "kind": "Event", "name": "e", "uid": "u", "controller": False}],
            [
                'metadata.ownerReferences: Invalid value: {"apiVersion":"v1","kind":"Event","name":"e","uid":"u",'
                '"controller":false}: /v1, Kind=Event is disallowed from being an owner'
            ],
        ),
        ([{**REF, "apiVersion": "events.k8s.io/v1", "kind": "Event"}], []),
        (
            [{**REF, "controller": True}, {**REF, "kind": "StatefulSet", "name": "db", "controller": True}],
            [
                'metadata.ownerReferences: Invalid value: [{"apiVersion":"apps/v1","kind":"Deployment","name":"web",'
                '"uid":"6f1d","controller":true},{"apiVersion":"apps/v1","kind":"StatefulSet","name":"db",'
                '"uid":"6f1d","controller":true}]: Only one reference can have Controller set to true. Found "true" '
                "in references for Deployment/web and StatefulSet/db"
            ],
        ),
        ({"a": 1}, ['metadata.ownerReferences: Invalid value: {"a":1}: must be of type array']),
        (["x"], ['metadata.ownerReferences[0]: Invalid value: "x": must be of type object']),
        ([{**REF, "name": 7}], ["metadata.ownerReferences[0].name: Invalid value: 7: must be of type string"]),
        (
            [{**REF, "controller": "yes"}],
            ['metadata.ownerReferences[0].controller: Invalid value: "yes": must be of type boolean'],
        ),
    ],
)
def test_validate_owner_references(refs: Any, expected: list[str]) -> None:
    assert messages(validate_owner_references(refs, "metadata.ownerReferences")) == expected


# --- whole ObjectMeta on create ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("meta", "namespaced", "name_is_label", "expected"),
    [
        ({"name": "demo", "namespace": "default"}, True, False, []),
        ({"generateName": "demo-", "namespace": "default"}, True, False, []),
        ({"name": "demo-x7k2q", "generateName": "demo-", "namespace": "default"}, True, False, []),
        ({"name": "kube-system"}, False, True, []),
        ({"namespace": "default"}, True, False, ["metadata.name: Required value: name or generateName is required"]),
        (
            {"name": "", "generateName": ""},
            False,
            False,
            ["metadata.name: Required value: name or generateName is required"],
        ),
        ({"name": "demo"}, True, False, ["metadata.namespace: Required value"]),
        ({"name": "demo", "namespace": None}, True, False, ["metadata.namespace: Required value"]),
        (
            {"name": "demo", "namespace": "Bad.NS"},
            True,
            False,
            [f'metadata.namespace: Invalid value: "Bad.NS": {LABEL_MSG}'],
        ),
        (
            {"name": "demo", "namespace": "default"},
            False,
            False,
            ["metadata.namespace: Forbidden: not allowed on this type"],
        ),
        ({"name": "a.b"}, False, True, ['metadata.name: Invalid value: "a.b": must not contain dots']),
        (
            {"name": "Bad_Name", "namespace": "default"},
            True,
            False,
            [f'metadata.name: Invalid value: "Bad_Name": {SUBDOMAIN_MSG}'],
        ),
        (
            {"generateName": "Bad-", "namespace": "default"},
            True,
            False,
            [f'metadata.generateName: Invalid value: "Bad-": {SUBDOMAIN_MSG}'],
        ),
        (
            {"name": "x", "generation": -1},
            False,
            False,
            ["metadata.generation: Invalid value: -1: must be greater than or equal to 0"],
        ),
        ({"name": "x", "generation": 3}, False, False, []),
        (
            {"name": "x", "generation": "3"},
            False,
            False,
            ['metadata.generation: Invalid value: "3": must be of type integer'],
        ),
        (
            {"name": "x", "generation": True},
            False,
            False,
            ["metadata.generation: Invalid value: true: must be of type integer"],
        ),
        # A wrongly typed name is reported once, as a type error, not also as missing.
        ({"name": 12}, False, False, ["metadata.name: Invalid value: 12: must be of type string"]),
        ({"name": "x", "namespace": 1}, True, False, ["metadata.namespace: Invalid value: 1: must be of type string"]),
        ({"name": "x", "uid": 5}, False, False, ["metadata.uid: Invalid value: 5: must be of type string"]),
        (
            {"name": "x", "resourceVersion": 5},
            False,
            False,
            ["metadata.resourceVersion: Invalid value: 5: must be of type string"],
        ),
        ({"name": "x", "creationTimestamp": TS, "deletionTimestamp": None}, False, False, []),
        ({"name": "x", "creationTimestamp": "2024-05-01T12:00:00.5+02:00"}, False, False, []),
        (
            {"name": "x", "creationTimestamp": "yesterday"},
            False,
            False,
            [
                'metadata.creationTimestamp: Invalid value: "yesterday": '
                "must be an RFC 3339 date-time (e.g. '2006-01-02T15:04:05Z')"
            ],
        ),
        (
            {"name": "x", "deletionGracePeriodSeconds": "30"},
            False,
            False,
            ['metadata.deletionGracePeriodSeconds: Invalid value: "30": must be of type integer'],
        ),
        (
            {"name": "x", "managedFields": {}},
            False,
            False,
            ["metadata.managedFields: Invalid value: {}: must be of type array"],
        ),
        (
            {
                "name": "x",
                "labels": {"bad key": "v"},
                "annotations": {"k": 1},
                "ownerReferences": [{**REF, "uid": ""}],
                "finalizers": ["foo"],
            },
            False,
            False,
            [
                f'metadata.labels: Invalid value: "bad key": {KEY_NAME_MSG}',
                "metadata.annotations[k]: Invalid value: 1: must be of type string",
                'metadata.ownerReferences.uid: Invalid value: "": must not be empty',
                f'metadata.finalizers[0]: Invalid value: "foo": {NOT_QUALIFIED}',
            ],
        ),
        (None, False, False, ["metadata: Invalid value: null: must be of type object"]),
        ([], False, False, ["metadata: Invalid value: []: must be of type object"]),
    ],
)
def test_validate_object_meta(meta: Any, namespaced: bool, name_is_label: bool, expected: list[str]) -> None:
    assert messages(validate_object_meta(meta, namespaced=namespaced, name_is_label=name_is_label)) == expected


def test_validate_object_meta_custom_resource_finalizers() -> None:
    meta = {"name": "x", "finalizers": ["foo"]}
    assert not validate_object_meta(meta, namespaced=False, qualified_finalizers=False)
    assert validate_object_meta(meta, namespaced=False)


def test_validate_object_meta_reasons_and_422_rendering() -> None:
    errs = validate_object_meta({"namespace": "default"}, namespaced=True)
    assert causes(errs) == [("FieldValueRequired", "metadata.name", "Required value: name or generateName is required")]
    with pytest.raises(Invalid) as exc:
        validate_object_meta({"name": "Bad_Name"}, namespaced=False).raise_invalid("ConfigMap", "Bad_Name")
    assert (
        exc.value.message
        == f'ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": {SUBDOMAIN_MSG}'
    )
    assert exc.value.code == 422


# --- ObjectMeta on update ------------------------------------------------------------------------------------

OLD = {
    "name": "demo",
    "namespace": "default",
    "uid": "uid-1",
    "resourceVersion": "7",
    "generation": 2,
    "creationTimestamp": TS,
    "finalizers": ["example.com/a"],
}
DELETING = {**OLD, "deletionTimestamp": "2024-05-02T00:00:00Z", "deletionGracePeriodSeconds": 0}


@pytest.mark.parametrize(
    ("new", "old", "expected"),
    [
        (OLD, OLD, []),
        # Clients replacing from a manifest omit server-owned fields: not a change.
        ({"name": "demo", "namespace": "default"}, OLD, []),
        ({**OLD, "uid": ""}, OLD, []),
        # Timestamps echoed back in another spelling are the same instant.
        ({**OLD, "creationTimestamp": "2024-05-01T12:00:00+00:00"}, OLD, []),
        ({**OLD, "creationTimestamp": "2024-05-01T14:00:00.000000+02:00"}, OLD, []),
        ({**OLD, "creationTimestamp": "2024-05-01T12:00:00.999Z"}, OLD, []),
        ({**OLD, "name": "other"}, OLD, ['metadata.name: Invalid value: "other": field is immutable']),
        (
            {**OLD, "namespace": "kube-system"},
            OLD,
            ['metadata.namespace: Invalid value: "kube-system": field is immutable'],
        ),
        ({**OLD, "namespace": None}, OLD, ['metadata.namespace: Invalid value: "": field is immutable']),
        ({**OLD, "uid": "uid-2"}, OLD, ['metadata.uid: Invalid value: "uid-2": field is immutable']),
        (
            {**OLD, "creationTimestamp": "2024-05-01T12:00:01+00:00"},
            OLD,
            ['metadata.creationTimestamp: Invalid value: "2024-05-01T12:00:01Z": field is immutable'],
        ),
        (
            {**OLD, "creationTimestamp": "garbage"},
            OLD,
            [
                'metadata.creationTimestamp: Invalid value: "garbage": field is immutable',
                'metadata.creationTimestamp: Invalid value: "garbage": must be an RFC 3339 date-time '
                "(e.g. '2006-01-02T15:04:05Z')",
            ],
        ),
        # deletionTimestamp: cannot be set by an update...
        (
            {**OLD, "deletionTimestamp": "2024-05-02T00:00:00Z"},
            OLD,
            ['metadata.deletionTimestamp: Invalid value: "2024-05-02T00:00:00Z": field is immutable'],
        ),
        # ...nor unset...
        (
            {k: v for k, v in DELETING.items() if k != "deletionTimestamp"},
            DELETING,
            ["metadata.deletionTimestamp: Invalid value: null: field is immutable"],
        ),
        (
            {**DELETING, "deletionTimestamp": None},
            DELETING,
            ["metadata.deletionTimestamp: Invalid value: null: field is immutable"],
        ),
        # ...nor changed; an equal instant in another spelling is fine.
        (
            {**DELETING, "deletionTimestamp": "2024-05-03T00:00:00Z"},
            DELETING,
            ['metadata.deletionTimestamp: Invalid value: "2024-05-03T00:00:00Z": field is immutable'],
        ),
        ({**DELETING, "deletionTimestamp": "2024-05-02T02:00:00+02:00"}, DELETING, []),
        (
            {**DELETING, "deletionGracePeriodSeconds": 30},
            DELETING,
            ["metadata.deletionGracePeriodSeconds: Invalid value: 30: field is immutable"],
        ),
        (
            {**OLD, "deletionGracePeriodSeconds": 30},
            OLD,
            ["metadata.deletionGracePeriodSeconds: Invalid value: 30: field is immutable"],
        ),
        # Finalizers: removing is how deletion proceeds; adding is forbidden while deleting.
        ({**DELETING, "finalizers": []}, DELETING, []),
        ({**DELETING, "finalizers": ["example.com/a"]}, DELETING, []),
        (
            {**DELETING, "finalizers": ["example.com/a", "x/y", "kubernetes"]},
            DELETING,
            [
                "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, "
                'found new finalizers []string{"kubernetes", "x/y"}'
            ],
        ),
        ({**OLD, "finalizers": ["example.com/a", "x/y"]}, OLD, []),
        ({**OLD, "finalizers": ["foo"]}, OLD, [f'metadata.finalizers[0]: Invalid value: "foo": {NOT_QUALIFIED}']),
        # Generation never goes backwards.
        ({**OLD, "generation": 1}, OLD, ["metadata.generation: Invalid value: 1: must not be decremented"]),
        ({**OLD, "generation": 3}, OLD, []),
        # Content of the new metadata is validated as on create.
        ({**OLD, "labels": {"k": "-"}}, OLD, [f'metadata.labels: Invalid value: "-": {VALUE_MSG}']),
        ({**OLD, "name": 5}, OLD, ["metadata.name: Invalid value: 5: must be of type string"]),
        ("junk", OLD, ['metadata: Invalid value: "junk": must be of type object']),
        # A broken stored object must not crash validation.
        (
            OLD,
            None,
            [
                'metadata.name: Invalid value: "demo": field is immutable',
                'metadata.namespace: Invalid value: "default": field is immutable',
                'metadata.uid: Invalid value: "uid-1": field is immutable',
                'metadata.creationTimestamp: Invalid value: "2024-05-01T12:00:00Z": field is immutable',
            ],
        ),
    ],
)
def test_validate_object_meta_update(new: Any, old: Any, expected: list[str]) -> None:
    assert messages(validate_object_meta_update(new, old)) == expected


def test_update_forbidden_reason() -> None:
    errs = validate_object_meta_update({**DELETING, "finalizers": ["x/y"]}, DELETING)
    assert causes(errs) == [
        (
            "FieldValueForbidden",
            "metadata.finalizers",
            "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers "
            '[]string{"x/y"}',
        )
    ]


def test_update_requires_resource_version_when_asked() -> None:
    new = {k: v for k, v in OLD.items() if k != "resourceVersion"}
    assert not validate_object_meta_update(new, OLD)
    assert messages(validate_object_meta_update(new, OLD, require_resource_version=True)) == [
        'metadata.resourceVersion: Invalid value: "": must be specified for an update'
    ]


def test_update_custom_resource_finalizers() -> None:
    assert not validate_object_meta_update({**OLD, "finalizers": ["foo"]}, OLD, qualified_finalizers=False)


def test_restore_system_fields() -> None:
    manifest = {"name": "demo", "namespace": "default", "labels": {"a": "b"}}
    restored = restore_system_fields(manifest, DELETING)
    assert restored == {
        **manifest,
        "uid": "uid-1",
        "creationTimestamp": TS,
        "deletionTimestamp": "2024-05-02T00:00:00Z",
        "deletionGracePeriodSeconds": 0,
    }
    assert manifest == {"name": "demo", "namespace": "default", "labels": {"a": "b"}}  # input untouched
    assert not validate_object_meta_update(restored, DELETING)
    # A client-sent creationTimestamp is replaced by the stored one; a client uid is kept (and then rejected).
    tampered = restore_system_fields({**manifest, "creationTimestamp": "2000-01-01T00:00:00Z", "uid": "x"}, OLD)
    assert tampered["creationTimestamp"] == TS
    assert messages(validate_object_meta_update(tampered, OLD)) == [
        'metadata.uid: Invalid value: "x": field is immutable'
    ]


# --- adversarial input ---------------------------------------------------------------------------------------

JSON: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
META_KEYS = [
    "name",
    "generateName",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "finalizers",
    "ownerReferences",
    "managedFields",
]
META = st.dictionaries(st.sampled_from(META_KEYS), JSON, max_size=8)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(JSON, META), st.booleans(), st.booleans())
def test_validate_object_meta_never_raises(meta: Any, namespaced: bool, label: bool) -> None:
    errs = validate_object_meta(meta, namespaced=namespaced, name_is_label=label)
    for cause in errs.causes:
        assert cause.field.startswith("metadata")
        assert cause.reason.startswith("FieldValue")


@settings(max_examples=1500, deadline=None)
@given(st.one_of(JSON, META), st.one_of(JSON, META))
def test_validate_object_meta_update_never_raises(new: Any, old: Any) -> None:
    validate_object_meta_update(new, old, require_resource_version=True)
    if isinstance(new, dict) and isinstance(old, dict):
        validate_object_meta_update(restore_system_fields(new, old), old)
