"""Field sets: who owns which field (`metadata.managedFields[].fieldsV1`, FieldsV1 format).

A field set is a Python `set` of paths. A path is a tuple of serialized path elements, exactly as
they appear as keys of a `fieldsV1` object:

- `f:<name>`              a field of an object (`f:spec`, `f:data`, `f:app` inside labels)
- `k:{"name":"c"}`        an item of a list-map, by its key fields (compact JSON, keys sorted)
- `v:"finalizer.x"`       an item of a set, by its JSON value
- `i:3`                   a list index (only read; server-side apply never produces it)

A path in the set is a *member*: the field (or item) itself is owned. Upstream's set type keeps
members and children apart; the flat set of member paths is equivalent and makes set algebra
(union, difference, intersection) plain Python.

In the `fieldsV1` JSON form every path is a chain of nested objects; `{}` marks a member leaf and
`".": {}` a member that also has owned children, e.g.
`{"f:metadata": {"f:labels": {".": {}, "f:app": {}}}}` = {(f:metadata, f:labels), (f:metadata,
f:labels, f:app)}. Element strings are canonicalized when read, so sets decoded from clients
compare equal to sets computed here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from kube.patch._json import go_json

Path = tuple[str, ...]

_RANK = {"f": 0, "k": 1, "v": 2, "i": 3}


def field_pe(name: str) -> str:
    return "f:" + name


def key_pe(fields: dict[str, Any]) -> str:
    return "k:" + go_json(fields)


def value_pe(value: Any) -> str:
    return "v:" + go_json(value)


def canonical_pe(pe: str) -> str:
    """Re-serialize a path element in canonical form; ValueError when it is malformed."""
    if len(pe) < 2 or pe[1] != ":":
        raise ValueError(f"invalid path element {pe!r}")
    kind, body = pe[0], pe[2:]
    if kind == "f":
        return pe
    if kind == "i":
        return "i:" + str(int(body))
    if kind not in ("k", "v"):
        raise ValueError(f"unknown path element type in {pe!r}")
    try:
        value = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid path element {pe!r}: {exc}") from exc
    if kind == "k":
        if not isinstance(value, dict) or not value:
            raise ValueError(f"invalid key path element {pe!r}")
        return key_pe(value)
    return value_pe(value)


def fields_to_set(fields: Any) -> set[Path]:
    """Decode a `fieldsV1` object. ValueError when it is not one."""
    if fields is None:
        return set()
    if not isinstance(fields, dict):
        raise ValueError("fieldsV1 must be an object")
    out: set[Path] = set()

    def walk(node: dict[str, Any], prefix: Path) -> None:
        for key, child in node.items():
            if not isinstance(child, dict):
                raise ValueError(f"fieldsV1 entry {key!r} must be an object")
            if key == ".":
                if prefix:
                    out.add(prefix)
                continue
            path = prefix + (canonical_pe(key),)
            if child:
                walk(child, path)
            else:
                out.add(path)

    walk(fields, ())
    return out


def set_to_fields(paths: Iterable[Path]) -> dict[str, Any]:
    """Encode a field set as a `fieldsV1` object, keys in upstream's order."""
    root = _tree(paths)

    def emit(node: _Node) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for pe in sorted(node.children, key=_sort_key):
            child = node.children[pe]
            body = emit(child)
            out[pe] = {".": {}, **body} if child.member and body else body
        return out

    return emit(root)


def iterate(paths: Iterable[Path]) -> list[Path]:
    """The paths in upstream's iteration order: at each level the members first, then the
    children's subtrees, both sorted (field names, then keys, values, indexes)."""
    out: list[Path] = []

    def walk(node: _Node, prefix: Path) -> None:
        ordered = sorted(node.children, key=_sort_key)
        out.extend(prefix + (pe,) for pe in ordered if node.children[pe].member)
        for pe in ordered:
            if node.children[pe].children:
                walk(node.children[pe], prefix + (pe,))

    walk(_tree(paths), ())
    return out


def path_string(path: Path) -> str:
    """Human form used in conflict messages: `.spec.containers[name="c"].image`, `[="x"]`."""
    parts = []
    for pe in path:
        kind, body = pe[0], pe[2:]
        if kind == "f":
            parts.append("." + body)
        elif kind == "k":
            fields = json.loads(body)
            parts.append("[" + ",".join(f"{k}={_value_string(fields[k])}" for k in sorted(fields)) + "]")
        elif kind == "v":
            parts.append(f"[={_value_string(json.loads(body))}]")
        else:
            parts.append(f"[{body}]")
    return "".join(parts)


def _value_string(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(_value_string(v) for v in value) + "]"
    return "".join(f"{k}={_value_string(v)}" for k, v in value.items())


class _Node:
    __slots__ = ("member", "children")

    def __init__(self) -> None:
        self.member = False
        self.children: dict[str, _Node] = {}


def _tree(paths: Iterable[Path]) -> _Node:
    root = _Node()
    for path in paths:
        node = root
        for pe in path:
            node = node.children.setdefault(pe, _Node())
        if path:
            node.member = True
    return root


def _sort_key(pe: str) -> tuple[int, Any]:
    rank = _RANK.get(pe[0], 4)
    if rank == 3:
        return rank, int(pe[2:])
    return rank, pe[2:]
