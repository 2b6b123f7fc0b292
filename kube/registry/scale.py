"""The scale subresource of custom resources: an autoscaling/v1 Scale view of an object, mapped
through the CRD's specReplicasPath / statusReplicasPath / labelSelectorPath."""

from __future__ import annotations

import copy
from typing import Any

from kube import errors
from kube.patch.json_patch import apply_json_patch
from kube.patch.merge import apply_merge_patch
from kube.schema import jsonpath

from .context import RequestContext
from .resources import ResourceInfo
from .store import PATCH_JSON, PATCH_MERGE, STORE

Obj = dict[str, Any]


def _paths(info: ResourceInfo) -> Obj:
    scale = getattr(info.strategy, "scale", None)
    if not scale:
        raise errors.NotFound("the server could not find the requested resource")
    return scale


def scale_of(info: ResourceInfo, obj: Obj) -> Obj:
    paths = _paths(info)
    md = obj["metadata"]
    spec_replicas = jsonpath.get(obj, paths.get("specReplicasPath", ".spec.replicas"))
    status_replicas = jsonpath.get(obj, paths.get("statusReplicasPath", ".status.replicas"))
    selector = jsonpath.get(obj, paths["labelSelectorPath"]) if paths.get("labelSelectorPath") else None
    status: Obj = {"replicas": int(status_replicas or 0)}
    if selector:
        status["selector"] = selector
    meta = {k: md[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in md}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": meta,
        "spec": {"replicas": int(spec_replicas or 0)},
        "status": status,
    }


def scale_get(info: ResourceInfo, ctx: RequestContext, namespace: str, name: str) -> Obj:
    return scale_of(info, STORE.get(info, ctx, namespace, name))


def scale_update(info: ResourceInfo, ctx: RequestContext, namespace: str, name: str, scale: Any) -> Obj:
    if not isinstance(scale, dict) or scale.get("kind", "Scale") != "Scale":
        raise errors.BadRequest("the body of a scale update must be an autoscaling/v1 Scale")
    replicas = (scale.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise errors.invalid(
            "Scale",
            name,
            [
                errors.Cause(
                    "FieldValueInvalid",
                    f"Invalid value: {replicas!r}: must be greater than or equal to 0",
                    "spec.replicas",
                )
            ],
            "autoscaling",
        )
    paths = _paths(info)
    obj = copy.deepcopy(STORE.get(info, ctx, namespace, name))
    want_rv = (scale.get("metadata") or {}).get("resourceVersion")
    if want_rv and want_rv != obj["metadata"]["resourceVersion"]:
        raise errors.conflict(info.resource, name, info.group)
    jsonpath.set_value(obj, paths.get("specReplicasPath", ".spec.replicas"), replicas)
    return scale_of(info, STORE.update(info, ctx, namespace, name, obj))


def scale_patch(info: ResourceInfo, ctx: RequestContext, namespace: str, name: str, patch_type: str, patch: Any) -> Obj:
    current = scale_get(info, ctx, namespace, name)
    if patch_type == PATCH_MERGE:
        patched = apply_merge_patch(current, patch)
    elif patch_type == PATCH_JSON:
        patched = apply_json_patch(current, patch)
    else:
        raise errors.UnsupportedMediaType(
            f"the body of the request was in an unknown format - accepted media types include: {PATCH_JSON}, "
            f"{PATCH_MERGE}"
        )
    return scale_update(info, ctx, namespace, name, patched)
