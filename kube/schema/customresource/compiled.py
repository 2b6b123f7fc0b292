"""The compiled schema: every keyword of an `openAPIV3Schema` read, typed and checked once into a `_Node` tree.

`_compiled(schema)` returns the compiled form of a raw schema dict or of a `kube.schema.Schema` wrapping one,
from cache when possible: a bounded content-keyed LRU (the schema's canonical JSON) shares one tree between the
equal schemas many logical clusters install, and an identity-keyed LRU in front of it skips the JSON encoding
for the schema objects a server keeps around (`CACHE_SIZE` entries each). Schemas handed in must not be
mutated afterwards. A schema nested beyond what Python can walk compiles to a node that accepts anything.
Formats the apiextensions-apiserver does not keep are stripped here (`_effective_format`); patterns are
compiled with `patterns.compile_pattern`. `clear_cache()` forgets every compiled schema (tests).
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from .limits import _INT64_MAX, _INT64_MIN, MAX_DEPTH
from .patterns import compile_pattern

CACHE_SIZE = 512
"""Compiled schemas kept (per key kind). Identical schemas in many clusters share one entry."""


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
