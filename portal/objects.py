"""Object browser selectors: the APIs of a workspace and their objects, read and written as the
logged-in user through the registry and the authorization client (kube.registry.authorized: every
Store call is authorized first, so these give the answers kubectl gets and cannot skip a check)."""

from __future__ import annotations

import copy
from typing import Any

from kube import errors
from kube.authz.user import UserInfo
from kube.registry import REGISTRY, ResourceInfo
from kube.registry.authorized import AuthorizedClient
from kube.registry.store import PATCH_MERGE

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
    client = AuthorizedClient(user=user, cluster=cluster)
    out = []
    for info in REGISTRY.resources(cluster):
        if "list" not in info.verbs:
            continue
        allowed = client.may("list", info)
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
    result = AuthorizedClient(user=user, cluster=cluster).list(info, namespace)
    rows = [object_summary(o) for o in result.items]
    return result.revision, sorted(rows, key=lambda r: (r["namespace"], r["name"]))


def object_get(
    *, user: UserInfo, cluster: str, info: ResourceInfo, namespace: str, name: str, reveal: bool = False
) -> Obj:
    """One object for display: managedFields dropped; a Secret's values hidden unless `reveal`."""
    obj = copy.deepcopy(AuthorizedClient(user=user, cluster=cluster).get(info, namespace, name))
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
    client = AuthorizedClient(user=user, cluster=cluster, field_manager="kcp-portal")
    return client.patch(info, namespace, name, PATCH_MERGE, patch)


def object_may_patch(*, user: UserInfo, cluster: str, info: ResourceInfo, namespace: str, name: str) -> bool:
    return AuthorizedClient(user=user, cluster=cluster).may("patch", info, namespace, name)
