"""The custom-resource request pipeline on plain dicts: prune → default → validate (kube-clients.md §9).

Each function takes the served version's `openAPIV3Schema` (the raw dict from the CRD, or a `Schema`
wrapping it) and mirrors what the apiextensions-apiserver does with its structural schema:

* `prune(obj, schema)` drops every field the schema does not declare, except under
  `x-kubernetes-preserve-unknown-fields: true`, keeps `apiVersion`/`kind`/`metadata` at the root and at
  `x-kubernetes-embedded-resource` objects, and trims those `metadata` objects to ObjectMeta's fields (the
  apiserver round-trips them through ObjectMeta). It returns a new object and the paths it removed, in the
  apiserver's order and spelling, for `fieldValidation=Strict` (`unknown field "spec.foo"`) and `Warn`.
* `apply_defaults(obj, schema)` drops `null`s the schema does not allow (when there is no default) and fills
  absent or disallowed-`null` fields from `default:` (deep copies), through properties, additionalProperties and
  array items; never inside the root `metadata`. It mutates `obj` and returns it.
* `validate(obj, schema)` is kube-openapi's OpenAPI v3 validation plus the embedded-resource ObjectMeta checks
  and the `x-kubernetes-list-type` set/map uniqueness checks, with every error turned into a Status cause
  worded as the apiserver words it (`spec.size: Invalid value: -1: spec.size in body should be greater than or
  equal to 0`). Root `metadata` is validated only against the schema's `name`/`generateName` restrictions: the
  caller validates ObjectMeta itself. CEL rules (`x-kubernetes-validations`) are not evaluated.

Why not `jsonschema`: kube-openapi's semantics differ from JSON Schema's in ways the wording depends on (it
runs every validator whatever the type, infers the JSON type of numbers the Go way, reports anyOf/oneOf with the
best-matching branch's errors, strips unsupported formats, Go's regexp syntax), and a compiled tree of plain
Python objects validates a typical object in tens of microseconds, faster than `jsonschema` builds its error
iterator. The compiled form is cached per schema, keyed by the schema's canonical JSON in a bounded LRU, so the
many logical clusters that install the same CRD share one compiled schema; a second, identity-keyed LRU in front
of it skips the JSON encoding for the schema objects a server keeps around.

Contract: schemas handed in are not mutated afterwards (they are cached by identity). No function raises for
any JSON-shaped input, however malformed the schema or the object: wrong types, deep nesting and huge numbers
become causes, or are left alone where the apiserver leaves them alone. Nesting deeper than `MAX_DEPTH`
schema levels is neither pruned, defaulted nor validated (`crd.validate_structural` rejects such schemas).
"""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import json
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from kube.errors import Cause, FieldErrors
from kube.meta_validation import (
    go_quote,
    is_dns1123_label,
    render_bad_value,
    validate_annotations,
    validate_finalizers,
    validate_labels,
    validate_owner_references,
)

__all__ = [
    "MAX_DEPTH",
    "OBJECT_META_FIELDS",
    "apply_defaults",
    "clear_cache",
    "compile_pattern",
    "embedded_resource_errors",
    "is_dns1035_label",
    "openapi_errors",
    "prune",
    "unknown_fields",
    "validate",
]

MAX_DEPTH = 128
"""Schema levels (properties/items/additionalProperties/allOf… steps) the walkers follow. Real CRDs stay far
below; the bound keeps recursion well inside Python's limit whatever a tenant submits."""

CACHE_SIZE = 512
"""Compiled schemas kept (per key kind). Identical schemas in many clusters share one entry."""

#: metav1.ObjectMeta's JSON fields: anything else in a resource's `metadata` is an unknown field.
OBJECT_META_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)
_OWNER_REFERENCE_FIELDS = frozenset({"apiVersion", "kind", "name", "uid", "controller", "blockOwnerDeletion"})
_MANAGED_FIELDS_ENTRY_FIELDS = frozenset(
    {"manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1", "subresource"}
)
_META_KEYS = frozenset({"apiVersion", "kind", "metadata"})
_MISSING: Any = object()

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_MAX_SAFE_INTEGER = float(2**53 - 1)

Obj = dict[str, Any]


# ============================================================================================================
# Compiled schema
# ============================================================================================================


def _num(v: Any) -> int | float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _count(v: Any) -> int | None:
    n = _num(v)
    if n is None:
        return None
    if isinstance(n, float):
        if not n.is_integer():
            return None
        n = int(n)
    return max(min(n, _INT64_MAX), _INT64_MIN)


# Formats the apiextensions-apiserver keeps for string (and untyped / int-or-string) nodes; others are stripped
# before validation (`StripUnsupportedFormatsPostProcessor`). Names are compared without dashes, as go-openapi
# normalises them.
_STRING_FORMATS = frozenset(
    {
        "bsonobjectid",
        "uri",
        "email",
        "hostname",
        "ipv4",
        "ipv6",
        "cidr",
        "mac",
        "uuid",
        "uuid3",
        "uuid4",
        "uuid5",
        "isbn",
        "isbn10",
        "isbn13",
        "creditcard",
        "ssn",
        "hexcolor",
        "rgbcolor",
        "byte",
        "password",
        "date",
        "duration",
        "datetime",
        "k8sshortname",
        "k8slongname",
    }
)


def _effective_format(fmt: str, types: tuple[str, ...]) -> str:
    if not fmt:
        return ""
    kind = types[0] if len(types) == 1 else ""
    if kind in ("", "string"):
        return fmt if fmt.replace("-", "") in _STRING_FORMATS else ""
    if kind == "integer":
        return fmt if fmt in ("int32", "int64") else ""
    if kind == "number":
        return fmt if fmt in ("float", "double") else ""
    return ""


class _Node:
    """One schema node, compiled: every keyword read, typed and checked once."""

    __slots__ = (
        "types",
        "type_name",
        "nullable",
        "format",
        "number_type",
        "number_format",
        "enum",
        "minimum",
        "maximum",
        "exclusive_minimum",
        "exclusive_maximum",
        "multiple_of",
        "min_length",
        "max_length",
        "pattern",
        "pattern_match",
        "pattern_error",
        "min_items",
        "max_items",
        "unique_items",
        "min_properties",
        "max_properties",
        "required",
        "properties",
        "additional",
        "additional_set",
        "additional_allows",
        "items",
        "all_of",
        "any_of",
        "one_of",
        "not_",
        "preserve",
        "embedded",
        "int_or_string",
        "list_type",
        "list_map_keys",
        "has_default",
        "default",
        "defaulted",
        "has_embedded_below",
        "has_lists_below",
        "has_composites",
    )

    def __init__(self) -> None:
        self.types: tuple[str, ...] = ()
        self.type_name = ""
        self.nullable = False
        self.format = ""
        self.number_type = ""
        self.number_format = ""
        self.enum: list[Any] | None = None
        self.minimum: int | float | None = None
        self.maximum: int | float | None = None
        self.exclusive_minimum = False
        self.exclusive_maximum = False
        self.multiple_of: int | float | None = None
        self.min_length: int | None = None
        self.max_length: int | None = None
        self.pattern = ""
        self.pattern_match: Callable[[str], bool] | None = None
        self.pattern_error = ""
        self.min_items: int | None = None
        self.max_items: int | None = None
        self.unique_items = False
        self.min_properties: int | None = None
        self.max_properties: int | None = None
        self.required: tuple[str, ...] = ()
        self.properties: dict[str, _Node] = {}
        self.additional: _Node | None = None
        self.additional_set = False
        self.additional_allows = True
        self.items: _Node | None = None
        self.all_of: tuple[_Node, ...] = ()
        self.any_of: tuple[_Node, ...] = ()
        self.one_of: tuple[_Node, ...] = ()
        self.not_: _Node | None = None
        self.preserve = False
        self.embedded = False
        self.int_or_string = False
        self.list_type = ""
        self.list_map_keys: tuple[str, ...] = ()
        self.has_default = False
        self.default: Any = None
        self.defaulted: tuple[tuple[str, _Node], ...] = ()
        self.has_embedded_below = False
        self.has_lists_below = False
        self.has_composites = False

    def children(self) -> list[_Node]:
        out = list(self.properties.values())
        if self.additional is not None:
            out.append(self.additional)
        if self.items is not None:
            out.append(self.items)
        return out

    def copy(self) -> _Node:
        clone = _Node()
        for slot in _Node.__slots__:
            setattr(clone, slot, getattr(self, slot))
        return clone


_PRESERVE_ALL = _Node()
_PRESERVE_ALL.preserve = True


def _compile(raw: Any, depth: int = 0) -> _Node:
    if depth > MAX_DEPTH:
        return _PRESERVE_ALL
    node = _Node()
    if not isinstance(raw, Mapping):
        return node
    t = raw.get("type")
    node.int_or_string = raw.get("x-kubernetes-int-or-string") is True
    if node.int_or_string:
        node.types = ("integer", "string")
    elif isinstance(t, str) and t:
        node.types = (t,)
    node.type_name = ",".join(node.types)
    node.nullable = raw.get("nullable") is True
    fmt = raw.get("format")
    node.format = _effective_format(fmt if isinstance(fmt, str) else "", node.types)
    if len(node.types) == 1 and node.types[0] in ("integer", "number"):
        node.number_type = node.types[0]
        if node.format in (("int32", "int64") if node.number_type == "integer" else ("float", "double")):
            node.number_format = node.format
    enum = raw.get("enum")
    if isinstance(enum, list) and enum:
        node.enum = enum
    node.minimum = _num(raw.get("minimum"))
    node.maximum = _num(raw.get("maximum"))
    node.exclusive_minimum = raw.get("exclusiveMinimum") is True
    node.exclusive_maximum = raw.get("exclusiveMaximum") is True
    node.multiple_of = _num(raw.get("multipleOf"))
    node.min_length = _count(raw.get("minLength"))
    node.max_length = _count(raw.get("maxLength"))
    node.min_items = _count(raw.get("minItems"))
    node.max_items = _count(raw.get("maxItems"))
    node.min_properties = _count(raw.get("minProperties"))
    node.max_properties = _count(raw.get("maxProperties"))
    node.unique_items = raw.get("uniqueItems") is True
    pattern = raw.get("pattern")
    if isinstance(pattern, str) and pattern:
        node.pattern = pattern
        node.pattern_match, node.pattern_error = compile_pattern(pattern)
    required = raw.get("required")
    if isinstance(required, list):
        node.required = tuple(r for r in required if isinstance(r, str))
    props = raw.get("properties")
    if isinstance(props, Mapping):
        node.properties = {str(k): _compile(v, depth + 1) for k, v in props.items()}
    if "additionalProperties" in raw:
        extra = raw.get("additionalProperties")
        if isinstance(extra, Mapping):
            node.additional_set = True
            node.additional = _compile(extra, depth + 1)
        elif isinstance(extra, bool):
            node.additional_set = True
            node.additional_allows = extra
    items = raw.get("items")
    if isinstance(items, Mapping):
        node.items = _compile(items, depth + 1)
    for key in ("allOf", "anyOf", "oneOf"):
        sub = raw.get(key)
        if isinstance(sub, list) and sub:
            compiled = tuple(_compile(s, depth + 1) for s in sub)
            setattr(node, {"allOf": "all_of", "anyOf": "any_of", "oneOf": "one_of"}[key], compiled)
    if isinstance(raw.get("not"), Mapping):
        node.not_ = _compile(raw["not"], depth + 1)
    node.preserve = raw.get("x-kubernetes-preserve-unknown-fields") is True
    node.embedded = raw.get("x-kubernetes-embedded-resource") is True
    lt = raw.get("x-kubernetes-list-type")
    node.list_type = lt if isinstance(lt, str) else ""
    keys = raw.get("x-kubernetes-list-map-keys")
    if isinstance(keys, list):
        node.list_map_keys = tuple(k for k in keys if isinstance(k, str))
    if "default" in raw and raw["default"] is not None:
        node.has_default = True
        node.default = raw["default"]
    node.defaulted = tuple((k, p) for k, p in node.properties.items() if p.has_default)
    kids = node.children()
    node.has_embedded_below = node.embedded or any(k.has_embedded_below for k in kids)
    node.has_lists_below = node.list_type in ("set", "map") or any(k.has_lists_below for k in kids)
    node.has_composites = bool(node.all_of or node.any_of or node.one_of or node.not_)
    return node


def _validation_root(root: _Node) -> _Node:
    """The root node as validation sees it: `metadata` restricted to the name/generateName schemas."""
    meta = root.properties.get("metadata")
    if meta is None:
        return root
    restricted = _Node()
    restricted.types = meta.types
    restricted.type_name = meta.type_name
    restricted.properties = {k: v for k, v in meta.properties.items() if k in ("name", "generateName")}
    clone = root.copy()
    clone.properties = {**root.properties, "metadata": restricted}
    return clone


class _Compiled:
    __slots__ = ("schema", "root", "validation_root")

    def __init__(self, schema: Any, root: _Node) -> None:
        self.schema = schema
        self.root = root
        self.validation_root = _validation_root(root)


class _LRU:
    """A small thread-safe LRU (`functools.lru_cache` cannot key on unhashable dicts)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[Any, _Compiled] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Any) -> _Compiled | None:
        with self.lock:
            hit = self.data.get(key)
            if hit is not None:
                self.data.move_to_end(key)
            return hit

    def put(self, key: Any, value: _Compiled) -> None:
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.size:
                self.data.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.data.clear()


_BY_ID = _LRU(CACHE_SIZE)
_BY_CONTENT = _LRU(CACHE_SIZE)


def _canonical(schema: Any) -> str:
    try:
        return json.dumps(schema, sort_keys=True, separators=(",", ":"), default=repr)
    except (TypeError, ValueError, RecursionError):
        return repr(schema)


def _compiled(schema: Any) -> _Compiled:
    """The compiled form of `schema`, from cache when possible.

    The identity cache holds a reference to the schema object, so its id cannot be reused while cached; the
    content cache shares one compiled tree between equal schemas of different CRDs/clusters."""
    raw = getattr(schema, "node", schema)  # a kube.schema.Schema wraps the dict
    hit = _BY_ID.get(id(raw))
    if hit is not None and hit.schema is raw:
        return hit
    key = _canonical(raw)
    shared = _BY_CONTENT.get(key)
    if shared is None:
        try:
            shared = _Compiled(raw, _compile(raw))
        except RecursionError:  # a schema nested beyond what Python can walk: accept anything
            shared = _Compiled(raw, _PRESERVE_ALL)
        _BY_CONTENT.put(key, shared)
    entry = _Compiled.__new__(_Compiled)
    entry.schema, entry.root, entry.validation_root = raw, shared.root, shared.validation_root
    _BY_ID.put(id(raw), entry)
    return entry


def clear_cache() -> None:
    """Forget every compiled schema (tests)."""
    _BY_ID.clear()
    _BY_CONTENT.clear()


# ============================================================================================================
# Helpers: copying, paths
# ============================================================================================================


def _copy(x: Any) -> Any:
    """A deep copy of a JSON value, iterative so that nesting depth never matters."""
    if not isinstance(x, dict | list):
        return x
    root: Any = {} if isinstance(x, dict) else []
    stack: list[tuple[Any, Any]] = [(x, root)]
    while stack:
        src, dst = stack.pop()
        pairs = src.items() if isinstance(src, dict) else enumerate(src)
        for k, v in pairs:
            nv: Any
            if isinstance(v, dict):
                nv = {}
                stack.append((v, nv))
            elif isinstance(v, list):
                nv = []
                stack.append((v, nv))
            else:
                nv = v
            if isinstance(dst, dict):
                dst[k] = nv
            else:
                dst.append(nv)
    return root


# Path segments: ("p", name) an object property, ("a", name) an additionalProperties key, ("i", n) an index.
_Seg = tuple[str, Any]


def _dotted(stack: list[_Seg], last: str | None = None) -> str:
    """Pruning's spelling: keys joined by dots, indexes as `[n]` (`spec.items[0].name`)."""
    parts: list[str] = []
    for kind, key in stack:
        if kind == "i":
            parts.append(f"[{key}]")
        else:
            if parts:
                parts.append(".")
            parts.append(str(key))
    if last is not None:
        if parts:
            parts.append(".")
        parts.append(last)
    return "".join(parts)


def _field_path(stack: list[_Seg], prefix: str = "") -> str:
    """field.Path's spelling: `.name` for fields, `[key]` for map keys, `[n]` for indexes."""
    parts = [prefix] if prefix else []
    for kind, key in stack:
        if kind == "p":
            if parts:
                parts.append(".")
            parts.append(str(key))
        else:
            parts.append(f"[{key}]")
    return "".join(parts)


# ============================================================================================================
# Pruning
# ============================================================================================================


def prune(obj: Any, schema: Any, *, prune_metadata: bool = True) -> tuple[Any, list[str]]:
    """A copy of `obj` without the fields `schema` does not declare, and the removed fields' paths.

    The root is treated as an embedded resource: `apiVersion`, `kind` and `metadata` are kept whatever the
    schema says. `metadata` objects (at the root and at embedded resources) lose the keys ObjectMeta does not
    have when `prune_metadata` is set, as the apiserver's ObjectMeta round trip does. Paths come in upstream's
    order: root metadata first (`metadata.foo`), then the pruned fields sorted (`spec.foo`, `spec.items[0].x`),
    then embedded metadata fields sorted (`spec.template.metadata.foo`).

    `obj` is not modified; the result shares no container with it."""
    compiled = _compiled(schema)
    if not isinstance(obj, dict):
        return _copy(obj), []
    meta_unknown: list[str] = []
    removed: list[str] = []
    coerced: list[str] = []
    walker = _Pruner(removed, coerced, prune_metadata)
    out: Obj = {}
    root = compiled.root
    stack: list[_Seg] = []
    for k, v in obj.items():
        if k in _META_KEYS:
            if k == "metadata" and prune_metadata and isinstance(v, dict):
                out[k] = _prune_object_meta(v, "metadata", meta_unknown)
            else:
                out[k] = _copy(v)
            continue
        walker.entry(out, k, v, root, stack, preserve=root.preserve)
    removed.sort()
    coerced.sort()
    return out, meta_unknown + removed + coerced


def _prune_object_meta(meta: Obj, prefix: str, unknown: list[str]) -> Obj:
    """ObjectMeta's fields of `meta` (copied); the others are reported as `<prefix>.<field>`."""
    out: Obj = {}
    for k, v in meta.items():
        if k not in OBJECT_META_FIELDS:
            unknown.append(f"{prefix}.{k}")
            continue
        if k in ("ownerReferences", "managedFields") and isinstance(v, list):
            allowed = _OWNER_REFERENCE_FIELDS if k == "ownerReferences" else _MANAGED_FIELDS_ENTRY_FIELDS
            items = []
            for i, item in enumerate(v):
                if isinstance(item, dict):
                    kept = {}
                    for ik, iv in item.items():
                        if ik in allowed:
                            kept[ik] = _copy(iv)
                        else:
                            unknown.append(f"{prefix}.{k}[{i}].{ik}")
                    items.append(kept)
                else:
                    items.append(_copy(item))
            out[k] = items
        else:
            out[k] = _copy(v)
    return out


class _Pruner:
    """The pruning walk (`pruning.Prune` + the embedded-metadata part of `objectmeta.Coerce`)."""

    __slots__ = ("removed", "coerced", "prune_metadata")

    def __init__(self, removed: list[str], coerced: list[str], prune_metadata: bool) -> None:
        self.removed = removed
        self.coerced = coerced
        self.prune_metadata = prune_metadata

    def entry(self, out: Obj, k: str, v: Any, node: _Node, stack: list[_Seg], *, preserve: bool) -> None:
        """Decide the fate of key `k` (value `v`) of an object whose schema is `node`."""
        if node.embedded and k in _META_KEYS:
            if k == "metadata" and self.prune_metadata and isinstance(v, dict):
                out[k] = _prune_object_meta(
                    v, _field_path(stack, "") + ".metadata" if stack else "metadata", self.coerced
                )
            else:
                out[k] = _copy(v)
            return
        child = node.properties.get(k)
        if child is not None:
            stack.append(("p", k))
            out[k] = self.prune(v, child, stack, len(stack))
            stack.pop()
        elif node.additional_set:
            stack.append(("a", k))
            out[k] = self.prune(v, node.additional, stack, len(stack))
            stack.pop()
        elif preserve:
            out[k] = _copy(v)
        else:
            self.removed.append(_dotted(stack, k))

    def prune(self, x: Any, node: _Node | None, stack: list[_Seg], depth: int) -> Any:
        if not isinstance(x, dict | list):
            return x
        if node is None:
            return self.schemaless(x, stack)
        if depth > MAX_DEPTH:
            return _copy(x)
        if node.preserve:
            return self.skip(x, node, stack, depth)
        if isinstance(x, dict):
            out: Obj = {}
            for k, v in x.items():
                self.entry(out, k, v, node, stack, preserve=False)
            return out
        items = node.items
        result = []
        for i, v in enumerate(x):
            if isinstance(v, dict | list):
                stack.append(("i", i))
                result.append(self.prune(v, items, stack, depth + 1))
                stack.pop()
            else:
                result.append(v)
        return result

    def skip(self, x: Any, node: _Node, stack: list[_Seg], depth: int) -> Any:
        """Under preserve-unknown-fields: keep unknown keys, but still prune inside declared ones."""
        if isinstance(x, dict):
            out: Obj = {}
            for k, v in x.items():
                self.entry(out, k, v, node, stack, preserve=True)
            return out
        if node.items is None:
            return _copy(x)
        result = []
        for i, v in enumerate(x):
            if isinstance(v, dict | list) and depth <= MAX_DEPTH:
                stack.append(("i", i))
                result.append(self.skip(v, node.items, stack, depth + 1))
                stack.pop()
            else:
                result.append(_copy(v))
        return result

    def schemaless(self, x: Any, stack: list[_Seg]) -> Any:
        """A value where the schema says nothing (an `additionalProperties: true` value, items of an array
        without `items`): objects inside it lose every key, as upstream prunes with a nil schema. Iterative."""
        if isinstance(x, dict):
            for k in x:
                self.removed.append(_dotted(stack, k))
            return {}
        result: list[Any] = []
        work: list[tuple[list[Any], list[Any], list[_Seg]]] = [(x, result, list(stack))]
        while work:
            src, dst, path = work.pop()
            for i, v in enumerate(src):
                if isinstance(v, dict):
                    here = [*path, ("i", i)]
                    for k in v:
                        self.removed.append(_dotted(here, k))
                    dst.append({})
                elif isinstance(v, list):
                    nested: list[Any] = []
                    dst.append(nested)
                    work.append((v, nested, [*path, ("i", i)]))
                else:
                    dst.append(v)
        return result


# ============================================================================================================
# Defaulting
# ============================================================================================================


def apply_defaults(obj: Any, schema: Any) -> Any:
    """Apply the schema's `default:` values to `obj` in place, and return it.

    As the apiserver's decoder does (`PruneNonNullableNullsWithoutDefaults`, then `Default`): a `null` where the
    schema does not allow one is dropped when there is no default and replaced by the default when there is
    one; an absent field with a default gets a deep copy of it. This runs through properties,
    additionalProperties and array items, but never inside the root `metadata` (the CRD validation forbids
    defaults there; embedded resources' metadata is defaulted). Pass a copy if `obj` is shared."""
    compiled = _compiled(schema)
    if isinstance(obj, dict):
        try:
            _default(obj, compiled.root, 0, True)
        except RecursionError:  # pragma: no cover - MAX_DEPTH keeps the walk far from the limit
            pass
    return obj


def _default(x: Any, node: _Node, depth: int, root: bool = False) -> None:
    if depth > MAX_DEPTH:
        return
    if isinstance(x, dict):
        for k, prop in node.defaulted:
            if root and k == "metadata":
                continue
            cur = x.get(k, _MISSING)
            if cur is _MISSING or (cur is None and not prop.nullable):
                x[k] = _copy(prop.default)
        props = node.properties
        extra = node.additional
        drop: list[str] = []
        for k, v in x.items():
            child = props.get(k)
            if child is None:
                child = extra
                if child is None:
                    continue
                if v is None and not child.nullable:
                    if child.has_default:
                        x[k] = v = _copy(child.default)
                    else:
                        drop.append(k)
                        continue
            elif v is None:
                if not child.nullable:  # a default was applied above; no default: drop it
                    drop.append(k)
                continue
            if root and k == "metadata":
                continue
            if isinstance(v, dict | list):
                _default(v, child, depth + 1)
        for k in drop:
            del x[k]
    elif isinstance(x, list):
        items = node.items
        if items is None:
            return
        for i, v in enumerate(x):
            if v is None and not items.nullable and items.has_default:
                x[i] = v = _copy(items.default)
            if isinstance(v, dict | list):
                _default(v, items, depth + 1)


# ============================================================================================================
# Go value model and rendering
# ============================================================================================================

# The JSON types the validator infers, as kube-openapi's `schemaInfoForType` names them, from the Go value the
# apiserver's JSON decoder would have produced: integers that fit int64 are int64, every other number float64.
_BOOL, _INT, _FLOAT, _STR, _LIST, _MAP, _OTHER = range(7)
_SCH_TYPE = {_BOOL: "boolean", _INT: "integer", _FLOAT: "number", _STR: "string", _LIST: "array", _MAP: "object"}
_SCH_FORMAT = {_INT: "int64", _FLOAT: "float64"}


def _go_value(v: Any) -> tuple[int, Any]:
    if v is True or v is False:
        return _BOOL, v
    if isinstance(v, str):
        return _STR, v
    if isinstance(v, int):
        if _INT64_MIN <= v <= _INT64_MAX:
            return _INT, int(v)
        try:
            return _FLOAT, float(v)
        except OverflowError:
            return _FLOAT, math.inf if v > 0 else -math.inf
    if isinstance(v, float):
        return _FLOAT, v
    if isinstance(v, dict):
        return _MAP, v
    if isinstance(v, list | tuple):
        return _LIST, v
    return _OTHER, v


def _go(v: Any) -> Any:
    """`v` as the Go decoder holds it (big integers become floats), for rendering."""
    if isinstance(v, int) and not isinstance(v, bool) and not _INT64_MIN <= v <= _INT64_MAX:
        return _go_value(v)[1]
    return v


def _render(v: Any) -> str:
    """A bad value as field.Error prints it: `%q` strings, `%v` numbers and booleans, JSON for the rest."""
    if isinstance(v, dict | list | tuple):
        return _go_json(v)
    return render_bad_value(_go(v))


def _go_v(v: Any) -> str:
    """Go's `%v` of a number, bool or string."""
    v = _go(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float | int):
        return render_bad_value(v)
    return str(v)


def _go_json_number(f: float) -> str:
    """encoding/json's float64 text: shortest digits, exponent form below 1e-6 and from 1e21."""
    if f.is_integer() and abs(f) < 1e21:
        return str(int(f))
    a = abs(f)
    if a < 1e-6 or a >= 1e21:
        text = repr(f)
        if "e" not in text:
            text = f"{f:e}"
        mant, _, exp = text.partition("e")
        sign = "-" if exp.startswith("-") else "+"
        digits = exp.lstrip("+-").lstrip("0") or "0"
        return f"{mant}e{sign}{digits}"
    return repr(f)


def _go_json(v: Any) -> str:
    """encoding/json.Marshal of a decoded JSON value: compact, map keys sorted, Go number formatting, `<`, `>`
    and `&` escaped. Values nested beyond what is worth printing render as a placeholder."""
    return "".join(_go_json_parts(v, 0))


def _go_json_string(s: str) -> str:
    text = json.dumps(s, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _go_json_parts(v: Any, depth: int) -> list[str]:
    if depth > 64:
        return ['"<value>"']
    kind, gv = _go_value(v)
    if kind == _MAP:
        out = ["{"]
        for i, k in enumerate(sorted(gv, key=str)):
            if i:
                out.append(",")
            out.append(_go_json_string(str(k)))
            out.append(":")
            out.extend(_go_json_parts(gv[k], depth + 1))
        out.append("}")
        return out
    if kind == _LIST:
        out = ["["]
        for i, item in enumerate(gv):
            if i:
                out.append(",")
            out.extend(_go_json_parts(item, depth + 1))
        out.append("]")
        return out
    if kind == _FLOAT:
        return [_go_json_number(gv) if math.isfinite(gv) else "null"]
    if kind == _INT:
        return [str(gv)]
    if kind == _BOOL:
        return ["true" if gv else "false"]
    if kind == _STR:
        return [_go_json_string(gv)]
    if v is None:
        return ["null"]
    return [_go_json_string(str(v))]


# ============================================================================================================
# Pattern (Go regexp syntax on Python's re)
# ============================================================================================================

_UNSUPPORTED_PERL = ("(?=", "(?!", "(?<=", "(?<!", "(?>", "(?#", "(?(", "(?P=")
_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7F",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1F\\x7F",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
# RE2's Perl classes are ASCII-only; Python's are Unicode-aware (re.ASCII would make \pL ASCII-only too).
_ASCII_CLASSES = {
    "d": ("0-9", False),
    "D": ("0-9", True),
    "w": ("0-9A-Za-z_", False),
    "W": ("0-9A-Za-z_", True),
    "s": ("\\t\\n\\f\\r ", False),
    "S": ("\\t\\n\\f\\r ", True),
}
_UNICODE_CLASSES = {"L": "^\\W\\d_", "Lu": "A-Z", "Ll": "a-z", "N": "0-9", "Nd": "0-9"}


def _translate_go_regexp(pattern: str) -> str:
    """Rewrite RE2 syntax into Python `re` syntax, or raise ValueError with Go's parse error wording."""
    for bad in _UNSUPPORTED_PERL:
        if bad in pattern:
            at = pattern.index(bad)
            if at == 0 or pattern[at - 1] != "\\":
                raise ValueError(f"error parsing regexp: invalid or unsupported Perl syntax: `{bad}`")
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    multiline = bool(re.match(r"\(\?[a-zA-Z]*m", pattern))
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= n:
                raise ValueError("error parsing regexp: trailing backslash at end of expression: ``")
            nxt = pattern[i + 1]
            if nxt.isdigit() and nxt != "0":
                raise ValueError(f"error parsing regexp: invalid escape sequence: `\\{nxt}`")
            if nxt == "z":
                out.append("\\Z")
                i += 2
                continue
            if nxt in _ASCII_CLASSES:
                cls, negated = _ASCII_CLASSES[nxt]
                if in_class:
                    if negated:
                        raise ValueError(f"unsupported negated class \\{nxt} inside a character class")
                    out.append(cls)
                else:
                    out.append(f"[{'^' if negated else ''}{cls}]")
                i += 2
                continue
            if nxt == "Z":
                raise ValueError("error parsing regexp: invalid escape sequence: `\\Z`")
            if nxt in "pP":
                m = re.match(r"\{(\^?)([A-Za-z_]+)\}|([A-Za-z])", pattern[i + 2 :])
                if not m:
                    raise ValueError(f"error parsing regexp: invalid character class range: `\\{nxt}`")
                negate = (nxt == "P") != bool(m.group(1))
                name = m.group(2) or m.group(3) or ""
                uni = _UNICODE_CLASSES.get(name)
                if uni is None:
                    raise ValueError(f"unsupported Unicode class \\p{{{name}}}")
                if in_class:
                    if negate or uni.startswith("^"):
                        raise ValueError(f"unsupported Unicode class \\p{{{name}}} inside a character class")
                    out.append(uni)
                else:
                    if uni.startswith("^"):
                        out.append(f"[{uni}]" if not negate else "[\\W\\d_]")
                    else:
                        out.append(f"[{'^' if negate else ''}{uni}]")
                i += 2 + m.end()
                continue
            if nxt == "Q":
                end = pattern.find("\\E", i + 2)
                literal = pattern[i + 2 :] if end < 0 else pattern[i + 2 : end]
                out.append(re.escape(literal))
                i = n if end < 0 else end + 2
                continue
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if ch == "[" and pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                if end > 0:
                    posix = pattern[i + 2 : end]
                    posix_cls = _POSIX_CLASSES.get(posix)
                    if posix_cls is None:
                        raise ValueError(f"error parsing regexp: invalid character class range: `[:{posix}:]`")
                    out.append(posix_cls)
                    i = end + 2
                    continue
            if ch == "[":
                out.append("\\[")
                i += 1
                continue
            if ch == "]":
                in_class = False
            out.append(ch)
            i += 1
            continue
        if ch == "[":
            in_class = True
            out.append(ch)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":
                out.append("\\]")
                i += 1
            continue
        if ch == "$" and not multiline:
            out.append("\\Z")
            i += 1
            continue
        if ch == "(" and pattern.startswith("(?<", i) and not pattern.startswith(("(?<=", "(?<!"), i):
            out.append("(?P<")
            i += 3
            continue
        if ch in "*+?}" and i + 1 < n and pattern[i + 1] in "*+" and not (ch == "}" and _brace_is_literal(out)):
            raise ValueError(f"error parsing regexp: invalid nested repetition operator: `{ch}{pattern[i + 1]}`")
        out.append(ch)
        i += 1
    return "".join(out)


def _brace_is_literal(out: list[str]) -> bool:
    text = "".join(out)
    return re.search(r"\{\d+(,\d*)?\}$", text) is None


@functools.lru_cache(maxsize=2048)
def compile_pattern(pattern: str) -> tuple[Callable[[str], bool] | None, str]:
    """A matcher for an OpenAPI `pattern` in Go's regexp (RE2) syntax, or (None, Go-style error text).

    Matching is unanchored, as Go's `MatchString`. RE2 constructs Python spells differently are translated
    (`\\z`, `$` outside multi-line mode, `(?<name>`, POSIX classes, common `\\p{..}` classes, `\\Q..\\E`);
    constructs RE2 rejects (look-arounds, back-references, possessive repetition) are rejected with RE2's
    message. `\\d`, `\\w` and `\\s` are ASCII-only, as in RE2 (`\\b` stays Unicode-aware, a small departure).

    Why two engines: patterns come from tenants' CRDs and RE2 matches in linear time, while Python's
    backtracking `re` takes exponential time on nested repetition (`^(a+)+$` against 30 characters runs for
    seconds). Patterns whose shape allows that (a repetition around another repetition or an alternation, or
    three unbounded repetitions) are matched by `_NFA`, a Thompson simulation that is linear in the input;
    the others use `re`, which is faster on the common simple patterns."""
    try:
        translated = _translate_go_regexp(pattern)
        compiled = re.compile(translated)
    except (ValueError, re.error, RecursionError, OverflowError) as e:
        msg = str(e)
        if not msg.startswith(("error parsing regexp", "unsupported")):
            msg = f"error parsing regexp: {msg}"
        return None, msg
    nfa = _NFA.build(translated)
    if nfa is not None:
        return nfa.search, ""
    search = compiled.search
    return (lambda s: search(s) is not None), ""


# --- a linear-time matcher for risky patterns -------------------------------------------------------------------

_NFA_MAX_PROGRAM = 20000
_CHAR, _SPLIT, _JMP, _ASSERT, _MATCH = range(5)
_AT_BEGIN_STRING, _AT_END_STRING, _AT_BEGIN_LINE, _AT_END_LINE, _AT_BOUNDARY, _AT_NON_BOUNDARY = range(6)


class _NFAUnsupported(Exception):
    """The parse tree has something the NFA does not implement: use `re` instead."""


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


class _NFA:
    """Thompson NFA over `re`'s own parse tree (so both engines read the pattern identically).

    A program is a list of instructions `(op, a, b)`: `_CHAR` with a predicate in `a`, `_SPLIT` to `a` and
    `b`, `_JMP` to `a`, `_ASSERT` of a zero-width condition `a`, `_MATCH`. `search` advances the set of live
    threads one character at a time: O(len(text) × len(program)), whatever the pattern."""

    __slots__ = ("prog",)

    def __init__(self, prog: list[tuple[int, Any, Any]]) -> None:
        self.prog = prog

    @classmethod
    def build(cls, translated: str, *, force: bool = False) -> _NFA | None:
        """The NFA for a risky pattern (any pattern with `force`), or None when `re` is safe enough or the
        pattern is beyond what the NFA implements."""
        import re._constants as C  # noqa: N812 - sre's opcode names
        import re._parser as P  # noqa: N812

        try:
            parsed = P.parse(translated, 0)
        except (re.error, RecursionError, OverflowError):  # pragma: no cover - compiled fine just before
            return None
        if not force and not _risky(parsed, C):
            return None
        prog: list[tuple[int, Any, Any]] = []
        try:
            _emit(list(parsed), parsed.state.flags, prog, C)
        except (_NFAUnsupported, RecursionError):
            return None
        prog.append((_MATCH, None, None))
        return cls(prog)

    def search(self, text: str) -> bool:
        prog = self.prog
        n = len(text)
        current: list[int] = []
        for pos in range(n + 1):
            # every position may start a match (unanchored search): add thread 0, then follow epsilons
            seen: set[int] = set()
            stack = [*reversed(current), 0]
            runnable: list[int] = []
            while stack:
                pc = stack.pop()
                if pc in seen:
                    continue
                seen.add(pc)
                op, a, b = prog[pc]
                if op == _CHAR:
                    runnable.append(pc)
                elif op == _MATCH:
                    return True
                elif op == _JMP:
                    stack.append(a)
                elif op == _SPLIT:
                    stack.append(b)
                    stack.append(a)
                elif _assert_holds(a, text, pos, n):
                    stack.append(pc + 1)
            if pos == n:
                break
            ch = text[pos]
            current = [pc + 1 for pc in runnable if prog[pc][1](ch)]
        return False


def _assert_holds(kind: int, text: str, pos: int, n: int) -> bool:
    if kind == _AT_BEGIN_STRING:
        return pos == 0
    if kind == _AT_END_STRING:
        return pos == n
    if kind == _AT_BEGIN_LINE:
        return pos == 0 or text[pos - 1] == "\n"
    if kind == _AT_END_LINE:
        return pos == n or text[pos] == "\n"
    before = pos > 0 and _is_word(text[pos - 1])
    after = pos < n and _is_word(text[pos])
    return (before != after) == (kind == _AT_BOUNDARY)


def _risky(items: Any, C: Any, inside_repeat: bool = False) -> bool:  # noqa: N803
    """Can backtracking blow up: a repetition (max > 1) around another one or around an alternation, or
    three or more unbounded repetitions in sequence?"""
    unbounded = 0
    for op, av in items:
        if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            lo, hi, body = av
            if hi > 1 and inside_repeat:
                return True
            if hi == C.MAXREPEAT:
                unbounded += 1
            if _risky(body, C, inside_repeat or hi > 1):
                return True
        elif op == C.BRANCH:
            if inside_repeat:
                return True
            if any(_risky(alt, C, inside_repeat) for alt in av[1]):
                return True
        elif op in (C.SUBPATTERN, C.ATOMIC_GROUP):
            body = av[-1] if op == C.SUBPATTERN else av
            if _risky(body, C, inside_repeat):
                return True
    return unbounded >= 3


def _char_pred(op: Any, av: Any, flags: int, C: Any) -> Callable[[str], bool]:  # noqa: N803
    ignore = bool(flags & C.SRE_FLAG_IGNORECASE)
    if op == C.ANY:
        if flags & C.SRE_FLAG_DOTALL:
            return lambda ch: True
        return lambda ch: ch != "\n"
    if op in (C.LITERAL, C.NOT_LITERAL):
        lit = chr(av)
        if ignore:
            folded = lit.casefold()
            eq: Callable[[str], bool] = lambda ch: ch.casefold() == folded  # noqa: E731
        else:
            eq = lambda ch: ch == lit  # noqa: E731
        if op == C.LITERAL:
            return eq
        return lambda ch: not eq(ch)
    if op == C.IN:
        negate = False
        tests: list[Callable[[str], bool]] = []
        for item_op, item_av in av:
            if item_op == C.NEGATE:
                negate = True
            elif item_op == C.LITERAL:
                tests.append(functools.partial(str.__eq__, chr(item_av)))
            elif item_op == C.RANGE:
                tests.append(functools.partial(_in_range, item_av[0], item_av[1]))
            elif item_op == C.CATEGORY:
                tests.append(_category(item_av, C))
            else:
                raise _NFAUnsupported(str(item_op))

        def in_class(ch: str) -> bool:
            candidates = (ch, ch.lower(), ch.upper()) if ignore else (ch,)
            hit = any(t(c) for c in candidates for t in tests)
            return hit != negate

        return in_class
    raise _NFAUnsupported(str(op))


def _in_range(lo: int, hi: int, ch: str) -> bool:
    return lo <= ord(ch) <= hi


def _category(code: Any, C: Any) -> Callable[[str], bool]:  # noqa: N803
    table: dict[Any, Callable[[str], bool]] = {
        C.CATEGORY_DIGIT: lambda ch: ch.isdecimal(),
        C.CATEGORY_NOT_DIGIT: lambda ch: not ch.isdecimal(),
        C.CATEGORY_WORD: _is_word,
        C.CATEGORY_NOT_WORD: lambda ch: not _is_word(ch),
        C.CATEGORY_SPACE: lambda ch: ch.isspace(),
        C.CATEGORY_NOT_SPACE: lambda ch: not ch.isspace(),
    }
    if code not in table:
        raise _NFAUnsupported(str(code))
    return table[code]


def _emit(items: list[Any], flags: int, prog: list[tuple[int, Any, Any]], C: Any) -> None:  # noqa: N803
    """Append the instructions for a sequence of parse-tree items."""
    for op, av in items:
        if len(prog) > _NFA_MAX_PROGRAM:
            raise _NFAUnsupported("too large")
        if op in (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN):
            prog.append((_CHAR, _char_pred(op, av, flags, C), None))
        elif op == C.AT:
            multiline = bool(flags & C.SRE_FLAG_MULTILINE)
            kinds = {
                C.AT_BEGINNING: _AT_BEGIN_LINE if multiline else _AT_BEGIN_STRING,
                C.AT_BEGINNING_STRING: _AT_BEGIN_STRING,
                C.AT_END: _AT_END_LINE if multiline else _AT_END_STRING,
                C.AT_END_STRING: _AT_END_STRING,
                C.AT_BOUNDARY: _AT_BOUNDARY,
                C.AT_NON_BOUNDARY: _AT_NON_BOUNDARY,
            }
            if av not in kinds:
                raise _NFAUnsupported(str(av))
            prog.append((_ASSERT, kinds[av], None))
        elif op == C.SUBPATTERN:
            _group, add_flags, del_flags, body = av
            _emit(list(body), (flags | add_flags) & ~del_flags, prog, C)
        elif op == C.BRANCH:
            alternatives = av[1]
            jumps: list[int] = []
            for i, alt in enumerate(alternatives):
                if i < len(alternatives) - 1:
                    split = len(prog)
                    prog.append((_SPLIT, split + 1, None))
                    _emit(list(alt), flags, prog, C)
                    jumps.append(len(prog))
                    prog.append((_JMP, None, None))
                    prog[split] = (_SPLIT, split + 1, len(prog))
                else:
                    _emit(list(alt), flags, prog, C)
            for j in jumps:
                prog[j] = (_JMP, len(prog), None)
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            lo, hi, body = av
            for _ in range(lo):
                _emit(list(body), flags, prog, C)
            if hi == C.MAXREPEAT:
                loop = len(prog)
                prog.append((_SPLIT, loop + 1, None))
                _emit(list(body), flags, prog, C)
                prog.append((_JMP, loop, None))
                prog[loop] = (_SPLIT, loop + 1, len(prog))
            else:
                splits = []
                for _ in range(hi - lo):
                    splits.append(len(prog))
                    prog.append((_SPLIT, len(prog) + 1, None))
                    _emit(list(body), flags, prog, C)
                for at in splits:
                    prog[at] = (_SPLIT, at + 1, len(prog))
        else:
            raise _NFAUnsupported(str(op))


# ============================================================================================================
# Formats (kube-openapi's strfmt registry, as far as the apiextensions-apiserver keeps it)
# ============================================================================================================

_RX_UUID = re.compile(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\Z")
_RX_UUID3 = re.compile(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}\Z")
_RX_UUID4 = re.compile(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}\Z")
_RX_UUID5 = re.compile(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}\Z")
_LABEL_CH = r"[^\W_]"
_RX_HOSTNAME = re.compile(
    rf"^({_LABEL_CH}((-?{_LABEL_CH}{{0,62}})?)|({_LABEL_CH}(([-\w]{{0,61}}{_LABEL_CH})?)(\.)){{1,}}"
    rf"([^\W\d_]){{2,63}})\Z"
)
_RX_DATETIME_TAIL = re.compile(r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))\Z")
_RX_BASE64 = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})\Z")
_RX_HEXCOLOR = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})\Z")
_RGB_PART = r"\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*"
_RX_RGBCOLOR = re.compile(rf"^rgb\({_RGB_PART},{_RGB_PART},{_RGB_PART}\)\Z")
_RX_SSN = re.compile(r"^\d{3}[- ]?\d{2}[- ]?\d{4}\Z")
_RX_MAC = re.compile(
    r"^(?:[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){7}"
    r"|[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){19}|[0-9A-Fa-f]{4}(?:\.[0-9A-Fa-f]{4}){2,9})\Z"
)
_RX_EMAIL = re.compile(r"^(?:[^<>@\s]+@[^<>@\s]+\.?[^<>@\s]*|[^<>]*<[^<>@\s]+@[^<>@\s]+>)\Z")
_RX_URI = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:[^\s]*|/[^\s]*)\Z")
_RX_SHORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")
_RX_LONG_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")
_RX_GO_DURATION = re.compile(r"^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+\Z")
_RX_DURATION_PART = re.compile(r"((\d+)\s*([A-Za-zµ]+))")
_DURATION_UNITS = (
    ("ns", "nano"),
    ("us", "µs", "micro"),
    ("ms", "milli"),
    ("s", "sec"),
    ("m", "min"),
    ("h", "hr", "hour"),
    ("d", "day"),
    ("w", "wk", "week"),
)
_RX_CREDITCARD = re.compile(
    r"^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|(222[1-9]|22[3-9][0-9]|2[3-6][0-9]{2}|27[01][0-9]|2720)[0-9]{12}"
    r"|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35\d{3})\d{11}"
    r"|6[27][0-9]{14})\Z"
)


def _is_date(s: str) -> bool:
    if len(s) != 10 or s[4] != "-" or s[7] != "-" or not (s[:4] + s[5:7] + s[8:]).isdigit():
        return False
    import datetime

    try:
        datetime.date(int(s[:4]), int(s[5:7]), int(s[8:]))
    except ValueError:
        return False
    return True


def _is_datetime(s: str) -> bool:
    if len(s) < 4:
        return False
    parts = s.lower().split("t")
    if len(parts) < 2 or not _is_date(parts[0]):
        return False
    m = _RX_DATETIME_TAIL.match(parts[1])
    return m is not None and m.group(1) <= "23" and m.group(2) <= "59" and m.group(3) <= "59"


def _is_duration(s: str) -> bool:
    if _RX_GO_DURATION.match(s) or s in ("0", "+0", "-0"):
        return True
    ok = False
    for match in _RX_DURATION_PART.findall(s):
        unit = match[2].strip().lower()
        for variants in _DURATION_UNITS:
            last = len(variants) - 1
            for i, variant in enumerate(variants):
                if (i == last and unit.startswith(variant)) or variant.lower() == unit:
                    ok = True
    return ok


def _strip_ip_zeros(s: str) -> str:
    """ParseIPSloppy tolerates leading zeros in IPv4 octets (read as decimal)."""
    head, sep, tail = s.rpartition(":")
    quad = tail if sep else s
    octets = quad.split(".")
    if len(octets) == 4 and all(o.isdigit() and o.isascii() for o in octets):
        quad = ".".join(str(int(o)) if len(o) <= 3 else o for o in octets)
    return head + sep + quad if sep else quad


def _parse_ip(s: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not s or "%" in s:
        return None
    try:
        return ipaddress.ip_address(_strip_ip_zeros(s))
    except ValueError:
        return None


def _is_cidr(s: str) -> bool:
    addr, sep, bits = s.partition("/")
    if not sep or not bits.isdigit() or not bits.isascii() or _parse_ip(addr) is None:
        return False
    ip = _parse_ip(addr)
    limit = 32 if isinstance(ip, ipaddress.IPv4Address) and ":" not in addr else 128
    return int(bits) <= limit


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _is_isbn10(s: str) -> bool:
    s = s.replace(" ", "").replace("-", "")
    if not re.fullmatch(r"[0-9]{9}[0-9X]", s):
        return False
    total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(s))
    return total % 11 == 0


def _is_isbn13(s: str) -> bool:
    s = s.replace(" ", "").replace("-", "")
    if not re.fullmatch(r"[0-9]{13}", s):
        return False
    total = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(s[:12]))
    return (10 - total % 10) % 10 == int(s[12])


def _is_creditcard(s: str) -> bool:
    digits = re.sub(r"[^0-9]", "", s)
    return bool(_RX_CREDITCARD.match(digits)) and _luhn(digits)


def _is_hostname(s: str) -> bool:
    return bool(_RX_HOSTNAME.match(s)) and len(s) <= 255 and all(len(p) <= 63 for p in s.split("."))


def _is_base64(s: str) -> bool:
    if not _RX_BASE64.match(s):
        return False
    try:
        base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


_FORMAT_CHECKS: dict[str, Callable[[str], bool]] = {
    "bsonobjectid": lambda s: bool(re.fullmatch(r"[0-9a-fA-F]{24}", s)),
    "uri": lambda s: bool(_RX_URI.match(s)),
    "email": lambda s: bool(_RX_EMAIL.match(s)),
    "hostname": _is_hostname,
    "ipv4": lambda s: (ip := _parse_ip(s)) is not None and "." in s and (ip.version == 4 or "::ffff:" in s.lower()),
    "ipv6": lambda s: _parse_ip(s) is not None and ":" in s,
    "cidr": _is_cidr,
    "mac": lambda s: bool(_RX_MAC.match(s)),
    "uuid": lambda s: bool(_RX_UUID.match(s)),
    "uuid3": lambda s: bool(_RX_UUID3.match(s)),
    "uuid4": lambda s: bool(_RX_UUID4.match(s)),
    "uuid5": lambda s: bool(_RX_UUID5.match(s)),
    "isbn": lambda s: _is_isbn10(s) or _is_isbn13(s),
    "isbn10": _is_isbn10,
    "isbn13": _is_isbn13,
    "creditcard": _is_creditcard,
    "ssn": lambda s: len(s) == 11 and bool(_RX_SSN.match(s)),
    "hexcolor": lambda s: bool(_RX_HEXCOLOR.match(s)),
    "rgbcolor": lambda s: bool(_RX_RGBCOLOR.match(s)),
    "byte": _is_base64,
    "password": lambda s: True,
    "date": _is_date,
    "duration": _is_duration,
    "datetime": _is_datetime,
    "k8sshortname": lambda s: len(s) <= 63 and bool(_RX_SHORT_NAME.match(s)),
    "k8slongname": lambda s: len(s) <= 253 and bool(_RX_LONG_NAME.match(s)),
}


# ============================================================================================================
# Validation (kube-openapi's SchemaValidator, reported as the apiextensions-apiserver reports it)
# ============================================================================================================

# One error: (message, reason, name or None for "no field" errors, body). The message is what kube-openapi's
# error prints (results are de-duplicated on it); name is the kube-openapi path the field is derived from;
# body is the cause message.
_Err = tuple[str, str, str | None, str]

_R_INVALID = "FieldValueInvalid"
_R_TYPE = "FieldValueTypeInvalid"


def _e_invalid(name: str, value: Any, msg: str) -> _Err:
    return msg, _R_INVALID, name, f"Invalid value: {_render(value)}: {msg}"


def _e_type(name: str, type_name: str, value: str) -> _Err:
    msg = f"{name} in body must be of type {type_name}: {go_quote(value)}"
    return msg, _R_TYPE, name, f"Invalid value: {go_quote(value)}: {msg}"


def _e_plain(msg: str) -> _Err:
    return msg, _R_INVALID, None, f'Invalid value: "": {msg}'


def _e_required(name: str) -> _Err:
    return f"{name} in body is required", "FieldValueRequired", name, "Required value"


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def _e_too_many(name: str, msg: str, actual: int, limit: int) -> _Err:
    return (
        msg,
        "FieldValueTooMany",
        name,
        f"Too many: {actual}: must have at most {limit} " + _plural(limit, "item", "items"),
    )


def _go_int64(f: float) -> int:
    """Go's int64(f) on amd64: truncation, and MinInt64 for anything out of range."""
    if not math.isfinite(f) or not _INT64_MIN <= f < 2.0**63:
        return _INT64_MIN
    return int(f)


def _is_json_integer(f: float) -> bool:
    """go-openapi's IsFloat64AJSONInteger: integral (within 1e-9 relative) and within ±(2^53-1)."""
    if not math.isfinite(f) or abs(f) > _MAX_SAFE_INTEGER:
        return False
    rounded = round(f)
    if f == rounded:
        return True
    if rounded == 0:
        return False
    return abs(f - rounded) < 1e-9 * abs(rounded)


_FLOAT32_LIMIT = 3.4028235677973366e38  # values at least this large round to ±Inf in float32


def _range_error(value: int | float, is_int: bool, typ: str, fmt: str, prefix: str, name: str) -> str | None:
    """kube-openapi's IsValueValidAgainstRange: can the number's text parse as the declared type/format?"""
    ok = True
    if typ == "integer":
        if is_int:
            iv: int | None = int(value)
        else:
            fv = float(value)
            iv = int(fv) if math.isfinite(fv) and fv.is_integer() and _INT64_MIN <= fv < 2.0**63 else None
        if iv is None:
            ok = False
        elif fmt == "int32":
            ok = -(2**31) <= iv < 2**31
        else:
            ok = _INT64_MIN <= iv <= _INT64_MAX
    elif fmt == "float":
        ok = math.isfinite(float(value)) and abs(float(value)) < _FLOAT32_LIMIT
    if ok:
        return None
    if fmt:
        return f"{prefix} value must be of type {typ} with format {fmt} in {name}"
    return f"{prefix} value must be of type {typ} (default format) in {name}"


def _go_equal(a: Any, b: Any) -> bool:
    """reflect.DeepEqual on values the Go JSON decoder produced (int64 and float64 are different types)."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        kx, gx = _go_value(x)
        ky, gy = _go_value(y)
        if kx != ky:
            if not (x is None and y is None):
                return False
            continue
        if kx == _MAP:
            if len(gx) != len(gy) or gx.keys() != gy.keys():
                return False
            stack.extend((gx[k], gy[k]) for k in gx)
        elif kx == _LIST:
            if len(gx) != len(gy):
                return False
            stack.extend(zip(gx, gy, strict=True))
        elif kx == _OTHER:
            if x is not y and x != y:
                return False
        elif gx != gy:
            return False
    return True


def _enum_matches(data: Any, ev: Any) -> bool:
    """kube-openapi's enum check: the datum converted (Go conversion rules) to the enum value's type, then
    DeepEqual. So 3.7 matches an integer enum value 3, and 65 a string enum value "A", as upstream."""
    if ev is None:
        return False
    kd, gd = _go_value(data)
    ke, ge = _go_value(ev)
    if kd == ke:
        return _go_equal(data, ev)
    if ke == _INT and kd == _FLOAT:
        return bool(_go_int64(gd) == ge)
    if ke == _FLOAT and kd == _INT:
        return bool(float(gd) == ge)
    if ke == _STR and kd == _INT:
        return bool((chr(gd) if 0 <= gd <= 0x10FFFF and not 0xD800 <= gd <= 0xDFFF else "\ufffd") == ge)
    return False


def _enum_text(v: Any) -> str:
    """How an allowed value is listed in `supported values`: strings as they are, others as JSON."""
    return v if isinstance(v, str) else _go_json(v)


class _Validator:
    """kube-openapi's validation of one value against a compiled node.

    `run` returns the errors and a match count (how much of the schema the value satisfied), which picks the
    "best" failing branch of anyOf/oneOf, as kube-openapi's MatchCount does."""

    __slots__ = ()

    def run(self, node: _Node, data: Any, name: str, depth: int) -> tuple[list[_Err], int]:
        errs: list[_Err] = []
        if depth > MAX_DEPTH:
            return errs, 1
        count = 0
        if data is None:
            if node.types and not node.nullable:
                errs.append(_e_type(name, node.type_name, "null"))
            if node.enum is not None:
                errs.append(self._enum_error(name, data, node.enum))
            return errs, 2
        kind, value = _go_value(data)
        if node.types or node.format:
            count += 1
            self._check_type(node, kind, value, name, errs)
        count += 1
        if node.has_composites:
            count += self._composites(node, data, name, depth, errs)
        if kind == _STR:
            count += 1
            self._check_string(node, value, name, errs)
            if node.format:
                check = _FORMAT_CHECKS.get(node.format.replace("-", ""))
                if check is not None:
                    count += 1
                    if not check(value):
                        msg = f"{name} in body must be of type {node.format}: {go_quote(value)}"
                        errs.append((msg, _R_TYPE, name, f"Invalid value: {go_quote(value)}: {msg}"))
        elif kind == _INT or kind == _FLOAT:
            count += 1
            self._check_number(node, kind == _INT, value, name, errs)
        elif kind == _LIST:
            count += 1
            count += self._check_array(node, value, name, depth, errs)
        if node.enum is not None:
            count += 1
            for ev in node.enum:
                if _enum_matches(value, ev):
                    break
            else:
                errs.append(self._enum_error(name, value, node.enum))
        if kind == _MAP:
            count += 1
            count += self._check_object(node, value, name, depth, errs)
        return errs, count

    @staticmethod
    def _enum_error(name: str, value: Any, enum: list[Any]) -> _Err:
        supported = ", ".join(go_quote(_enum_text(v)) for v in enum)
        msg = f"{name} in body should be one of {enum!r}"
        return (
            msg,
            "FieldValueNotSupported",
            name,
            f"Unsupported value: {_render(value)}: supported values: " + (supported),
        )

    @staticmethod
    def _check_type(node: _Node, kind: int, value: Any, name: str, errs: list[_Err]) -> None:
        types = node.types
        sch_type = _SCH_TYPE.get(kind, "")
        is_float_int = kind == _FLOAT and "integer" in types and _is_json_integer(value)
        is_int_float = kind == _INT and "number" in types
        fmt = node.format
        if kind not in (_STR, _LIST) and fmt:
            inferred = _SCH_FORMAT.get(kind, "")
            if not (sch_type in types or inferred == fmt or is_float_int or is_int_float):
                errs.append(_e_type(name, fmt, inferred))
                return
        if fmt and "number" not in types and "integer" not in types and kind in (_STR, _LIST):
            return
        if not (sch_type in types or is_float_int or is_int_float):
            errs.append(_e_type(name, node.type_name, sch_type))

    @staticmethod
    def _check_string(node: _Node, value: str, name: str, errs: list[_Err]) -> None:
        if node.max_length is not None and len(value) > node.max_length:
            limit = node.max_length
            msg = f"{name} in body should be at most {limit} chars long"
            unit = _plural(limit, "byte", "bytes")
            errs.append((msg, "FieldValueTooLong", name, f"Too long: may not be more than {limit} {unit}"))
            return
        if node.min_length is not None and len(value) < node.min_length:
            errs.append(_e_invalid(name, value, f"{name} in body should be at least {node.min_length} chars long"))
            return
        if node.pattern:
            if node.pattern_match is None:
                shown = f"{node.pattern}, but pattern is invalid: {node.pattern_error}"
                errs.append(_e_invalid(name, value, f"{name} in body should match '{shown}'"))
            elif not node.pattern_match(value):
                errs.append(_e_invalid(name, value, f"{name} in body should match '{node.pattern}'"))

    @staticmethod
    def _check_number(node: _Node, is_int: bool, value: int | float, name: str, errs: list[_Err]) -> None:
        typ, fmt = node.number_type, node.number_format
        # an int64 can only fail the range check of an int32 or float32 format: skip the common case
        if not is_int or fmt in ("int32", "float"):
            checked = _range_error(value, is_int, typ, fmt, "Checked", name)
            if checked:
                errs.append(_e_plain(checked))
        fvalue = float(value)
        if node.multiple_of is not None:
            factor = float(node.multiple_of)
            rng = (
                _range_error(factor, False, typ, fmt, "MultipleOf", name)
                if typ == "integer" or fmt == "float"
                else None
            )
            if rng:
                errs.append(_e_plain(rng))
            if rng is None and is_int:
                ifactor = _go_int64(factor)
                if ifactor <= 0:
                    msg = f"factor MultipleOf declared for {name} must be positive: {ifactor}"
                    errs.append(_e_invalid(name, ifactor, msg))
                elif int(value) % ifactor != 0:
                    errs.append(_e_invalid(name, value, f"{name} in body should be a multiple of {ifactor}"))
            elif factor <= 0:
                msg = f"factor MultipleOf declared for {name} must be positive: {_go_v(factor)}"
                errs.append(_e_invalid(name, factor, msg))
            else:
                try:
                    mult = (1 / factor * fvalue) if factor < 1 else fvalue / factor
                except (ZeroDivisionError, OverflowError):  # pragma: no cover - factor > 0 here
                    mult = math.nan
                if not _is_json_integer(mult):
                    msg = f"{name} in body should be a multiple of {_go_v(factor)}"
                    errs.append(_e_invalid(name, fvalue, msg))
        for bound, exclusive, label, is_min in (
            (node.minimum, node.exclusive_minimum, "Minimum boundary", True),
            (node.maximum, node.exclusive_maximum, "Maximum boundary", False),
        ):
            if bound is None:
                continue
            fbound = float(bound)
            rng = _range_error(fbound, False, typ, fmt, label, name) if typ == "integer" or fmt == "float" else None
            if rng:
                errs.append(_e_plain(rng))
            if rng is None and is_int:
                ibound = _go_int64(fbound)
                shown, bad = str(ibound), _out_of_bounds(int(value), ibound, exclusive, is_min)
                shown_value: Any = value
            else:
                shown, bad = _go_v(fbound), _out_of_bounds(fvalue, fbound, exclusive, is_min)
                shown_value = fvalue
            if bad:
                if is_min:
                    rel = "greater than" if exclusive else "greater than or equal to"
                else:
                    rel = "less than" if exclusive else "less than or equal to"
                errs.append(_e_invalid(name, shown_value, f"{name} in body should be {rel} {shown}"))

    def _check_array(
        self, node: _Node, value: list[Any] | tuple[Any, ...], name: str, depth: int, errs: list[_Err]
    ) -> int:
        count = 0
        items = node.items
        if items is not None:
            for i, v in enumerate(value):
                sub, c = self.run(items, v, f"{name}[{i}]", depth + 1)
                errs.extend(sub)
                count += c
        size = len(value)
        if node.min_items is not None and size < node.min_items:
            errs.append(_e_invalid(name, size, f"{name} in body should have at least {node.min_items} items"))
        if node.max_items is not None and size > node.max_items:
            msg = f"{name} in body should have at most {node.max_items} items"
            errs.append(_e_too_many(name, msg, size, node.max_items))
        if node.unique_items and size > 1:
            seen: list[Any] = []
            for v in value:
                if any(_go_equal(v, u) for u in seen):
                    errs.append(_e_invalid(name, "", f"{name} in body shouldn't contain duplicates"))
                    break
                seen.append(v)
        return count

    def _check_object(self, node: _Node, value: Mapping[str, Any], name: str, depth: int, errs: list[_Err]) -> int:
        count = 0
        size = len(value)
        if node.min_properties is not None and size < node.min_properties:
            msg = f"{name} in body should have at least {node.min_properties} properties"
            errs.append(_e_invalid(name, size, msg))
        if node.max_properties is not None and size > node.max_properties:
            msg = f"{name} in body should have at most {node.max_properties} properties"
            errs.append(_e_too_many(name, msg, size, node.max_properties))
        props = node.properties
        if node.additional_set and not node.additional_allows:
            for k in value:
                if k not in props:
                    errs.append(_e_invalid(name, k, f"{name}.{k} in body is a forbidden property"))
        elif node.additional is not None:
            extra = node.additional
            for k, v in value.items():
                if k not in props:
                    sub, c = self.run(extra, v, f"{name}.{k}", depth + 1)
                    errs.extend(sub)
                    count += c
        for pname, pnode in props.items():
            if pname in value:
                sub, c = self.run(pnode, value[pname], f"{name}.{pname}" if name else pname, depth + 1)
                errs.extend(sub)
                count += c
        for req in node.required:
            if req not in value:
                errs.append(_e_required(f"{name}.{req}"))
        return count

    def _composites(self, node: _Node, data: Any, name: str, depth: int, errs: list[_Err]) -> int:
        count = 0
        quoted = go_quote(name)
        if node.any_of:
            best: tuple[list[_Err], int] | None = None
            ok = False
            for sub in node.any_of:
                result = self.run(sub, data, name, depth + 1)
                if not result[0]:
                    ok, best = True, None
                    count += result[1]
                    break
                if best is None or result[1] > best[1]:
                    best = result
            if not ok:
                errs.append(_e_plain(f"{quoted} must validate at least one schema (anyOf)"))
            if best is not None:
                errs.extend(best[0])
                count += best[1]
        if node.one_of:
            best = None
            valid = 0
            first_ok = 0
            for sub in node.one_of:
                result = self.run(sub, data, name, depth + 1)
                if not result[0]:
                    valid += 1
                    best = None
                    first_ok = first_ok or result[1]
                    continue
                if valid == 0 and (best is None or result[1] > best[1]):
                    best = result
            if valid != 1:
                extra = "Found none valid" if valid == 0 else f"Found {valid} valid alternatives"
                errs.append(_e_plain(f"{quoted} must validate one and only one schema (oneOf). {extra}"))
                if best is not None:
                    errs.extend(best[0])
                    count += best[1]
            else:
                count += first_ok
        if node.all_of:
            valid = 0
            for sub in node.all_of:
                sub_errs, c = self.run(sub, data, name, depth + 1)
                if not sub_errs:
                    valid += 1
                errs.extend(sub_errs)
                count += c
            if valid != len(node.all_of):
                extra = ". None validated" if valid == 0 else ""
                errs.append(_e_plain(f"{quoted} must validate all the schemas (allOf){extra}"))
        if node.not_ is not None:
            sub_errs, _ = self.run(node.not_, data, name, depth + 1)
            if not sub_errs:
                errs.append(_e_plain(f"{quoted} must not validate the schema (not)"))
        return count


def _out_of_bounds(value: int | float, bound: int | float, exclusive: bool, is_min: bool) -> bool:
    if is_min:
        return value <= bound if exclusive else value < bound
    return value >= bound if exclusive else value > bound


_VALIDATOR = _Validator()


def _to_causes(errs: list[_Err], prefix: str, out: FieldErrors) -> None:
    """kube-openapi errors → causes (`kubeOpenAPIResultToFieldErrors`), de-duplicated on the error text."""
    seen: set[str] = set()
    for msg, reason, name, body in errs:
        if msg in seen:
            continue
        seen.add(msg)
        if name is None or name in ("", "."):
            field = prefix or "<nil>"
        else:
            trimmed = name[1:] if name.startswith(".") else name
            field = f"{prefix}.{trimmed}" if prefix else trimmed
        out.causes.append(Cause(reason, body, field))


# ============================================================================================================
# Embedded resources (objectmeta.Validate) and list-type invariants (listtype.ValidateListSetsAndMaps)
# ============================================================================================================

_DNS1035_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035_RE = re.compile(_DNS1035_FMT)
_DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
    f"validation is '{_DNS1035_FMT}')"
)


def is_dns1035_label(value: str) -> list[str]:
    """apimachinery's IsDNS1035Label: ≤ 63 bytes of `[a-z]([-a-z0-9]*[a-z0-9])?` (CRD names, kinds, versions)."""
    errs = []
    if len(value.encode("utf-8", "surrogatepass")) > 63:
        errs.append("must be no more than 63 characters")
    if not _DNS1035_RE.fullmatch(value):
        errs.append(_DNS1035_MSG)
    return errs


def _go_lower(s: str) -> str:
    return "".join(ch.lower()[:1] for ch in s)


def _json_type_name(v: Any) -> str:
    kind = _go_value(v)[0]
    return {_BOOL: "bool", _INT: "number", _FLOAT: "number", _STR: "string", _LIST: "array", _MAP: "object"}.get(
        kind, "null" if v is None else "value"
    )


def _path_segment_errors(name: str, prefix: bool) -> list[str]:
    if not prefix and name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def _validate_embedded_meta(meta: Any, path: str, errs: FieldErrors) -> None:
    """ObjectMeta of an embedded resource: generic ObjectMeta rules with path-segment names."""
    if not isinstance(meta, dict):
        errs.causes.append(
            Cause(
                _R_INVALID,
                f"Invalid value: {_render(meta)}: json: cannot unmarshal {_json_type_name(meta)} into Go value of "
                "type v1.ObjectMeta",
                path,
            )
        )
        return
    for key, prefix in (("generateName", True), ("name", False)):
        value = meta.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            errs.causes.append(
                Cause(_R_TYPE, f"Invalid value: {_render(value)}: must be of type string", f"{path}.{key}")
            )
            continue
        for msg in _path_segment_errors(value, prefix):
            errs.causes.append(Cause(_R_INVALID, f"Invalid value: {go_quote(value)}: {msg}", f"{path}.{key}"))
    namespace = meta.get("namespace")
    if isinstance(namespace, str) and namespace:
        for msg in is_dns1123_label(namespace):
            errs.causes.append(Cause(_R_INVALID, f"Invalid value: {go_quote(namespace)}: {msg}", f"{path}.namespace"))
    elif namespace is not None and not isinstance(namespace, str):
        errs.causes.append(
            Cause(_R_TYPE, f"Invalid value: {_render(namespace)}: must be of type string", f"{path}.namespace")
        )
    generation = meta.get("generation")
    if isinstance(generation, int) and not isinstance(generation, bool) and generation < 0:
        errs.causes.append(
            Cause(_R_INVALID, f"Invalid value: {generation}: must be greater than or equal to 0", f"{path}.generation")
        )
    errs.extend(validate_labels(meta.get("labels"), f"{path}.labels"))
    errs.extend(validate_annotations(meta.get("annotations"), f"{path}.annotations"))
    errs.extend(validate_owner_references(meta.get("ownerReferences"), f"{path}.ownerReferences"))
    errs.extend(validate_finalizers(meta.get("finalizers"), f"{path}.finalizers", qualified=False))


def _validate_embedded_resource(x: Obj, path: str, errs: FieldErrors) -> None:
    def child(k: str) -> str:
        return f"{path}.{k}" if path else k

    if "apiVersion" not in x:
        errs.required(child("apiVersion"))
    if "kind" not in x:
        errs.required(child("kind"))
    if "apiVersion" in x:
        v = x["apiVersion"]
        if not isinstance(v, str):
            errs.causes.append(Cause(_R_INVALID, f"Invalid value: {_render(v)}: must be a string", child("apiVersion")))
        elif not v:
            errs.causes.append(Cause(_R_INVALID, 'Invalid value: "": must not be empty', child("apiVersion")))
        elif v != "/" and v.count("/") > 1:
            msg = f"Invalid value: {go_quote(v)}: unexpected GroupVersion string: {v}"
            errs.causes.append(Cause(_R_INVALID, msg, child("apiVersion")))
    if "kind" in x:
        v = x["kind"]
        if not isinstance(v, str):
            errs.causes.append(Cause(_R_INVALID, f"Invalid value: {_render(v)}: must be a string", child("kind")))
        elif not v:
            errs.causes.append(Cause(_R_INVALID, 'Invalid value: "": must not be empty', child("kind")))
        else:
            problems = is_dns1035_label(_go_lower(v))
            if problems:
                msg = "may have mixed case, but should otherwise match: " + ",".join(problems)
                errs.causes.append(Cause(_R_INVALID, f"Invalid value: {go_quote(v)}: {msg}", child("kind")))
    if "metadata" in x:
        _validate_embedded_meta(x["metadata"], child("metadata"), errs)


def _walk_embedded(x: Any, node: _Node, path: str, errs: FieldErrors, depth: int) -> None:
    if depth > MAX_DEPTH or not node.has_embedded_below:
        return
    if isinstance(x, dict):
        if node.embedded:
            _validate_embedded_resource(x, path, errs)
        props = node.properties
        extra = node.additional
        for k, v in x.items():
            child = props.get(k)
            if child is not None:
                _walk_embedded(v, child, f"{path}.{k}" if path else k, errs, depth + 1)
            elif extra is not None:
                _walk_embedded(v, extra, f"{path}[{k}]", errs, depth + 1)
    elif isinstance(x, list) and node.items is not None:
        for i, v in enumerate(x):
            _walk_embedded(v, node.items, f"{path}[{i}]", errs, depth + 1)


def _set_key(v: Any) -> Any:
    """Identity of a list-type=set element: Go map-key equality for scalars, JSON text for compounds."""
    kind, gv = _go_value(v)
    if kind in (_MAP, _LIST):
        return ("json", _go_json(gv))
    if kind == _FLOAT and math.isnan(gv):
        return ("nan", id(v))
    if kind == _OTHER:
        return ("other", repr(v))
    return (kind, gv)


def _duplicates(keys: list[Any]) -> list[int]:
    """Indexes of the second occurrence of each repeated key (upstream reports only that one)."""
    seen: dict[Any, int] = {}
    out = []
    for i, k in enumerate(keys):
        times = seen.get(k, 0)
        if times == 1:
            out.append(i)
        seen[k] = times + 1
    return out


_UNSPECIFIED = ("unspecified",)


def _check_list(node: _Node, x: list[Any], path: str, errs: FieldErrors) -> None:
    if node.list_type == "set":
        for i in _duplicates([_set_key(v) for v in x]):
            errs.causes.append(Cause("FieldValueDuplicate", f"Duplicate value: {_render(x[i])}", f"{path}[{i}]"))
        return
    for i, item in enumerate(x):
        if item is not None and not isinstance(item, dict):
            msg = f"Invalid value: {_render(item)}: must be an object for an array of list-type map"
            errs.causes.append(Cause(_R_INVALID, msg, f"{path}[{i}]"))
            return
    if len(x) <= 1:
        return
    key_fields = node.list_map_keys
    keys: list[Any] = []
    shown: list[Any] = []
    for item in x:
        if len(key_fields) == 1:
            f = key_fields[0]
            if item is None or f not in item:
                keys.append(_UNSPECIFIED)
                shown.append({})
            else:
                keys.append(_set_key(item[f]))
                shown.append({f: item[f]})
        else:
            key = {} if item is None else {f: item[f] for f in key_fields if f in item}
            keys.append(("json", _go_json(key)))
            shown.append(key)
    for i in _duplicates(keys):
        errs.causes.append(Cause("FieldValueDuplicate", f"Duplicate value: {_go_json(shown[i])}", f"{path}[{i}]"))


def _walk_lists(x: Any, node: _Node, path: str, errs: FieldErrors, depth: int) -> None:
    if depth > MAX_DEPTH or not node.has_lists_below:
        return
    if isinstance(x, dict):
        extra = node.additional
        if extra is not None:
            for k, v in x.items():
                _walk_lists(v, extra, f"{path}[{k}]", errs, depth + 1)
        for k, v in x.items():
            child = node.properties.get(k)
            if child is not None:
                _walk_lists(v, child, f"{path}.{k}" if path else k, errs, depth + 1)
    elif isinstance(x, list):
        if node.list_type in ("set", "map"):
            _check_list(node, x, path, errs)
        if node.items is not None:
            for i, v in enumerate(x):
                _walk_lists(v, node.items, f"{path}[{i}]", errs, depth + 1)


# ============================================================================================================
# Entry point
# ============================================================================================================


def validate(obj: Any, schema: Any, *, path: str = "", root: bool = True) -> FieldErrors:
    """Validate `obj` against `schema` as the apiserver validates a custom resource.

    Order and wording follow the apiserver: OpenAPI v3 errors first (causes named after the field, e.g.
    `spec.size`; errors with no field of their own, such as `"spec.x" must validate at least one schema
    (anyOf)`, are reported at `path`, which upstream prints as `<nil>` when empty), then embedded resources'
    apiVersion/kind/metadata, then `x-kubernetes-list-type` set/map duplicates.

    `root=True` treats `obj` as the resource: `metadata` is checked only against the schema's
    name/generateName restrictions. `root=False` validates any value against any (sub)schema, e.g. `status`
    against `properties.status` with `path="status"` for the status subresource, or a default value."""
    compiled = _compiled(schema)
    node = compiled.validation_root if root else compiled.root
    out = FieldErrors()
    try:
        errs, _ = _VALIDATOR.run(node, obj, "", 0)
        _to_causes(errs, path, out)
        _walk_embedded(obj, compiled.root if not root else _without_root_embedding(compiled.root), path, out, 0)
        _walk_lists(obj, compiled.root, path, out, 0)
    except RecursionError:  # pragma: no cover - MAX_DEPTH keeps the walks far from the limit
        out.causes.append(Cause(_R_INVALID, 'Invalid value: "": object nested too deeply', path or "<nil>"))
    return out


def _without_root_embedding(root: _Node) -> _Node:
    """Upstream validates embedded resources below the root only (`isResourceRoot=false`): the root's own
    apiVersion/kind/metadata are the caller's business even if the schema marks the root embedded."""
    if not root.embedded:
        return root
    clone = root.copy()
    clone.embedded = False
    return clone


def openapi_errors(value: Any, schema: Any, path: str = "") -> FieldErrors:
    """Only the OpenAPI v3 (kube-openapi) part of `validate`, of any value against any (sub)schema, with
    errors rooted at `path`. The CRD validation checks `default:` values with it."""
    out = FieldErrors()
    try:
        errs, _ = _VALIDATOR.run(_compiled(schema).root, value, "", 0)
    except RecursionError:  # pragma: no cover
        errs = [_e_plain("object nested too deeply")]
    _to_causes(errs, path, out)
    return out


def embedded_resource_errors(value: Any, schema: Any, path: str = "", *, resource_root: bool = False) -> FieldErrors:
    """Only the embedded-resource part of `validate` (apiVersion/kind/metadata of every
    `x-kubernetes-embedded-resource` object); `resource_root` checks `value` itself as a resource too."""
    node = _compiled(schema).root
    out = FieldErrors()
    if resource_root and not node.embedded:
        node = node.copy()
        node.embedded = node.has_embedded_below = True
    _walk_embedded(value, node, path, out, 0)
    return out


def unknown_fields(value: Any, schema: Any, *, resource_root: bool = False) -> list[str]:
    """The paths `prune` would remove from `value` under `schema` (no metadata trimming); `resource_root`
    keeps apiVersion/kind/metadata at the top as `prune` does for a resource."""
    node = _compiled(schema).root
    removed: list[str] = []
    walker = _Pruner(removed, [], False)
    if resource_root and not node.embedded:
        node = node.copy()
        node.embedded = True
    try:
        walker.prune(value, node, [], 0)
    except RecursionError:  # pragma: no cover
        pass
    removed.sort()
    return removed
