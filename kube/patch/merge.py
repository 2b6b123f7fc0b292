"""JSON Merge Patch (RFC 7386, `application/merge-patch+json`).

`null` deletes a key, objects merge recursively, everything else (arrays included) replaces the
target wholesale. Nulls inside a newly added object are dropped, as Go's json-patch does, so a
patch never stores `null` values.
"""

from __future__ import annotations

import copy
from typing import Any

from kube import errors
from kube.patch._json import json_equal


def apply_merge_patch(obj: dict[str, Any], patch: Any) -> dict[str, Any]:
    """Apply `patch` to a copy of `obj`. A patch that is not a JSON object is a 400, as the
    apiserver answers `Invalid JSON Patch` to `null`, arrays and scalars at the top level."""
    if not isinstance(patch, dict):
        raise errors.BadRequest("Invalid JSON Patch")
    result = _merge(obj, patch)
    assert isinstance(result, dict)
    return result


def _merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


def create_merge_patch(original: Any, modified: Any) -> Any:
    """The merge patch that turns `original` into `modified`: `{}` when they are equal, changed
    and added keys with their new values, removed keys as `null`. Non-objects are replaced whole."""
    if not isinstance(original, dict) or not isinstance(modified, dict):
        return copy.deepcopy(modified)
    patch: dict[str, Any] = {}
    for key in original:
        if key not in modified:
            patch[key] = None
    for key, new in modified.items():
        if key not in original:
            patch[key] = copy.deepcopy(new)
        elif isinstance(original[key], dict) and isinstance(new, dict):
            sub = create_merge_patch(original[key], new)
            if sub:
                patch[key] = sub
        elif not json_equal(original[key], new):
            patch[key] = copy.deepcopy(new)
    return patch
