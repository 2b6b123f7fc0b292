"""The whole ObjectMeta, on create and on update (`pkg/api/validation/objectmeta.go`), and the system fields
an update keeps from the stored object."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kube.errors import FieldErrors
from kube.timefmt import format_rfc3339, parse_rfc3339

from .fields import (
    FIELD_IMMUTABLE,
    validate_annotations,
    validate_finalizers,
    validate_generate_name,
    validate_labels,
    validate_name,
    validate_owner_references,
    validate_path_segment_name,
)
from .rendering import _go_string_slice, _invalid, _type_invalid


def _optional_string(errs: FieldErrors, meta: Mapping[str, Any], key: str, path: str) -> tuple[str, bool]:
    """`meta[key]` as a string ("" when absent or null) and whether it had an acceptable type; a type error
    is recorded, so callers skip follow-up errors such as "required" for the same field."""
    value = meta.get(key)
    if value is None:
        return "", True
    if not isinstance(value, str):
        _type_invalid(errs, f"{path}.{key}", value, "string")
        return "", False
    return value, True


def _check_timestamp(errs: FieldErrors, meta: Mapping[str, Any], key: str, path: str) -> None:
    value = meta.get(key)
    if value is None:
        return
    if not isinstance(value, str):
        _type_invalid(errs, f"{path}.{key}", value, "string")
        return
    try:
        parse_rfc3339(value)
    except ValueError:
        _invalid(errs, f"{path}.{key}", value, "must be an RFC 3339 date-time (e.g. '2006-01-02T15:04:05Z')")


def _check_int(errs: FieldErrors, meta: Mapping[str, Any], key: str, path: str) -> int | None:
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        _type_invalid(errs, f"{path}.{key}", value, "integer")
        return None
    return value


def _validate_meta_content(
    errs: FieldErrors, meta: Mapping[str, Any], path: str, *, qualified_finalizers: bool
) -> None:
    """The checks create and update share, in upstream's order."""
    errs.extend(validate_labels(meta.get("labels"), f"{path}.labels"))
    errs.extend(validate_annotations(meta.get("annotations"), f"{path}.annotations"))
    errs.extend(validate_owner_references(meta.get("ownerReferences"), f"{path}.ownerReferences"))
    errs.extend(validate_finalizers(meta.get("finalizers"), f"{path}.finalizers", qualified=qualified_finalizers))
    managed = meta.get("managedFields")
    if managed is not None and not isinstance(managed, list):
        _type_invalid(errs, f"{path}.managedFields", managed, "array")
    for key in ("resourceVersion", "uid", "selfLink"):
        _optional_string(errs, meta, key, path)
    for key in ("creationTimestamp", "deletionTimestamp"):
        _check_timestamp(errs, meta, key, path)
    _check_int(errs, meta, "deletionGracePeriodSeconds", path)


def validate_object_meta(
    meta: Any,
    *,
    namespaced: bool,
    name_is_label: bool = False,
    qualified_finalizers: bool = True,
    path: str = "metadata",
    name_is_path_segment: bool = False,
) -> FieldErrors:
    """Validate metadata for a create.

    * `name` or `generateName` must be set (`Required value: name or generateName is required`). This may run
      before or after the name is generated: a generateName alone satisfies it, and is itself checked as a
      prefix of the name rule.
    * `namespace` is required iff `namespaced` and must be a DNS label; a cluster-scoped object must not carry
      one (`Forbidden: not allowed on this type`) — upstream clears it from the request first, so callers
      should too, and this only catches what slipped through.
    * `name_is_label` selects the DNS-label name rule (namespaces); otherwise DNS subdomain.
    * `qualified_finalizers`: see `validate_finalizers`; pass False for custom resources.
    * labels, annotations, ownerReferences, finalizers, generation (≥ 0), and JSON types of the rest.
    """
    errs = FieldErrors()
    if not isinstance(meta, Mapping):
        _type_invalid(errs, path, meta, "object")
        return errs
    generate_name, generate_name_ok = _optional_string(errs, meta, "generateName", path)
    name, name_ok = _optional_string(errs, meta, "name", path)
    if generate_name:
        errs.extend(validate_generate_name(generate_name, label=name_is_label, path=f"{path}.generateName"))
    if name and name_is_path_segment:
        errs.extend(validate_path_segment_name(name, path=f"{path}.name"))
    elif name:
        errs.extend(validate_name(name, label=name_is_label, path=f"{path}.name"))
    elif name_ok and not generate_name and generate_name_ok:
        errs.required(f"{path}.name", "name or generateName is required")
    namespace, namespace_ok = _optional_string(errs, meta, "namespace", path)
    if namespaced:
        if namespace:
            errs.extend(validate_name(namespace, label=True, path=f"{path}.namespace"))
        elif namespace_ok:
            errs.required(f"{path}.namespace")
    elif namespace:
        errs.forbidden(f"{path}.namespace", "not allowed on this type")
    generation = _check_int(errs, meta, "generation", path)
    if generation is not None and generation < 0:
        _invalid(errs, f"{path}.generation", generation, "must be greater than or equal to 0")
    _validate_meta_content(errs, meta, path, qualified_finalizers=qualified_finalizers)
    return errs


def _same_instant(a: str, b: str) -> bool:
    try:
        return parse_rfc3339(a).replace(microsecond=0) == parse_rfc3339(b).replace(microsecond=0)
    except ValueError:
        return a == b


def _timestamp_value(value: Any) -> Any:
    """A timestamp as upstream renders a metav1.Time in errors: normalised to the wire form when parseable."""
    if isinstance(value, str):
        try:
            return format_rfc3339(parse_rfc3339(value))
        except ValueError:
            return value
    return value


def validate_object_meta_update(
    new_meta: Any,
    old_meta: Any,
    *,
    qualified_finalizers: bool = True,
    require_resource_version: bool = False,
    path: str = "metadata",
) -> FieldErrors:
    """Validate metadata for an update of the stored object whose metadata is `old_meta`.

    * name and namespace are immutable (`Invalid value: "<new>": field is immutable`).
    * uid, creationTimestamp and deletionGracePeriodSeconds are immutable too, but *absent* counts as
      unchanged: clients replace objects from manifests that lack them, and upstream copies them over from
      the stored object before validating (`restore_system_fields` does the same). Timestamps are compared as
      instants, at seconds precision, so `+00:00` and fractional echoes are not changes.
    * deletionTimestamp cannot be set by an update, nor changed or removed once set.
    * while the object is being deleted, no finalizer may be added (`Forbidden: no new finalizers can be added
      if the object is being deleted, found new finalizers []string{"x"}`).
    * generation must not decrease; with `require_resource_version`, resourceVersion must be present
      (upstream's rule for custom resources; built-ins allow unconditional updates).
    * labels, annotations, ownerReferences and finalizers of the new metadata are validated as on create.
    """
    errs = FieldErrors()
    if not isinstance(new_meta, Mapping):
        _type_invalid(errs, path, new_meta, "object")
        return errs
    old: Mapping[str, Any] = old_meta if isinstance(old_meta, Mapping) else {}

    old_deletion = old.get("deletionTimestamp")
    new_finalizers = new_meta.get("finalizers")
    if old_deletion and isinstance(new_finalizers, list):
        old_finalizers = old.get("finalizers")
        old_set = {f for f in old_finalizers if isinstance(f, str)} if isinstance(old_finalizers, list) else set()
        extra = sorted({f for f in new_finalizers if isinstance(f, str)} - old_set)
        if extra:
            errs.forbidden(
                f"{path}.finalizers",
                "no new finalizers can be added if the object is being deleted, found new finalizers "
                + _go_string_slice(extra),
            )

    if require_resource_version and not new_meta.get("resourceVersion"):
        _invalid(errs, f"{path}.resourceVersion", "", "must be specified for an update")

    new_generation = _check_int(errs, new_meta, "generation", path)
    old_generation = old.get("generation")
    if (
        new_generation is not None
        and isinstance(old_generation, int)
        and not isinstance(old_generation, bool)
        and new_generation < old_generation
    ):
        _invalid(errs, f"{path}.generation", new_generation, "must not be decremented")

    for key in ("name", "namespace"):
        new_value, ok = _optional_string(errs, new_meta, key, path)
        if ok and new_value != (old.get(key) or ""):
            _invalid(errs, f"{path}.{key}", new_value, FIELD_IMMUTABLE)

    new_uid = new_meta.get("uid")
    if isinstance(new_uid, str) and new_uid and new_uid != (old.get("uid") or ""):
        _invalid(errs, f"{path}.uid", new_uid, FIELD_IMMUTABLE)

    new_created = new_meta.get("creationTimestamp")
    old_created = old.get("creationTimestamp")
    if isinstance(new_created, str) and new_created:
        if not isinstance(old_created, str) or not _same_instant(new_created, old_created):
            _invalid(errs, f"{path}.creationTimestamp", _timestamp_value(new_created), FIELD_IMMUTABLE)

    new_deletion = new_meta.get("deletionTimestamp")
    if new_deletion is None or new_deletion == "":
        if old_deletion:
            _invalid(errs, f"{path}.deletionTimestamp", None, FIELD_IMMUTABLE)
    elif isinstance(new_deletion, str):
        if not isinstance(old_deletion, str) or not old_deletion or not _same_instant(new_deletion, old_deletion):
            _invalid(errs, f"{path}.deletionTimestamp", _timestamp_value(new_deletion), FIELD_IMMUTABLE)

    new_grace = new_meta.get("deletionGracePeriodSeconds")
    if (
        isinstance(new_grace, int)
        and not isinstance(new_grace, bool)
        and new_grace != old.get("deletionGracePeriodSeconds")
    ):
        _invalid(errs, f"{path}.deletionGracePeriodSeconds", new_grace, FIELD_IMMUTABLE)

    _validate_meta_content(errs, new_meta, path, qualified_finalizers=qualified_finalizers)
    return errs


def restore_system_fields(new_meta: Mapping[str, Any], old_meta: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `new_meta` with the server-owned fields an update may not touch carried over from the stored
    object, as upstream's `rest.BeforeUpdate` does before validation: uid when missing, creationTimestamp
    always, deletionTimestamp once set, deletionGracePeriodSeconds when missing. Run it before
    `validate_object_meta_update` so that clients replacing an object from a manifest are not rejected."""
    out = dict(new_meta)
    if not out.get("uid") and old_meta.get("uid"):
        out["uid"] = old_meta["uid"]
    if old_meta.get("creationTimestamp"):
        out["creationTimestamp"] = old_meta["creationTimestamp"]
    if old_meta.get("deletionTimestamp"):
        out["deletionTimestamp"] = old_meta["deletionTimestamp"]
    if out.get("deletionGracePeriodSeconds") is None and old_meta.get("deletionGracePeriodSeconds") is not None:
        out["deletionGracePeriodSeconds"] = old_meta["deletionGracePeriodSeconds"]
    return out
