"""Defaulting: the schema's `default:` values applied in place, as the apiserver's decoder applies them.

`apply_defaults(obj, schema)` drops `null`s the schema does not allow when there is no default and fills
absent or disallowed-`null` fields from `default:` (deep copies), through properties, additionalProperties and
array items; never inside the root `metadata`. It mutates `obj` and returns it.
"""

from __future__ import annotations

from typing import Any

from .compiled import _compiled, _Node
from .limits import MAX_DEPTH
from .paths import _copy

_MISSING: Any = object()


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
