"""Pruning: drop every field the schema does not declare, as the apiserver's structural pruning does.

`prune(obj, schema)` returns a new object (sharing no container with `obj`) and the removed paths, in the
apiserver's order and spelling, for `fieldValidation=Strict` (`unknown field "spec.foo"`) and `Warn`. Fields
under `x-kubernetes-preserve-unknown-fields: true` are kept; `apiVersion`/`kind`/`metadata` are kept at the
root and at `x-kubernetes-embedded-resource` objects, and those `metadata` objects are trimmed to ObjectMeta's
fields (`OBJECT_META_FIELDS`), as the apiserver's ObjectMeta round trip does. `_Pruner` is the walker
`entrypoints.unknown_fields` reuses.
"""

from __future__ import annotations

from typing import Any

from .compiled import _compiled, _Node
from .limits import MAX_DEPTH, Obj
from .paths import _copy, _dotted, _field_path, _Seg

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
