"""Schema conversion: kubernetes-validate's JSON-schema definitions -> OpenAPI 3.0 components.

Also the names every part of a document shares (``SCHEMA_PREFIX``, the meta/v1 components). Built-in
definitions are converted lazily, once per process per name, and shared by every document: treat the
results as read-only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from kube.schema.core import builtin_definitions

__all__ = [
    "ALWAYS_INCLUDED",
    "DELETE_OPTIONS",
    "JSON",
    "LIST_META",
    "OBJECT_META",
    "PATCH",
    "SCHEMA_PREFIX",
    "STATUS",
    "builtin_closure",
    "builtin_component",
    "is_builtin",
    "refs_of",
    "to_openapi_schema",
]

JSON = dict[str, Any]

SCHEMA_PREFIX = "#/components/schemas/"
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
OBJECT_META = META + "ObjectMeta"
LIST_META = META + "ListMeta"
STATUS = META + "Status"
DELETE_OPTIONS = META + "DeleteOptions"
PATCH = META + "Patch"
#: Always part of a document: operations reference them (errors, delete bodies, patch bodies).
ALWAYS_INCLUDED = (STATUS, DELETE_OPTIONS, PATCH)


def to_openapi_schema(node: Any, known: Callable[[str], bool] | None = None, refs: set[str] | None = None) -> Any:
    """Convert one JSON-schema node (kubernetes-validate flavour) to OpenAPI 3.0, recursively.

    * `type` lists drop `"null"`; a single remaining type becomes a string. (Several non-null
      types have no OpenAPI 3.0 spelling; `type` is then dropped, which accepts any type.)
    * Local `$ref`s (`#/$defs/X`, `#/definitions/X`, `#/components/schemas/X`) become
      `#/components/schemas/X`; a `$ref` with sibling keys becomes `allOf: [{"$ref": ...}]` plus
      the siblings, the form upstream documents use and kubectl's SMP lookup understands.
    * A reference to a name `known` rejects becomes a schema accepting anything, so no `$ref`
      dangles. Referenced names are added to `refs` when given.
    * Everything else (description, format, enum, required, default, `x-kubernetes-*` …) is kept;
      nodes already in OpenAPI form pass through unchanged.
    """
    if isinstance(node, list):
        return [to_openapi_schema(x, known, refs) for x in node]
    if not isinstance(node, dict):
        return node
    out: JSON = {}
    for key, value in node.items():
        if key == "type" and isinstance(value, list):
            types = [t for t in value if t != "null"]
            if len(types) == 1:
                out["type"] = types[0]
        elif key == "$ref" and isinstance(value, str):
            name = value.rsplit("/", 1)[-1]
            siblings = to_openapi_schema({k: v for k, v in node.items() if k != "$ref"}, known, refs)
            if known is not None and not known(name):
                return {**siblings, "x-kubernetes-preserve-unknown-fields": True}
            if refs is not None:
                refs.add(name)
            ref = {"$ref": SCHEMA_PREFIX + name}
            if not siblings:
                return ref
            # keep the reference where it stood, siblings around it
            out = {}
            for k in node:
                out["allOf" if k == "$ref" else k] = [ref] if k == "$ref" else siblings[k]
            return out
        elif key in ("properties", "patternProperties", "definitions", "$defs") and isinstance(value, dict):
            out[key] = {k: to_openapi_schema(v, known, refs) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not", "oneOf", "anyOf", "allOf"):
            out[key] = to_openapi_schema(value, known, refs)
        else:
            out[key] = value
    return out


@functools.cache
def builtin_component(name: str) -> tuple[JSON, frozenset[str]]:
    """One built-in definition in OpenAPI form, plus the names it references directly.

    Converted lazily, once per process per name, and shared by every document (read-only)."""
    refs: set[str] = set()
    converted = to_openapi_schema(builtin_definitions()[name], known=is_builtin, refs=refs)
    return converted, frozenset(refs)


def is_builtin(name: str) -> bool:
    return name in builtin_definitions()


@functools.lru_cache(maxsize=1024)
def builtin_closure(roots: frozenset[str]) -> tuple[str, ...]:
    """Sorted names of the built-in definitions reachable from `roots` (roots included)."""
    seen: set[str] = set()
    stack = [n for n in roots if is_builtin(n)]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        stack.extend(r for r in builtin_component(name)[1] if r not in seen)
    return tuple(sorted(seen))


def refs_of(schema: Any) -> set[str]:
    """Names referenced by `$ref` anywhere in an (OpenAPI-form) schema."""
    found: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                found.add(ref.rsplit("/", 1)[-1])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found
