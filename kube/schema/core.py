"""The `Schema` view over an OpenAPI v3 / JSON-schema node.

Contract: a `Schema` wraps one node plus the definitions its `$ref`s point into, and resolves
references lazily, so walking a 700-definition document costs only the nodes visited. Both
kubernetes-validate's JSON-schema flavour (`"type": ["string", "null"]`, `$ref: #/$defs/...`) and
OpenAPI v3 (`type` + `nullable`, `allOf: [{$ref: #/components/schemas/...}]`) are understood.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate

KUBERNETES_SCHEMA_VERSION = "v1.35.0"
_SCHEMA_DIR = (
    Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"{KUBERNETES_SCHEMA_VERSION}-local"
)


class Schema:
    __slots__ = ("node", "defs")

    def __init__(self, node: dict[str, Any], defs: dict[str, Any]) -> None:
        self.node = _resolve(node, defs)
        self.defs = defs

    def __repr__(self) -> str:
        return f"Schema({self.types or '?'}, props={list(self.node.get('properties', {}))[:5]})"

    # --- shape ------------------------------------------------------------------------------------
    @property
    def types(self) -> set[str]:
        t = self.node.get("type")
        if t is None:
            return set()
        if isinstance(t, list):
            return {x for x in t if x != "null"}
        return {t}

    @property
    def is_object(self) -> bool:
        return "object" in self.types or "properties" in self.node

    @property
    def is_array(self) -> bool:
        return "array" in self.types or "items" in self.node

    def prop(self, name: str) -> Schema | None:
        props = self.node.get("properties")
        if props and name in props:
            return Schema(props[name], self.defs)
        extra = self.node.get("additionalProperties")
        if isinstance(extra, dict):
            return Schema(extra, self.defs)
        return None

    def declared_properties(self) -> dict[str, Schema]:
        return {k: Schema(v, self.defs) for k, v in (self.node.get("properties") or {}).items()}

    def items(self) -> Schema | None:
        it = self.node.get("items")
        return Schema(it, self.defs) if isinstance(it, dict) else None

    def additional(self) -> Schema | None:
        extra = self.node.get("additionalProperties")
        return Schema(extra, self.defs) if isinstance(extra, dict) else None

    @property
    def allows_unknown_fields(self) -> bool:
        """True where any key is acceptable: maps, preserve-unknown-fields, int-or-string, untyped."""
        n = self.node
        if n.get("x-kubernetes-preserve-unknown-fields") or n.get("additionalProperties") not in (None, False):
            return True
        return not n.get("properties") and not n.get("type") and "$ref" not in n

    # --- Kubernetes markers -------------------------------------------------------------------
    @property
    def list_type(self) -> str:
        return self.node.get("x-kubernetes-list-type", "")

    @property
    def list_map_keys(self) -> list[str]:
        return list(self.node.get("x-kubernetes-list-map-keys", []))

    @property
    def map_type(self) -> str:
        return self.node.get("x-kubernetes-map-type", "")

    @property
    def patch_strategy(self) -> str:
        return self.node.get("x-kubernetes-patch-strategy", "")

    @property
    def patch_merge_key(self) -> str:
        return self.node.get("x-kubernetes-patch-merge-key", "")

    @property
    def int_or_string(self) -> bool:
        return bool(self.node.get("x-kubernetes-int-or-string"))

    @property
    def embedded_resource(self) -> bool:
        return bool(self.node.get("x-kubernetes-embedded-resource"))

    @property
    def preserve_unknown_fields(self) -> bool:
        return bool(self.node.get("x-kubernetes-preserve-unknown-fields"))

    def path(self, *names: str) -> Schema | None:
        cur: Schema | None = self
        for n in names:
            if cur is None:
                return None
            cur = cur.items() if n == "[]" else cur.prop(n)
        return cur


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Follow `$ref` (and the OpenAPI `allOf: [{$ref}]` wrapper), keeping sibling keys such as
    `description` or `x-kubernetes-*` markers that annotate the reference."""
    seen = 0
    while True:
        ref = node.get("$ref")
        if ref is None:
            all_of = node.get("allOf")
            if isinstance(all_of, list) and len(all_of) == 1 and "$ref" in all_of[0]:
                ref = all_of[0]["$ref"]
            else:
                return node
        target = defs.get(ref.rsplit("/", 1)[-1])
        if target is None:
            return node
        merged = dict(target)
        for k, v in node.items():
            if k not in ("$ref", "allOf"):
                merged[k] = v
        node = merged
        seen += 1
        if seen > 32:
            return node


@functools.cache
def builtin_definitions() -> dict[str, Any]:
    """All built-in definitions, keyed by their OpenAPI name (io.k8s.api.core.v1.ConfigMap)."""
    with open(_SCHEMA_DIR / "_definitions.json", "rb") as f:
        return json.load(f)["$defs"]


@functools.cache
def _gvk_index() -> dict[tuple[str, str, str], str]:
    index: dict[tuple[str, str, str], str] = {}
    for name, d in builtin_definitions().items():
        for gvk in d.get("x-kubernetes-group-version-kind", []):
            index.setdefault((gvk.get("group", ""), gvk["version"], gvk["kind"]), name)
    return index


def definition_name_for_gvk(group: str, version: str, kind: str) -> str | None:
    return _gvk_index().get((group, version, kind))


def schema_for_gvk(group: str, version: str, kind: str) -> Schema | None:
    """The built-in schema of a kind, or None for kinds kubernetes-validate does not know."""
    name = definition_name_for_gvk(group, version, kind)
    if name is None:
        return None
    defs = builtin_definitions()
    return Schema(defs[name], defs)


def unknown_fields(obj: Any, schema: Schema | None, prefix: str = "") -> list[str]:
    """Dotted paths (`spec.foo`, `data[0].x`) of fields the schema does not declare.

    This is what `fieldValidation=Strict` rejects and `Warn` reports. Status and metadata are
    checked like everything else; maps and preserve-unknown-fields subtrees accept any key."""
    return list(_walk_unknown(obj, schema, prefix))


def _walk_unknown(obj: Any, schema: Schema | None, prefix: str) -> Iterator[str]:
    if schema is None:
        return
    if isinstance(obj, dict):
        if schema.preserve_unknown_fields and not schema.node.get("properties"):
            return
        extra = schema.additional()
        props = schema.node.get("properties")
        if props is None and extra is None:
            return
        for key, value in obj.items():
            path = f"{prefix}.{key}" if prefix else key
            if props is not None and key in props:
                yield from _walk_unknown(value, Schema(props[key], schema.defs), path)
            elif extra is not None:
                yield from _walk_unknown(value, extra, path)
            elif not schema.preserve_unknown_fields:
                yield path
    elif isinstance(obj, list):
        item = schema.items()
        for i, value in enumerate(obj):
            yield from _walk_unknown(value, item, f"{prefix}[{i}]")


def prune_unknown(obj: Any, schema: Schema | None) -> Any:
    """A copy of `obj` without the fields `unknown_fields` reports (what decoding into the
    typed object does to unknown JSON keys in the real apiserver)."""
    if schema is None:
        return obj
    if isinstance(obj, dict):
        if schema.preserve_unknown_fields and not schema.node.get("properties"):
            return obj
        props = schema.node.get("properties")
        extra = schema.additional()
        if props is None and extra is None:
            return obj
        out = {}
        for key, value in obj.items():
            if props is not None and key in props:
                out[key] = prune_unknown(value, Schema(props[key], schema.defs))
            elif extra is not None:
                out[key] = prune_unknown(value, extra)
            elif schema.preserve_unknown_fields:
                out[key] = value
        return out
    if isinstance(obj, list):
        item = schema.items()
        return [prune_unknown(v, item) for v in obj]
    return obj


_JSON_TYPE_NAMES = {dict: "object", list: "array", str: "string", bool: "bool", int: "number", float: "number"}


def _json_type(value: Any) -> str:
    return "null" if value is None else _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _type_ok(value: Any, schema: Schema) -> bool:
    if value is None:
        return True  # an explicit null decodes to the zero value, as in the apiserver
    if schema.int_or_string:
        return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
    types = schema.types
    if not types:
        return True
    if isinstance(value, bool):
        return "boolean" in types
    if isinstance(value, int):
        return bool(types & {"integer", "number"})
    if isinstance(value, float):
        return "number" in types or ("integer" in types and value.is_integer())
    if isinstance(value, str):
        return "string" in types
    if isinstance(value, list):
        return "array" in types
    if isinstance(value, dict):
        return "object" in types
    return False


def type_errors(obj: Any, schema: Schema | None, prefix: str = "", limit: int = 10) -> list[str]:
    """Values whose JSON type the schema does not allow, as `path: expected X, got Y` strings.

    This is what decoding into the typed object rejects in the real apiserver (400 BadRequest);
    storing such a value would break every strict client that reads it back."""
    out: list[str] = []
    _walk_types(obj, schema, prefix, out, limit)
    return out


def _walk_types(obj: Any, schema: Schema | None, prefix: str, out: list[str], limit: int) -> None:
    if schema is None or len(out) >= limit:
        return
    if not _type_ok(obj, schema):
        want = "int-or-string" if schema.int_or_string else "/".join(sorted(schema.types))
        out.append(f"{prefix or '<root>'}: expected {want}, got {_json_type(obj)}")
        return
    if isinstance(obj, dict):
        props = schema.node.get("properties") or {}
        extra = schema.additional()
        for key, value in obj.items():
            path = f"{prefix}.{key}" if prefix else key
            if key in props:
                _walk_types(value, Schema(props[key], schema.defs), path, out, limit)
            elif extra is not None:
                _walk_types(value, extra, path, out, limit)
    elif isinstance(obj, list):
        item = schema.items()
        for i, value in enumerate(obj):
            _walk_types(value, item, f"{prefix}[{i}]", out, limit)
