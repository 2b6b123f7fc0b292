"""What every CRD check shares: the enumerations upstream validates against, the JSONSchemaProps field
tables, and the small helpers that read untrusted JSON without tripping on a wrong type and add causes in
upstream's words."""

from __future__ import annotations

from typing import Any

from kube.errors import Cause, FieldErrors
from kube.meta_validation import go_quote, render_bad_value

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


def _has_default(node: Obj) -> bool:
    return "default" in node and node["default"] is not None
