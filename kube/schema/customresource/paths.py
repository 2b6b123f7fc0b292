"""Helpers shared by the walkers: an iterative deep copy of JSON values and the two spellings of a field path.

`_copy` copies any JSON value whatever its nesting depth. A path is a stack of `_Seg` segments; `_dotted`
spells it as pruning reports unknown fields (`spec.items[0].name`), `_field_path` as `field.Path` does
(`.name` for fields, `[key]` for map keys, `[n]` for indexes).
"""

from __future__ import annotations

from typing import Any


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
