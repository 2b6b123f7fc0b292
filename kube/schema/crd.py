"""apiextensions.k8s.io/v1 CustomResourceDefinition defaulting and validation (kube-clients.md §9).

Rules and wording follow the apiextensions-apiserver (`pkg/apis/apiextensions/v1/defaults.go`,
`pkg/apis/apiextensions/validation/validation.go`, `pkg/apiserver/schema/validation.go` and `complete.go`,
`pkg/apiserver/schema/defaulting/validation.go`), rule by rule, on the v1 JSON form:

* `default_crd(crd)` fills what v1 defaulting fills: `names.singular`, `names.listKind`, `conversion`,
  a webhook service's port, and `status.storedVersions`. Printer columns get no `priority` default upstream
  (it is `omitempty`), so none here.
* `validate_crd(crd)` returns every problem as a `FieldErrors` (422 causes). Paths are v1 paths
  (`spec.versions[0].schema.openAPIV3Schema.properties[spec].type`). The real apiserver validates the
  internal form, into which v1 converts versions whose schemas (subresources, columns) are all identical as
  one top-level `spec.validation` (`spec.subresources`, `spec.additionalPrinterColumns`); pass
  `upstream_paths=True` to get those paths, byte for byte what kubectl shows.
* `validate_crd_update(new, old)` adds the update-only rules (immutable group, plural, scope; kind once the
  CRD is Established). The caller also runs `validate_crd(new)`.
* `validate_structural(schema, path)` is the whole per-schema check: unsupported keywords, structural
  invariants, completeness, defaults (pruned, valid against their schema) and the OpenAPI keyword rules
  (list/map types, list-map keys, validation rules' static checks).

Nothing here raises for any JSON input: wrong types are reported (or, where the apiserver's decoder would
have refused the body, skipped over) instead. Deliberate departures from upstream, all small:
`conversion.strategy: Webhook` is rejected as unsupported (this server has no webhook conversion); CEL
rules are not compiled; `selectableFields` are not checked; printer-column and scale paths must also
parse as JSONPath (upstream only checks the leading dot, then fails at serving time).
"""

from __future__ import annotations

import copy
import dataclasses
import re
from typing import Any

from kube.errors import Cause, FieldErrors
from kube.meta_validation import FIELD_IMMUTABLE, go_quote, is_dns1123_subdomain, render_bad_value

from . import customresource, jsonpath
from .customresource import MAX_DEPTH, compile_pattern, is_dns1035_label

__all__ = ["default_crd", "validate_crd", "validate_crd_update", "validate_structural"]

Obj = dict[str, Any]

PRINTER_COLUMN_TYPES = ("boolean", "date", "integer", "number", "string")
PRINTER_COLUMN_FORMATS = ("byte", "date", "date-time", "double", "float", "int32", "int64", "password")
OPENAPI_V3_TYPES = ("array", "boolean", "integer", "number", "object", "string")
VALIDATION_RULE_REASONS = ("FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired")
API_APPROVAL_ANNOTATION = "api-approved.kubernetes.io"
_META_FIELDS = ("metadata", "kind", "apiVersion")

# The JSONSchemaProps fields in declaration order with their JSON names, for the "only … fields are allowed at
# the root of the schema if the status subresource is enabled" rule, which reports the first field (in this
# order) outside the allowed set.
_ROOT_FIELDS = (
    ("ID", "id"),
    ("Schema", "$schema"),
    ("Ref", "$ref"),
    ("Description", "description"),
    ("Type", "type"),
    ("Format", "format"),
    ("Title", "title"),
    ("Default", "default"),
    ("Maximum", "maximum"),
    ("ExclusiveMaximum", "exclusiveMaximum"),
    ("Minimum", "minimum"),
    ("ExclusiveMinimum", "exclusiveMinimum"),
    ("MaxLength", "maxLength"),
    ("MinLength", "minLength"),
    ("Pattern", "pattern"),
    ("MaxItems", "maxItems"),
    ("MinItems", "minItems"),
    ("UniqueItems", "uniqueItems"),
    ("MultipleOf", "multipleOf"),
    ("Enum", "enum"),
    ("MaxProperties", "maxProperties"),
    ("MinProperties", "minProperties"),
    ("Required", "required"),
    ("Items", "items"),
    ("AllOf", "allOf"),
    ("OneOf", "oneOf"),
    ("AnyOf", "anyOf"),
    ("Not", "not"),
    ("Properties", "properties"),
    ("AdditionalProperties", "additionalProperties"),
    ("PatternProperties", "patternProperties"),
    ("Dependencies", "dependencies"),
    ("AdditionalItems", "additionalItems"),
    ("Definitions", "definitions"),
    ("ExternalDocs", "externalDocs"),
    ("Example", "example"),
    ("Nullable", "nullable"),
    ("XPreserveUnknownFields", "x-kubernetes-preserve-unknown-fields"),
    ("XEmbeddedResource", "x-kubernetes-embedded-resource"),
    ("XIntOrString", "x-kubernetes-int-or-string"),
    ("XListMapKeys", "x-kubernetes-list-map-keys"),
    ("XListType", "x-kubernetes-list-type"),
    ("XMapType", "x-kubernetes-map-type"),
    ("XValidations", "x-kubernetes-validations"),
)
_ALLOWED_AT_ROOT_WITH_STATUS = (
    "Description",
    "Type",
    "Format",
    "Title",
    "Maximum",
    "ExclusiveMaximum",
    "Minimum",
    "ExclusiveMinimum",
    "MaxLength",
    "MinLength",
    "Pattern",
    "MaxItems",
    "MinItems",
    "UniqueItems",
    "MultipleOf",
    "Required",
    "Items",
    "Properties",
    "ExternalDocs",
    "Example",
    "XPreserveUnknownFields",
    "XValidations",
)

# Generic keywords (Generic + Extensions of a structural schema) that are forbidden inside allOf/anyOf/oneOf/not,
# with upstream's detail for each, in upstream's order.
_NESTED_FORBIDDEN = (
    ("type", "must be empty to be structural"),
    ("additionalProperties", "must be undefined to be structural"),
    ("default", "must be undefined to be structural"),
    ("title", "must be empty to be structural"),
    ("description", "must be empty to be structural"),
    ("nullable", "must be false to be structural"),
    ("x-kubernetes-preserve-unknown-fields", "must be false to be structural"),
    ("x-kubernetes-embedded-resource", "must be false to be structural"),
    ("x-kubernetes-int-or-string", "must be false to be structural"),
    ("x-kubernetes-list-map-keys", "must be empty to be structural"),
    ("x-kubernetes-list-type", "must be undefined to be structural"),
    ("x-kubernetes-map-type", "must be undefined to be structural"),
    ("x-kubernetes-validations", "must be empty to be structural"),
)
_UNSUPPORTED_KEYWORDS = (
    ("id", "id"),
    ("$schema", "schema"),
    ("$ref", "$ref"),
    ("patternProperties", "patternProperties"),
    ("dependencies", "dependencies"),
    ("additionalItems", "additionalItems"),
    ("definitions", "definitions"),
)


# ============================================================================================================
# Small helpers
# ============================================================================================================


def _d(v: Any) -> Obj:
    """`v` if it is an object, else an empty one (a wrong type is the decoder's 400, not ours to trip on)."""
    return v if isinstance(v, dict) else {}


def _s(v: Any) -> str:
    return v if isinstance(v, str) else ""


def _l(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _go_lower(s: str) -> str:
    return "".join(ch.lower()[:1] for ch in s)


def _set(v: Any) -> bool:
    """Go's "non-zero" for a decoded JSON value: what an `omitempty` field would serialise."""
    if v is None or v is False or v == "" or v == 0 and not isinstance(v, bool):
        return False
    if isinstance(v, list | dict) and not v:
        return False
    return True


def _invalid(errs: FieldErrors, path: str, value: Any, detail: str) -> None:
    errs.causes.append(Cause("FieldValueInvalid", f"Invalid value: {render_bad_value(value)}: {detail}", path))


def _required(errs: FieldErrors, path: str, detail: str = "") -> None:
    errs.required(path, detail)


def _forbidden(errs: FieldErrors, path: str, detail: str) -> None:
    errs.forbidden(path, detail)


def _not_supported(errs: FieldErrors, path: str, value: Any, allowed: tuple[str, ...] | list[str]) -> None:
    vals = ", ".join(go_quote(a) for a in allowed)
    detail = f": supported values: {vals}" if allowed else ""
    errs.causes.append(Cause("FieldValueNotSupported", f"Unsupported value: {render_bad_value(value)}{detail}", path))


def _key(path: str, key: str) -> str:
    return f"{path}[{key}]"


def _error_text(c: Cause) -> str:
    return f"{c.field}: {c.message}"


# ============================================================================================================
# Defaulting
# ============================================================================================================


def default_crd(crd: Obj) -> None:
    """Apply v1 CRD defaulting in place (`SetObjectDefaults_CustomResourceDefinition`)."""
    if not isinstance(crd, dict):
        return
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return
    names = spec.get("names")
    if isinstance(names, dict):
        kind = _s(names.get("kind"))
        if not names.get("singular"):
            names["singular"] = _go_lower(kind)
        if not names.get("listKind") and kind:
            names["listKind"] = kind + "List"
    if spec.get("conversion") is None:
        spec["conversion"] = {"strategy": "None"}
    service = _d(_d(_d(_d(spec.get("conversion")).get("webhook")).get("clientConfig")).get("service"))
    if service and service.get("port") is None:
        service["port"] = 443
    status = crd.get("status")
    if status is None:
        status = {}
    if isinstance(status, dict) and not status.get("storedVersions"):
        for v in _l(spec.get("versions")):
            if isinstance(v, dict) and v.get("storage") is True and isinstance(v.get("name"), str):
                status["storedVersions"] = [v["name"]]
                crd["status"] = status
                break


# ============================================================================================================
# CRD validation
# ============================================================================================================


def validate_crd(crd: Obj, *, upstream_paths: bool = False) -> FieldErrors:
    """Validate a CRD for create (and, with `validate_crd_update`, for update).

    ObjectMeta's generic rules are the caller's (`meta_validation.validate_object_meta`); this adds the CRD's
    own name rule (`metadata.name: Invalid value: "x": must be spec.names.plural+"."+spec.group`). The status
    (acceptedNames, storedVersions) is the server's to compute, so it is not validated."""
    errs = FieldErrors()
    if not isinstance(crd, dict):
        errs.causes.append(Cause("FieldValueTypeInvalid", f"Invalid value: {render_bad_value(crd)}: must be an object"))
        return errs
    spec = _d(crd.get("spec"))
    names = _d(spec.get("names"))
    meta = _d(crd.get("metadata"))
    required_name = _s(names.get("plural")) + "." + _s(spec.get("group"))
    for key in ("generateName", "name"):
        value = meta.get(key)
        if isinstance(value, str) and value and value != required_name:
            _invalid(errs, f"metadata.{key}", value, 'must be spec.names.plural+"."+spec.group')
    errs.extend(_validate_spec(spec, upstream_paths))
    errs.extend(_validate_api_approval(crd, None))
    if spec.get("preserveUnknownFields") is True:
        _invalid(
            errs,
            "spec.preserveUnknownFields",
            True,
            "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead",
        )
    return errs


def _validate_enum(errs: FieldErrors, path: str, value: Any, accepted: tuple[str, ...]) -> None:
    if value is None or value == "":
        _required(errs, path)
    elif value not in accepted:
        _not_supported(errs, path, value, accepted)


def _identical(values: list[Any]) -> bool:
    return bool(values) and all(v == values[0] for v in values)


def _validate_spec(spec: Obj, upstream_paths: bool) -> FieldErrors:
    errs = FieldErrors()
    group = spec.get("group")
    if not group:
        _required(errs, "spec.group")
    elif not isinstance(group, str):
        _invalid(errs, "spec.group", group, "must be a string")
    elif problems := is_dns1123_subdomain(group):
        _invalid(errs, "spec.group", group, ",".join(problems))
    elif len(group.split(".")) < 2:
        _invalid(errs, "spec.group", group, "should be a domain with at least one dot")

    _validate_enum(errs, "spec.scope", spec.get("scope"), ("Cluster", "Namespaced"))

    versions_raw = spec.get("versions")
    versions = [v if isinstance(v, dict) else {} for v in _l(versions_raw)]
    for i, v in enumerate(versions):
        if not isinstance(_d(v.get("schema")).get("openAPIV3Schema"), dict):
            _required(errs, f"spec.versions[{i}].schema.openAPIV3Schema")
    if spec.get("preserveUnknownFields") is True and any(_schema_has(_schema_of(v), _has_default) for v in versions):
        _invalid(errs, "spec.preserveUnknownFields", True, "must be false in order to use defaults in the schema")

    # Where upstream reports per-version fields: converted to the internal form, identical per-version schemas,
    # subresources and columns become top-level ones, validated (and reported) once.
    schemas = [v.get("schema") for v in versions]
    subresources = [v.get("subresources") for v in versions]
    columns = [v.get("additionalPrinterColumns") or None for v in versions]
    top_schema = upstream_paths and _identical(schemas)
    top_subresources = upstream_paths and _identical(subresources)
    top_columns = upstream_paths and _identical(columns)
    any_status = any(isinstance(_d(s).get("status"), dict) for s in subresources)

    storage = 0
    seen: set[str] = set()
    unique = True
    for i, v in enumerate(versions):
        path = f"spec.versions[{i}]"
        if v.get("storage") is True:
            storage += 1
        name = v.get("name")
        key = name if isinstance(name, str) else repr(name)
        if key in seen:
            unique = False
        seen.add(key)
        if not isinstance(name, str):
            _invalid(errs, f"{path}.name", name, "must be a string")
        elif problems := is_dns1035_label(name):
            _invalid(errs, f"{path}.name", name, ",".join(problems))
        errs.extend(_validate_deprecation(v, path))
        if not top_schema:
            status_enabled = isinstance(_d(v.get("subresources")).get("status"), dict)
            errs.extend(_validate_schema_holder(v.get("schema"), f"{path}.schema", status_enabled))
        if not top_subresources:
            errs.extend(_validate_subresources(v.get("subresources"), f"{path}.subresources"))
        if not top_columns:
            for j, col in enumerate(_l(v.get("additionalPrinterColumns"))):
                errs.extend(_validate_column(col, f"{path}.additionalPrinterColumns[{j}]"))

    if not unique:
        _invalid(errs, "spec.versions", versions_raw, "must contain unique version names")
    if storage != 1:
        _invalid(errs, "spec.versions", versions_raw, "must have exactly one version marked as storage version")

    names = _d(spec.get("names"))
    for field in ("plural", "singular", "kind", "listKind"):
        if not names.get(field):
            _required(errs, f"spec.names.{field}")
    errs.extend(_validate_names(names, "spec.names"))

    if top_schema and schemas:
        errs.extend(_validate_schema_holder(schemas[0], "spec.validation", any_status))
    if top_subresources and subresources:
        errs.extend(_validate_subresources(subresources[0], "spec.subresources"))
    if top_columns and columns and columns[0]:
        for j, col in enumerate(_l(columns[0])):
            errs.extend(_validate_column(col, f"spec.additionalPrinterColumns[{j}]"))

    errs.extend(_validate_conversion(spec.get("conversion"), upstream_paths))
    return errs


def _validate_deprecation(v: Obj, path: str) -> FieldErrors:
    errs = FieldErrors()
    warning = v.get("deprecationWarning")
    if warning is None:
        return errs
    where = f"{path}.deprecationWarning"
    if v.get("deprecated") is not True:
        _invalid(errs, where, warning, "can only be set for deprecated versions")
        return errs
    if not isinstance(warning, str):
        _invalid(errs, where, warning, "must be a string")
        return errs
    if len(warning.encode("utf-8", "surrogatepass")) > 256:
        _invalid(errs, where, warning, "must be <= 256 characters long")
    if not warning:
        _invalid(errs, where, warning, "must not be an empty string")
    for i, ch in enumerate(warning):
        if not ch.isprintable():
            kind = "control" if ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 else "non-printable"
            index = len(warning[:i].encode("utf-8", "surrogatepass"))
            _invalid(
                errs,
                where,
                warning,
                f"must only contain printable UTF-8 characters; {kind} character found at index {index}",
            )
            break
    return errs


def _validate_names(names: Obj, path: str) -> FieldErrors:
    errs = FieldErrors()
    for field in ("plural", "singular"):
        value = names.get(field)
        if isinstance(value, str) and value and (problems := is_dns1035_label(value)):
            _invalid(errs, f"{path}.{field}", value, ",".join(problems))
    for field in ("kind", "listKind"):
        value = names.get(field)
        if isinstance(value, str) and value and (problems := is_dns1035_label(_go_lower(value))):
            _invalid(
                errs, f"{path}.{field}", value, "may have mixed case, but should otherwise match: " + ",".join(problems)
            )
    for i, short in enumerate(_l(names.get("shortNames"))):
        if not isinstance(short, str):
            _invalid(errs, f"{path}.shortNames[{i}]", short, "must be a string")
        elif problems := is_dns1035_label(short):
            _invalid(errs, f"{path}.shortNames[{i}]", short, ",".join(problems))
    kind, list_kind = names.get("kind"), names.get("listKind")
    if isinstance(kind, str) and kind and kind == list_kind:
        _invalid(errs, f"{path}.listKind", list_kind, "kind and listKind may not be the same")
    for i, category in enumerate(_l(names.get("categories"))):
        if not isinstance(category, str):
            _invalid(errs, f"{path}.categories[{i}]", category, "must be a string")
        elif problems := is_dns1035_label(category):
            _invalid(errs, f"{path}.categories[{i}]", category, ",".join(problems))
    return errs


def _simple_json_path(errs: FieldErrors, path: str, value: str) -> bool:
    """Upstream's validateSimpleJSONPath, then (extra here) the JSONPath must parse. True when valid."""
    if not value:
        _invalid(errs, path, value, "must not be empty")
        return False
    if not value.startswith("."):
        _invalid(errs, path, value, "must be a simple json path starting with .")
        return False
    try:
        jsonpath.parse(value)
    except ValueError as e:
        _invalid(errs, path, value, str(e))
        return False
    return True


def _validate_column(col: Any, path: str) -> FieldErrors:
    errs = FieldErrors()
    col = _d(col)
    if not col.get("name"):
        _required(errs, f"{path}.name")
    typ = col.get("type")
    allowed = ",".join(PRINTER_COLUMN_TYPES)
    if not typ:
        _required(errs, f"{path}.type", f"must be one of {allowed}")
    elif typ not in PRINTER_COLUMN_TYPES:
        _invalid(errs, f"{path}.type", typ, f"must be one of {allowed}")
    fmt = col.get("format")
    if fmt and fmt not in PRINTER_COLUMN_FORMATS:
        _invalid(errs, f"{path}.format", fmt, "must be one of " + ",".join(PRINTER_COLUMN_FORMATS))
    json_path = col.get("jsonPath")
    if not json_path:
        _required(errs, f"{path}.JSONPath")
    elif not isinstance(json_path, str):
        _invalid(errs, f"{path}.JSONPath", json_path, "must be a string")
    else:
        _simple_json_path(errs, f"{path}.JSONPath", json_path)
    priority = col.get("priority")
    if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)):
        _invalid(errs, f"{path}.priority", priority, "must be an integer")
    return errs


def _validate_subresources(sub: Any, path: str) -> FieldErrors:
    errs = FieldErrors()
    scale = _d(sub).get("scale")
    if not isinstance(scale, dict):
        return errs
    for field, prefix, what in (
        ("specReplicasPath", ".spec.", ".spec"),
        ("statusReplicasPath", ".status.", ".status"),
    ):
        value = scale.get(field)
        where = f"{path}.scale.{field}"
        if not value:
            _required(errs, where)
        elif not isinstance(value, str):
            _invalid(errs, where, value, "must be a string")
        elif _simple_json_path(errs, where, value) and not value.startswith(prefix):
            _invalid(errs, where, value, f"should be a json path under {what}")
    selector = scale.get("labelSelectorPath")
    where = f"{path}.scale.labelSelectorPath"
    if isinstance(selector, str) and selector:
        if _simple_json_path(errs, where, selector) and not selector.startswith((".spec.", ".status.")):
            _invalid(errs, where, selector, "should be a json path under either .spec or .status")
    elif selector is not None and not isinstance(selector, str):
        _invalid(errs, where, selector, "must be a string")
    return errs


def _validate_conversion(conversion: Any, upstream_paths: bool) -> FieldErrors:
    errs = FieldErrors()
    if conversion is None:
        return errs
    conv = _d(conversion)
    strategy = conv.get("strategy")
    if strategy is None or strategy == "":
        _required(errs, "spec.conversion.strategy")
    elif strategy != "None":
        _not_supported(errs, "spec.conversion.strategy", strategy, ("None",))
    webhook = _d(conv.get("webhook"))
    if strategy == "None" or strategy is None or strategy == "":
        detail = "should not be set when strategy is not set to Webhook"
        if webhook.get("clientConfig") is not None:
            where = "spec.conversion.webhookClientConfig" if upstream_paths else "spec.conversion.webhook.clientConfig"
            _forbidden(errs, where, detail)
        if _l(webhook.get("conversionReviewVersions")):
            where = (
                "spec.conversion.conversionReviewVersions"
                if upstream_paths
                else "spec.conversion.webhook.conversionReviewVersions"
            )
            _forbidden(errs, where, detail)
    return errs


def _validate_api_approval(new: Obj, old: Obj | None) -> FieldErrors:
    errs = FieldErrors()
    group = _s(_d(new.get("spec")).get("group"))
    if not (group in ("k8s.io", "kubernetes.io") or group.endswith((".k8s.io", ".kubernetes.io"))):
        return errs

    def state(crd: Obj) -> tuple[str, str, str]:
        annotation = _d(_d(crd.get("metadata")).get("annotations")).get(API_APPROVAL_ANNOTATION)
        annotation = annotation if isinstance(annotation, str) else ""
        link = "see https://github.com/kubernetes/enhancements/pull/1111"
        if not annotation:
            return (
                "missing",
                annotation,
                f'protected groups must have approval annotation "{API_APPROVAL_ANNOTATION}", {link}',
            )
        if annotation.startswith("unapproved"):
            return "bypassed", annotation, ""
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/\s?#]+", annotation):
            return "approved", annotation, ""
        return (
            "invalid",
            annotation,
            f'protected groups must have approval annotation "{API_APPROVAL_ANNOTATION}" with either a URL or a '
            f'reason starting with "unapproved", {link}',
        )

    new_state, value, reason = state(new)
    if old is not None and state(old)[0] == new_state:
        return errs
    where = f"metadata.annotations[{API_APPROVAL_ANNOTATION}]"
    if new_state == "missing":
        _required(errs, where, reason)
    elif new_state == "invalid":
        _invalid(errs, where, value, reason)
    return errs


# ============================================================================================================
# Update
# ============================================================================================================


def _established(crd: Obj) -> bool:
    return any(
        isinstance(c, dict) and c.get("type") == "Established" and c.get("status") == "True"
        for c in _l(_d(crd.get("status")).get("conditions"))
    )


def validate_crd_update(new: Obj, old: Obj) -> FieldErrors:
    """The rules only an update has: group and names.plural never change (they make the resource's name),
    scope never changes here (upstream: not once Established, and every CRD here is Established at once),
    names.kind not once the old CRD is Established; and the API-approval annotation is only re-checked when its
    state changes."""
    errs = FieldErrors()
    if not isinstance(new, dict) or not isinstance(old, dict):
        return errs
    spec, old_spec = _d(new.get("spec")), _d(old.get("spec"))
    names, old_names = _d(spec.get("names")), _d(old_spec.get("names"))
    if spec.get("scope") != old_spec.get("scope"):
        _invalid(errs, "spec.scope", spec.get("scope"), FIELD_IMMUTABLE)
    if _established(old) and names.get("kind") != old_names.get("kind"):
        _invalid(errs, "spec.names.kind", names.get("kind"), FIELD_IMMUTABLE)
    if spec.get("group") != old_spec.get("group"):
        _invalid(errs, "spec.group", spec.get("group"), FIELD_IMMUTABLE)
    if names.get("plural") != old_names.get("plural"):
        _invalid(errs, "spec.names.plural", names.get("plural"), FIELD_IMMUTABLE)
    return errs


# ============================================================================================================
# Schema validation
# ============================================================================================================


def _schema_of(version: Obj) -> Any:
    return _d(version.get("schema")).get("openAPIV3Schema")


def _has_default(node: Obj) -> bool:
    return "default" in node and node["default"] is not None


def _schema_has(node: Any, pred: Any, depth: int = 0) -> bool:
    if not isinstance(node, dict) or depth > MAX_DEPTH:
        return False
    if pred(node):
        return True
    for sub in _subschemas(node):
        if _schema_has(sub, pred, depth + 1):
            return True
    return False


def _subschemas(node: Obj) -> list[Any]:
    out: list[Any] = []
    items = node.get("items")
    if isinstance(items, list):
        out.extend(items)
    else:
        out.append(items)
    for key in ("allOf", "anyOf", "oneOf"):
        out.extend(_l(node.get(key)))
    out.append(node.get("not"))
    for key in ("properties", "patternProperties", "definitions", "dependencies"):
        out.extend(_d(node.get(key)).values())
    out.append(node.get("additionalProperties"))
    out.append(node.get("additionalItems"))
    return [s for s in out if isinstance(s, dict)]


def _validate_schema_holder(holder: Any, path: str, status_enabled: bool) -> FieldErrors:
    """validateCustomResourceDefinitionValidation: `holder` is a version's `schema` ({openAPIV3Schema: ...})."""
    schema = _d(holder).get("openAPIV3Schema")
    if not isinstance(schema, dict):
        return FieldErrors()
    return validate_structural(schema, f"{path}.openAPIV3Schema", status_enabled=status_enabled)


def validate_structural(schema: Any, path: str, *, status_enabled: bool = False) -> FieldErrors:
    """All the checks upstream runs on one version's `openAPIV3Schema` rooted at `path`.

    In upstream's order: the status-subresource root restrictions (with `status_enabled`), `nullable` at the
    root, then either the structural-schema violations (sorted, as upstream sorts them) or, when the schema
    is structural, the `default:` checks; then the OpenAPI keyword rules; and only when nothing else was found,
    the unsupported keywords that make the schema impossible to convert (`$ref`, `patternProperties`, …)."""
    errs = FieldErrors()
    if not isinstance(schema, dict):
        _invalid(errs, path, schema, "must be an object")
        return errs
    try:
        if status_enabled:
            _status_root_rules(schema, path, errs)
        if schema.get("nullable") is True:
            _forbidden(errs, f"{path}.nullable", "nullable cannot be true at the root")
        init_error = _unsupported_keyword(schema, 0)
        if init_error is None:
            structural = _validate_structural_invariants(schema, path)
            if structural:
                errs.extend(structural)
            else:
                errs.extend(_validate_defaults(schema, path))
        errs.extend(_OpenAPIChecks().check(schema, path, is_root=True))
        if not errs and init_error is not None:
            _invalid(errs, path, "", init_error)
    except RecursionError:  # pragma: no cover - depth is bounded by MAX_DEPTH below
        _forbidden(errs, path, "must not be nested this deeply")
    return errs


def _status_root_rules(schema: Obj, path: str, errs: FieldErrors) -> None:
    for go_name, json_name in _ROOT_FIELDS:
        if not _set(schema.get(json_name)):
            continue
        if go_name == "Type":
            if schema.get("type") != "object":
                _invalid(
                    errs,
                    f"{path}.type",
                    schema.get("type"),
                    'only "object" is allowed as the type at the root of the schema if the status subresource '
                    "is enabled",
                )
                return
            continue
        if go_name not in _ALLOWED_AT_ROOT_WITH_STATUS:
            allowed = "[" + " ".join(_ALLOWED_AT_ROOT_WITH_STATUS) + "]"
            _invalid(
                errs,
                path,
                schema,
                f"only {allowed} fields are allowed at the root of the schema if the status subresource is enabled",
            )
            return


def _unsupported_keyword(node: Any, depth: int) -> str | None:
    """NewStructural's conversion errors (first found), or None."""
    if not isinstance(node, dict) or depth > MAX_DEPTH:
        return None
    for key, label in _UNSUPPORTED_KEYWORDS:
        if _set(node.get(key)) or (key == "additionalItems" and node.get(key) is not None):
            return f"OpenAPIV3Schema '{label}' is not supported"
    if isinstance(node.get("items"), list) and node["items"]:
        return "OpenAPIV3Schema 'items' must be a schema, but is an array"
    if node.get("x-kubernetes-preserve-unknown-fields") is False:
        return "internal error: 'x-kubernetes-preserve-unknown-fields' must be true or undefined"
    for sub in _subschemas(node):
        found = _unsupported_keyword(sub, depth + 1)
        if found:
            return found
    return None


# --- structural invariants (pkg/apiserver/schema/validation.go, complete.go) -----------------------------------

_ROOT, _ITEM, _FIELD = range(3)
_INT_OR_STRING_ANY_OF = [{"type": "integer"}, {"type": "string"}]


def _validate_structural_invariants(schema: Obj, path: str) -> FieldErrors:
    errs = FieldErrors()
    _invariants(schema, _ROOT, path, errs, 0)
    _completeness(schema, schema, path, path, errs, 0)
    errs.causes.sort(key=_error_text)
    return errs


def _type_of(node: Obj) -> str:
    t = node.get("type")
    return t if isinstance(t, str) else ""


def _invariants(s: Obj, lvl: int, path: str, errs: FieldErrors, depth: int) -> None:
    if depth > MAX_DEPTH:
        _forbidden(errs, path, f"must not be nested more than {MAX_DEPTH} levels deep")
        return
    typ = _type_of(s)
    items = s.get("items")
    if typ == "array" and not isinstance(items, dict):
        _required(errs, f"{path}.items", "must be specified")
    if isinstance(items, dict):
        _invariants(items, _ITEM, f"{path}.items", errs, depth + 1)
    props = _d(s.get("properties"))
    for k, v in props.items():
        if isinstance(v, dict):
            _invariants(v, _FIELD, _key(f"{path}.properties", k), errs, depth + 1)
    extra = s.get("additionalProperties")
    if extra is not None:
        if lvl == _ROOT:
            _forbidden(errs, f"{path}.additionalProperties", "must not be used at the root")
        if isinstance(extra, dict):
            _invariants(extra, _FIELD, f"{path}.additionalProperties", errs, depth + 1)

    int_or_string = s.get("x-kubernetes-int-or-string") is True
    preserve = s.get("x-kubernetes-preserve-unknown-fields") is True
    embedded = s.get("x-kubernetes-embedded-resource") is True
    if int_or_string and preserve:
        _invalid(
            errs,
            f"{path}.x-kubernetes-preserve-unknown-fields",
            True,
            "must be false if x-kubernetes-int-or-string is true",
        )
    if int_or_string and embedded:
        _invalid(
            errs, f"{path}.x-kubernetes-embedded-resource", True, "must be false if x-kubernetes-int-or-string is true"
        )

    skip_any_of = _l(s.get("anyOf")) == _INT_OR_STRING_ANY_OF
    all_of = _l(s.get("allOf"))
    skip_first_all_of_any_of = (
        bool(all_of) and isinstance(all_of[0], dict) and (_l(all_of[0].get("anyOf")) == _INT_OR_STRING_ANY_OF)
    )
    _value_validation(s, skip_any_of, skip_first_all_of_any_of, lvl, path, errs, depth)

    check_metadata = lvl == _ROOT or embedded
    if embedded and typ != "object":
        if not typ:
            _required(errs, f"{path}.type", "must be object if x-kubernetes-embedded-resource is true")
        else:
            _invalid(errs, f"{path}.type", typ, "must be object if x-kubernetes-embedded-resource is true")
    elif not typ and not int_or_string and not preserve:
        detail = {
            _ROOT: "must not be empty at the root",
            _ITEM: "must not be empty for specified array items",
            _FIELD: "must not be empty for specified object fields",
        }[lvl]
        _required(errs, f"{path}.type", detail)
    if embedded and extra is not None:
        _forbidden(errs, f"{path}.additionalProperties", "must not be used if x-kubernetes-embedded-resource is set")
    if lvl == _ROOT and typ and typ != "object":
        _invalid(errs, f"{path}.type", typ, "must be object at the root")
    if check_metadata:
        for field in ("kind", "apiVersion"):
            sub = props.get(field)
            if isinstance(sub, dict) and _type_of(sub) != "string":
                _invalid(errs, f"{_key(f'{path}.properties', field)}.type", _type_of(sub), "must be string")
    meta = props.get("metadata")
    if isinstance(meta, dict):
        _metadata_invariants(meta, check_metadata, lvl, _key(f"{path}.properties", "metadata"), errs)
    if embedded and not preserve and not props:
        _required(
            errs,
            f"{path}.properties",
            "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
        )


def _metadata_invariants(s: Obj, check_metadata: bool, lvl: int, path: str, errs: FieldErrors) -> None:
    if check_metadata and _type_of(s) != "object":
        _invalid(errs, f"{path}.type", _type_of(s), "must be object")
    if lvl != _ROOT:
        return
    rest = {k: v for k, v in s.items() if k not in ("type", "default") and _set(v)}
    props = _d(rest.get("properties"))
    if props and set(props) <= {"name", "generateName"}:
        rest.pop("properties")
    if rest:
        _forbidden(
            errs,
            path,
            "must not specify anything other than name and generateName, but metadata is implicitly specified",
        )


def _value_validation(
    v: Obj, skip_any_of: bool, skip_first_all_of_any_of: bool, lvl: int, path: str, errs: FieldErrors, depth: int
) -> None:
    if not skip_any_of:
        for i, sub in enumerate(_l(v.get("anyOf"))):
            _nested(sub, False, lvl, f"{path}.anyOf[{i}]", errs, depth + 1)
    for i, sub in enumerate(_l(v.get("allOf"))):
        _nested(sub, skip_first_all_of_any_of and i == 0, lvl, f"{path}.allOf[{i}]", errs, depth + 1)
    for i, sub in enumerate(_l(v.get("oneOf"))):
        _nested(sub, False, lvl, f"{path}.oneOf[{i}]", errs, depth + 1)
    if isinstance(v.get("not"), dict):
        _nested(v["not"], False, lvl, f"{path}.not", errs, depth + 1)
    pattern = v.get("pattern")
    if isinstance(pattern, str) and pattern:
        matcher, error = compile_pattern(pattern)
        if matcher is None:
            _invalid(errs, f"{path}.pattern", pattern, f"must be a valid regular expression, but isn't: {error}")


def _nested(v: Any, skip_any_of: bool, lvl: int, path: str, errs: FieldErrors, depth: int) -> None:
    if not isinstance(v, dict):
        return
    if depth > MAX_DEPTH:
        _forbidden(errs, path, f"must not be nested more than {MAX_DEPTH} levels deep")
        return
    _value_validation(v, skip_any_of, False, lvl, path, errs, depth)
    if isinstance(v.get("items"), dict):
        _nested(v["items"], False, lvl, f"{path}.items", errs, depth + 1)
    for k, sub in _d(v.get("properties")).items():
        _nested(sub, False, _FIELD, _key(f"{path}.properties", k), errs, depth + 1)
    for key, detail in _NESTED_FORBIDDEN:
        value = v.get(key)
        present = (
            value is not None
            if key in ("additionalProperties", "default", "x-kubernetes-list-type", "x-kubernetes-map-type")
            else _set(value)
        )
        if present:
            _forbidden(errs, f"{path}.{key}", detail)
    if "metadata" in _d(v.get("properties")):
        _forbidden(errs, _key(f"{path}.properties", "metadata"), "must not be specified in a nested context")


def _completeness(v: Obj, s: Any, s_path: str, v_path: str, errs: FieldErrors, depth: int) -> None:
    """Every property/items a value validation (allOf/anyOf/oneOf/not) mentions must exist structurally."""
    if depth > MAX_DEPTH:
        return
    if not isinstance(s, dict):
        if any(v.get(k) for k in ("not", "allOf", "anyOf", "oneOf")):
            _required(errs, s_path, f"because it is defined in {v_path}")
        return
    subs: list[tuple[Any, str]] = []
    if isinstance(v.get("not"), dict):
        subs.append((v["not"], f"{v_path}.not"))
    for key in ("allOf", "anyOf", "oneOf"):
        subs.extend((sub, f"{v_path}.{key}[{i}]") for i, sub in enumerate(_l(v.get(key))))
    for sub, sub_path in subs:
        if isinstance(sub, dict):
            _nested_completeness(sub, s, s_path, sub_path, errs, depth + 1)


def _nested_completeness(v: Obj, s: Any, s_path: str, v_path: str, errs: FieldErrors, depth: int) -> None:
    if not isinstance(s, dict):
        _required(errs, s_path, f"because it is defined in {v_path}")
        return
    _completeness(v, s, s_path, v_path, errs, depth)
    if isinstance(v.get("items"), dict):
        _nested_completeness(
            v["items"],
            s.get("items") if isinstance(s.get("items"), dict) else None,
            f"{s_path}.items",
            f"{v_path}.items",
            errs,
            depth + 1,
        )
    s_props = _d(s.get("properties"))
    for k, sub in _d(v.get("properties")).items():
        if not isinstance(sub, dict):
            continue
        if k not in s_props:
            _required(
                errs, _key(f"{s_path}.properties", k), f"because it is defined in {_key(f'{v_path}.properties', k)}"
            )
        else:
            _nested_completeness(
                sub, s_props[k], _key(f"{s_path}.properties", k), _key(f"{v_path}.properties", k), errs, depth + 1
            )


# --- defaults (pkg/apiserver/schema/defaulting/validation.go) -------------------------------------------------


def _validate_defaults(schema: Obj, path: str) -> FieldErrors:
    errs = FieldErrors()
    _defaults(schema, path, errs, inside_meta=False, resource_root=True, depth=0)
    return errs


def _defaults(s: Obj, path: str, errs: FieldErrors, *, inside_meta: bool, resource_root: bool, depth: int) -> None:
    if depth > MAX_DEPTH:
        return
    embedded = resource_root or s.get("x-kubernetes-embedded-resource") is True
    if embedded:
        inside_meta = False
    if _has_default(s):
        default = s["default"]
        where = f"{path}.default"
        if inside_meta:
            found = customresource.openapi_errors(copy.deepcopy(default), s, where)
            errs.extend(found)
        else:
            if customresource.unknown_fields(copy.deepcopy(default), s, resource_root=embedded):
                _invalid(errs, where, default, "must not have unknown fields")
            meta_errs = customresource.embedded_resource_errors(default, s, where, resource_root=embedded)
            if meta_errs:
                errs.extend(meta_errs)
            else:
                errs.extend(customresource.openapi_errors(default, s, where))
    if isinstance(s.get("items"), dict):
        _defaults(s["items"], f"{path}.items", errs, inside_meta=inside_meta, resource_root=False, depth=depth + 1)
    for k, sub in _d(s.get("properties")).items():
        if not isinstance(sub, dict):
            continue
        sub_inside = inside_meta or (embedded and k in _META_FIELDS)
        _defaults(
            sub, _key(f"{path}.properties", k), errs, inside_meta=sub_inside, resource_root=False, depth=depth + 1
        )


# --- OpenAPI keyword rules (ValidateCustomResourceDefinitionOpenAPISchema) --------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class _Ctx:
    """What the keyword walk carries down (upstream's specStandardValidator options)."""

    allow_defaults: bool = True
    defaults_reason: str = ""
    inside_meta: bool = False


class _OpenAPIChecks:
    """The recursive keyword checks with the walker's context (defaults forbidden, inside resource meta)."""

    def check(self, schema: Obj, path: str, *, is_root: bool) -> FieldErrors:
        errs = FieldErrors()
        self._walk(schema, path, errs, is_root=is_root, ctx=_Ctx(), depth=0)
        return errs

    def _walk(self, s: Any, path: str, errs: FieldErrors, *, is_root: bool, ctx: _Ctx, depth: int) -> None:
        if not isinstance(s, dict):
            return
        if depth > MAX_DEPTH:
            _forbidden(errs, path, f"must not be nested more than {MAX_DEPTH} levels deep")
            return
        self._keywords(s, path, errs, ctx)
        if s.get("uniqueItems") is True:
            _forbidden(
                errs,
                f"{path}.uniqueItems",
                "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
            )
        props = _d(s.get("properties"))
        extra = s.get("additionalProperties")
        nested = depth + 1
        if extra is not None:
            if props and (extra is False or isinstance(extra, dict)):
                _forbidden(
                    errs, f"{path}.additionalProperties", "additionalProperties and properties are mutual exclusive"
                )
            sub_ctx = ctx
            if ctx.inside_meta:
                # pruning a default inside a map of object metadata would be ambiguous
                sub_ctx = dataclasses.replace(
                    ctx, allow_defaults=False, defaults_reason="inside additionalProperties applying to object metadata"
                )
            self._walk(extra, f"{path}.additionalProperties", errs, is_root=False, ctx=sub_ctx, depth=nested)
        embedded = s.get("x-kubernetes-embedded-resource") is True
        for k, sub in props.items():
            sub_ctx = ctx
            if (is_root or embedded) and k in _META_FIELDS:
                sub_ctx = dataclasses.replace(sub_ctx, inside_meta=True)
                if is_root:
                    sub_ctx = dataclasses.replace(sub_ctx, allow_defaults=False, defaults_reason=f"in top-level {k}")
            self._walk(sub, _key(f"{path}.properties", k), errs, is_root=False, ctx=sub_ctx, depth=nested)
        self._walk(s.get("not"), f"{path}.not", errs, is_root=False, ctx=ctx, depth=nested)
        for key in ("allOf", "oneOf", "anyOf"):
            for i, sub in enumerate(_l(s.get(key))):
                self._walk(sub, f"{path}.{key}[{i}]", errs, is_root=False, ctx=ctx, depth=nested)
        for k, sub in _d(s.get("definitions")).items():
            self._walk(sub, _key(f"{path}.definitions", k), errs, is_root=False, ctx=ctx, depth=nested)
        items = s.get("items")
        if isinstance(items, dict):
            self._walk(items, f"{path}.items", errs, is_root=False, ctx=ctx, depth=nested)
        elif isinstance(items, list):
            for i, sub in enumerate(items):
                self._walk(sub, f"{path}.items[{i}]", errs, is_root=False, ctx=ctx, depth=nested)
        for k, sub in _d(s.get("dependencies")).items():
            self._walk(sub, _key(f"{path}.dependencies", k), errs, is_root=False, ctx=ctx, depth=nested)
        self._extensions(s, path, errs)
        self._validation_rules(s, path, errs)

    @staticmethod
    def _keywords(s: Obj, path: str, errs: FieldErrors, ctx: _Ctx) -> None:
        """specStandardValidatorV3.validate."""
        typ = s.get("type")
        if typ is not None and typ != "" and typ not in OPENAPI_V3_TYPES:
            _not_supported(errs, f"{path}.type", typ, OPENAPI_V3_TYPES)
        if _has_default(s) and not ctx.allow_defaults:
            detail = "must not be set" + (f" {ctx.defaults_reason}" if ctx.defaults_reason else "")
            _forbidden(errs, f"{path}.default", detail)
        if _set(s.get("id")):
            _forbidden(errs, f"{path}.id", "id is not supported")
        if s.get("additionalItems") is not None:
            _forbidden(errs, f"{path}.additionalItems", "additionalItems is not supported")
        if _set(s.get("patternProperties")):
            _forbidden(errs, f"{path}.patternProperties", "patternProperties is not supported")
        if _set(s.get("definitions")):
            _forbidden(errs, f"{path}.definitions", "definitions is not supported")
        if s.get("dependencies") is not None:
            _forbidden(errs, f"{path}.dependencies", "dependencies is not supported")
        if s.get("$ref") is not None:
            _forbidden(errs, f"{path}.$ref", "$ref is not supported")
        if typ == "null":
            _forbidden(errs, f"{path}.type", "type cannot be set to null, use nullable as an alternative")
        if isinstance(s.get("items"), list) and s["items"]:
            _forbidden(errs, f"{path}.items", "items must be a schema object and not an array")
        if ctx.inside_meta and s.get("x-kubernetes-embedded-resource") is True:
            _forbidden(errs, f"{path}.x-kubernetes-embedded-resource", "must not be used inside of resource meta")

    @staticmethod
    def _extensions(s: Obj, path: str, errs: FieldErrors) -> None:
        typ = _type_of(s)
        if s.get("x-kubernetes-preserve-unknown-fields") is False:
            _invalid(errs, f"{path}.x-kubernetes-preserve-unknown-fields", False, "must be true or undefined")
        map_type = s.get("x-kubernetes-map-type")
        if map_type is not None:
            if typ != "object":
                detail = "must be object if x-kubernetes-map-type is specified"
                if not typ:
                    _required(errs, f"{path}.type", detail)
                else:
                    _invalid(errs, f"{path}.type", typ, detail)
            if map_type not in ("atomic", "granular"):
                _not_supported(errs, f"{path}.x-kubernetes-map-type", map_type, ("atomic", "granular"))
        list_type = s.get("x-kubernetes-list-type")
        items = s.get("items")
        if list_type is not None and typ != "array":
            detail = "must be array if x-kubernetes-list-type is specified"
            if not typ:
                _required(errs, f"{path}.type", detail)
            else:
                _invalid(errs, f"{path}.type", typ, detail)
        elif list_type == "set" and isinstance(items, dict):
            item_type = _type_of(items)
            detail = "must be atomic as item of a list with x-kubernetes-list-type=set"
            if item_type == "array":
                lt = items.get("x-kubernetes-list-type")
                if lt is not None and lt != "atomic":
                    _invalid(errs, f"{path}.items.x-kubernetes-list-type", lt, detail)
            elif item_type == "object" and items.get("x-kubernetes-map-type") != "atomic":
                _invalid(errs, f"{path}.items.x-kubernetes-map-type", items.get("x-kubernetes-list-type"), detail)
        if list_type is not None and list_type not in ("atomic", "set", "map"):
            _not_supported(errs, f"{path}.x-kubernetes-list-type", list_type, ("atomic", "set", "map"))
        keys_raw = s.get("x-kubernetes-list-map-keys")
        keys = _l(keys_raw)
        if keys:
            detail = "must be map if x-kubernetes-list-map-keys is non-empty"
            if list_type is None:
                _required(errs, f"{path}.x-kubernetes-list-type", detail)
            elif list_type != "map":
                _invalid(errs, f"{path}.x-kubernetes-list-type", list_type, detail)
        if list_type == "map":
            if not keys:
                _required(
                    errs, f"{path}.x-kubernetes-list-map-keys", "must not be empty if x-kubernetes-list-type is map"
                )
            if items is None:
                _required(errs, f"{path}.items", "must have a schema if x-kubernetes-list-type is map")
            elif isinstance(items, list):
                _invalid(
                    errs, f"{path}.items", items, "must only have a single schema if x-kubernetes-list-type is map"
                )
            elif isinstance(items, dict):
                item_type = _type_of(items)
                if item_type != "object":
                    _invalid(
                        errs,
                        f"{path}.items.type",
                        item_type,
                        "must be object if parent array's x-kubernetes-list-type is map",
                    )
                else:
                    item_props = _d(items.get("properties"))
                    seen: set[Any] = set()
                    for k in keys:
                        hashable = k if isinstance(k, str) else repr(k)
                        if hashable in item_props:
                            if _type_of(_d(item_props[hashable])) in ("array", "object"):
                                _invalid(
                                    errs,
                                    f"{_key(f'{path}.items.properties', hashable)}.type",
                                    item_type,
                                    "must be a scalar type if parent array's x-kubernetes-list-type is map",
                                )
                        else:
                            _invalid(
                                errs,
                                f"{path}.x-kubernetes-list-map-keys",
                                keys_raw,
                                "entries must all be names of item properties",
                            )
                        if hashable in seen:
                            _invalid(
                                errs,
                                f"{path}.x-kubernetes-list-map-keys",
                                keys_raw,
                                "must not contain duplicate entries",
                            )
                        seen.add(hashable)
        if isinstance(items, dict) and list_type in ("set", "map"):
            if items.get("nullable") is True:
                _forbidden(
                    errs, f"{path}.items.nullable", f"cannot be nullable when x-kubernetes-list-type is {list_type}"
                )
            if list_type == "map":
                required = {r for r in _l(items.get("required")) if isinstance(r, str)}
                item_props = _d(items.get("properties"))
                for k in keys:
                    if not isinstance(k, str) or not isinstance(item_props.get(k), dict):
                        continue
                    prop = item_props[k]
                    where = _key(f"{path}.items.properties", k)
                    if k not in required and not _has_default(prop):
                        _required(
                            errs,
                            f"{where}.default",
                            "this property is in x-kubernetes-list-map-keys, so it must have a default or be a "
                            "required property",
                        )
                    if prop.get("nullable") is True:
                        _forbidden(
                            errs,
                            f"{where}.nullable",
                            "this property is in x-kubernetes-list-map-keys, so it cannot be nullable",
                        )

    @staticmethod
    def _validation_rules(s: Obj, path: str, errs: FieldErrors) -> None:
        """The static checks of x-kubernetes-validations (the rules themselves are not compiled here)."""
        newline = re.compile(r"[\n\r]+")
        for i, rule in enumerate(_l(s.get("x-kubernetes-validations"))):
            rule = _d(rule)
            where = f"{path}.x-kubernetes-validations[{i}]"
            text = _s(rule.get("rule"))
            message = _s(rule.get("message"))
            trimmed_rule, trimmed_msg = text.strip(), message.strip()
            if not trimmed_rule:
                _required(errs, f"{where}.rule", "rule is not specified")
            elif message and not trimmed_msg:
                _invalid(errs, f"{where}.message", message, "must be non-empty if specified")
            elif newline.search(trimmed_msg):
                _invalid(errs, f"{where}.message", message, "must not contain line breaks")
            elif newline.search(trimmed_rule) and not trimmed_msg:
                _required(errs, f"{where}.message", "message must be specified if rule contains line breaks")
            expression = _s(rule.get("messageExpression"))
            if expression and not expression.strip():
                _required(errs, f"{where}.messageExpression", "messageExpression must be non-empty if specified")
            reason = rule.get("reason")
            if reason is not None and reason not in VALIDATION_RULE_REASONS:
                _not_supported(errs, f"{where}.reason", reason, VALIDATION_RULE_REASONS)
            field_path = _s(rule.get("fieldPath"))
            if field_path and not field_path.strip():
                _invalid(errs, f"{where}.fieldPath", field_path, "must be non-empty if specified")
            if newline.search(field_path):
                _invalid(errs, f"{where}.fieldPath", field_path, "must not contain line breaks")
