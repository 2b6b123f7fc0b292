"""The OpenAPI keyword rules (`ValidateCustomResourceDefinitionOpenAPISchema`): list and map types, list-map
keys, formats, and the static checks of validation rules."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from kube.errors import FieldErrors

from ..customresource import MAX_DEPTH
from .common import (
    _META_FIELDS,
    OPENAPI_V3_TYPES,
    VALIDATION_RULE_REASONS,
    Obj,
    _d,
    _forbidden,
    _has_default,
    _invalid,
    _key,
    _l,
    _not_supported,
    _required,
    _s,
    _set,
)
from .invariants import _type_of


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
