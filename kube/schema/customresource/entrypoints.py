"""The validation entry points the apiserver and the CRD validation call.

`validate(obj, schema)` runs OpenAPI v3 validation, then embedded resources' apiVersion/kind/metadata, then
`x-kubernetes-list-type` set/map duplicates, in the apiserver's order and wording; `root=True` treats `obj` as
the resource (root `metadata` only against the schema's name/generateName restrictions). `openapi_errors`,
`embedded_resource_errors` and `unknown_fields` are the single parts of that pipeline the CRD validation needs
to check `default:` values.
"""

from __future__ import annotations

from typing import Any

from kube.errors import Cause, FieldErrors

from .compiled import _compiled, _Node
from .embedded import _walk_embedded, _walk_lists
from .pruning import _Pruner
from .validation import _R_INVALID, _VALIDATOR, _e_plain, _to_causes


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
