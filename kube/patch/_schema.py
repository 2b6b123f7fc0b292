"""Schema lookups shared by strategic merge patch and server-side apply.

Both algorithms walk a JSON object and its `Schema` in parallel. Two rules apply to both walks:

- `metadata` at the root is always read with the built-in ObjectMeta schema. CRD schemas usually
  declare it as a bare `type: object`, and `schema=None` knows nothing at all. The apiserver merges
  every kind's metadata the same way: labels and annotations as maps, finalizers as a set and
  ownerReferences keyed by uid.
- A missing schema (None) means "untyped": maps are merged key by key, lists are atomic. This is
  the shape upstream gives to custom resources without a schema (the `__untyped_deduced_` type).
"""

from __future__ import annotations

import functools
from typing import Literal

from kube.schema.core import Schema, builtin_definitions

OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"

ListShape = Literal["atomic", "set", "map"]


@functools.cache
def object_meta_schema() -> Schema:
    defs = builtin_definitions()
    return Schema(defs[OBJECT_META], defs)


def child_schema(schema: Schema | None, key: str, *, root: bool) -> Schema | None:
    """The schema of `obj[key]`; declared properties first, then `additionalProperties`."""
    if root and key == "metadata":
        return object_meta_schema()
    return schema.prop(key) if schema is not None else None


def item_schema(schema: Schema | None) -> Schema | None:
    return schema.items() if schema is not None else None


def is_named_field(schema: Schema | None, key: str, *, root: bool) -> bool:
    """True for a declared struct field (as opposed to a key of a map or of an untyped object)."""
    if root and key == "metadata":
        return True
    return schema is not None and key in (schema.node.get("properties") or {})


def map_is_atomic(schema: Schema | None) -> bool:
    return schema is not None and schema.map_type == "atomic"


def list_shape(schema: Schema | None) -> tuple[ListShape, list[str]]:
    """How server-side apply treats a list, and the keys of a list-map.

    Mirrors kube-openapi's schema conversion: `x-kubernetes-list-type` wins; without it a
    `merge` patch strategy makes a list-map keyed by the patch merge key (a set when there is no
    key); everything else, including unknown lists, is atomic."""
    if schema is None:
        return "atomic", []
    list_type = schema.list_type
    if list_type == "set":
        return "set", []
    if list_type == "map":
        keys = schema.list_map_keys or ([schema.patch_merge_key] if schema.patch_merge_key else [])
        return ("map", keys) if keys else ("atomic", [])
    if list_type:
        return "atomic", []
    if schema.patch_strategy in ("merge", "merge,retainKeys"):
        key = schema.patch_merge_key
        return ("map", [key]) if key else ("set", [])
    return "atomic", []
