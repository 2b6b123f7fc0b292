"""Patch application and server-side apply: pure functions on JSON-shaped dicts.

- `json_patch.apply_json_patch`             RFC 6902 (`application/json-patch+json`)
- `merge.apply_merge_patch`                 RFC 7386 (`application/merge-patch+json`)
- `strategic.apply_strategic_merge_patch`   Kubernetes strategic merge patch
- `apply.server_side_apply`                 KEP-555 apply with managedFields
- `apply.update_managed_fields`             managedFields after create/update/patch

List and map semantics come from `kube.schema.core.Schema`; nothing here touches Django or the
database. Errors are `kube.errors.StatusError`s in the apiserver's wording.
"""

from kube.patch.apply import server_side_apply, update_managed_fields
from kube.patch.json_patch import apply_json_patch
from kube.patch.merge import apply_merge_patch, create_merge_patch
from kube.patch.strategic import apply_strategic_merge_patch

__all__ = [
    "apply_json_patch",
    "apply_merge_patch",
    "apply_strategic_merge_patch",
    "create_merge_patch",
    "server_side_apply",
    "update_managed_fields",
]
