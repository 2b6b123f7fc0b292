"""Schema-aware walks over JSON objects for server-side apply (structured-merge-diff semantics).

Every walk decides a node's shape from the *value* and reads only the markers from the schema:

- an object is a granular map (each key its own field) unless `x-kubernetes-map-type: atomic`;
- a list is atomic (owned and replaced as a whole), a set (`v:` items) or a list-map (`k:`
  items), see `kube.patch._schema.list_shape`;
- anything else is a scalar leaf.

Empty maps and lists are leaves too: there is nothing inside them to own separately.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from typing import Any

from kube.patch._json import json_equal
from kube.patch._schema import child_schema, is_named_field, item_schema, list_shape, map_is_atomic
from kube.patch.fieldpath import Path, field_pe, key_pe, path_string, value_pe
from kube.schema.core import Schema, builtin_definitions

MISSING: Any = object()


class TypedError(ValueError):
    """The object does not fit its schema's list semantics (duplicate or key-less list-map items)."""


_BUILTIN_KEY_DEFAULTS = {"protocol": "TCP"}
"""Defaults of built-in list-map key fields. Upstream's OpenAPI declares `default: TCP` for the
`protocol` key of container and service ports; the bundled JSON schemas drop defaults, and without
it `{containerPort: 80}` and the defaulted `{containerPort: 80, protocol: TCP}` would be two items."""


def item_pe(item: Any, schema: Schema | None, path: Path = ()) -> str:
    """Path element of one item of the associative list whose schema is `schema`. A list-map
    item is keyed by the key fields it has (or their defaults); it needs at least one."""
    shape, keys = list_shape(schema)
    where = path_string(path) + ": " if path else ""
    if shape == "set":
        if isinstance(item, (dict, list)):
            raise TypedError(f"{where}associative list without keys has an element that's a map or list type")
        return value_pe(item)
    if item is None:
        raise TypedError(f"{where}associative list with keys may not have a null element")
    if not isinstance(item, dict):
        raise TypedError(f"{where}associative list with keys may not have non-map elements")
    fields = {}
    for key in keys:
        value = item.get(key)
        if value is None:
            value = _key_default(item_schema(schema), key)
        if value is not None:
            fields[key] = value
    if not fields:
        raise TypedError(
            f"{where}associative list with keys has an element that omits all key fields "
            f"{json.dumps(keys)} (and doesn't have default values for any key fields)"
        )
    return key_pe(fields)


def _key_default(items: Schema | None, key: str) -> Any:
    prop = items.prop(key) if items is not None else None
    if prop is None:
        return None
    if "default" in prop.node:
        return prop.node["default"]
    if items is not None and items.defs is builtin_definitions():
        return _BUILTIN_KEY_DEFAULTS.get(key)
    return None


def _null_as_empty(lhs: Any, rhs: Any, schema: Schema | None) -> tuple[Any, Any]:
    """`null` facing a non-empty granular map or list reads as an empty one, as in
    structured-merge-diff: merging it keeps the other side's items, comparing reports them."""
    for value in (lhs, rhs):
        if isinstance(value, dict) and value and not map_is_atomic(schema):
            return ({} if lhs is None else lhs), ({} if rhs is None else rhs)
        if isinstance(value, list) and value and list_shape(schema)[0] != "atomic":
            return ([] if lhs is None else lhs), ([] if rhs is None else rhs)
    return lhs, rhs


# --- field sets ---------------------------------------------------------------------------------
def field_set(obj: Any, schema: Schema | None, nulls: set[Path] | None = None) -> set[Path]:
    """The fields an applied configuration sets (upstream `ToFieldSet`): every leaf, every list
    item, every map key that is not a declared struct field, and every empty or null value.
    Paths of `null` values are also added to `nulls` when given. Duplicate list-map keys raise."""
    out: set[Path] = set()
    _field_set(obj, schema, (), True, out, nulls if nulls is not None else set(), strict=True)
    return out


def _field_set(
    value: Any, schema: Schema | None, path: Path, root: bool, out: set[Path], nulls: set[Path], *, strict: bool
) -> None:
    if isinstance(value, dict):
        if map_is_atomic(schema):
            out.add(path)
            return
        for key, child in value.items():
            sub = path + (field_pe(key),)
            _field_set(child, child_schema(schema, key, root=root), sub, False, out, nulls, strict=strict)
            if child is None or child == {} or not is_named_field(schema, key, root=root):
                out.add(sub)
            if child is None:
                nulls.add(sub)
    elif isinstance(value, list):
        if list_shape(schema)[0] == "atomic":
            out.add(path)
            return
        items = item_schema(schema)
        pes = [item_pe(item, schema, path) for item in value]
        seen: set[str] = set()
        duplicates: set[str] = set()
        for pe in pes:
            (duplicates if pe in seen else seen).add(pe)
        if duplicates and strict:
            raise TypedError(f"{path_string(path)}: duplicate entries for key {path_string((min(duplicates),))}")
        for pe, item in zip(pes, value, strict=True):
            if pe not in duplicates:
                _field_set(item, items, path + (pe,), False, out, nulls, strict=strict)
            out.add(path + (pe,))
    elif path:
        out.add(path)


# --- compare ------------------------------------------------------------------------------------
class Comparison:
    """Paths added, removed and modified between two objects (upstream `typed.Comparison`).
    A node that exists on one side only is reported with its whole subtree."""

    def __init__(self) -> None:
        self.added: set[Path] = set()
        self.removed: set[Path] = set()
        self.modified: set[Path] = set()

    @property
    def changed(self) -> set[Path]:
        return self.added | self.modified


def compare(old: Any, new: Any, schema: Schema | None) -> Comparison:
    result = Comparison()
    _compare(old, new, schema, (), True, result)
    return result


def _compare(lhs: Any, rhs: Any, schema: Schema | None, path: Path, root: bool, out: Comparison) -> None:
    if lhs is MISSING and rhs is MISSING:
        return
    if lhs is MISSING or rhs is MISSING:
        target = out.added if lhs is MISSING else out.removed
        nodes: set[Path] = set()
        _field_set(rhs if lhs is MISSING else lhs, schema, path, root, nodes, set(), strict=False)
        target.update(nodes | _inner_nodes(nodes, path))
        if path:
            target.add(path)
        return
    lhs, rhs = _null_as_empty(lhs, rhs, schema)
    if isinstance(lhs, dict) and isinstance(rhs, dict) and (lhs or rhs) and not map_is_atomic(schema):
        for key in [*lhs, *(k for k in rhs if k not in lhs)]:
            _compare(
                lhs.get(key, MISSING),
                rhs.get(key, MISSING),
                child_schema(schema, key, root=root),
                path + (field_pe(key),),
                False,
                out,
            )
        return
    if isinstance(lhs, list) and isinstance(rhs, list) and (lhs or rhs) and list_shape(schema)[0] != "atomic":
        _compare_items(lhs, rhs, schema, path, out)
        return
    if not json_equal(lhs, rhs):
        out.modified.add(path)


def _compare_items(lhs: list[Any], rhs: list[Any], schema: Schema | None, path: Path, out: Comparison) -> None:
    left, right = _index_items(lhs, schema, path), _index_items(rhs, schema, path)
    items = item_schema(schema)
    for pe in [*left, *(p for p in right if p not in left)]:
        ls, rs = left.get(pe, []), right.get(pe, [])
        if len(ls) <= 1 and len(rs) <= 1:
            _compare(ls[0] if ls else MISSING, rs[0] if rs else MISSING, items, path + (pe,), False, out)
        elif not json_equal(ls, rs):
            out.modified.add(path + (pe,))


def _index_items(values: list[Any], schema: Schema | None, path: Path) -> dict[str, list[Any]]:
    index: dict[str, list[Any]] = {}
    for item in values:
        index.setdefault(item_pe(item, schema, path), []).append(item)
    return index


def _inner_nodes(paths: set[Path], below: Path) -> set[Path]:
    """Intermediate nodes between `below` and the given paths (maps holding the leaves)."""
    return {p[:i] for p in paths for i in range(len(below) + 1, len(p))}


# --- merge --------------------------------------------------------------------------------------
def merge(live: Any, config: Any, schema: Schema | None) -> Any:
    """Merge an applied configuration into the live object (upstream `TypedValue.Merge`): maps
    merge per key, list-maps and sets per item keeping the live order of items the config does not
    mention, atomic values and scalars take the config's value. `null` in the config stays `null`
    here; the caller drops it once conflicts are computed."""
    return _merge(live, config, schema, (), True)


def _merge(lhs: Any, rhs: Any, schema: Schema | None, path: Path, root: bool) -> Any:
    if rhs is MISSING:
        return copy.deepcopy(lhs)
    if lhs is MISSING:
        return copy.deepcopy(rhs)
    lhs, rhs = _null_as_empty(lhs, rhs, schema)
    if isinstance(lhs, dict) and isinstance(rhs, dict) and (lhs or rhs) and not map_is_atomic(schema):
        out = {}
        for key in [*lhs, *(k for k in rhs if k not in lhs)]:
            out[key] = _merge(
                lhs.get(key, MISSING),
                rhs.get(key, MISSING),
                child_schema(schema, key, root=root),
                path + (field_pe(key),),
                False,
            )
        return out
    if isinstance(lhs, list) and isinstance(rhs, list) and (lhs or rhs) and list_shape(schema)[0] != "atomic":
        return _merge_items(lhs, rhs, schema, path)
    return copy.deepcopy(rhs)


def _merge_items(lhs: list[Any], rhs: list[Any], schema: Schema | None, path: Path) -> list[Any]:
    """Item order: config items in config order; live-only items stay where they were relative to
    the items around them, the way structured-merge-diff interleaves the two lists."""
    items = item_schema(schema)
    lpes = [item_pe(item, schema, path) for item in lhs]
    rpes = [item_pe(item, schema, path) for item in rhs]
    rindex: dict[str, Any] = {}
    for pe, item in zip(rpes, rhs, strict=True):
        if pe in rindex:
            raise TypedError(f"{path_string(path)}: duplicate entries for key {path_string((pe,))}")
        rindex[pe] = item
    lindex: dict[str, Any] = {}
    for pe, item in zip(lpes, lhs, strict=True):
        lindex[pe] = MISSING if pe in lindex else item  # a live duplicate is replaced by the config item

    def merged(pe: str, live_item: Any) -> Any:
        return _merge(live_item, rindex.get(pe, MISSING), items, path + (pe,), False)

    shared = [pe for pe in rpes if pe in lindex]
    next_shared = shared.pop(0) if shared else None
    done: set[str] = set()
    out: list[Any] = []
    li = ri = 0
    while li < len(lpes) or ri < len(rpes):
        if li < len(lpes) and ri < len(rpes):
            pe = lpes[li]
            if pe == rpes[ri]:
                done.add(pe)
                out.append(merged(pe, lindex[pe]))
                li, ri = li + 1, ri + 1
                next_shared = shared.pop(0) if shared else None
                continue
            if pe in rindex and next_shared is not None and next_shared != pe:
                li += 1
                continue
        if li < len(lpes):
            pe = lpes[li]
            if pe not in rindex:
                out.append(copy.deepcopy(lhs[li]))
                li += 1
                continue
            if pe in done:
                li += 1
        if ri < len(rpes):
            pe = rpes[ri]
            done.add(pe)
            out.append(merged(pe, lindex.get(pe, MISSING)))
            ri += 1
            if next_shared is not None and next_shared == pe:
                next_shared = shared.pop(0) if shared else None
    return out


# --- remove -------------------------------------------------------------------------------------
def remove_items(obj: Any, paths: Iterable[Path], schema: Schema | None, *, only_nulls: bool = False) -> Any:
    """Remove the given fields and list items (with everything below them). A map or list that
    becomes empty because of the removal is removed too, as upstream leaves it `null`. With
    `only_nulls`, a path is removed only where its value is `null`."""
    grouped = _group(paths)
    if not grouped:
        return obj
    result = _remove(obj, grouped, schema, True, only_nulls)
    return {} if result is MISSING else result


def _group(paths: Iterable[Path]) -> dict[str, set[Path]]:
    grouped: dict[str, set[Path]] = {}
    for path in paths:
        if path:
            grouped.setdefault(path[0], set()).add(path[1:])
    return grouped


def _remove(value: Any, grouped: dict[str, set[Path]], schema: Schema | None, root: bool, only_nulls: bool) -> Any:
    if isinstance(value, dict) and not map_is_atomic(schema):
        out = {}
        for key, child in value.items():
            rest = grouped.get(field_pe(key))
            if rest is None or (only_nulls and child is not None and rest == {()}):
                out[key] = child
            elif () not in rest or (only_nulls and child is not None):
                kept = _remove(child, _group(rest), child_schema(schema, key, root=root), False, only_nulls)
                if kept is not MISSING:
                    out[key] = kept
        return out if out or not value else MISSING
    if isinstance(value, list) and list_shape(schema)[0] != "atomic":
        items = item_schema(schema)
        kept_items = []
        for item in value:
            rest = grouped.get(item_pe(item, schema))
            if rest is None or (only_nulls and rest == {()}):
                kept_items.append(item)
            elif () not in rest or only_nulls:
                kept = _remove(item, _group(rest), items, False, only_nulls)
                if kept is not MISSING:
                    kept_items.append(kept)
        return kept_items if kept_items or not value else MISSING
    return value


# --- named fields -------------------------------------------------------------------------------
def with_named_parents(paths: Iterable[Path], schema: Schema | None) -> set[Path]:
    """Add every ancestor that is a declared struct field (upstream
    `EnsureNamedFieldsAreMembers`): owning `spec.replicas` also means owning `spec` for pruning,
    while owning a label does not make the `labels` map's keys or list items members."""
    out = set(paths)
    named: dict[Path, tuple[Schema | None, bool]] = {(): (schema, True)}
    for path in list(out):
        for i in range(1, len(path)):
            prefix = path[:i]
            if prefix not in named:
                parent, root = named[path[: i - 1]][0], i == 1
                pe = path[i - 1]
                if pe.startswith("f:"):
                    name = pe[2:]
                    named[prefix] = (child_schema(parent, name, root=root), is_named_field(parent, name, root=root))
                else:
                    named[prefix] = (item_schema(parent), False)
            if named[prefix][1]:
                out.add(prefix)
    return out
