"""Patch: JSON patch, merge patch, strategic merge patch and server-side apply."""

from __future__ import annotations

import copy
from typing import Any

from django.db import transaction

from kube import errors
from kube.patch import apply as ssa
from kube.patch.json_patch import apply_json_patch
from kube.patch.merge import apply_merge_patch
from kube.patch.strategic import apply_strategic_merge_patch
from kube.storage import backend
from kube.timefmt import now_rfc3339

from ..context import RequestContext
from ..resources import ResourceInfo
from .common import Obj, _guard_metadata, _key, _meta
from .create import Creates
from .update import Updates

PATCH_JSON = "application/json-patch+json"
PATCH_MERGE = "application/merge-patch+json"
PATCH_STRATEGIC = "application/strategic-merge-patch+json"
PATCH_APPLY = "application/apply-patch+yaml"
PATCH_TYPES = (PATCH_JSON, PATCH_MERGE, PATCH_STRATEGIC, PATCH_APPLY)


class Patches(Creates, Updates):
    """PATCH in its four types; server-side apply may create (hence `Creates`)."""

    def patch(
        self,
        info: ResourceInfo,
        ctx: RequestContext,
        namespace: str,
        name: str,
        patch_type: str,
        patch: Any,
        *,
        force: bool = False,
        subresource: str = "",
    ) -> tuple[Obj, bool]:
        """Returns (object, created); only server-side apply creates."""
        if patch_type == PATCH_STRATEGIC and not info.strategy.allow_strategic_merge_patch:
            raise errors.UnsupportedMediaType(
                "the body of the request was in an unknown format - accepted media types include: "
                f"{PATCH_JSON}, {PATCH_MERGE}, {PATCH_APPLY}"
            )
        if patch_type not in PATCH_TYPES:
            raise errors.UnsupportedMediaType(
                "the body of the request was in an unknown format - accepted media types include: "
                + ", ".join(t for t in PATCH_TYPES if t != PATCH_STRATEGIC or info.strategy.allow_strategic_merge_patch)
            )
        if patch_type == PATCH_APPLY:
            if not ctx.field_manager:
                raise _invalid_patch_options("FieldValueRequired", "Required value: is required for apply patch",
                                             "fieldManager")
            return self._apply(info, ctx, namespace, name, patch, force=force, subresource=subresource)
        if force:
            raise _invalid_patch_options("FieldValueForbidden", "Forbidden: may not be specified for non-apply patch",
                                         "force")
        with transaction.atomic():
            old = self._locked(info, ctx, namespace, name)
            current = self._out(info, copy.deepcopy(old))  # patches apply to the version addressed
            if patch_type == PATCH_JSON:
                patched = apply_json_patch(current, patch)
            elif patch_type == PATCH_MERGE:
                patched = apply_merge_patch(current, patch)
            else:
                patched = apply_strategic_merge_patch(current, patch, info.schema())
            if not isinstance(patched, dict):
                raise errors.BadRequest("the patch result is not an object")
            patched_rv = _meta(patched).get("resourceVersion")
            if patched_rv and patched_rv != old["metadata"].get("resourceVersion"):
                raise errors.conflict(info.resource, name, info.group)
            new = self._decode(info, ctx, patched, namespace, name)
            return self._commit_update(info, ctx, old, new, subresource=subresource, operation="Update"), False

    def _apply(
        self,
        info: ResourceInfo,
        ctx: RequestContext,
        namespace: str,
        name: str,
        patch: Any,
        *,
        force: bool,
        subresource: str,
    ) -> tuple[Obj, bool]:
        version = patch.get("apiVersion") if isinstance(patch, dict) else None
        if isinstance(patch, dict) and version != info.group_version:
            # Before decoding, as kube's field manager does: an apply patch names the version it
            # was written for, and a missing one is not taken to mean the endpoint's.
            raise errors.BadRequest(
                "Incorrect version specified in apply patch. Specified patch version: "
                f"{version if isinstance(version, str) else ''}, expected: {info.group_version}"
            )
        applied = self._decode(info, ctx, patch, namespace, name)
        if "managedFields" in applied["metadata"]:
            raise errors.BadRequest("metadata.managedFields must be nil")
        now = now_rfc3339()
        with transaction.atomic():
            old = backend.get(_key(info, ctx, namespace, name), for_update=True)
            rv = applied["metadata"].get("resourceVersion")
            if old is None and rv:
                raise errors.not_found(info.resource, name, info.group)
            if old is not None and rv and rv != old["metadata"].get("resourceVersion"):
                raise errors.conflict(info.resource, name, info.group)
            new = ssa.server_side_apply(
                copy.deepcopy(old) if old is not None else None,
                applied,
                manager=ctx.field_manager,
                api_version=info.group_version,
                force=force,
                schema=info.schema(),
                now=now,
                subresource=subresource,
            )
            if old is None:
                _guard_metadata(info, ctx, new, None)
                self._prepare_new(info, new, now)
                return self._insert(info, ctx, new), True
            return self._commit_update(
                info, ctx, old, new, subresource=subresource, operation="Apply", managed_done=True
            ), False


def _invalid_patch_options(cause_type: str, message: str, field: str) -> errors.Invalid:
    """422 on PatchOptions.meta.k8s.io, as kube-apiserver's patch handler answers invalid options."""
    return errors.invalid("PatchOptions", "", [errors.Cause(cause_type, message, field)], "meta.k8s.io")
