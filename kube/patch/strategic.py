"""Strategic merge patch (`application/strategic-merge-patch+json`), server side.

This is the apiserver's `StrategicMergeMapPatch` (k8s.io/apimachinery/pkg/util/strategicpatch,
`mergeMap` with MergeParallelList and IgnoreUnmatchedNulls), re-implemented from its documented
and tested behaviour:

- maps merge key by key; `null` deletes; scalars and unknown lists are replaced;
- a list whose field has `x-kubernetes-patch-strategy: merge` merges: items of a list of objects
  are matched by `x-kubernetes-patch-merge-key`, primitives are merged as a set (union);
- `$patch: replace` (replace the map, or as a list item: the whole list), `$patch: delete`
  (empty the map, or as a list item: remove the items with that key), `$patch: merge` in a list is
  rejected as upstream does;
- `$retainKeys: [...]` clears the keys of the live map that are not listed;
- `$setElementOrder/<list>: [...]` orders the merged list; server-only items keep their place;
- `$deleteFromPrimitiveList/<list>: [...]` removes primitives;
- field `x-kubernetes-patch-strategy: replace` replaces a map wholesale.

Without `$setElementOrder`, items new to a merged list go before the server's items, as upstream.

Two deliberate differences, both things the apiserver gets for free from decoding into Go structs:
directive keys and `null` values never reach the result. Malformed patches that upstream answers
with a 500 (missing merge key, mixed item types, ...) are 400 BadRequest here.
"""

from __future__ import annotations

import copy
from typing import Any

from kube import errors
from kube.patch._json import go_json
from kube.patch._schema import child_schema, item_schema
from kube.schema.core import Schema

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ELEMENT_ORDER = "$setElementOrder"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList"

_REJECTED = "the server rejected our request due to an error in our request"
_MISSING: Any = object()


def apply_strategic_merge_patch(obj: dict[str, Any], patch: Any, schema: Schema | None) -> dict[str, Any]:
    """Apply `patch` to a copy of `obj`, reading patch strategies from `schema` (the kind's
    schema; None merges every list by replacement). Neither argument is modified."""
    if not isinstance(patch, dict):
        kind = _json_kind(patch)
        raise errors.BadRequest(f"json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}")
    result = _merge_map(copy.deepcopy(obj), copy.deepcopy(patch), schema, root=True)
    return result


# --- maps ---------------------------------------------------------------------------------------
def _merge_map(original: Any, patch: dict[str, Any], schema: Schema | None, *, root: bool = False) -> dict[str, Any]:
    if DIRECTIVE in patch:
        directive = patch.pop(DIRECTIVE)
        if directive == "replace":
            return _clean_map(patch)
        if directive == "delete":
            return {}
        raise errors.BadRequest(f"unknown patch type: {directive} in map: {go_json(patch)}")
    if not isinstance(original, dict):
        original = {}
    _retain_keys(original, patch)
    _set_element_orders(original, patch, schema, root)
    for raw_key, patch_value in patch.items():
        key, delete_list = raw_key, False
        if raw_key.startswith(DELETE_FROM_PRIMITIVE_LIST):
            key, delete_list = _directive_target(raw_key, DELETE_FROM_PRIMITIVE_LIST), True
        if patch_value is None:
            original.pop(key, None)
            continue
        current = original.get(key, _MISSING)
        if current is _MISSING or _shape(current) != _shape(patch_value) or _shape(current) == "scalar":
            if not delete_list:
                _store(original, key, patch_value)
            continue
        sub = child_schema(schema, key, root=root)
        strategy, merge_key = _patch_meta(sub)
        if isinstance(current, dict):
            original[key] = _clean_map(patch_value) if strategy == "replace" else _merge_map(current, patch_value, sub)
        else:
            original[key] = _merge_list_field(current, patch_value, _items(sub), strategy, merge_key, delete_list)[0]
    return original


def _retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    """`$retainKeys`: every key set by the patch must be listed; unlisted live keys are cleared."""
    if RETAIN_KEYS not in patch:
        return
    retain = patch.pop(RETAIN_KEYS)
    if not isinstance(retain, list) or not all(isinstance(k, str) for k in retain):
        raise errors.BadRequest("invalid patch format of retainKeys")
    keep = set(retain)
    for key, value in patch.items():
        if value is None or key.startswith((DELETE_FROM_PRIMITIVE_LIST, SET_ELEMENT_ORDER)):
            continue
        if key not in keep:
            raise errors.BadRequest("invalid patch format of retainKeys")
    for key in [k for k in original if k not in keep]:
        del original[key]


def _set_element_orders(original: dict[str, Any], patch: dict[str, Any], schema: Schema | None, root: bool) -> None:
    """Merge each list named by a `$setElementOrder/<list>` directive, then order it:
    directive order for the listed items, live order for server-only items interleaved."""
    for directive_key in [k for k in patch if k.startswith(SET_ELEMENT_ORDER)]:
        order = patch.pop(directive_key)
        if not isinstance(order, list):
            raise errors.BadRequest("invalid patch format of setElementOrder list")
        key = _directive_target(directive_key, SET_ELEMENT_ORDER)
        live, patched = original.get(key, _MISSING), patch.pop(key, _MISSING)
        if any(v is not _MISSING and not isinstance(v, list) for v in (live, patched)):
            raise errors.BadRequest("invalid patch format of setElementOrder list")
        sub = child_schema(schema, key, root=root)
        strategy, merge_key = _patch_meta(sub)
        _validate_order(patched if patched is not _MISSING else [], order, merge_key)
        if live is _MISSING and patched is _MISSING:
            continue
        server_order = live if live is not _MISSING else []
        if patched is _MISSING:
            merged = live
        elif live is _MISSING:
            merged = _clean_list(patched)
        else:
            merged, server_order = _merge_list_field(live, patched, _items(sub), strategy, merge_key, False)
        if not merged:
            original[key] = merged
            continue
        is_map = _element_kind(server_order + (patched if patched is not _MISSING else [])) is dict
        listed, server_only = _partition(merged, order, merge_key)
        original[key] = _normalize_order(listed, server_only, order, server_order, merge_key, is_map)


def _validate_order(patch_list: list[Any], order: list[Any], merge_key: str) -> None:
    """The patch list's items (minus deletions) must appear in the directive, in its order."""
    if not order or not patch_list:
        return
    items = patch_list
    if merge_key:
        _require_maps(patch_list)
        items = [item for item in patch_list if item.get(DIRECTIVE) != "delete"]
    p = o = 0
    while p < len(items) and o < len(order):
        if isinstance(items[p], dict) and DIRECTIVE in items[p]:
            p += 1
            continue
        if _merge_key_equal(items[p], order[o], merge_key):
            p += 1
        o += 1
    if p < len(items):
        raise errors.BadRequest(
            f"The order in patch list:\n{go_json(patch_list)}\n"
            f" doesn't match {SET_ELEMENT_ORDER} list:\n{go_json(order)}\n"
        )


# --- lists --------------------------------------------------------------------------------------
def _merge_list_field(
    live: list[Any], patch: list[Any], items: Schema | None, strategy: str, merge_key: str, delete_list: bool
) -> tuple[list[Any], list[Any]]:
    """(merged list, live order for a following `$setElementOrder`), see `_merge_list`."""
    if strategy == "merge" or delete_list:
        return _merge_list(live, patch, items, merge_key, delete_list)
    return _clean_list(patch), live


def _merge_list(
    live: list[Any], patch: list[Any], items: Schema | None, merge_key: str, delete_list: bool
) -> tuple[list[Any], list[Any]]:
    """Merge a list with patch strategy `merge`. Also returns the live order that
    `$setElementOrder` interleaves server-only items by: the live items minus the deleted ones,
    followed by as many new items as were deleted. (Upstream reads that order from the live
    slice after deleting and appending in place; this reproduces what it sees.)"""
    if not live and not patch:
        return live, live
    kind = _element_kind(live + patch)
    if kind is not dict:
        if delete_list:
            doomed = {_scalar_key(v) for v in patch}
            return [v for v in live if _scalar_key(v) not in doomed], live
        merged = _dedupe(live + patch)
        server_order = visible = live
    else:
        if not merge_key:
            raise errors.BadRequest("cannot merge lists without merge key")
        kept, patch, replacement = _list_directives(live, patch, merge_key)
        if replacement is not None:
            merged = server_order = replacement
            visible = kept
        else:
            merged = _merge_items(kept, patch, merge_key, items)
            server_order = kept
            visible = merged[: len(live)]
    in_patch, server_only = _partition(merged, patch, merge_key)
    return _normalize_order(in_patch, server_only, patch, server_order, merge_key, kind is dict), visible


def _list_directives(
    live: list[Any], patch: list[Any], merge_key: str
) -> tuple[list[Any], list[Any], list[Any] | None]:
    """Handle `$patch` items: deletions remove matching live items; `replace` makes the rest of
    the patch the new list. Returns (live after deletions, patch without directive items,
    replacement list or None)."""
    plain: list[Any] = []
    replace = False
    for item in patch:
        if DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[DIRECTIVE]
        if directive == "delete":
            if merge_key not in item:
                raise _no_merge_key(item, merge_key)
            _require_maps(live)
            live = [v for v in live if not (merge_key in v and _same_scalar(v[merge_key], item[merge_key]))]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise errors.BadRequest("merging lists cannot yet be specified in the patch")
        else:
            raise errors.BadRequest(f"unknown patch type: {directive} in map: {go_json(item)}")
    if replace:
        return live, [], [_clean_map(dict(item)) for item in plain]
    return live, plain, None


def _merge_items(live: list[Any], patch: list[Any], merge_key: str, items: Schema | None) -> list[Any]:
    merged = list(live)
    for item in patch:
        if merge_key not in item:
            raise _no_merge_key(item, merge_key)
        index = _find(merged, merge_key, item[merge_key])
        if index is None:
            merged.append(_clean_map(item))
        else:
            merged[index] = _merge_map(merged[index], item, items)
    return merged


def _partition(merged: list[Any], by: list[Any], merge_key: str) -> tuple[list[Any], list[Any]]:
    """Split `merged` into the items present in `by` and the server-only rest."""
    listed: list[Any] = []
    server_only: list[Any] = []
    if merge_key:
        _require_maps(by)
        for item in merged:
            if not isinstance(item, dict) or merge_key not in item:
                raise _no_merge_key(item, merge_key)
            (listed if _find(by, merge_key, item[merge_key]) is not None else server_only).append(item)
    else:
        present = {_scalar_key(v) for v in by}
        for item in merged:
            (listed if _scalar_key(item) in present else server_only).append(item)
    return listed, server_only


def _normalize_order(
    listed: list[Any], server_only: list[Any], order: list[Any], server_order: list[Any], merge_key: str, is_map: bool
) -> list[Any]:
    """Sort the listed items by `order` and the server-only items by their live position, then
    interleave: a server-only item goes before a listed item only when both are live and it was
    before that item in the live list. Listed items the server has never seen therefore come
    before the remaining server-only items."""
    key = merge_key if is_map else ""

    def sort(items: list[Any], by: list[Any]) -> list[Any]:
        return sorted(items, key=lambda item: _index(by, item, key) % (len(by) + 1))

    left, right = sort(server_only, server_order), sort(listed, order)
    out: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if j >= len(right):
            out.append(left[i])
            i += 1
        elif i >= len(left):
            out.append(right[j])
            j += 1
        else:
            li, ri = _index(server_order, left[i], key), _index(server_order, right[j], key)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


# --- helpers ------------------------------------------------------------------------------------
def _items(schema: Schema | None) -> Schema | None:
    """Schema of a list field's items; a merge-strategy field that is declared as a single object
    stands for its own items, as upstream's patch-meta lookup allows."""
    items = item_schema(schema)
    return items if items is not None or schema is None or not schema.is_object else schema


def _patch_meta(schema: Schema | None) -> tuple[str, str]:
    """(strategy without retainKeys, merge key) of a field, from its OpenAPI extensions."""
    if schema is None:
        return "", ""
    strategies = [s for s in schema.patch_strategy.split(",") if s]
    others = [s for s in strategies if s != "retainKeys"]
    if len(strategies) > 2 or len(others) > 1:
        raise errors.BadRequest(f"unexpected patch strategy: {strategies}")
    return (others[0] if others else ""), schema.patch_merge_key


def _directive_target(key: str, prefix: str) -> str:
    head, sep, tail = key.partition("/")
    if not sep or head != prefix:
        if prefix == DELETE_FROM_PRIMITIVE_LIST:
            raise errors.BadRequest("invalid patch format of primitive list")
        raise errors.BadRequest("invalid patch format of setElementOrder list")
    return tail


def _store(original: dict[str, Any], key: str, value: Any) -> None:
    """Set a key from the patch as is (new key or changed type), minus directives and nulls."""
    cleaned, keep = _without_directives(value)
    if keep:
        original[key] = cleaned
    else:
        original.pop(key, None)


def _without_directives(value: Any) -> tuple[Any, bool]:
    """Copy of a patch value without `$patch` maps, directive keys and null map values; the flag
    is False when the value itself is a `$patch` map and must be dropped."""
    if isinstance(value, dict):
        if DIRECTIVE in value:
            return None, False
        return _clean_map(value), True
    if isinstance(value, list):
        return _clean_list(value), True
    return value, True


def _clean_map(value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if item is None or _is_directive_key(key):
            continue
        cleaned, keep = _without_directives(item)
        if keep:
            out[key] = cleaned
    return out


def _clean_list(value: list[Any]) -> list[Any]:
    out = []
    for item in value:
        cleaned, keep = _without_directives(item)
        if keep:
            out.append(cleaned)
    return out


def _is_directive_key(key: str) -> bool:
    prefixes = (SET_ELEMENT_ORDER + "/", DELETE_FROM_PRIMITIVE_LIST + "/")
    return key in (DIRECTIVE, RETAIN_KEYS) or key.startswith(prefixes)


def _shape(value: Any) -> str:
    return "map" if isinstance(value, dict) else "list" if isinstance(value, list) else "scalar"


def _element_kind(items: list[Any]) -> type | None:
    """The common Python type of the items (None when there are none). Lists of lists are a 422,
    mixed types a 400, as in upstream's `sliceElementType`."""
    kind: type | None = None
    for item in items:
        current = type(item)
        if current is list:
            cause = errors.Cause("FieldValueInvalid", "lists of lists are not supported", "patch")
            raise errors.Invalid(_REJECTED, causes=[cause])
        if kind is None:
            kind = current
        elif kind is not current:
            raise errors.BadRequest(f"list element types are not identical: {go_json(items)}")
    return kind


def _require_maps(items: list[Any]) -> None:
    for item in items:
        if not isinstance(item, dict):
            raise errors.BadRequest(f"expected a map, but received a {_json_kind(item)}")


def _merge_key_equal(left: Any, right: Any, merge_key: str) -> bool:
    if not merge_key:
        return _same_scalar(left, right)
    _require_maps([left, right])
    for side in (left, right):
        if merge_key not in side:
            raise _no_merge_key(side, merge_key)
    return _same_scalar(left[merge_key], right[merge_key])


def _find(items: list[Any], merge_key: str, value: Any) -> int | None:
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise errors.BadRequest(f"value for key {i} is not a map")
        if merge_key in item and _same_scalar(item[merge_key], value):
            return i
    return None


def _index(items: list[Any], value: Any, merge_key: str) -> int:
    """Position of `value` in `items` (by merge key for maps), or -1."""
    wanted = value.get(merge_key) if merge_key and isinstance(value, dict) else value
    for i, item in enumerate(items):
        candidate = item.get(merge_key) if merge_key and isinstance(item, dict) else item
        if _same_scalar(candidate, wanted):
            return i
    return -1


def _dedupe(items: list[Any]) -> list[Any]:
    seen: set[tuple[type, str]] = set()
    out = []
    for item in items:
        key = _scalar_key(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _scalar_key(value: Any) -> tuple[type, str]:
    """A hashable identity that, like Go's interface equality, tells `1`, `1.0` and `true` apart."""
    return type(value), go_json(value)


def _same_scalar(a: Any, b: Any) -> bool:
    return _scalar_key(a) == _scalar_key(b)


def _no_merge_key(item: Any, merge_key: str) -> errors.BadRequest:
    return errors.BadRequest(f"map: {go_json(item)} does not contain declared merge key: {merge_key}")


def _json_kind(value: Any) -> str:
    kinds = {dict: "object", list: "array", str: "string", bool: "bool", int: "number", float: "number"}
    return kinds.get(type(value), "null" if value is None else type(value).__name__)
