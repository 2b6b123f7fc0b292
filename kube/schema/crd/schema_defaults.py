"""Defaults in a schema (`pkg/apiserver/schema/defaulting/validation.go`): allowed where, pruned, and valid
against their own schema."""

from __future__ import annotations

import copy

from kube.errors import FieldErrors

from .. import customresource
from ..customresource import MAX_DEPTH
from .common import (
    _META_FIELDS,
    Obj,
    _d,
    _has_default,
    _invalid,
    _key,
)


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
