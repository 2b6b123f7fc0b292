"""kube.schema.crd: CRD defaulting and validation, in the apiextensions-apiserver's rules and words."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kube.errors import FieldErrors
from kube.schema import crd as C
from tests.factories import widget_crd

Obj = dict[str, Any]
SCHEMA = "spec.versions[0].schema.openAPIV3Schema"

DNS1035 = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, "
    "and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
    "'[a-z]([-a-z0-9]*[a-z0-9])?')"
)


def found(errs: FieldErrors) -> list[tuple[str, str]]:
    return [(c.field, c.message) for c in errs.causes]


def version(crd: Obj, i: int = 0) -> Obj:
    return crd["spec"]["versions"][i]


def schema(crd: Obj) -> Obj:
    return version(crd)["schema"]["openAPIV3Schema"]


def spec_props(crd: Obj) -> Obj:
    return schema(crd)["properties"]["spec"]["properties"]


# --- defaulting ------------------------------------------------------------------------------------------------


def test_default_crd() -> None:
    crd = widget_crd()
    del crd["spec"]["names"]["singular"], crd["spec"]["names"]["listKind"]
    C.default_crd(crd)
    assert crd["spec"]["names"]["singular"] == "widget"
    assert crd["spec"]["names"]["listKind"] == "WidgetList"
    assert crd["spec"]["conversion"] == {"strategy": "None"}
    assert crd["status"] == {"storedVersions": ["v1"]}
    col = version(crd)["additionalPrinterColumns"][0]
    assert "priority" not in col, "upstream has no priority default (omitempty)"
    assert version(crd)["subresources"] == {"status": {}}


def test_default_crd_keeps_what_is_set() -> None:
    crd = widget_crd()
    crd["spec"]["names"].update(singular="thing", listKind="Things")
    crd["spec"]["conversion"] = {"strategy": "Webhook", "webhook": {"clientConfig": {"service": {"name": "s"}}}}
    crd["status"] = {"storedVersions": ["v0"]}
    C.default_crd(crd)
    assert crd["spec"]["names"]["singular"] == "thing" and crd["spec"]["names"]["listKind"] == "Things"
    assert crd["spec"]["conversion"]["webhook"]["clientConfig"]["service"]["port"] == 443
    assert crd["status"] == {"storedVersions": ["v0"]}


def test_default_crd_without_kind_or_storage() -> None:
    crd = {"spec": {"names": {}, "versions": [{"name": "v1"}]}}
    C.default_crd(crd)
    assert crd["spec"]["names"] == {"singular": ""} and "status" not in crd


@pytest.mark.parametrize("junk", [None, 5, [], {"spec": 5}, {"spec": {"names": 5, "versions": 5}, "status": 5}])
def test_default_crd_junk(junk: Any) -> None:
    C.default_crd(junk)


# --- validation table --------------------------------------------------------------------------------------------


def m(fn: Callable[[Obj], Any]) -> Callable[[Obj], Obj]:
    def apply(crd: Obj) -> Obj:
        fn(crd)
        return crd

    return apply


CASES: list[tuple[str, Callable[[Obj], Obj], list[tuple[str, str]]]] = [
    ("valid widget", m(lambda c: None), []),
    (
        "name",
        m(lambda c: c["metadata"].update(name="widgets.other.com")),
        [("metadata.name", 'Invalid value: "widgets.other.com": must be spec.names.plural+"."+spec.group')],
    ),
    (
        "generateName",
        m(lambda c: c["metadata"].update(generateName="w-")),
        [("metadata.generateName", 'Invalid value: "w-": must be spec.names.plural+"."+spec.group')],
    ),
    (
        "group without dot",
        m(lambda c: (c["spec"].update(group="example"), c["metadata"].update(name="widgets.example"))),
        [("spec.group", 'Invalid value: "example": should be a domain with at least one dot')],
    ),
    (
        "group not a subdomain",
        m(lambda c: (c["spec"].update(group="Ex_ample.com"), c["metadata"].update(name="widgets.Ex_ample.com"))),
        [
            (
                "spec.group",
                'Invalid value: "Ex_ample.com": a lowercase RFC 1123 subdomain must consist of lower case '
                "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
                "'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",  # noqa: E501
            )
        ],
    ),
    (
        "group missing",
        m(lambda c: c["spec"].pop("group")),
        [
            ("metadata.name", 'Invalid value: "widgets.example.com": must be spec.names.plural+"."+spec.group'),
            ("spec.group", "Required value"),
        ],
    ),
    (
        "scope",
        m(lambda c: c["spec"].update(scope="Global")),
        [("spec.scope", 'Unsupported value: "Global": supported values: "Cluster", "Namespaced"')],
    ),
    ("scope missing", m(lambda c: c["spec"].pop("scope")), [("spec.scope", "Required value")]),
    (
        "no versions",
        m(lambda c: c["spec"].update(versions=[])),
        [("spec.versions", "Invalid value: []: must have exactly one version marked as storage version")],
    ),
    (
        "no storage version",
        m(lambda c: version(c).update(storage=False)),
        [("spec.versions", "Invalid value: <versions>: must have exactly one version marked as storage version")],
    ),
    (
        "two storage versions",
        m(lambda c: c["spec"]["versions"].append({**copy.deepcopy(version(c)), "name": "v2"})),
        [("spec.versions", "Invalid value: <versions>: must have exactly one version marked as storage version")],
    ),
    (
        "duplicate versions",
        m(lambda c: c["spec"]["versions"].append({**copy.deepcopy(version(c)), "storage": False})),
        [("spec.versions", "Invalid value: <versions>: must contain unique version names")],
    ),
    (
        "version name",
        m(lambda c: version(c).update(name="V1")),
        [("spec.versions[0].name", f'Invalid value: "V1": {DNS1035}')],
    ),
    (
        "version name starts with digit",
        m(lambda c: version(c).update(name="1v")),
        [("spec.versions[0].name", f'Invalid value: "1v": {DNS1035}')],
    ),
    ("no schema", m(lambda c: version(c).pop("schema")), [(SCHEMA, "Required value")]),
    (
        "plural",
        m(lambda c: (c["spec"]["names"].update(plural="Widgets"), c["metadata"].update(name="Widgets.example.com"))),
        [("spec.names.plural", f'Invalid value: "Widgets": {DNS1035}')],
    ),
    (
        "names missing",
        m(lambda c: c["spec"].update(names={})),
        [
            ("metadata.name", 'Invalid value: "widgets.example.com": must be spec.names.plural+"."+spec.group'),
            ("spec.names.plural", "Required value"),
            ("spec.names.singular", "Required value"),
            ("spec.names.kind", "Required value"),
            ("spec.names.listKind", "Required value"),
        ],
    ),
    (
        "kind",
        m(lambda c: c["spec"]["names"].update(kind="Wid_get")),
        [("spec.names.kind", f'Invalid value: "Wid_get": may have mixed case, but should otherwise match: {DNS1035}')],
    ),
    (
        "kind == listKind",
        m(lambda c: c["spec"]["names"].update(listKind="Widget")),
        [("spec.names.listKind", 'Invalid value: "Widget": kind and listKind may not be the same')],
    ),
    (
        "shortNames",
        m(lambda c: c["spec"]["names"].update(shortNames=["wd", "W"], categories=["all", "x y"])),
        [
            ("spec.names.shortNames[1]", f'Invalid value: "W": {DNS1035}'),
            ("spec.names.categories[1]", f'Invalid value: "x y": {DNS1035}'),
        ],
    ),
    (
        "webhook conversion",
        m(lambda c: c["spec"].update(conversion={"strategy": "Webhook"})),
        [("spec.conversion.strategy", 'Unsupported value: "Webhook": supported values: "None"')],
    ),
    (
        "conversion strategy missing",
        m(lambda c: c["spec"].update(conversion={})),
        [("spec.conversion.strategy", "Required value")],
    ),
    (
        "webhook config with None",
        m(
            lambda c: c["spec"].update(
                conversion={
                    "strategy": "None",
                    "webhook": {"clientConfig": {"url": "https://x"}, "conversionReviewVersions": ["v1"]},
                }
            )
        ),
        [
            (
                "spec.conversion.webhook.clientConfig",
                "Forbidden: should not be set when strategy is not set to Webhook",
            ),
            (
                "spec.conversion.webhook.conversionReviewVersions",
                "Forbidden: should not be set when strategy is not set to Webhook",
            ),
        ],
    ),
    (
        "preserveUnknownFields",
        m(lambda c: c["spec"].update(preserveUnknownFields=True)),
        [
            ("spec.preserveUnknownFields", "Invalid value: true: must be false in order to use defaults in the schema"),
            (
                "spec.preserveUnknownFields",
                "Invalid value: true: cannot set to true, set x-kubernetes-preserve-unknown-fields "
                "to true in spec.versions[*].schema instead",
            ),
        ],
    ),
    (
        "deprecationWarning without deprecated",
        m(lambda c: version(c).update(deprecationWarning="old")),
        [("spec.versions[0].deprecationWarning", 'Invalid value: "old": can only be set for deprecated versions')],
    ),
    (
        "deprecationWarning control char",
        m(lambda c: version(c).update(deprecated=True, deprecationWarning="a\tb")),
        [
            (
                "spec.versions[0].deprecationWarning",
                'Invalid value: "a\\tb": must only contain printable UTF-8 characters; '
                "control character found at index 1",
            )
        ],
    ),
    (
        "column type and format",
        m(
            lambda c: version(c)["additionalPrinterColumns"].append(
                {"name": "X", "type": "float", "format": "x", "jsonPath": ".a"}
            )
        ),
        [
            (
                "spec.versions[0].additionalPrinterColumns[1].type",
                'Invalid value: "float": must be one of boolean,date,integer,number,string',
            ),
            (
                "spec.versions[0].additionalPrinterColumns[1].format",
                'Invalid value: "x": must be one of byte,date,date-time,double,float,int32,int64,password',
            ),
        ],
    ),
    (
        "column missing everything",
        m(lambda c: version(c)["additionalPrinterColumns"].append({})),
        [
            ("spec.versions[0].additionalPrinterColumns[1].name", "Required value"),
            (
                "spec.versions[0].additionalPrinterColumns[1].type",
                "Required value: must be one of boolean,date,integer,number,string",
            ),
            ("spec.versions[0].additionalPrinterColumns[1].JSONPath", "Required value"),
        ],
    ),
    (
        "column jsonPath without dot",
        m(lambda c: version(c)["additionalPrinterColumns"][0].update(jsonPath="spec.size")),
        [
            (
                "spec.versions[0].additionalPrinterColumns[0].JSONPath",
                'Invalid value: "spec.size": must be a simple json path starting with .',
            )
        ],
    ),
    (
        "column jsonPath does not parse",
        m(lambda c: version(c)["additionalPrinterColumns"][0].update(jsonPath=".spec[")),
        [
            (
                "spec.versions[0].additionalPrinterColumns[0].JSONPath",
                "Invalid value: \".spec[\": invalid JSONPath '.spec[': expected an index, a slice, a quoted key, '*' or a "  # noqa: E501
                "filter at position 6",
            )
        ],
    ),
    (
        "column filter path",
        m(
            lambda c: version(c)["additionalPrinterColumns"][0].update(
                jsonPath='.status.conditions[?(@.type=="Ready")].status'
            )
        ),
        [],
    ),
    (
        "scale",
        m(
            lambda c: version(c)["subresources"].update(
                scale={
                    "specReplicasPath": ".status.replicas",
                    "statusReplicasPath": "status.replicas",
                    "labelSelectorPath": ".metadata.labels",
                }
            )
        ),
        [
            (
                "spec.versions[0].subresources.scale.specReplicasPath",
                'Invalid value: ".status.replicas": should be a json path under .spec',
            ),
            (
                "spec.versions[0].subresources.scale.statusReplicasPath",
                'Invalid value: "status.replicas": must be a simple json path starting with .',
            ),
            (
                "spec.versions[0].subresources.scale.labelSelectorPath",
                'Invalid value: ".metadata.labels": should be a json path under either .spec or .status',
            ),
        ],
    ),
    (
        "scale missing paths",
        m(lambda c: version(c)["subresources"].update(scale={})),
        [
            ("spec.versions[0].subresources.scale.specReplicasPath", "Required value"),
            ("spec.versions[0].subresources.scale.statusReplicasPath", "Required value"),
        ],
    ),
    (
        "scale ok",
        m(
            lambda c: version(c)["subresources"].update(
                scale={
                    "specReplicasPath": ".spec.replicas",
                    "statusReplicasPath": ".status.replicas",
                    "labelSelectorPath": ".status.selector",
                }
            )
        ),
        [],
    ),
    (
        "protected group without approval",
        m(lambda c: (c["spec"].update(group="things.k8s.io"), c["metadata"].update(name="widgets.things.k8s.io"))),
        [
            (
                "metadata.annotations[api-approved.kubernetes.io]",
                'Required value: protected groups must have approval annotation "api-approved.kubernetes.io", see '
                "https://github.com/kubernetes/enhancements/pull/1111",
            )
        ],
    ),
    (
        "protected group, unapproved",
        m(
            lambda c: (
                c["spec"].update(group="things.k8s.io"),
                c["metadata"].update(
                    name="widgets.things.k8s.io", annotations={"api-approved.kubernetes.io": "unapproved, testing"}
                ),
            )
        ),
        [],
    ),
    (
        "protected group, bad approval",
        m(
            lambda c: (
                c["spec"].update(group="things.k8s.io"),
                c["metadata"].update(name="widgets.things.k8s.io", annotations={"api-approved.kubernetes.io": "yes"}),
            )
        ),
        [
            (
                "metadata.annotations[api-approved.kubernetes.io]",
                'Invalid value: "yes": protected groups must have approval annotation "api-approved.kubernetes.io" with either '  # noqa: E501
                'a URL or a reason starting with "unapproved", see https://github.com/kubernetes/enhancements/pull/1111',  # noqa: E501
            )
        ],
    ),
    # --- schemas ---
    (
        "untyped field",
        m(lambda c: schema(c)["properties"]["spec"].pop("type")),
        [(f"{SCHEMA}.properties[spec].type", "Required value: must not be empty for specified object fields")],
    ),
    (
        "untyped item",
        m(lambda c: spec_props(c).update(list={"type": "array", "items": {}})),
        [
            (
                f"{SCHEMA}.properties[spec].properties[list].items.type",
                "Required value: must not be empty for specified array items",
            )
        ],
    ),
    (
        "array without items",
        m(lambda c: spec_props(c).update(list={"type": "array"})),
        [(f"{SCHEMA}.properties[spec].properties[list].items", "Required value: must be specified")],
    ),
    (
        "root type",
        m(lambda c: version(c).update(subresources={}) or schema(c).update(type="array", items={"type": "string"})),
        [(f"{SCHEMA}.type", 'Invalid value: "array": must be object at the root')],
    ),
    (
        "root type with status",
        m(lambda c: schema(c).update(type="string")),
        [
            (
                f"{SCHEMA}.type",
                'Invalid value: "string": only "object" is allowed as the type at the root of the schema if the status '
                "subresource is enabled",
            ),
            (f"{SCHEMA}.type", 'Invalid value: "string": must be object at the root'),
        ],
    ),
    (
        "root untyped",
        m(lambda c: schema(c).pop("type")),
        [(f"{SCHEMA}.type", "Required value: must not be empty at the root")],
    ),
    (
        "root nullable",
        m(lambda c: version(c).update(subresources={}) or schema(c).update(nullable=True)),
        [(f"{SCHEMA}.nullable", "Forbidden: nullable cannot be true at the root")],
    ),
    (
        "root fields with status",
        m(lambda c: schema(c).update(minProperties=1)),
        [
            (
                SCHEMA,
                "Invalid value: <schema>: only [Description Type Format Title Maximum ExclusiveMaximum Minimum "
                "ExclusiveMinimum MaxLength MinLength Pattern MaxItems MinItems UniqueItems MultipleOf Required Items "
                "Properties ExternalDocs Example XPreserveUnknownFields XValidations] fields are allowed at the root "
                "of the schema if the status subresource is enabled",
            )
        ],
    ),
    (
        "root additionalProperties",
        m(lambda c: version(c).update(subresources={}) or schema(c).update(additionalProperties={"type": "string"})),
        [
            (f"{SCHEMA}.additionalProperties", "Forbidden: must not be used at the root"),
            (f"{SCHEMA}.additionalProperties", "Forbidden: additionalProperties and properties are mutual exclusive"),
        ],
    ),
    (
        "properties and additionalProperties",
        m(lambda c: schema(c)["properties"]["spec"].update(additionalProperties={"type": "string"})),
        [
            (
                f"{SCHEMA}.properties[spec].additionalProperties",
                "Forbidden: additionalProperties and properties are mutual exclusive",
            )
        ],
    ),
    (
        "type in anyOf",
        m(
            lambda c: spec_props(c)["size"].update(
                anyOf=[{"type": "integer", "description": "d", "default": 1, "nullable": True}]
            )
        ),
        [
            (
                f"{SCHEMA}.properties[spec].properties[size].anyOf[0].default",
                "Forbidden: must be undefined to be structural",
            ),
            (
                f"{SCHEMA}.properties[spec].properties[size].anyOf[0].description",
                "Forbidden: must be empty to be structural",
            ),
            (
                f"{SCHEMA}.properties[spec].properties[size].anyOf[0].nullable",
                "Forbidden: must be false to be structural",
            ),
            (f"{SCHEMA}.properties[spec].properties[size].anyOf[0].type", "Forbidden: must be empty to be structural"),
        ],
    ),
    (
        "x-kubernetes in allOf",
        m(
            lambda c: spec_props(c)["size"].update(
                allOf=[{"x-kubernetes-list-type": "set", "additionalProperties": True}],
                oneOf=[{"title": "t"}],
                **{"not": {"x-kubernetes-preserve-unknown-fields": True}},
            )
        ),
        [
            (
                f"{SCHEMA}.properties[spec].properties[size].allOf[0].additionalProperties",
                "Forbidden: must be undefined to be structural",
            ),
            (
                f"{SCHEMA}.properties[spec].properties[size].allOf[0].x-kubernetes-list-type",
                "Forbidden: must be undefined to be structural",
            ),
            (
                f"{SCHEMA}.properties[spec].properties[size].not.x-kubernetes-preserve-unknown-fields",
                "Forbidden: must be false to be structural",
            ),
            (f"{SCHEMA}.properties[spec].properties[size].oneOf[0].title", "Forbidden: must be empty to be structural"),
            # the keyword rules recurse into allOf too
            (
                f"{SCHEMA}.properties[spec].properties[size].allOf[0].type",
                "Required value: must be array if x-kubernetes-list-type is specified",
            ),
        ],
    ),
    (
        "int-or-string pattern is structural",
        m(
            lambda c: spec_props(c).update(
                port={"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]}
            )
        ),
        [],
    ),
    (
        "int-or-string allOf pattern is structural",
        m(
            lambda c: spec_props(c).update(
                port={
                    "x-kubernetes-int-or-string": True,
                    "allOf": [{"anyOf": [{"type": "integer"}, {"type": "string"}]}, {"pattern": "^[0-9]+%?$"}],
                }
            )
        ),
        [],
    ),
    (
        "int-or-string with preserve",
        m(
            lambda c: spec_props(c).update(
                port={"x-kubernetes-int-or-string": True, "x-kubernetes-preserve-unknown-fields": True}
            )
        ),
        [
            (
                f"{SCHEMA}.properties[spec].properties[port].x-kubernetes-preserve-unknown-fields",
                "Invalid value: true: must be false if x-kubernetes-int-or-string is true",
            )
        ],
    ),
    ("completeness", m(lambda c: schema(c)["properties"]["spec"].update(anyOf=[{"properties": {"nope": {}}}])), []),
    (
        "root completeness",
        m(
            lambda c: (
                schema(c).update(anyOf=[{"properties": {"nope": {"minimum": 1}}}], **{"not": {"items": {}}})
                or version(c).update(subresources={})
            )
        ),
        [
            (f"{SCHEMA}.items", f"Required value: because it is defined in {SCHEMA}.not.items"),
            (
                f"{SCHEMA}.properties[nope]",
                f"Required value: because it is defined in {SCHEMA}.anyOf[0].properties[nope]",
            ),
        ],
    ),
    (
        "metadata in nested value validation",
        m(lambda c: schema(c)["properties"]["spec"].update(allOf=[{"properties": {"metadata": {}}}])),
        [
            (
                f"{SCHEMA}.properties[spec].allOf[0].properties[metadata]",
                "Forbidden: must not be specified in a nested context",
            )
        ],
    ),
    (
        "root metadata restrictions",
        m(
            lambda c: schema(c)["properties"].update(
                metadata={"type": "object", "properties": {"labels": {"type": "object"}}}
            )
        ),
        [
            (
                f"{SCHEMA}.properties[metadata]",
                "Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified",  # noqa: E501
            )
        ],
    ),
    (
        "root metadata name only",
        m(
            lambda c: schema(c)["properties"].update(
                metadata={"type": "object", "properties": {"name": {"type": "string", "maxLength": 10}}}
            )
        ),
        [],
    ),
    (
        "root metadata wrong type",
        m(lambda c: schema(c)["properties"].update(metadata={"type": "string"}, kind={"type": "integer"})),
        [
            (f"{SCHEMA}.properties[kind].type", 'Invalid value: "integer": must be string'),
            (f"{SCHEMA}.properties[metadata].type", 'Invalid value: "string": must be object'),
        ],
    ),
    (
        "embedded needs object",
        m(lambda c: spec_props(c).update(t={"type": "string", "x-kubernetes-embedded-resource": True})),
        [
            (
                f"{SCHEMA}.properties[spec].properties[t].properties",
                "Required value: must not be empty if x-kubernetes-embedded-resource is true without "
                "x-kubernetes-preserve-unknown-fields",
            ),
            (
                f"{SCHEMA}.properties[spec].properties[t].type",
                'Invalid value: "string": must be object if x-kubernetes-embedded-resource is true',
            ),
        ],
    ),
    (
        "embedded needs properties",
        m(lambda c: spec_props(c).update(t={"type": "object", "x-kubernetes-embedded-resource": True})),
        [
            (
                f"{SCHEMA}.properties[spec].properties[t].properties",
                "Required value: must not be empty if x-kubernetes-embedded-resource is true without "
                "x-kubernetes-preserve-unknown-fields",
            )
        ],
    ),
    (
        "embedded ok",
        m(
            lambda c: spec_props(c).update(
                t={
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "x-kubernetes-preserve-unknown-fields": True,
                }
            )
        ),
        [],
    ),
    (
        "list-type set of objects",
        m(
            lambda c: spec_props(c).update(
                l={"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "object"}}
            )
        ),
        [
            (
                f"{SCHEMA}.properties[spec].properties[l].items.x-kubernetes-map-type",
                "Invalid value: null: must be atomic as item of a list with x-kubernetes-list-type=set",
            )
        ],
    ),
    (
        "list-type on object",
        m(lambda c: spec_props(c).update(l={"type": "object", "x-kubernetes-list-type": "bag"})),
        [
            (
                f"{SCHEMA}.properties[spec].properties[l].type",
                'Invalid value: "object": must be array if x-kubernetes-list-type is specified',
            ),
            (
                f"{SCHEMA}.properties[spec].properties[l].x-kubernetes-list-type",
                'Unsupported value: "bag": supported values: "atomic", "set", "map"',
            ),
        ],
    ),
    (
        "list-map keys without list-type",
        m(
            lambda c: spec_props(c).update(
                l={
                    "type": "array",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                }
            )
        ),
        [
            (
                f"{SCHEMA}.properties[spec].properties[l].x-kubernetes-list-type",
                "Required value: must be map if x-kubernetes-list-map-keys is non-empty",
            )
        ],
    ),
    (
        "list-map key not required",
        m(
            lambda c: spec_props(c).update(
                l={
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name", "gone", "name"],
                    "items": {"type": "object", "properties": {"name": {"type": "string", "nullable": True}}},
                }
            )
        ),
        [
            (
                f"{SCHEMA}.properties[spec].properties[l].x-kubernetes-list-map-keys",
                'Invalid value: ["name","gone","name"]: entries must all be names of item properties',
            ),
            (
                f"{SCHEMA}.properties[spec].properties[l].x-kubernetes-list-map-keys",
                'Invalid value: ["name","gone","name"]: must not contain duplicate entries',
            ),
            (
                f"{SCHEMA}.properties[spec].properties[l].items.properties[name].default",
                "Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required "  # noqa: E501
                "property",
            ),
            (
                f"{SCHEMA}.properties[spec].properties[l].items.properties[name].nullable",
                "Forbidden: this property is in x-kubernetes-list-map-keys, so it cannot be nullable",
            ),
            (
                f"{SCHEMA}.properties[spec].properties[l].items.properties[name].default",
                "Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required "  # noqa: E501
                "property",
            ),
            (
                f"{SCHEMA}.properties[spec].properties[l].items.properties[name].nullable",
                "Forbidden: this property is in x-kubernetes-list-map-keys, so it cannot be nullable",
            ),
        ],
    ),
    (
        "list-map ok",
        m(
            lambda c: spec_props(c).update(
                l={
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
                }
            )
        ),
        [],
    ),
    (
        "list-map of scalars",
        m(
            lambda c: spec_props(c).update(
                l={
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {"type": "string"},
                }
            )
        ),
        [
            (
                f"{SCHEMA}.properties[spec].properties[l].items.type",
                'Invalid value: "string": must be object if parent array\'s x-kubernetes-list-type is map',
            )
        ],
    ),
    (
        "map-type",
        m(lambda c: spec_props(c).update(mt={"type": "string", "x-kubernetes-map-type": "weird"})),
        [
            (
                f"{SCHEMA}.properties[spec].properties[mt].type",
                'Invalid value: "string": must be object if x-kubernetes-map-type is specified',
            ),
            (
                f"{SCHEMA}.properties[spec].properties[mt].x-kubernetes-map-type",
                'Unsupported value: "weird": supported values: "atomic", "granular"',
            ),
        ],
    ),
    (
        "preserve false",
        m(lambda c: spec_props(c).update(p={"type": "object", "x-kubernetes-preserve-unknown-fields": False})),
        [
            (
                f"{SCHEMA}.properties[spec].properties[p].x-kubernetes-preserve-unknown-fields",
                "Invalid value: false: must be true or undefined",
            )
        ],
    ),
    (
        "uniqueItems",
        m(lambda c: spec_props(c).update(u={"type": "array", "items": {"type": "string"}, "uniqueItems": True})),
        [
            (
                f"{SCHEMA}.properties[spec].properties[u].uniqueItems",
                "Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
            )
        ],
    ),
    (
        "bad type name",
        m(lambda c: spec_props(c).update(t={"type": "map"})),
        [
            (
                f"{SCHEMA}.properties[spec].properties[t].type",
                'Unsupported value: "map": supported values: "array", "boolean", "integer", "number", "object", "string"',  # noqa: E501
            )
        ],
    ),
    (
        "type null",
        m(lambda c: spec_props(c).update(t={"type": "null"})),
        [
            (
                f"{SCHEMA}.properties[spec].properties[t].type",
                'Unsupported value: "null": supported values: "array", "boolean", "integer", "number", "object", "string"',  # noqa: E501
            ),
            (
                f"{SCHEMA}.properties[spec].properties[t].type",
                "Forbidden: type cannot be set to null, use nullable as an alternative",
            ),
        ],
    ),
    (
        "$ref",
        m(lambda c: spec_props(c).update(r={"type": "object", "$ref": "#/x"})),
        [(f"{SCHEMA}.properties[spec].properties[r].$ref", "Forbidden: $ref is not supported")],
    ),
    ("only unsupported keyword shows init error", m(lambda c: None), []),
    (
        "pattern",
        m(lambda c: spec_props(c).update(s={"type": "string", "pattern": "(?=x)"})),
        [
            (
                f"{SCHEMA}.properties[spec].properties[s].pattern",
                'Invalid value: "(?=x)": must be a valid regular expression, but isn\'t: error parsing regexp: invalid or '  # noqa: E501
                "unsupported Perl syntax: `(?=`",
            )
        ],
    ),
    (
        "default of wrong type",
        m(lambda c: spec_props(c)["size"].update(default="big")),
        [
            (
                f"{SCHEMA}.properties[spec].properties[size].default",
                'Invalid value: "string":  in body must be of type integer: "string"',
            )
        ],
    ),  # sic: upstream's empty name
    (
        "default below minimum",
        m(lambda c: spec_props(c)["size"].update(default=-1)),
        [
            (
                f"{SCHEMA}.properties[spec].properties[size].default",
                "Invalid value: -1:  in body should be greater than or equal to 0",
            )
        ],
    ),
    (
        "default with unknown fields",
        m(
            lambda c: spec_props(c).update(
                o={"type": "object", "default": {"a": 1, "b": 2}, "properties": {"a": {"type": "integer"}}}
            )
        ),
        [
            (
                f"{SCHEMA}.properties[spec].properties[o].default",
                'Invalid value: {"a":1,"b":2}: must not have unknown fields',
            )
        ],
    ),
    (
        "default object validated inside",
        m(
            lambda c: spec_props(c).update(
                o={"type": "object", "default": {"a": "x"}, "properties": {"a": {"type": "integer"}}}
            )
        ),
        [
            (
                f"{SCHEMA}.properties[spec].properties[o].default.a",
                'Invalid value: "string": a in body must be of type integer: "string"',
            )
        ],
    ),
    (
        "default in top-level metadata",
        m(
            lambda c: schema(c)["properties"].update(
                metadata={"type": "object", "properties": {"name": {"type": "string", "default": "x"}}}
            )
        ),
        [
            (
                f"{SCHEMA}.properties[metadata].properties[name].default",
                "Forbidden: must not be set in top-level metadata",
            )
        ],
    ),
    (
        "validation rules static checks",
        m(
            lambda c: schema(c)["properties"]["spec"].update(
                **{
                    "x-kubernetes-validations": [
                        {"rule": " "},
                        {"rule": "a\nb"},
                        {"rule": "self.x", "message": "two\nlines", "reason": "Nope"},
                    ]
                }
            )
        ),
        [
            (f"{SCHEMA}.properties[spec].x-kubernetes-validations[0].rule", "Required value: rule is not specified"),
            (
                f"{SCHEMA}.properties[spec].x-kubernetes-validations[1].message",
                "Required value: message must be specified if rule contains line breaks",
            ),
            (
                f"{SCHEMA}.properties[spec].x-kubernetes-validations[2].message",
                'Invalid value: "two\\nlines": must not contain line breaks',
            ),
            (
                f"{SCHEMA}.properties[spec].x-kubernetes-validations[2].reason",
                'Unsupported value: "Nope": supported values: "FieldValueDuplicate", "FieldValueForbidden", '
                '"FieldValueInvalid", "FieldValueRequired"',
            ),
        ],
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_validate_crd(mutate: Callable[[Obj], Obj], expected: list[tuple[str, str]]) -> None:
    crd = widget_crd()
    C.default_crd(crd)
    crd = mutate(crd)
    got = found(C.validate_crd(crd))
    # Bulky values (the versions list, a whole schema) are abbreviated in the table.
    normalized = [
        (
            f,
            msg.replace(_rendered(crd["spec"].get("versions")), "<versions>").replace(
                _rendered(_schema_or_none(crd)), "<schema>"
            ),
        )
        for f, msg in got
    ]
    assert normalized == expected


def _rendered(v: Any) -> str:
    from kube.meta_validation import render_bad_value

    return render_bad_value(v) if v else "\0"


def _schema_or_none(crd: Obj) -> Any:
    try:
        return schema(crd)
    except (KeyError, IndexError, TypeError):
        return None


def test_unsupported_keyword_alone_reports_conversion_error() -> None:
    errs = C.validate_structural({"type": "object", "properties": {"a": {"type": "string", "id": "x"}}}, "s")
    assert found(errs) == [("s.properties[a].id", "Forbidden: id is not supported")]
    errs = C.validate_structural(
        {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
            "properties": {"a": {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "$schema": "x"}},
        },
        "s",
    )
    assert found(errs) == [("s", "Invalid value: \"\": OpenAPIV3Schema 'schema' is not supported")]


def test_structural_errors_are_sorted() -> None:
    schema = {"type": "object", "properties": {"b": {}, "a": {}, "c": {"type": "array"}}}
    assert [f for f, _ in found(C.validate_structural(schema, "x"))] == [
        "x.properties[a].type",
        "x.properties[b].type",
        "x.properties[c].items",
    ]


def test_upstream_paths() -> None:
    crd = widget_crd()
    C.default_crd(crd)
    spec_props(crd)["size"]["type"] = "map"
    version(crd)["additionalPrinterColumns"][0]["type"] = "float"
    version(crd)["subresources"]["scale"] = {}
    two = copy.deepcopy(version(crd))
    two.update(name="v2", storage=False)
    crd["spec"]["versions"].append(two)
    got = [f for f, _ in found(C.validate_crd(crd, upstream_paths=True))]
    assert got == [
        "spec.validation.openAPIV3Schema.properties[spec].properties[size].type",
        "spec.subresources.scale.specReplicasPath",
        "spec.subresources.scale.statusReplicasPath",
        "spec.additionalPrinterColumns[0].type",
    ]
    per_version = [f for f, _ in found(C.validate_crd(crd))]
    assert per_version == [
        "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[size].type",
        "spec.versions[0].subresources.scale.specReplicasPath",
        "spec.versions[0].subresources.scale.statusReplicasPath",
        "spec.versions[0].additionalPrinterColumns[0].type",
        "spec.versions[1].schema.openAPIV3Schema.properties[spec].properties[size].type",
        "spec.versions[1].subresources.scale.specReplicasPath",
        "spec.versions[1].subresources.scale.statusReplicasPath",
        "spec.versions[1].additionalPrinterColumns[0].type",
    ]


def test_multi_version_crd_valid() -> None:
    crd = widget_crd()
    two = copy.deepcopy(version(crd))
    two.update(name="v2beta1", storage=False, served=False)
    schema(crd)["properties"]["spec"]["properties"]["extra"] = {"type": "string"}
    crd["spec"]["versions"].append(two)
    C.default_crd(crd)
    assert not C.validate_crd(crd)
    assert not C.validate_crd(crd, upstream_paths=True)


# --- update ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "established", "expected"),
    [
        (lambda c: None, True, []),
        (
            lambda c: c["spec"].update(scope="Cluster"),
            False,
            [("spec.scope", 'Invalid value: "Cluster": field is immutable')],
        ),
        (
            lambda c: c["spec"]["names"].update(kind="Gadget"),
            True,
            [("spec.names.kind", 'Invalid value: "Gadget": field is immutable')],
        ),
        (lambda c: c["spec"]["names"].update(kind="Gadget"), False, []),
        (
            lambda c: c["spec"].update(group="other.com"),
            False,
            [("spec.group", 'Invalid value: "other.com": field is immutable')],
        ),
        (
            lambda c: c["spec"]["names"].update(plural="gadgets"),
            False,
            [("spec.names.plural", 'Invalid value: "gadgets": field is immutable')],
        ),
        (lambda c: version(c).update(served=False), True, []),
    ],
)
def test_validate_crd_update(mutate: Callable[[Obj], Any], established: bool, expected: list[tuple[str, str]]) -> None:
    old = widget_crd()
    if established:
        old["status"] = {"conditions": [{"type": "Established", "status": "True"}]}
    new = copy.deepcopy(old)
    mutate(new)
    assert found(C.validate_crd_update(new, old)) == expected


def test_update_junk() -> None:
    assert not C.validate_crd_update(None, None)  # type: ignore[arg-type]


# --- adversarial -------------------------------------------------------------------------------------------------

junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
    max_leaves=10,
)
KEYS = ["group", "scope", "names", "versions", "conversion", "preserveUnknownFields"]
VERSION_KEYS = [
    "name",
    "served",
    "storage",
    "schema",
    "subresources",
    "additionalPrinterColumns",
    "deprecated",
    "deprecationWarning",
]
SCHEMA_KEYS = [
    "type",
    "properties",
    "items",
    "additionalProperties",
    "default",
    "anyOf",
    "allOf",
    "not",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "required",
    "nullable",
    "pattern",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-validations",
    "enum",
    "$ref",
]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(KEYS + VERSION_KEYS + SCHEMA_KEYS),
    junk,
    st.sampled_from(["spec", "version", "schema", "spec.size"]),
)
def test_wrong_types_at_every_level_never_raise(key: str, value: Any, where: str) -> None:
    crd = widget_crd()
    target = {
        "spec": crd["spec"],
        "version": version(crd),
        "schema": schema(crd),
        "spec.size": spec_props(crd)["size"],
    }[where]
    target[key] = value
    C.default_crd(crd)
    C.validate_crd(crd)
    C.validate_crd(crd, upstream_paths=True)
    C.validate_crd_update(crd, widget_crd())


@pytest.mark.parametrize("levels", [5, 60, 200, 400])
def test_deeply_nested_schema(levels: int) -> None:
    node: Obj = {"type": "string"}
    for _ in range(levels):
        node = {"type": "object", "properties": {"n": node}}
    crd = widget_crd()
    schema(crd)["properties"]["spec"] = node
    errs = C.validate_crd(crd)
    if levels + 2 > C.MAX_DEPTH:
        assert errs and all("nested" in c.message for c in errs.causes)
    else:
        assert not errs


def test_huge_crd_schema_is_quick() -> None:
    import time

    crd = widget_crd()
    props = spec_props(crd)
    for i in range(2000):
        props[f"f{i}"] = {
            "type": "object",
            "properties": {
                "a": {"type": "string", "default": "x"},
                "b": {"type": "array", "items": {"type": "integer"}},
            },
        }
    start = time.perf_counter()
    assert not C.validate_crd(crd)
    assert time.perf_counter() - start < 5
