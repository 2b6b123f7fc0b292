"""Structural invariants and completeness (`pkg/apiserver/schema/validation.go`, `complete.go`)."""

from __future__ import annotations

from typing import Any

from kube.errors import FieldErrors

from ..customresource import MAX_DEPTH, compile_pattern
from .common import (
    _NESTED_FORBIDDEN,
    Obj,
    _d,
    _error_text,
    _forbidden,
    _invalid,
    _key,
    _l,
    _required,
    _set,
)

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
