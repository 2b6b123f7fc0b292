"""Object browser selectors: the APIs of a workspace and their objects, read as the logged-in user
through the API's registry, authorizer and Store (the same answers kubectl gets)."""

from __future__ import annotations

import copy
from typing import Any

from kube import errors
from kube.authz.authorizer import authorize, can
from kube.authz.rbac import Attributes
from kube.authz.user import UserInfo
from kube.registry import REGISTRY, ResourceInfo
from kube.registry.context import RequestContext
from kube.registry.store import STORE

Obj = dict[str, Any]
HIDDEN = "(hidden: select Reveal values)"
#: ResourceInfo.origin → the badge a page shows.
ORIGIN_LABELS = {"builtin": "built-in", "crd": "CRD", "apibinding": "bound", "kcp": "kcp", "apiexport": "export"}


def origin_label(origin: str) -> str:
    return ORIGIN_LABELS.get(origin, origin)


def group_slug(group: str) -> str:
    """URL segment of an API group ("core" for the legacy group)."""
    return group or "core"


def group_of_slug(slug: str) -> str:
    return "" if slug == "core" else slug


def apis_list(*, user: UserInfo, cluster: str) -> list[dict[str, Any]]:
    """Every listable API served in `cluster` (built-in, CRD, bound), with its origin and whether
    the user may list it."""
    out = []
    for info in REGISTRY.resources(cluster):
        if "list" not in info.verbs:
            continue
        allowed, _ = can(user, cluster, Attributes.for_resource(user, "list", info.resource, api_group=info.group))
        out.append(
            {
                "group": info.group,
                "group_slug": group_slug(info.group),
                "version": info.version,
                "resource": info.resource,
                "kind": info.kind,
                "namespaced": info.namespaced,
                "origin": info.origin,
                "origin_label": origin_label(info.origin),
                "allowed": allowed,
            }
        )
    return sorted(out, key=lambda a: (a["group"] != "", a["group"], a["resource"]))


def api_resolve(*, cluster: str, group: str, version: str, resource: str) -> ResourceInfo:
    info = REGISTRY.resolve(cluster=cluster, group=group, version=version, resource=resource)
    if info is None or "list" not in info.verbs:
        raise errors.NotFound("the server could not find the requested resource")
    return info


def object_summary(obj: Obj) -> dict[str, str]:
    """What a list row (and a live update) shows: never data, spec or secrets."""
    md = obj.get("metadata") or {}
    return {
        "namespace": str(md.get("namespace", "")),
        "name": str(md.get("name", "")),
        "created": str(md.get("creationTimestamp", "")),
        "resourceVersion": str(md.get("resourceVersion", "")),
    }


def objects_list(
    *, user: UserInfo, cluster: str, info: ResourceInfo, namespace: str
) -> tuple[int, list[dict[str, str]]]:
    """(list revision, row summaries) of `info` in `cluster` (one namespace or all)."""
    namespace = namespace if info.namespaced else ""
    authorize(
        user, cluster, Attributes.for_resource(user, "list", info.resource, api_group=info.group, namespace=namespace)
    )
    result = STORE.list(info, RequestContext(cluster=cluster, user=user), namespace)
    rows = [object_summary(o) for o in result.items]
    return result.revision, sorted(rows, key=lambda r: (r["namespace"], r["name"]))


def object_get(
    *, user: UserInfo, cluster: str, info: ResourceInfo, namespace: str, name: str, reveal: bool = False
) -> Obj:
    """One object for display: managedFields dropped; a Secret's values hidden unless `reveal`."""
    namespace = namespace if info.namespaced else ""
    authorize(
        user,
        cluster,
        Attributes.for_resource(user, "get", info.resource, api_group=info.group, namespace=namespace, name=name),
    )
    obj = copy.deepcopy(STORE.get(info, RequestContext(cluster=cluster, user=user), namespace, name))
    (obj.get("metadata") or {}).pop("managedFields", None)
    if is_secret(info) and not reveal:
        for key in ("data", "stringData"):
            if isinstance(obj.get(key), dict):
                obj[key] = {k: HIDDEN for k in obj[key]}
    return obj


def is_secret(info: ResourceInfo) -> bool:
    return info.group == "" and info.resource == "secrets"


def merge_patch_between(original: Any, edited: Any) -> Any:
    """The JSON merge patch (RFC 7386) turning `original` into `edited` (None when they are equal)."""
    if not isinstance(original, dict) or not isinstance(edited, dict):
        return None if original == edited else edited
    patch: Obj = {}
    for key in original.keys() - edited.keys():
        patch[key] = None
    for key, value in edited.items():
        if key not in original:
            patch[key] = value
        elif original[key] != value:
            sub = merge_patch_between(original[key], value) if isinstance(value, dict) else value
            if isinstance(original[key], dict) and isinstance(value, dict):
                if sub:
                    patch[key] = sub
            else:
                patch[key] = value
    return patch


def object_edit_patch(*, original: Obj, edited: Obj) -> Obj:
    """What the portal sends for an edit: a merge patch of the user's changes carrying the
    resourceVersion they started from, so a concurrent change is a 409, never overwritten."""
    if not isinstance(edited, dict):
        raise errors.BadRequest("the YAML must be one object")
    for field in ("apiVersion", "kind"):
        if edited.get(field) != original.get(field):
            raise errors.BadRequest(f"{field} cannot be changed")
    md = edited.get("metadata")
    if not isinstance(md, dict) or md.get("name") != (original.get("metadata") or {}).get("name"):
        raise errors.BadRequest("metadata.name cannot be changed")
    edited = copy.deepcopy(edited)
    edited["metadata"].pop("managedFields", None)
    edited["metadata"]["resourceVersion"] = (original.get("metadata") or {}).get("resourceVersion", "")
    patch = merge_patch_between(original, edited) or {}
    if patch:
        patch.setdefault("metadata", {})["resourceVersion"] = edited["metadata"]["resourceVersion"]
    return patch


def object_patch(*, user: UserInfo, cluster: str, info: ResourceInfo, namespace: str, name: str, patch: Obj) -> Obj:
    """Apply a merge patch as `user` (patch on the object, as `kubectl patch --type merge`)."""
    from kube.registry.store import PATCH_MERGE

    namespace = namespace if info.namespaced else ""
    authorize(
        user,
        cluster,
        Attributes.for_resource(user, "patch", info.resource, api_group=info.group, namespace=namespace, name=name),
    )
    ctx = RequestContext(cluster=cluster, user=user, field_manager="kcp-portal")
    obj, _ = STORE.patch(info, ctx, namespace, name, PATCH_MERGE, patch)
    return obj


def object_may_patch(*, user: UserInfo, cluster: str, info: ResourceInfo, namespace: str, name: str) -> bool:
    namespace = namespace if info.namespaced else ""
    attrs = Attributes.for_resource(user, "patch", info.resource, api_group=info.group, namespace=namespace, name=name)
    return can(user, cluster, attrs)[0] and "patch" in info.verbs
