"""The update-only rules: group, plural and scope are immutable, and so is the kind once the CRD is
Established. The caller also runs `validate_crd(new)`."""

from __future__ import annotations

from kube.errors import FieldErrors
from kube.meta_validation import FIELD_IMMUTABLE

from .common import (
    Obj,
    _d,
    _invalid,
    _l,
)


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
