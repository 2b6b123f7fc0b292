"""`validate_crd`: the whole object (`pkg/apis/apiextensions/validation/validation.go`), spec and versions;
the checks of the spec's parts are in `spec_fields`, the per-schema check in `structural`."""

from __future__ import annotations

from typing import Any

from kube.errors import Cause, FieldErrors
from kube.meta_validation import is_dns1123_subdomain, render_bad_value

from ..customresource import is_dns1035_label
from .common import (
    Obj,
    _d,
    _has_default,
    _invalid,
    _l,
    _not_supported,
    _required,
    _s,
)
from .spec_fields import (
    _validate_api_approval,
    _validate_column,
    _validate_conversion,
    _validate_deprecation,
    _validate_names,
    _validate_subresources,
)
from .structural import _schema_has, _schema_of, _validate_schema_holder


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
