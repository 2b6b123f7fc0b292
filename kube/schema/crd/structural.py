"""`validate_structural`: the whole per-schema check (unsupported keywords, the status subresource's root
rules, structural invariants, defaults, the OpenAPI keyword rules), and the schema-walking helpers the CRD
validation shares."""

from __future__ import annotations

from typing import Any

from kube.errors import FieldErrors

from ..customresource import MAX_DEPTH
from .common import (
    _ALLOWED_AT_ROOT_WITH_STATUS,
    _ROOT_FIELDS,
    _UNSUPPORTED_KEYWORDS,
    Obj,
    _d,
    _forbidden,
    _invalid,
    _l,
    _set,
)
from .invariants import _validate_structural_invariants
from .openapi import _OpenAPIChecks
from .schema_defaults import _validate_defaults


def _schema_of(version: Obj) -> Any:
    return _d(version.get("schema")).get("openAPIV3Schema")


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
