"""The single ObjectMeta fields: name, generateName, labels, annotations, finalizers, ownerReferences."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kube.errors import FieldErrors

from .formats import _byte_len, is_dns1123_label, is_dns1123_subdomain, is_label_value, is_qualified_name
from .rendering import _go_json, _go_lower, _invalid, _too_long, _type_invalid, go_quote

FIELD_IMMUTABLE = "field is immutable"
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024
#: Finalizers built-in kinds accept without a `/` (kubernetes `helper.IsStandardFinalizerName`).
STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})


def _mask_trailing_dash(name: str) -> str:
    # Upstream's maskTrailingDash drops the last *two* characters before appending "a"; the result is only
    # ever validated, never stored, so the quirk only matters for which messages appear. Kept for parity.
    if len(name) > 1 and name.endswith("-"):
        return name[:-2] + "a"
    return name


def _name_messages(name: str, *, label: bool, prefix: bool) -> list[str]:
    if prefix:
        name = _mask_trailing_dash(name)
    return is_dns1123_label(name) if label else is_dns1123_subdomain(name)


def validate_path_segment_name(name: str, *, path: str = "metadata.name") -> FieldErrors:
    """apimachinery's ValidatePathSegmentName (RBAC objects): anything a URL path segment can hold,
    so `system:kcp:workspace:access` is a valid ClusterRole name. Unlike upstream (etcd keys have
    no length limit) at most 253 characters, the length of the name column every object is stored in."""
    errs = FieldErrors()
    if len(name) > 253:
        errs.invalid(path, name, "must be no more than 253 characters")
    if name in (".", ".."):
        errs.invalid(path, name, f"may not be '{name}'")
    for bad in ("/", "%"):
        if bad in name:
            errs.invalid(path, name, f"may not contain '{bad}'")
    return errs


def validate_name(name: Any, *, label: bool = False, path: str = "metadata.name") -> FieldErrors:
    """Check an object name: a DNS-1123 subdomain (≤253), or with `label=True` a DNS-1123 label (≤63, no dots),
    which namespaces use. Each broken rule is its own cause, as upstream reports them.

    An empty name is not an error here: whether a name is required depends on generateName, which
    `validate_object_meta` decides.
    """
    errs = FieldErrors()
    if name is None or name == "":
        return errs
    if not isinstance(name, str):
        _type_invalid(errs, path, name, "string")
        return errs
    for msg in _name_messages(name, label=label, prefix=False):
        _invalid(errs, path, name, msg)
    return errs


def validate_generate_name(
    generate_name: Any, *, label: bool = False, path: str = "metadata.generateName"
) -> FieldErrors:
    """Check a generateName prefix with the name rule, allowing the trailing `-` a prefix usually has
    (random characters will follow it)."""
    errs = FieldErrors()
    if generate_name is None or generate_name == "":
        return errs
    if not isinstance(generate_name, str):
        _type_invalid(errs, path, generate_name, "string")
        return errs
    for msg in _name_messages(generate_name, label=label, prefix=True):
        _invalid(errs, path, generate_name, msg)
    return errs


def validate_labels(labels: Any, path: str = "metadata.labels") -> FieldErrors:
    """Keys must be qualified names and values valid label values. None means no labels.

    Errors carry the map's path (not `path[key]`), like upstream, with the offending key or value as the
    bad value. A non-string value is a type error at `path[key]`.
    """
    errs = FieldErrors()
    if labels is None:
        return errs
    if not isinstance(labels, Mapping):
        _type_invalid(errs, path, labels, "object")
        return errs
    for key, value in labels.items():
        if not isinstance(key, str):
            _type_invalid(errs, path, key, "string")
            continue
        for msg in is_qualified_name(key):
            _invalid(errs, path, key, msg)
        if not isinstance(value, str):
            _type_invalid(errs, f"{path}[{key}]", value, "string")
            continue
        for msg in is_label_value(value):
            _invalid(errs, path, value, msg)
    return errs


def validate_annotations(annotations: Any, path: str = "metadata.annotations") -> FieldErrors:
    """Keys must be qualified names, compared case-insensitively (upstream lower-cases before checking);
    values are free-form. Keys plus values must total at most 256 KiB (262144 bytes) — kubectl's
    last-applied-configuration counts against this."""
    errs = FieldErrors()
    if annotations is None:
        return errs
    if not isinstance(annotations, Mapping):
        _type_invalid(errs, path, annotations, "object")
        return errs
    total = 0
    for key, value in annotations.items():
        if not isinstance(key, str):
            _type_invalid(errs, path, key, "string")
            continue
        for msg in is_qualified_name(_go_lower(key)):
            _invalid(errs, path, key, msg)
        total += _byte_len(key)
        if not isinstance(value, str):
            _type_invalid(errs, f"{path}[{key}]", value, "string")
            continue
        total += _byte_len(value)
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        _too_long(errs, path, TOTAL_ANNOTATION_SIZE_LIMIT)
    return errs


def _string_list(errs: FieldErrors, value: Any, path: str) -> list[str] | None:
    """The strings of a JSON array, with type errors recorded; None if `value` is not a list at all."""
    if not isinstance(value, list):
        _type_invalid(errs, path, value, "array")
        return None
    out: list[str] = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            out.append(item)
        else:
            _type_invalid(errs, f"{path}[{i}]", item, "string")
    return out


def validate_finalizers(finalizers: Any, path: str = "metadata.finalizers", *, qualified: bool = True) -> FieldErrors:
    """Finalizers must be qualified names, and `orphan` and `foregroundDeletion` exclude each other.

    `qualified=True` (built-in kinds) adds kubernetes' core rule: a finalizer without a `/` must be one of
    `STANDARD_FINALIZERS`, else `path[i]: ... name is neither a standard finalizer name nor is it fully
    qualified`. Custom resources pass `qualified=False`; upstream only warns for them (`finalizer_warnings`).
    """
    errs = FieldErrors()
    if finalizers is None:
        return errs
    names = _string_list(errs, finalizers, path)
    if names is None:
        return errs
    for name in names:
        for msg in is_qualified_name(name):
            _invalid(errs, path, name, msg)
    if "orphan" in names and "foregroundDeletion" in names:
        _invalid(errs, path, finalizers, "finalizer orphan and foregroundDeletion cannot be both set")
    if qualified:
        for i, item in enumerate(finalizers):
            if isinstance(item, str) and "/" not in item and item not in STANDARD_FINALIZERS:
                _invalid(
                    errs, f"{path}[{i}]", item, "name is neither a standard finalizer name nor is it fully qualified"
                )
    return errs


def finalizer_warnings(finalizers: Any, path: str = "metadata.finalizers") -> list[str]:
    """Warning headers the apiserver sends when a custom resource carries a finalizer without a `/` (other
    than the standard ones); each is `path: "name": prefer a domain-qualified finalizer name ...`."""
    if not isinstance(finalizers, list):
        return []
    return [
        f"{path}: {go_quote(f)}: prefer a domain-qualified finalizer name including a path (/) to avoid accidental "
        "conflicts with other finalizer writers"
        for f in finalizers
        if isinstance(f, str) and "/" not in f and f not in STANDARD_FINALIZERS
    ]


def validate_owner_references(refs: Any, path: str = "metadata.ownerReferences") -> FieldErrors:
    """Each reference needs apiVersion (with a version), kind, name and uid; Events cannot be owners; at
    most one reference may have `controller: true`.

    Upstream reports per-reference errors at `path.apiVersion` etc. without an index; so does this.
    """
    errs = FieldErrors()
    if refs is None:
        return errs
    if not isinstance(refs, list):
        _type_invalid(errs, path, refs, "array")
        return errs
    first_controller = ""
    for i, ref in enumerate(refs):
        if not isinstance(ref, Mapping):
            _type_invalid(errs, f"{path}[{i}]", ref, "object")
            continue
        fields: dict[str, str] = {}
        ok = True
        for name in ("apiVersion", "kind", "name", "uid"):
            value = ref.get(name)
            if value is None:
                value = ""
            if not isinstance(value, str):
                _type_invalid(errs, f"{path}[{i}].{name}", value, "string")
                ok = False
            else:
                fields[name] = value
        for name in ("controller", "blockOwnerDeletion"):
            value = ref.get(name)
            if value is not None and not isinstance(value, bool):
                _type_invalid(errs, f"{path}[{i}].{name}", value, "boolean")
                ok = False
        if not ok:
            continue
        group, version = _parse_group_version(fields["apiVersion"])
        if not version:
            _invalid(errs, f"{path}.apiVersion", fields["apiVersion"], "version must not be empty")
        if not fields["kind"]:
            _invalid(errs, f"{path}.kind", fields["kind"], "must not be empty")
        if not fields["name"]:
            _invalid(errs, f"{path}.name", fields["name"], "must not be empty")
        if not fields["uid"]:
            _invalid(errs, f"{path}.uid", fields["uid"], "must not be empty")
        if (group, version, fields["kind"]) == ("", "v1", "Event"):
            _invalid(
                errs,
                path,
                ref,
                "/v1, Kind=Event is disallowed from being an owner",
                rendered=_go_json(_owner_reference_struct(ref), sort_keys=False),
            )
        if ref.get("controller") is True:
            current = f"{fields['kind']}/{fields['name']}"
            if first_controller:
                structs = [_owner_reference_struct(r) if isinstance(r, Mapping) else r for r in refs]
                _invalid(
                    errs,
                    path,
                    refs,
                    'Only one reference can have Controller set to true. Found "true" in references for '
                    f"{first_controller} and {current}",
                    rendered=_go_json(structs, sort_keys=False),
                )
            else:
                first_controller = current
    return errs


def _owner_reference_struct(ref: Mapping[str, Any]) -> dict[str, Any]:
    """An owner reference as Go's `metav1.OwnerReference` marshals: declared fields only, in declaration
    order, the two booleans omitted when unset."""
    out: dict[str, Any] = {name: ref.get(name) or "" for name in ("apiVersion", "kind", "name", "uid")}
    for name in ("controller", "blockOwnerDeletion"):
        if ref.get(name) is not None:
            out[name] = ref[name]
    return out


def _parse_group_version(api_version: str) -> tuple[str, str]:
    """(group, version) as `schema.FromAPIVersionAndKind` sees it; unparseable means no version."""
    if api_version in ("", "/"):
        return "", ""
    parts = api_version.split("/")
    if len(parts) == 1:
        return "", parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    return "", ""
